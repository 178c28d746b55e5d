"""Every engine step has a budget: a diagram that loops without a wait state is stopped, rolled back whole,
answered 422 in Chinese and recorded as an incident naming the element — and the service keeps writing."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine import deployments, timers
from app.models import HistoryEvent, HumanTask, Incident, ProcessInstance, Timer
from helpers import PROJECT, pause_start_timers

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_BUDGET = pytest.mark.app_config({"STEP_MAX_TRANSITIONS": 300})


@pytest.fixture(autouse=True)
def _loops_deployed(app, clock):
    pause_start_timers(app)
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [(f"{n}.bpmn", (FIXTURES / f"{n}.bpmn").read_bytes())
                                     for n in ("loop_no_wait", "loop_call")], deployed_by="analyst", now=clock())


def counts(app):
    """What a rolled-back step must not have changed."""
    with app.extensions["db"].Session() as s:
        return {model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (ProcessInstance, HistoryEvent, HumanTask, Timer)}


def incidents(admin):
    return admin.ok(admin.get("/api/incidents"))


def assert_released(app):
    """No connection of the step is left checked out (SQLite: no write lock held; PostgreSQL: nothing idle in
    transaction)."""
    db = app.extensions["db"]
    assert db.engine.pool.checkedout() == 0


def assert_stopped(response, element="l_inc"):
    assert response.status_code == 422, response.json
    assert response.json["code"] == "STEP_BUDGET_EXCEEDED"
    message = response.json["message"]
    assert "超出执行预算" in message and "已整体回滚" in message and element in message
    assert "Traceback" not in message and "SELECT" not in message


@SMALL_BUDGET
def test_loop_at_start_is_rolled_back_with_an_incident_and_writes_go_on(app, login):
    clerk, admin = login("clerk"), login("admin")
    before = counts(app)
    stopped = clerk.post("/api/processes/loop_no_wait/instances", {"data": {"path": "now"}})
    assert_stopped(stopped)
    assert counts(app) == before  # no instance, no history, no task, no timer
    assert_released(app)

    [incident] = incidents(admin)
    assert incident["kind"] == "step_budget" and incident["task"] == "l_inc" and incident["status"] == "open"
    assert incident["instance_id"] is None  # the instance never came to exist
    with app.extensions["db"].Session() as s:
        definition = deployments.latest(s, "loop_no_wait")
        assert incident["definition_id"] == definition.id
    assert "l_inc" in incident["error"] and "l_again" in incident["error"]

    # Immediately afterwards other writes go through: a registration starts and its review completes.
    instance = clerk.start("project_registration", PROJECT)
    reviewer = login("reviewer")
    task = reviewer.task_named("审核岗审核", instance["id"])
    assert reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})["status"] == "completed"


@SMALL_BUDGET
def test_loop_after_a_user_task_keeps_the_task_open(app, login):
    clerk, admin = login("clerk"), login("admin")
    instance = clerk.start("loop_no_wait", {"path": "task"})
    task = clerk.task_named("准备", instance["id"])
    history = clerk.history(instance["id"])
    before = counts(app)

    assert_stopped(clerk.post(f"/api/tasks/{task['id']}/complete", {"data": {}}))
    assert counts(app) == before
    assert clerk.history(instance["id"]) == history
    assert clerk.task_named("准备", instance["id"])["id"] == task["id"]  # still open, as before the step
    assert_released(app)
    [incident] = incidents(admin)
    assert (incident["kind"], incident["task"], incident["instance_id"]) == ("step_budget", "l_inc", instance["id"])

    # The clerk's other work is not blocked: another instance starts and waits at its task.
    other = clerk.start("loop_no_wait", {"path": "task"})
    assert clerk.task_named("准备", other["id"])


@SMALL_BUDGET
def test_loop_inside_a_called_process(app, login):
    clerk, admin = login("clerk"), login("admin")
    before = counts(app)
    assert_stopped(clerk.post("/api/processes/loop_call/instances", {"data": {"path": "now"}}))
    assert counts(app) == before
    [incident] = incidents(admin)
    assert incident["task"] == "l_inc" and incident["kind"] == "step_budget"


@SMALL_BUDGET
def test_loop_after_a_timer_fails_that_timer_only(app, clock, login):
    clerk, admin = login("clerk"), login("admin")
    instance = clerk.start("loop_no_wait", {"path": "timer"})
    history = clerk.history(instance["id"])
    clock.advance(hours=2)
    db = app.extensions["db"]
    assert timers.run_due(db, clock(), "test") == 0  # the tick returns: nothing fired
    assert_released(app)
    with db.Session() as s:
        row = s.scalars(select(Timer).where(Timer.instance_id == instance["id"])).one()
        assert row.status == "failed"
    [incident] = incidents(admin)
    assert (incident["kind"], incident["task"], incident["instance_id"], incident["timer_id"]) == \
        ("step_budget", "l_inc", instance["id"], row.id)
    assert clerk.history(instance["id"]) == history
    assert timers.run_due(db, clock(), "test") == 0  # not claimed again on the next tick


@SMALL_BUDGET
def test_cancelling_is_a_step_under_the_budget_too(app, login):
    """Cancelling an instance waiting at its task takes a handful of transitions: well within the budget."""
    clerk = login("clerk")
    instance = clerk.start("loop_no_wait", {"path": "task"})
    from app.engine import runtime
    with app.extensions["db"].Session() as s, s.begin():
        runtime.cancel_instance(s, None, instance["id"], "测试取消", app.config["CLOCK"]())
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "cancelled"


@pytest.mark.app_config({"STEP_MAX_SECONDS": 0.000001})
def test_wall_time_budget(app, login):
    """A budget of a microsecond: whatever the step, its time is up before it ends (no sleeping needed)."""
    clerk, admin = login("clerk"), login("admin")
    before = counts(app)
    response = clerk.post("/api/processes/loop_no_wait/instances", {"data": {"path": "now"}})
    assert response.status_code == 422 and response.json["code"] == "STEP_BUDGET_EXCEEDED"
    assert "秒" in response.json["message"]
    assert counts(app) == before
    assert incidents(admin)[0]["kind"] == "step_budget"


def test_budgets_come_from_the_config(app):
    from app.engine import limits
    assert app.config["STEP_MAX_TRANSITIONS"] == limits.current.transitions > 0
    assert app.config["STEP_MAX_SECONDS"] == limits.current.seconds > 0
    assert app.config["TIMER_MIN_SECONDS"] == limits.current.timer_min_seconds == 60


def test_incident_without_a_timer_is_resolved_not_retried(app, login):
    admin = login("admin")
    with app.extensions["db"].Session() as s, s.begin():
        s.add(Incident(kind="step_budget", task="l_inc", error="测试", status="open"))
    [incident] = incidents(admin)
    assert admin.post(f"/api/incidents/{incident['id']}/retry").status_code == 409
    assert login("clerk").post(f"/api/incidents/{incident['id']}/resolve").status_code == 403
    resolved = admin.ok(admin.post(f"/api/incidents/{incident['id']}/resolve"))
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert admin.post(f"/api/incidents/{incident['id']}/resolve").status_code == 409


@SMALL_BUDGET
def test_requested_starts_that_loop_fail_alone(app, clock, login):
    """Instances handlers ask for (year-end cleanups) start in batches: a looping one fails with its incident,
    the others of the batch start."""
    from app.engine import starts
    from app.models import StartRequest
    db = app.extensions["db"]
    with db.Session() as s, s.begin():
        for key, path in (("a", "task"), ("b", "now"), ("c", "task")):
            s.add(StartRequest(process_key="loop_no_wait", business_key=key, unit_id=1, data={"path": path},
                               status="pending"))
    assert starts.dispatch(db, clock()) == 2
    with db.Session() as s:
        status = {r.business_key: (r.status, r.error) for r in s.scalars(select(StartRequest))}
    assert status["a"][0] == status["c"][0] == "started"
    assert status["b"][0] == "failed" and "超出执行预算" in status["b"][1]
    [incident] = incidents(login("admin"))
    assert (incident["kind"], incident["task"], incident["instance_id"]) == ("step_budget", "l_inc", None)
    assert_released(app)


@SMALL_BUDGET
def test_loop_after_a_message(app, login):
    clerk, admin = login("clerk"), login("admin")
    instance = clerk.start("loop_no_wait", {"path": "message"})
    history = clerk.history(instance["id"])
    assert_stopped(clerk.post(f"/api/instances/{instance['id']}/messages/poke", {"data": {}}))
    assert clerk.history(instance["id"]) == history
    assert_released(app)
    [incident] = incidents(admin)
    assert (incident["kind"], incident["task"], incident["instance_id"]) == ("step_budget", "l_inc", instance["id"])
