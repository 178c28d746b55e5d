"""The key that signs session cookies and API tokens: never a constant.

``SECRET_KEY`` (with ``SECRET_KEY_FALLBACKS``, comma-separated older keys that still verify) from the environment
wins. Without it the installation generates a strong random key on its first start and keeps it, so every
worker and restart signs alike and no two installations accept each other's tokens:

- SQLite: in a file beside the database (``<database>.secret-key``, mode 0600): the first line signs, later
  lines are older keys that still verify;
- PostgreSQL: in the ``app_secret`` table: the newest row signs, older rows still verify.

``python -m app rotate-secret`` makes a new key, keeping the previous one as a fallback (tokens already issued
stay valid until they expire) or, with ``--drop-old``, forgetting every older key (after a leak: everyone
signs in again). Workers read the keys at start: restart the service after rotating.
"""
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, select, text

from .models import AppSecret, utcnow


def _new_key():
    return secrets.token_urlsafe(48)  # 384 random bits


def key_file(db):
    """The key file of a SQLite database, or None (PostgreSQL, or SQLite in memory)."""
    if not db.is_sqlite:
        return None
    database = db.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.secret-key")


def _write_new_file(path, keys):
    """``keys`` in a fresh 0600 file beside ``path``, flushed to disk; returns its path, for the caller to link
    or move into place atomically (a reader never sees half a key)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(keys) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return tmp


def _read_file(path):
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise RuntimeError(f"密钥文件 {path} 为空 / the key file {path} is empty")
    return keys


def _file_keys(path):
    if not path.exists():
        tmp = _write_new_file(path, [_new_key()])
        try:
            os.link(tmp, path)  # atomic: exactly one of several starting processes creates the file
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _read_file(path)


def _lock_table(conn):
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/govproc-secret'))"))


def _table_keys(db):
    with db.engine.begin() as conn:
        _lock_table(conn)
        keys = list(conn.scalars(select(AppSecret.value).order_by(AppSecret.id.desc())))
        if not keys:
            keys = [_new_key()]
            conn.execute(AppSecret.__table__.insert().values(value=keys[0], created_at=utcnow()))
    return keys


def stored_keys(db):
    """[signing key, older keys…] of this installation, made on first use."""
    path = key_file(db)
    if path is not None:
        return _file_keys(path)
    if db.is_sqlite:  # in memory: lives as long as the process
        return [_new_key()]
    return _table_keys(db)


def configure(app, db):
    """Set SECRET_KEY / SECRET_KEY_FALLBACKS from the environment or the installation's stored keys."""
    if app.config.get("SECRET_KEY"):
        return
    env = os.environ.get("SECRET_KEY", "")
    if env:
        fallbacks = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]
    else:
        env, *fallbacks = stored_keys(db)
    app.config["SECRET_KEY"] = env
    # Flask and itsdangerous want the older keys oldest first.
    app.config["SECRET_KEY_FALLBACKS"] = list(reversed(fallbacks))


def rotate(db, drop_old=False):
    """A new signing key; the previous one stays as a fallback unless ``drop_old``. Returns how many older
    keys still verify."""
    if os.environ.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY 来自环境变量：请在环境中更换 SECRET_KEY，并把旧密钥放入 SECRET_KEY_FALLBACKS / "
                           "SECRET_KEY is set in the environment: rotate it there (old key into SECRET_KEY_FALLBACKS)")
    key = _new_key()
    path = key_file(db)
    if path is not None:
        old = _file_keys(path)
        keys = [key] if drop_old else [key, old[0]]
        os.replace(_write_new_file(path, keys), path)
        return len(keys) - 1
    with db.engine.begin() as conn:
        _lock_table(conn)
        current = conn.scalar(select(AppSecret.id).order_by(AppSecret.id.desc()).limit(1))
        conn.execute(AppSecret.__table__.insert().values(value=key, created_at=utcnow()))
        keep = [] if drop_old or current is None else [current]
        conn.execute(delete(AppSecret).where(AppSecret.value != key, AppSecret.id.not_in(keep)))
        return len(keep)
