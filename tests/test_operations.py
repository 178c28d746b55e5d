"""What operations watch: /healthz, /readyz (database, schema revision, scheduler heartbeat), /metrics (who may read
it; figures that move when work is done), the request id in responses, history events and JSON log lines."""
import json
import logging

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from app.db import Database
from app.engine import scheduler
from helpers import PROJECT


def test_healthz_needs_nothing(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_ready_when_database_and_schema_are_current(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["current"] == checks["migrations"]["head"]
    assert checks["scheduler"] == {"ok": True, "mode": "off"}  # the tests tick timers themselves


def _unreachable(db):
    """A database of the same kind that is not there."""
    return Database("sqlite:////nonexistent-directory/govproc.db" if db.is_sqlite
                    else "postgresql+psycopg://postgres@127.0.0.1:1/none")


def test_not_ready_when_the_database_is_down(app):
    real = app.extensions["db"]
    app.extensions["db"] = down = _unreachable(real)
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert response.json["checks"]["database"] == {"ok": False, "message": "数据库无法连接"}
        assert response.json["message"] == "服务暂不可用：数据库无法连接"
        assert "sqlite" not in response.get_data(as_text=True) and "psycopg" not in response.get_data(as_text=True)
        assert app.test_client().get("/healthz").status_code == 200  # the process itself is up
        metrics = app.test_client().get("/metrics").get_data(as_text=True)
        assert "bpm_database_up 0.0" in metrics
    finally:
        app.extensions["db"] = real
        down.dispose()


def test_not_ready_when_the_schema_is_behind(app):
    db = app.extensions["db"]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["migrations"]["current"] == "0002"
        assert "python -m app db upgrade" in response.json["message"]
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"),
                         {"head": response.json["checks"]["migrations"]["head"]})


def test_ready_only_while_a_scheduler_beats(app, clock):
    app.config["SCHEDULER"] = "external"
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["scheduler"]["last_beat"] is None
    assert "调度器超过 90 秒没有心跳" in response.json["message"]

    scheduler._tick(app, "scheduler-host-1")  # what APScheduler calls every SCHEDULER_INTERVAL_SECONDS
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["scheduler"]["last_beat"] == clock.now.isoformat()

    clock.advance(minutes=5)  # the scheduler stopped
    assert client.get("/readyz").status_code == 503
    scheduler._tick(app, "scheduler-host-2")
    assert client.get("/readyz").status_code == 200


def _scrape(client, **kw):
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.data
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_when_a_task_is_completed(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    client = app.test_client()
    instance = clerk.start("project_registration", PROJECT)
    task = reviewer.task_named("审核岗审核", instance["id"])
    before = _scrape(client)

    reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})
    after = _scrape(client)
    key = "project_registration"
    assert _value(after, "bpm_engine_step_duration_seconds_count", process=key) == \
        _value(before, "bpm_engine_step_duration_seconds_count", process=key) + 1
    assert _value(after, "bpm_engine_step_duration_seconds_sum", process=key) > \
        _value(before, "bpm_engine_step_duration_seconds_sum", process=key)
    route = dict(route="/api/tasks/<task_id>/complete", method="POST", status="200")
    assert _value(after, "bpm_http_requests_total", **route) == _value(before, "bpm_http_requests_total", **route) + 1
    assert _value(after, "bpm_open_tasks", process=key) == _value(before, "bpm_open_tasks", process=key) - 1
    assert _value(after, "bpm_running_instances", process=key) == \
        _value(before, "bpm_running_instances", process=key) - 1  # the registration is approved: it ends

    from app.models import HumanTask, Timer
    with app.extensions["db"].Session() as session:  # the gauges are the tables' own figures
        assert sum(v for (name, _), v in after.items() if name == "bpm_open_tasks") == \
            session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
        assert _value(after, "bpm_timers_due") == session.scalar(select(func.count()).select_from(Timer).where(
            Timer.status == "pending", Timer.due_at <= app.config["CLOCK"]()))
    assert _value(after, "bpm_database_up") == 1


def test_due_timers_and_incidents_are_counted(app, clock):
    from app.models import Incident
    client = app.test_client()
    before = _scrape(client)
    with app.extensions["db"].Session() as session, session.begin():
        session.add(Incident(kind="handler_failed", error="测试", status="open", created_at=clock.now))
    clock.advance(days=400)  # every pending timer is now due, and long overdue
    after = _scrape(client)
    assert _value(after, "bpm_open_incidents", kind="handler_failed") == \
        _value(before, "bpm_open_incidents", kind="handler_failed") + 1
    assert _value(after, "bpm_timers_overdue") == _value(after, "bpm_timers_due") > 0


def test_who_may_read_metrics(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # from this machine
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert refused.status_code == 403 and "METRICS_TOKEN" in refused.json["message"]
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403  # via a proxy
    app.config["METRICS_TOKEN"] = "s3cret-metrics"
    assert client.get("/metrics").status_code == 403  # a token, once set, is always needed
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"},
                      environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 200


def test_the_request_id_is_answered_and_kept_in_the_history(app, login):
    clerk = login("clerk")
    response = clerk.client.post("/api/processes/project_registration/instances", json={"data": PROJECT},
                                 headers={**clerk.headers, "X-Request-Id": "lb-7f3a.1"})
    assert response.status_code == 201 and response.headers["X-Request-Id"] == "lb-7f3a.1"
    history = clerk.history(response.json["id"])
    assert {e["request_id"] for e in history} == {"lb-7f3a.1"}
    # A malformed incoming id is replaced, never echoed.
    other = clerk.client.get("/api/tasks", headers={**clerk.headers, "X-Request-Id": "bad id; x"})
    assert other.headers["X-Request-Id"] != "bad id" and len(other.headers["X-Request-Id"]) == 32


def test_json_log_lines_carry_the_request_id(app, login, capsys):
    from app.ops import logs
    handler = logging.StreamHandler()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    app.config["ACCESS_LOG"] = True
    level = root.level
    root.setLevel(logging.INFO)
    try:
        clerk = login("clerk")
        response = clerk.client.get("/api/tasks", headers={**clerk.headers, "X-Request-Id": "trace-42"})
        assert response.status_code == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "app.access" and line["request_id"] == "trace-42"]
    assert access and access[0]["path"] == "/api/tasks" and access[0]["status"] == 200
    assert "Bearer" not in json.dumps(lines) and "demo" not in json.dumps(access)


def test_stranded_instances_gauge_comes_from_the_stranded_check(app, monkeypatch):
    """The gauge reports what app/engine/stranded.py's find_stranded returns (here a stand-in for it, so the wiring is
    tested on its own), and is absent while no such check exists."""
    import sys
    import types
    import app.engine as engine
    monkeypatch.delattr(engine, "stranded", raising=False)
    monkeypatch.setitem(sys.modules, "app.engine.stranded", None)  # no check: no sample, the scrape still works
    assert "bpm_stranded_instances" not in app.test_client().get("/metrics").get_data(as_text=True)
    app.extensions.pop("metrics_registry")
    seen = []
    check = types.SimpleNamespace(find_stranded=lambda session, now: seen.append(now) or [{"instance_id": 7}] * 3)
    monkeypatch.setitem(sys.modules, "app.engine.stranded", check)
    monkeypatch.setattr(engine, "stranded", check, raising=False)
    assert _value(_scrape(app.test_client()), "bpm_stranded_instances") == 3
    assert seen == [app.config["CLOCK"]()]
    _scrape(app.test_client())
    assert len(seen) == 1  # not recomputed at every scrape
