"""Database engine and sessions: SQLite (WAL, BEGIN IMMEDIATE) embedded, PostgreSQL for many workers."""
import os

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from .models import Base


def make_engine(url, immediate=True):
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, issue BEGIN, so it can be BEGIN IMMEDIATE (see _sqlite_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers queue here instead of failing later with "database is locked" on upgrade;
            # readers take a plain (deferred) snapshot and never block a writer in WAL mode.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # connect_timeout: a database that is down answers /readyz (and start-up) in seconds, never hangs them.
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True,
                         connect_args={"connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", 10))})


class Database:
    def __init__(self, url):
        self.url = url
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = make_engine(url, immediate=False) if self.is_sqlite else self.engine
        # Reads never write: no autoflush (a query must not flush, nor pay for checking whether to).
        self.ReadSession = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @property
    def is_sqlite(self):
        return self.engine.dialect.name == "sqlite"

    def dispose(self):
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    def create_all(self, settings=None):
        """Upgrade the schema to the latest migration (app/ops/migrate.py); one query when it is already there.
        ``settings`` (the app's config) tells data migrations where the attachments are. Returns what was applied."""
        from .ops.migrate import upgrade
        return upgrade(self, settings=settings)

    def drop_all(self):
        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
