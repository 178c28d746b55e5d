"""``python -m app backup <archive>`` and ``python -m app restore <archive> [--force]`` (README 运维 / Operations).

Backup, while the service runs: SQLite through its online backup API (a consistent copy, writers only wait
for the copy's pages); PostgreSQL by ``COPY … TO STDOUT`` of every table inside one REPEATABLE READ, READ ONLY
transaction (one consistent snapshot, no pg_dump needed, whatever its version). Attachments in the disk store
are copied from that same snapshot's rows; those in the database store travel with the tables. The archive
(app/ops/archive.py) carries the schema revision and every file's SHA-256.

Restore: the archive is checked whole first (checksums, completeness, a schema revision this code knows, the
same database kind, an empty target unless ``--force``) — a refusal writes nothing. Then the database is
loaded (PostgreSQL: schema made by the migrations up to the archive's revision, tables loaded, foreign keys
re-checked, sequences moved past the rows — one transaction), upgraded to head if the archive is older,
the disk-store files put back, and ``verify`` run: every instance's history and every attachment's SHA-256.
"""
import shutil
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect, text

from . import archive, migrate, settings
from .archive import ArchiveError


def _sqlite_path(url):
    return url.split(":///", 1)[1] if ":///" in url else None


def _disk_files(rows, root, staging):
    """Copy the disk store's files named by ``rows`` [(id, path)] into the staging area; returns what is missing."""
    missing = []
    for ident, path in rows:
        source = Path(root) / path
        if not source.is_file():
            missing.append(ident)
            continue
        target = staging / "attachments" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return missing


# -- backup -----------------------------------------------------------------------------------------------------
def backup(db, target, config=None):
    """Write the archive; returns its manifest. Refused unless the database is at this code's head."""
    revision, head = migrate.current(db), migrate.head()
    if revision != head:
        raise ArchiveError(f"数据库结构版本为 {revision}，不是最新的 {head}：请先运行 python -m app db upgrade")
    root = settings.attachments_dir(config)
    with tempfile.TemporaryDirectory(prefix="govproc-backup-") as tmp:
        staging = Path(tmp)
        if db.is_sqlite:
            copy = staging / "database.sqlite"
            source = sqlite3.connect(_sqlite_path(db.url))
            dest = sqlite3.connect(copy)
            with dest:
                source.backup(dest)
            source.close()
            rows = dest.execute("SELECT id, path FROM attachment WHERE store = 'disk' ORDER BY id").fetchall()
            dest.close()
            tables = None
        else:
            tables, rows = _copy_out(db, staging)
        missing = _disk_files(rows, root, staging)
        manifest = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "revision": revision,
                    "dialect": db.engine.dialect.name, "tables": tables, "disk_attachments": len(rows),
                    "missing_attachments": missing}
        return archive.write(target, staging, manifest)


