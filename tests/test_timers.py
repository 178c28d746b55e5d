"""BPMN timers: the timer table is the truth, time is injected, each timer fires exactly once."""
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from app import handlers
from app.engine import deployments, timers
from app.models import Incident, ProcessInstance, Timer
from helpers import names, pause_start_timers

FIXTURES = Path(__file__).parent / "fixtures"
CALLS = {"fail": False, "count": 0}


@handlers.handler("test.after_timeout")
def _after_timeout(ctx):
    if CALLS["fail"]:
        raise RuntimeError("下游系统不可用")
    CALLS["count"] += 1
    return {"handled_at": ctx.now.isoformat()}


@pytest.fixture(autouse=True)
def _reset_calls(app):
    CALLS.update(fail=False, count=0)
    pause_start_timers(app)


def deploy_fixture(app, clock, *names_):
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [(f"{n}.bpmn", (FIXTURES / f"{n}.bpmn").read_bytes()) for n in names_],
                           deployed_by="analyst", now=clock())


def tick(app, clock, owner="test"):
    return timers.run_due(app.extensions["db"], clock(), owner)


def timer_rows(app, **filters):
    with app.extensions["db"].Session() as s:
        return [(t.kind, t.bpmn_id, t.status, t.due_at) for t in s.scalars(select(Timer).filter_by(**filters)
                                                                           .order_by(Timer.id))]


def test_boundary_timer_fires_once_at_its_due_time(app, clock, login):
    deploy_fixture(app, clock, "timer_demo")
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("timer_demo", {})
    due = clock() + timedelta(days=10)
    assert timer_rows(app, instance_id=instance["id"]) == [("event", "t_late", "pending", due)]

    clock.advance(days=9, hours=23)
    assert tick(app, clock) == 0
    assert names(clerk.tasks(), instance["id"]) == ["办理"]

    clock.advance(hours=1, seconds=1)
    assert tick(app, clock) == 1
    assert names(clerk.tasks(), instance["id"]) == []
    assert names(reviewer.tasks(), instance["id"]) == ["超期处理"]
    assert timer_rows(app, instance_id=instance["id"])[0][2] == "fired"
    history = clerk.history(instance["id"])
    fired = [e for e in history if e["type"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["actor"] == "system" and fired[0]["data"]["bpmn_id"] == "t_late"
    # Later ticks fire nothing more.
    clock.advance(days=30)
    assert tick(app, clock) == 0
    assert [e["type"] for e in clerk.history(instance["id"])].count("timer_fired") == 1
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))["ok"] is True


def test_completing_the_task_cancels_its_timer(app, clock, login):
    deploy_fixture(app, clock, "timer_demo")
    clerk = login("clerk")
    instance = clerk.start("timer_demo", {})
    clerk.complete(clerk.task_named("办理", instance["id"])["id"], {})
    assert timer_rows(app, instance_id=instance["id"])[0][2] == "cancelled"
    clock.advance(days=11)
    assert tick(app, clock) == 0
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "completed"


def test_intermediate_timer_then_handler(app, clock, login):
    deploy_fixture(app, clock, "timer_wait")
    clerk = login("clerk")
    instance = clerk.start("timer_wait", {})
    assert instance["tasks"] == [] and CALLS["count"] == 0
    clock.advance(minutes=61)
    assert tick(app, clock) == 1
    assert CALLS["count"] == 1
    data = clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["data"]
    assert data["handled_at"] == clock().isoformat()
    assert names(clerk.tasks(), instance["id"]) == ["到时办理"]


