"""Settings the operator commands need without starting the service (``python -m app db|backup|restore|verify``).

They give the same defaults as ``create_app`` (DATABASE_URL there is written out beside the other settings), so
the service and the commands agree on where the data is. A ``config`` mapping (the app's config) wins over the
environment, which wins over the default.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
STORES = ("database", "disk")


def _get(config, key):
    value = (config or {}).get(key)
    return value if value not in (None, "") else os.environ.get(key) or None


def database_url(config=None):
    return _get(config, "DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'govproc.db'}"


def attachments_dir(config=None):
    """Where the disk store keeps files (and every store its uploads while they are checked)."""
    configured = _get(config, "ATTACHMENTS_DIR")
    return Path(configured) if configured else ROOT / "instance" / "attachments"


def attachment_store(config=None):
    """``database`` (the default, for SQLite and PostgreSQL alike) or ``disk``; anything else is refused."""
    name = (_get(config, "ATTACHMENT_STORE") or "database").strip().lower()
    if name not in STORES:
        raise ValueError(f"ATTACHMENT_STORE 只能是 {' 或 '.join(STORES)}（现为“{name}”）")
    return name
