"""Fixtures: a fresh database per test, on SQLite by default or on PostgreSQL with TEST_DATABASE_URL."""
import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError

from app import create_app
from app.models import Base
from app.models import org
from database_url import PG_URL
from helpers import Api

# No background scheduler in tests: they tick timers themselves with an injected clock (an app made
# without TESTING would otherwise keep ticking against the shared PostgreSQL schema).
os.environ["SCHEDULER"] = "off"

# Cheap hashing keeps the suite fast; the hashing code path is the same.
org.PASSWORD_METHOD = "pbkdf2:sha256:1000"



class Clock:
    """An injectable clock: tests move time, never sleep."""

    def __init__(self):
        self.now = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def pg_url():
    """A schema of its own for this test run, so concurrent runs on one database never meet."""
    if not PG_URL:
        yield None
        return
    from app.db import make_engine
    schema = f"test_{os.getpid()}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    # synchronous_commit off: a commit does not wait for its WAL flush (fsync). Nothing in a test run needs to
    # survive a server crash, and the suite commits thousands of times; isolation and locking are unchanged.
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def scratch_url(tmp_path, pg_url):
    """An empty database of the test's own, beside the shared one (PostgreSQL: a schema of its own)."""
    if not pg_url:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    from uuid import uuid4
    from app.db import make_engine
    schema = f"scratch_{os.getpid()}_{uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


