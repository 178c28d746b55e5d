"""When the database cannot answer (locked past its timeout, disk full, read-only, connection lost) the caller gets
503 with Retry-After and a Chinese message naming the request id; the SQL stays in the log, under that id.
A real lock on SQLite and PostgreSQL, and driver errors injected where the driver raises them."""
import logging
import re
import sqlite3
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, text

from helpers import PLAN, PROJECT, Web, register_project

RID = re.compile(r"请求编号 ([0-9a-f]{32})")


def _snapshot(app):
    from sqlalchemy import func, select
    from app.models import HistoryEvent, ProcessInstance, Project
    with app.extensions["db"].Session() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (HistoryEvent, ProcessInstance, Project)]


def _no_sql(response):
    body = response.get_data(as_text=True)
    for leak in ("INSERT", "UPDATE", "SELECT", "sqlite", "psycopg", "Traceback", "[parameters"):
        assert leak not in body, (leak, body[:300])
    return body


def _unavailable(response, caplog=None, statement=None):
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"].isdigit()
    body = _no_sql(response)
    rid = RID.search(body).group(1)
    assert rid == response.headers["X-Request-Id"]
    if caplog is not None:  # the detail is in the log, under the same id
        logged = [r.getMessage() for r in caplog.records if rid in r.getMessage()]
        assert logged and (statement is None or statement in logged[0]), logged
    return body


@contextmanager
def driver_fails(app, error, when):
    """Make the database driver raise ``error`` for statements that start with ``when`` (INSERT, UPDATE, SELECT)."""
    engines = {app.extensions["db"].engine, app.extensions["db"].read_engine}

    def fail(cursor, statement, parameters, context):
        if statement.lstrip().upper().startswith(when.upper()):
            raise error
        return False

    for engine in engines:
        event.listen(engine.dialect, "do_execute", fail)
        event.listen(engine.dialect, "do_executemany", fail)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine.dialect, "do_execute", fail)
            event.remove(engine.dialect, "do_executemany", fail)


def _errors(is_postgres):
    """(locked, disk full, read-only, connection lost, value out of range) as each driver raises them."""
    if is_postgres:
        return (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
                psycopg.errors.DiskFull("could not extend file: No space left on device"),
                psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"),
                psycopg.OperationalError("server closed the connection unexpectedly"),
                psycopg.errors.NumericValueOutOfRange("numeric field overflow"))
    return (sqlite3.OperationalError("database is locked"), sqlite3.OperationalError("database or disk is full"),
            sqlite3.OperationalError("attempt to write a readonly database"),
            sqlite3.OperationalError("disk I/O error"), sqlite3.DataError("numeric overflow"))


def test_a_real_lock_held_past_the_timeout_is_503(app, login, is_postgres, caplog):
    """Another connection holds the lock; the request waits its (shortened) timeout, then gets 503."""
    clerk = login("clerk")
    db = app.extensions["db"]
    setting = "SET lock_timeout = '200ms'" if is_postgres else "PRAGMA busy_timeout = 200"
    event.listen(db.engine, "connect", lambda conn, _record: conn.cursor().execute(setting))
    db.engine.dispose()
    before = _snapshot(app)
    holder = db.engine.connect()
    try:
        if is_postgres:
            holder.execute(text("LOCK TABLE process_instance IN ACCESS EXCLUSIVE MODE"))
        else:
            holder.begin()  # BEGIN IMMEDIATE: the write lock
        with caplog.at_level(logging.WARNING, logger="app.errors"):
            response = clerk.post("/api/processes/project_registration/instances", {"data": PROJECT})
        body = _unavailable(response, caplog)
        assert "数据库暂时不可用" in body and "稍后重试" in body
    finally:
        holder.rollback()
        holder.close()
    assert _snapshot(app) == before
    clerk.start("project_registration", PROJECT)  # and once the lock is gone, it works


@pytest.mark.parametrize("which", ["locked", "disk full", "read-only"])
def test_failed_writes_are_503_and_change_nothing(app, login, is_postgres, caplog, which):
    error = dict(zip(["locked", "disk full", "read-only"], _errors(is_postgres)))[which]
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    before = _snapshot(app)
    with caplog.at_level(logging.WARNING, logger="app.errors"), driver_fails(app, error, "INSERT"):
        response = clerk.post("/api/processes/plan_application/instances",
                              {"data": {**PLAN, "project_id": project["id"]}})
    _unavailable(response, caplog, statement="INSERT")
    assert _snapshot(app) == before


def test_connection_lost_on_a_read_is_503_for_api_web_and_engine_rest(app, login, is_postgres):
    from test_engine_rest import basic
    clerk, web = login("clerk"), Web(app, "clerk")
    lost = _errors(is_postgres)[3]
    with driver_fails(app, lost, "SELECT"):
        _unavailable(clerk.get("/api/tasks"))
        page = web.get("/plans")
        assert "服务暂不可用" in _unavailable(page)
        modeler = app.test_client().get("/engine-rest/deployment", headers=basic("analyst"))
        _unavailable(modeler)
        assert modeler.json["type"] == "RestException"


def test_a_database_refusal_inside_a_service_task_never_shows_its_sql(app, login, is_postgres, caplog):
    """It used to come back as 422 ENGINE_ERROR carrying the whole INSERT statement and its parameters."""
    clerk = login("clerk")
    before = _snapshot(app)
    with caplog.at_level(logging.WARNING, logger="app.errors"), \
            driver_fails(app, _errors(is_postgres)[4], "INSERT INTO project"):
        response = clerk.post("/api/processes/project_registration/instances", {"data": PROJECT})
    assert response.status_code == 400 and response.json["code"] == "INVALID_INPUT"
    assert "超出允许的范围" in _no_sql(response)
    assert any("INSERT INTO project" in r.getMessage() for r in caplog.records)
    assert _snapshot(app) == before


def test_an_unexpected_error_is_a_chinese_500_with_the_request_id(app, login, monkeypatch, caplog):
    from app.models import BudgetLine

    def broken(self):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(BudgetLine, "to_dict", broken)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        response = login("clerk").get("/api/budgets")
    assert response.status_code == 500 and response.json["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.get_data(as_text=True) and "服务器内部错误" in response.json["message"]
    assert response.json["request_id"] == response.headers["X-Request-Id"]
    assert any("secret internal detail" in (r.exc_text or "") + r.getMessage() for r in caplog.records
               if response.json["request_id"] in r.getMessage())


def test_every_response_carries_a_request_id(app, login):
    clerk = login("clerk")
    ids = {clerk.get("/api/tasks").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert app.test_client().get("/login").headers["X-Request-Id"]
    assert clerk.get("/api/nothing-here").headers["X-Request-Id"]
    # A proxy's own id is kept, so one id follows the request through every log.
    def sent(request_id):
        return clerk.client.get("/api/tasks", headers={**clerk.headers, "X-Request-Id": request_id})

    assert sent("edge-1234abcd").headers["X-Request-Id"] == "edge-1234abcd"
    assert sent("bad id;").headers["X-Request-Id"] != "bad id;"
