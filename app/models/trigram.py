"""Trigram (pg_trgm) GIN indexes for the text search of the task list (``q=``, ILIKE '%…%'; issue 16).

PostgreSQL only, and only where the pg_trgm extension is installed: revision 0965 installs it where it can
(it ships with PostgreSQL's contrib, which Debian's ``postgresql-NN`` package and the official image include, and is a
trusted extension since PostgreSQL 13, so the database owner may create it) and skips the indexes where it cannot.
``ddl_if`` makes the models say the same, so the models and the migrations agree on every database; SQLite never
gets these indexes (a B-tree cannot serve a LIKE with a leading wildcard)."""
from sqlalchemy import Index, text

# (table, column) pairs the task list's text search reads with ILIKE '%…%' at a province's scale.
COLUMNS = (("human_task", "name"), ("process_instance", "business_key"), ("project", "number"), ("project", "name"))


def name_of(table, column):
    return f"ix_{table}_{column}_trgm"


def installed(bind):
    """PostgreSQL with pg_trgm's operator class on the search path (installed in this database, in a schema the
    connection sees: a test's scratch schema does not see the one in ``public``)."""
    return (bind is not None and bind.dialect.name == "postgresql" and bind.execute(text(
        "SELECT 1 FROM pg_opclass WHERE opcname = 'gin_trgm_ops' AND pg_opclass_is_visible(oid)")).first() is not None)


def _when_installed(_ddl, _target, bind, **_kw):
    return installed(bind)


def index(table, column):
    """The GIN trigram index of one column, created only where ``installed``."""
    return Index(name_of(table, column), column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"}).ddl_if(callable_=_when_installed)


def absent_here(item, name, type_, reflected, conn):
    """For Alembic's ``include_object`` when comparing models with a database: a trigram index the models declare
    but this database cannot have (SQLite, or PostgreSQL without pg_trgm) is not a difference."""
    return type_ == "index" and not reflected and name in NAMES and not installed(conn)


NAMES = {name_of(table, column) for table, column in COLUMNS}