class Template:
    """The schema, deployed diagrams and demo data, built once per run and restored before each test.

    SQLite: the template file is copied. PostgreSQL: every table the test changed is emptied with DELETE and
    the template's rows inserted again, sequences set back to where the template left them, in one transaction
    on one kept connection pool. Either way no test sees another's data.

    Why DELETE and not TRUNCATE: TRUNCATE gives each of the ~56 tables (and their indexes and TOAST) new
    files, which cost ~2.5 s per test on this machine; the tables hold a few hundred rows, which DELETE
    removes in ~0.1 s. The per-test app skips start-up preparation (the template is already at head, with
    the diagrams deployed and the seeds in) — that was another ~1 s per test on PostgreSQL."""

    def __init__(self, url):
        self.url, self.rows, self.engine, self.sequences, self.signatures = url, None, None, [], None

    def build(self, clock):
        app = create_app({"DATABASE_URL": self.url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test"})
        db = app.extensions["db"]
        if not db.is_sqlite:
            with db.engine.connect() as conn:
                self.rows = [(t, [dict(r._mapping) for r in conn.execute(t.select())])
                             for t in Base.metadata.sorted_tables]
                for table, rows in self.rows:
                    if "id" in table.c and table.c.id.autoincrement is not False:
                        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                                {"t": f'"{table.name}"'}).scalar()
                        if sequence:
                            top = max((r["id"] for r in rows), default=None)
                            self.sequences.append((sequence, top))
        db.dispose()
        if db.is_sqlite:  # fold the WAL into the file so a plain copy holds everything
            import sqlite3
            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def restore_postgres(self):
        from sqlalchemy import create_engine
        if self.engine is None:
            self.engine = create_engine(self.url, pool_size=1, max_overflow=0)
        with self.engine.begin() as conn:
            tables = self._changed(conn)
            for table in reversed(tables):
                conn.execute(table.delete())
            for table, rows in self.rows:
                if rows and table in tables:
                    conn.execute(table.insert(), rows)
            # Where the template left each sequence: the next id is max(id) + 1, or 1 for an empty table.
            calls = [f"setval('{seq}', {top}, true)" if top is not None else f"setval('{seq}', 1, false)"
                     for seq, top in self.sequences]
            if calls:
                conn.execute(text("SELECT " + ", ".join(calls)))
            self.signatures = self._signatures(conn)

    def _changed(self, conn):
        """The tables a test changed since the last restore (all of them the first time, or when foreign keys
        cannot be switched off): the others keep their rows, which saves rewriting the diagrams and forms
        (~130 rows of XML and JSON) and ~70 DELETEs per test. A row inserted or updated gets a newer ``xmin``
        (the transaction that wrote it), a deleted one lowers the count: a changed table never looks unchanged.
        ``session_replication_role = replica`` (superuser only) turns off foreign-key triggers for this
        transaction, so a changed table can be emptied while an unchanged one still points at its rows — at
        commit every table holds the template's rows again, consistent as the template is."""
        everything = [table for table, _ in self.rows]
        if self.signatures is None or not conn.execute(
                text("SELECT current_setting('is_superuser') = 'on'")).scalar():
            return everything
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        now = self._signatures(conn)
        return [table for table in everything if now[table.name] != self.signatures[table.name]]

    def _signatures(self, conn):
        """(row count, newest writing transaction) per table, in one statement."""
        parts = [f"SELECT '{t.name}', count(*), coalesce(max(xmin::text::bigint), 0) FROM \"{t.name}\""
                 for t, _ in self.rows]
        return {name: (count, xmin) for name, count, xmin in conn.execute(text(" UNION ALL ".join(parts)))}

    def dispose(self):
        if self.engine is not None:
            self.engine.dispose()


@pytest.fixture(scope="session")
def template(tmp_path_factory, pg_url):
    if pg_url:
        built = Template(pg_url)
    else:
        built = Template(f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.db'}")
    built.build(Clock())
    yield built
    built.dispose()


@pytest.fixture
def clock():
    return Clock()


def pytest_configure(config):
    config.addinivalue_line("markers", "app_config(dict): extra create_app config for the test's app "
                                       "(e.g. a small step budget)")


# Sessions expire by the app's clock, which tests move days ahead: here they outlive any test
# (tests/test_sessions.py sets its own lifetime). The template is already prepared (schema at head, diagrams
# deployed, seeds in): no start-up work per test.
BASE_CONFIG = {"TESTING": True, "SECRET_KEY": "test", "PREPARE_ON_START": False,
               "TOKEN_TTL_SECONDS": 10 * 365 * 86400}


def _listeners(db):
    """How many event listeners hang on the database's engines, pools and dialects."""
    targets = {id(t): t for e in {db.engine, db.read_engine} for t in (e, e.pool, e.dialect)}.values()
    return sum(len(getattr(t.dispatch, name)) for t in targets for name in t.dispatch._event_names)


class SharedApp:
    """One app for every test without an ``app_config`` marker, its data restored from the template per test.

    Why: create_app costs ~0.25 s of CPU (werkzeug compiles ~1,200 URL rules, flask-smorest documents ~175
    blueprints) and a new engine starts with an empty SQL compilation cache, so every statement a test runs
    was compiled again (~13 % of a test's time); a new PostgreSQL connection also starts a new server process
    with cold catalog caches. Each test still gets the template's data (on SQLite in a file of its own, as
    before: the engines are pointed at it), its own clock, the app's original config and extensions, and the
    step limits that config sets. A test that changes the app in ways a reset cannot see through (an event
    listener left on an engine, another database object, a new route, hook or WSGI wrapper) makes the next
    test build a new app."""

    def __init__(self, template):
        self.template, self.app, self.db, self.config, self.extensions, self.shape = template, *[None] * 5

    def checkout(self, clock, tmp_path):
        from app.engine import limits
        if self.template.rows is None:  # SQLite: a copy of the template of the test's own
            import shutil
            shutil.copyfile(self.template.url[len("sqlite:///"):], tmp_path / "test.db")
            url = f"sqlite:///{tmp_path / 'test.db'}"
        else:
            self.template.restore_postgres()
            url = self.template.url
        if self.app is None:
            self.app = create_app({"DATABASE_URL": url, "CLOCK": clock, **BASE_CONFIG})
            self.db, self.config = self.app.extensions["db"], dict(self.app.config)
            if self.db.is_sqlite:
                for engine in {self.db.engine, self.db.read_engine}:
                    _follow_url(engine)
            self.extensions, self.shape = dict(self.app.extensions), self._shape()
        if self.db.is_sqlite:  # files beside the database (its key file) are the test's own too
            from sqlalchemy.engine import make_url
            self.db.url = url
            for engine in {self.db.engine, self.db.read_engine}:
                engine.url = make_url(url)
        self.app.config.clear()
        self.app.config.update(self.config, CLOCK=clock, DATABASE_URL=url)
        # What the app made on first use goes too (the metrics registry keeps its last stranded count).
        self.app.extensions.clear()
        self.app.extensions.update(self.extensions)
        limits.configure(self.app.config)  # as create_app does: a marked test before may have set others
        return self.app

    def _shape(self):
        app = self.app
        return (app.extensions["db"] is self.db, app.wsgi_app, _listeners(self.db), len(app.url_map._rules),
                sum(map(len, app.before_request_funcs.values())), sum(map(len, app.after_request_funcs.values())))

    def checkin(self):
        # SQLite: connections are closed, the next test's open its file. PostgreSQL: the pool stays (warm
        # server processes); idle connections hold no locks, so the next restore's DELETEs pass.
        if self.db.is_sqlite:
            self.db.dispose()
        if self._shape() != self.shape:
            self.discard()

    def discard(self):
        if self.app is not None:
            self.db.dispose()
            self.app = None


def _follow_url(engine):
    """New SQLite connections open the file the engine's URL names now (the shared app's engines move from
    test to test), not the one it named when the engine was made. A pooled connection to an earlier test's file
    (checked in late by a thread that test left running, e.g. a served app's) is discarded when checked out."""
    @event.listens_for(engine, "do_connect")
    def _connect(dialect, record, cargs, cparams):
        cargs[0] = record.info["file"] = engine.url.database

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi_conn, record, _proxy):
        if record.info.get("file") != engine.url.database:
            raise DisconnectionError("a connection to another test's database file")


@pytest.fixture(scope="session")
def shared_app(template):
    shared = SharedApp(template)
    yield shared
    shared.discard()


@pytest.fixture
def app(request, tmp_path, clock, template, shared_app):
    marker = request.node.get_closest_marker("app_config")
    if marker is None:
        yield shared_app.checkout(clock, tmp_path)
        shared_app.checkin()
        return
    # An ``app_config`` marker adds settings (e.g. small budgets): an app of the test's own.
    if template.rows is not None:
        template.restore_postgres()
        url = template.url
    else:
        import shutil
        shutil.copyfile(template.url[len("sqlite:///"):], tmp_path / "test.db")
        url = f"sqlite:///{tmp_path / 'test.db'}"
    application = create_app({"DATABASE_URL": url, "CLOCK": clock, **BASE_CONFIG, **marker.args[0]})
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def is_postgres():
    return bool(PG_URL)


@pytest.fixture
def login(app):
    cache = {}

    def _login(username):
        if username not in cache:
            cache[username] = Api(app, username)
        return cache[username]
    return _login


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item.call_failed = outcome.get_result().failed


@pytest.fixture(autouse=True)
def no_stranded_instances(request):
    """After every test that uses the app, no running instance may be left that nobody and nothing can move
    (``app/engine/stranded.py``, issue 14): the test that strands one fails. A test that leaves one on purpose
    says why with ``@pytest.mark.strands("why")``."""
    if "app" not in request.fixturenames or request.node.get_closest_marker("strands"):
        yield
        return
    application, clock = request.getfixturevalue("app"), request.getfixturevalue("clock")
    yield
    if getattr(request.node, "call_failed", False):
        return
    from app.engine.stranded import find_stranded
    with application.extensions["db"].Session() as session:
        found = find_stranded(session, clock())
    if found:
        lines = [f"#{s['instance_id']} {s['key']}（{s['name']}）：{s['reason']}" for s in found]
        pytest.fail("测试留下了无人可推进的流程实例 / the test stranded instances:\n" + "\n".join(lines),
                    pytrace=False)
