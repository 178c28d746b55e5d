"""Bring an existing database up to the models: new tables are created, new columns added.

A database made by an earlier build (``./run.sh`` on last month's ``instance/govproc.db``, or a PostgreSQL
deployment) lacks the tables and columns added since. ``create_all`` makes missing tables but never touches an
existing one, so each missing column is added with ``ALTER TABLE … ADD COLUMN``; rows already there get the
column's default (a NOT NULL column without a constant default is added nullable rather than refused). Nothing
is ever dropped or retyped: removing or changing a column stays a deliberate, hand-written step.
"""
import logging

from sqlalchemy import inspect, literal
from sqlalchemy.schema import CreateColumn

log = logging.getLogger(__name__)


def _default_sql(column, dialect):
    """The column's constant Python-side default as SQL, or None (callables and server defaults are not)."""
    default = column.default
    if default is None or not default.is_scalar or default.arg is None:
        return None
    value = default.arg
    return str(literal(value, column.type).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _add_column_sql(table, column, dialect):
    ddl = str(CreateColumn(column).compile(dialect=dialect))
    default = _default_sql(column, dialect)
    if column.server_default is None and default is not None:
        ddl += f" DEFAULT {default}"
    elif not column.nullable and column.server_default is None:
        ddl = ddl.replace(" NOT NULL", "")  # no value for the rows already there
    preparer = dialect.identifier_preparer
    return f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {ddl}"


def upgrade(engine, metadata):
    """Create missing tables, add missing columns (and their indexes). Returns what was done, as text."""
    metadata.create_all(engine)
    done = []
    with engine.begin() as conn:
        columns = inspect(conn).get_multi_columns()  # one reflection query for every table
        for table in metadata.sorted_tables:
            present = {c["name"] for c in columns.get((table.schema, table.name), [])}
            missing = [c for c in table.columns if c.name not in present]
            for column in missing:
                conn.exec_driver_sql(_add_column_sql(table, column, conn.dialect))
                done.append(f"{table.name}.{column.name}")
            for index in table.indexes:
                if any(c in missing for c in index.columns):
                    index.create(conn, checkfirst=True)
    for change in done:
        log.warning("schema upgrade: added column %s", change)
    return done
