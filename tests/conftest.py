"""Fixtures: a fresh database per test, on SQLite by default or on PostgreSQL with TEST_DATABASE_URL."""
import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from app import create_app
from app.models import Base
from app.models import org
from helpers import Api

# Cheap hashing keeps the suite fast; the hashing code path is the same.
org.PASSWORD_METHOD = "pbkdf2:sha256:1000"

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


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
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _reset_postgres(url):
    from app.db import make_engine
    engine = make_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(tmp_path, clock, pg_url):
    if pg_url:
        _reset_postgres(pg_url)
        url = pg_url
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    application = create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test"})
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
