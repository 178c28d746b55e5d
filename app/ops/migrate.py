"""Schema versions with Alembic (revisions in ``app/migrations/versions``).

``upgrade`` is what start-up runs: on a database already at head it costs one query (tests build an app per
test). Otherwise it takes a lock — PostgreSQL ``pg_advisory_xact_lock``, SQLite ``BEGIN IMMEDIATE`` — so workers
starting together upgrade once, and runs every pending revision in that one transaction: it commits whole or
not at all. A database made before migrations existed (no ``alembic_version`` table) is compared with the
baseline revision and stamped, then upgraded. ``downgrade`` refuses, before changing anything, to go below a
revision that declares its data migration irreversible.
"""
import logging
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ..db import make_engine
from .settings import database_url  # noqa: F401 - env.py imports it from here

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BASELINE = "0001"
# Per schema (a deployment, or one test run), so upgrades of different schemas never wait on each other.
_LOCK_KEY = "hashtext(current_schema() || '/govproc-migrate')"


class MigrationError(RuntimeError):
    """A schema operation refused, with a message for the operator."""


@lru_cache(maxsize=1)
def scripts():
    return ScriptDirectory(str(MIGRATIONS))


def head():
    heads = scripts().get_heads()
    if len(heads) != 1:
        raise MigrationError(f"迁移脚本有多个最新版本 {sorted(heads)}，请先合并 / several heads: merge them")
    return heads[0]


def known(revision):
    try:
        return scripts().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def alembic_config(url, connection=None, settings=None):
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["settings"] = dict(settings or {})
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def version(conn):
    """The database's revision, or None when it has no ``alembic_version`` row (empty, or made before migrations)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current(db):
    """One query: the revision, or None (also when the table is missing)."""
    with db.read_engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


@contextmanager
def locked(url):
    """A connection in a transaction that no other upgrade runs beside. SQLite runs with foreign keys off (batch
    ALTERs copy tables) and checks them all before committing."""
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            if sqlite:  # outside any transaction: SQLite ignores this pragma inside one
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            with conn.begin():
                if not sqlite:
                    conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"迁移后外键不一致 / foreign keys broken after migrating: {broken[:5]}")
    finally:
        engine.dispose()


def upgrade(db, target="head", settings=None):
    """Bring ``db`` to ``target``; returns the revisions applied, oldest first."""
    wanted = head() if target == "head" else target
    if current(db) == wanted:
        return []
    with locked(db.url) as conn:
        before = version(conn)
        if before is None:
            before = _stamp_existing(conn, db.url, settings)
        command.upgrade(alembic_config(db.url, conn, settings), target)
        after = version(conn)
    applied = _between(before, after)
    for revision in applied:
        log.warning("schema upgraded to %s (%s)", revision.revision, revision.doc)
    return [r.revision for r in applied]


def _between(lower, upper):
    """Revisions above ``lower`` up to ``upper``, oldest first."""
    if upper is None or lower == upper:
        return []
    return list(reversed(list(scripts().iterate_revisions(upper, lower))))


def _columns(conn):
    inspector = inspect(conn)
    return {table: {c["name"] for c in inspector.get_columns(table)}
            for table in inspector.get_table_names() if table != "alembic_version"}


def _missing(expected, present):
    out = []
    for table, columns in sorted(expected.items()):
        if table not in present:
            out.append(table)
        else:
            out.extend(f"{table}.{c}" for c in sorted(columns - present[table]))
    return out


@lru_cache(maxsize=8)
def tables_at(revision):
    """{table: columns} of the schema at ``revision`` (the migrations run on an in-memory SQLite database)."""
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        command.upgrade(alembic_config("sqlite://", conn), revision)
        found = _columns(conn)
    engine.dispose()
    return found


def baseline_columns():
    return tables_at(BASELINE)


def _stamp_existing(conn, url, settings):
    """A database without a revision: empty (None), made by this code's models (stamped head) or by the previous
    release (stamped baseline). Anything else is refused, naming what is missing."""
    present = _columns(conn)
    if not present:
        return None
    from ..models import Base
    models = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    if not _missing(models, present):
        stamp = head()
    else:
        missing = _missing(baseline_columns(), present)
        if missing:
            raise MigrationError("数据库既不是空库，也不是上一版本建立的库，无法确定其结构版本；缺少："
                                 f"{', '.join(missing[:20])} / unknown schema, missing: {', '.join(missing[:20])}")
        stamp = BASELINE
    command.stamp(alembic_config(url, conn, settings), stamp)
    log.warning("database without a schema revision matches %s: stamped", stamp)
    return stamp


def irreversible_below(current_revision, target):
    """The first revision a downgrade from ``current_revision`` to ``target`` would undo that forbids it."""
    if current_revision is None:
        return None
    lower = None if target == "base" else target
    for revision in scripts().iterate_revisions(current_revision, lower):
        if revision.revision == lower:
            continue
        reason = getattr(revision.module, "irreversible", None)
        if reason:
            return revision, reason
    return None


def downgrade(db, target):
    """Down to ``target`` (a revision, ``-1`` or ``base``); refused before any change past an irreversible one."""
    before = current(db)
    if before is None:
        raise MigrationError("数据库没有结构版本，无法降级 / the database has no schema revision")
    if target.startswith("-"):
        steps = list(scripts().iterate_revisions(before, "base"))
        index = int(target[1:])
        target = steps[index].revision if index < len(steps) else "base"
    elif target != "base" and not known(target):
        raise MigrationError(f"未知的结构版本“{target}” / unknown revision {target}")
    found = irreversible_below(before, target)
    if found:
        revision, reason = found
        raise MigrationError(f"不能降级到 {target}：版本 {revision.revision}（{revision.doc}）的数据迁移不可逆——{reason} / "
                             f"refused: revision {revision.revision} is an irreversible data migration")
    with locked(db.url) as conn:
        command.downgrade(alembic_config(db.url, conn), target)
        after = version(conn)
    return before, after