def _copy_out(db, staging):
    """Every table as COPY text in one snapshot; returns ({table: columns}, disk-store rows)."""
    from psycopg import sql
    out = staging / "tables"
    out.mkdir()
    tables = {}
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        inspector = inspect(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        for table in sorted(inspector.get_table_names()):
            columns = [c["name"] for c in inspector.get_columns(table)]
            statement = sql.SQL("COPY {} ({}) TO STDOUT").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with open(out / f"{table}.copy", "wb") as fh, cursor.copy(statement) as copy:
                for chunk in copy:
                    fh.write(chunk)
            tables[table] = columns
        rows = conn.execute(text("SELECT id, path FROM attachment WHERE store = 'disk' ORDER BY id")).all()
        conn.rollback()
    return tables, [tuple(r) for r in rows]


# -- restore ----------------------------------------------------------------------------------------------------
def is_empty(db):
    with db.read_engine.connect() as conn:
        return not inspect(conn).get_table_names()


def check(manifest, db, force):
    """Everything that can refuse a restore, before anything is written."""
    revision = manifest["revision"]
    if not migrate.known(revision):
        raise ArchiveError(f"归档来自更新的版本（结构版本 {revision}），本程序最高支持 {migrate.head()}："
                           "请用不低于备份时的程序版本恢复 / archive from a newer schema")
    if manifest["dialect"] != db.engine.dialect.name:
        raise ArchiveError(f"归档是 {manifest['dialect']} 数据库的备份，不能恢复到 {db.engine.dialect.name}")
    if manifest["dialect"] == "sqlite" and "database.sqlite" not in manifest["files"]:
        raise ArchiveError("归档缺少数据库文件 database.sqlite")
    if manifest["dialect"] != "sqlite":
        expected = set(migrate.tables_at(revision)) | {"alembic_version"}
        tables = manifest.get("tables") or {}
        unknown = sorted(set(tables) - expected)
        if unknown or any(f"tables/{t}.copy" not in manifest["files"] for t in tables):
            raise ArchiveError(f"归档中的表与结构版本 {revision} 不符：{', '.join(unknown) or '缺少表数据'}")
    if not force and not is_empty(db):
        raise ArchiveError("目标数据库不是空库：恢复只写入空库；确需覆盖现有数据请加 --force（现有数据将被清除）")


def restore(db, source, config=None, force=False):
    """Check, load, upgrade, put files back. Returns the manifest; raises ArchiveError (nothing written)."""
    with tempfile.TemporaryDirectory(prefix="govproc-restore-") as tmp:
        staging = Path(tmp)
        manifest = archive.read(source, staging)
        check(manifest, db, force)
        if db.is_sqlite:
            _load_sqlite(db, staging / "database.sqlite")
        else:
            _load_postgres(db, staging, manifest, force)
        migrate.upgrade(db, settings=config)
        root = settings.attachments_dir(config)
        files = staging / "attachments"
        if files.is_dir():
            for path in files.rglob("*"):
                if path.is_file():
                    target = Path(root) / path.relative_to(files)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)
    return manifest


def _load_sqlite(db, copy):
    db.dispose()
    Path(_sqlite_path(db.url)).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    dest = sqlite3.connect(_sqlite_path(db.url))
    with dest:
        source.backup(dest)  # replaces the whole target database
    source.close()
    dest.close()


def _load_postgres(db, staging, manifest, force):
    from alembic import command
    from psycopg import sql
    tables = manifest["tables"]
    with migrate.locked(db.url) as conn:
        if force:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        command.upgrade(migrate.alembic_config(db.url, conn), manifest["revision"])
        keys = conn.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace")).all()
        for table, name, _ in keys:  # rows load in any order (unit.parent_id refers to its own table)
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        conn.execute(text("DELETE FROM alembic_version"))
        for table in tables:  # data migrations seed rows (default comments, thresholds): the archive's replace them
            conn.execute(text(sql.SQL("DELETE FROM {}").format(sql.Identifier(table))
                              .as_string(conn.connection.dbapi_connection)))
        cursor = conn.connection.dbapi_connection.cursor()
        for table, columns in tables.items():
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            with open(staging / "tables" / f"{table}.copy", "rb") as fh, cursor.copy(statement) as copy:
                for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                    copy.write(chunk)
        for table, name, definition in keys:  # checked against the loaded rows as they come back
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for table, columns in tables.items():  # new rows get ids after the restored ones
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{table}"'}).scalar() \
                if "id" in columns else None
            if sequence:
                conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT max(id) FROM "{table}"), 0) + 1, false)'),
                             {"s": sequence})


# -- commands ---------------------------------------------------------------------------------------------------
def _database():
    from ..db import Database
    return Database(settings.database_url())


def backup_command(target):
    db = _database()
    try:
        manifest = backup(db, target)
    except ArchiveError as exc:
        print(f"备份失败 / backup refused: {exc}")
        return 1
    finally:
        db.dispose()
    size = Path(target).stat().st_size
    print(f"已备份到 {target}（{size} 字节，结构版本 {manifest['revision']}，{len(manifest['files'])} 个文件，"
          f"磁盘附件 {manifest['disk_attachments']} 个）")
    if manifest["missing_attachments"]:
        print(f"警告：以下附件的文件在备份时已缺失，未能备份：{manifest['missing_attachments']}")
        return 1
    return 0


def restore_command(source, force=False):
    db = _database()
    try:
        manifest = restore(db, source, force=force)
    except ArchiveError as exc:
        print(f"拒绝恢复（目标未作任何改动） / restore refused, nothing written: {exc}")
        return 1
    finally:
        db.dispose()
    print(f"已恢复 {source}（备份于 {manifest['created_at']}，结构版本 {manifest['revision']}）；开始校验……")
    from .verify import verify_command
    return verify_command()