def test_two_schedulers_fire_each_timer_once(app, clock, login):
    deploy_fixture(app, clock, "timer_wait")
    clerk = login("clerk")
    ids = [clerk.start("timer_wait", {})["id"] for _ in range(6)]
    clock.advance(hours=2)
    barrier = threading.Barrier(2)
    fired = []

    def scheduler(owner):
        barrier.wait()
        fired.append(tick(app, clock, owner))

    threads = [threading.Thread(target=scheduler, args=(f"worker-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == 6 and CALLS["count"] == 6
    for iid in ids:
        assert [e["type"] for e in clerk.history(iid)].count("timer_fired") == 1
        assert names(clerk.tasks(), iid) == ["到时办理"]


def test_failed_timer_becomes_an_incident_and_can_be_retried(app, clock, login):
    deploy_fixture(app, clock, "timer_wait")
    clerk, admin = login("clerk"), login("admin")
    instance = clerk.start("timer_wait", {})
    CALLS["fail"] = True
    clock.advance(hours=2)
    assert tick(app, clock) == 0
    assert timer_rows(app, instance_id=instance["id"])[0][2] == "failed"
    incidents = admin.ok(admin.get("/api/incidents"))
    assert len(incidents) == 1 and incidents[0]["kind"] == "timer" and "下游系统不可用" in incidents[0]["error"]
    # Nothing of the failed step was kept.
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["tasks"] == []
    assert "timer_fired" not in [e["type"] for e in clerk.history(instance["id"])]
    assert clerk.post(f"/api/incidents/{incidents[0]['id']}/retry").status_code == 403

    CALLS["fail"] = False
    admin.ok(admin.post(f"/api/incidents/{incidents[0]['id']}/retry"))
    clock.advance(seconds=1)
    assert tick(app, clock) == 1
    assert names(clerk.tasks(), instance["id"]) == ["到时办理"]
    assert admin.ok(admin.get("/api/incidents"))[0]["status"] == "resolved"


def test_timer_start_event_starts_one_instance_per_cycle(app, clock, login):
    deploy_fixture(app, clock, "timer_yearly")
    first = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert timer_rows(app, definition_key="timer_yearly") == [("start", "y_timer", "pending", first)]
    finance = login("finance")
    # Started by hand too (the none start event), which must not start the yearly timer inside it.
    manual = finance.start("timer_yearly", {})
    assert timer_rows(app, instance_id=manual["id"]) == []

    clock.now = first + timedelta(seconds=1)
    assert tick(app, clock) == 1
    assert tick(app, clock) == 0
    with app.extensions["db"].Session() as s:
        started = [i for i in s.scalars(select(ProcessInstance).where(ProcessInstance.key == "timer_yearly"))
                   if i.started_by is None]
    assert len(started) == 1
    assert timer_rows(app, definition_key="timer_yearly")[-1] == ("start", "y_timer", "pending",
                                                 datetime(2027, 12, 1, tzinfo=timezone.utc))
    assert sorted(t["instance_id"] for t in finance.tasks(process="timer_yearly")) == \
        sorted([manual["id"], started[0].id])
    history = finance.history(started[0].id)
    assert history[0]["type"] == "instance_started" and history[0]["actor"] == "system"


def test_start_timer_after_downtime_fires_once_then_keeps_its_cycle(app, clock):
    deploy_fixture(app, clock, "timer_yearly")
    # The scheduler was down through three yearly occurrences (2026, 2027, 2028).
    clock.now = datetime(2029, 3, 1, tzinfo=timezone.utc)
    assert tick(app, clock) == 1
    assert tick(app, clock) == 0
    with app.extensions["db"].Session() as s:
        assert len([i for i in s.scalars(select(ProcessInstance).where(ProcessInstance.key == "timer_yearly"))
                    if i.started_by is None]) == 1
    assert timer_rows(app, definition_key="timer_yearly")[-1] == ("start", "y_timer", "pending",
                                                                  datetime(2029, 12, 1, tzinfo=timezone.utc))


def test_redeploy_replaces_pending_start_timers(app, clock):
    deploy_fixture(app, clock, "timer_yearly")
    text = (FIXTURES / "timer_yearly.bpmn").read_text(encoding="utf-8").replace(
        "R/2026-12-01T00:00:00Z/P1Y", "R/2026-12-15T00:00:00Z/P1Y")
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [("timer_yearly.bpmn", text.encode())], now=clock())
    assert [(r[2], r[3].day) for r in timer_rows(app, definition_key="timer_yearly")] == \
        [("cancelled", 1), ("pending", 15)]


def test_no_incident_left_open_for_successful_runs(app):
    with app.extensions["db"].Session() as s:
        assert list(s.scalars(select(Incident))) == []
