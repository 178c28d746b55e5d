"""Fixtures: a fresh database per test, on SQLite by default or on PostgreSQL with TEST_DATABASE_URL."""
import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from app import create_app
from app.models import Base
from app.models import org

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
def app(tmp_path, clock):
    if PG_URL:
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    application = create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test"})
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def is_postgres():
    return bool(PG_URL)


class Api:
    """A test client that logs in as a demo user and speaks JSON."""

    def __init__(self, app, username):
        self.client = app.test_client()
        self.username = username
        response = self.client.post("/api/login", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.json
        self.headers = {"Authorization": f"Bearer {response.json['token']}"}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json if json is not None else {}, headers=self.headers, **kw)

    def ok(self, response, status=200):
        assert response.status_code == status, (response.status_code, response.json)
        return response.json

    def tasks(self, **params):
        return self.ok(self.get("/api/tasks", query_string=params))

    def task_named(self, name, instance_id=None):
        found = [t for t in self.tasks() if t["name"] == name
                 and (instance_id is None or t["instance_id"] == instance_id)]
        assert found, f"{self.username} has no task {name!r}: {[t['name'] for t in self.tasks()]}"
        return found[0]

    def start(self, key, data, status=201, **extra):
        return self.ok(self.post(f"/api/processes/{key}/instances", {"data": data, **extra}), status)

    def complete(self, task_id, data, status=200):
        return self.ok(self.post(f"/api/tasks/{task_id}/complete", {"data": data}), status)

    def budget(self, budget_id):
        return next(b for b in self.ok(self.get("/api/budgets")) if b["id"] == budget_id)

    def history(self, instance_id):
        return self.ok(self.get(f"/api/instances/{instance_id}/history"))


@pytest.fixture
def login(app):
    cache = {}

    def _login(username):
        if username not in cache:
            cache[username] = Api(app, username)
        return cache[username]
    return _login
