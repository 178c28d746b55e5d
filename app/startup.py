"""Start-up work that must run once per database, never concurrently: bring the schema to head, deploy
``bpmn/`` and ``forms/``, seed the first users (demo data or the administrator) and the thresholds.

``python -m app prepare`` (what ``./run.sh`` runs before it starts the web workers) does it once; every
``create_app`` does it too unless PREPARE_ON_START is off, under a lock that serializes processes starting at
the same moment: a PostgreSQL advisory lock (per schema), or on SQLite an exclusive ``flock`` on a file beside
the database. Whoever comes second finds the work done (unchanged diagrams are skipped, seeds run on an empty
database only).
"""
import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

log = logging.getLogger(__name__)


def configure_logging():
    """For the server and scheduler processes: our INFO lines; SpiffWorkflow's per-task chatter and APScheduler's
    per-tick lines only as warnings."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    for name in ("spiff", "apscheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def startup_lock(db):
    """Held while the block runs; other processes preparing the same database wait here."""
    if db.is_sqlite:
        database = db.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(Path(f"{database}.startup-lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    # A connection of its own, outside the pool: the lock lives exactly as long as this block.
    with db.engine.connect() as conn:
        key = "hashtext(current_schema() || '/govproc-startup')"  # per schema: test runs never wait on each other
        conn.execute(text(f"SELECT pg_advisory_lock({key})"))
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({key})"))
            conn.commit()


def prepare(app):
    """Schema to head, start-up deployment and seeds, once, under the start-up lock."""
    config, db = app.config, app.extensions["db"]
    with startup_lock(db):
        db.create_all(config)  # migrations to head (app/ops/migrate.py)
        with db.Session() as session, session.begin():
            if config["DEPLOY_ON_START"]:
                from .engine.deployments import deploy_directory
                deploy_directory(session, config["BPMN_DIR"], config["FORMS_DIR"], now=config["CLOCK"]())
            if config["DEMO_DATA"]:
                from .demo import seed
                seed(session)
            else:
                from .models.org import ensure_admin
                ensure_admin(session, config["ADMIN_PASSWORD"])  # the first administrator of an empty database
            from .engine.threshold_decision import adopt_table
            adopt_table(session, now=config["CLOCK"]())  # 限额标准 an administrator set in the former table


def play_demo_activity(app):
    """``python -m app prepare`` with demo data: the demo's work in progress, once, on a fresh database (the
    lock keeps two starts from both playing it). Returns how many instances it started."""
    if not app.config["DEMO_DATA"]:
        return 0
    from .demo_activity import seed_activity
    with startup_lock(app.extensions["db"]):
        return seed_activity(app)
