"""Timer cycles and durations below the minimum (TIMER_MIN_SECONDS, default one minute) are refused at
deployment naming the element; a zero period that reached the database earlier is never scheduled, and
``next_start`` answers at once however old the cycle."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import deployments, timers
from app.engine.deployments import DeploymentError
from app.models import ProcessDefinition, Timer
import test_timers  # noqa: F401 - registers the handler of timer_wait.bpmn (test.after_timeout)
from helpers import pause_start_timers
from test_engine_rest import deploy as rest_deploy
from test_lint import lint_bpmn

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc


def yearly(cycle):
    """tests/fixtures/timer_yearly.bpmn with its start timer's cycle replaced."""
    text = (FIXTURES / "timer_yearly.bpmn").read_text(encoding="utf-8")
    old = "R/2026-12-01T00:00:00Z/P1Y"
    assert old in text
    return text.replace(old, cycle)


def wait(duration):
    text = (FIXTURES / "timer_wait.bpmn").read_text(encoding="utf-8")
    assert ">PT1H<" in text
    return text.replace(">PT1H<", f">{duration}<")


def _start_event_id():
    from lxml import etree
    tree = etree.fromstring((FIXTURES / "timer_yearly.bpmn").read_bytes())
    return tree.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}startEvent").get("id")


@pytest.mark.parametrize("cycle", ["R/PT0S", "R/P0D", "R/PT30S", "R5/2026-12-01T00:00:00Z/PT0S", "R/P0.5M"])
def test_start_cycle_below_the_minimum_is_refused_everywhere(app, tmp_path, cycle):
    element = _start_event_id()
    path = tmp_path / "timer_yearly.bpmn"
    path.write_text(yearly(cycle), encoding="utf-8")

    response = rest_deploy(app.test_client(), [path])  # Camunda Modeler's Deploy
    assert response.status_code == 400, response.json
    [error] = response.json["details"]["timer_yearly.bpmn"]["errors"]
    assert error["mainElementId"] == element
    assert cycle in error["message"] and "短于最短允许的 60 秒" in error["message"] and "minimum" in error["message"]

    with app.extensions["db"].Session() as s, pytest.raises(DeploymentError) as refused:  # start-up / API deploys
        deployments.deploy(s, [("timer_yearly.bpmn", yearly(cycle))])
    assert [p["element"] for p in refused.value.problems] == [element]

    problems = lint_bpmn.lint([path], context=False)  # scripts/lint_bpmn.py
    assert [(f, e) for f, e, _ in problems] == [("timer_yearly.bpmn", element)]


@pytest.mark.parametrize("duration, refused", [("PT0S", True), ("P0D", True), ("PT59S", True), ("PT1M", False),
                                               ("PT1H", False), ("P10D", False)])
def test_one_off_durations_below_the_minimum_are_refused(app, duration, refused):
    with app.extensions["db"].Session() as s:
        if refused:
            with pytest.raises(DeploymentError) as err:
                deployments.deploy(s, [("timer_wait.bpmn", wait(duration))])
            assert [p["element"] for p in err.value.problems] == ["w_wait"]
            assert "时长" in err.value.problems[0]["message"]
        else:
            deployment, definitions, _ = deployments.deploy(s, [("timer_wait.bpmn", wait(duration))])
            assert [d.key for d in definitions] == ["timer_wait"]
        s.rollback()


@pytest.mark.app_config({"TIMER_MIN_SECONDS": 3600})
def test_the_minimum_is_configurable(app):
    with app.extensions["db"].Session() as s:
        with pytest.raises(DeploymentError) as err:
            deployments.deploy(s, [("timer_wait.bpmn", wait("PT30M"))])
        assert "3600 秒" in err.value.problems[0]["message"]
        s.rollback()


def test_next_start_refuses_a_zero_period_instead_of_looping(app):
    with app.extensions["db"].Session() as s:
        spec = deployments.parsed(deployments.latest(s, "year_end_campaign")).spec
    event = timers.start_events(spec)[0].event_definition
    deployed = datetime(2016, 1, 1, tzinfo=UTC)
    after = datetime(2026, 11, 20, tzinfo=UTC)
    for zero in ("R/PT0S", "R/P0D"):
        event.expression = repr(zero)
        try:
            with pytest.raises(timers.TimerPeriodError):
                timers.next_start(event, deployed, after)
        finally:
            event.expression = repr("R/2026-12-01T00:00:00+08:00/P1Y")
    # Ten years of one-minute cycles: answered by arithmetic, the same as stepping through them.
    event.expression = repr("R/PT1M")
    try:
        assert timers.next_start(event, deployed, after) == after + timedelta(minutes=1)
        event.expression = repr("R3/2026-11-01T00:00:00Z/P1M")
        assert timers.next_start(event, deployed, after) == datetime(2026, 12, 1, tzinfo=UTC)
        assert timers.next_start(event, deployed, datetime(2027, 2, 1, tzinfo=UTC)) is None
        event.expression = repr("R/2024-01-31T00:00:00Z/P1M")
        assert timers.next_start(event, deployed, after) == datetime(2026, 11, 30, tzinfo=UTC)
    finally:
        event.expression = repr("R/2026-12-01T00:00:00+08:00/P1Y")


def test_a_zero_cycle_in_the_database_does_not_freeze_the_tick(app, clock, login):
    """A definition stored before the minimum existed, with its start timer pending (as after a restart):
    the tick fails that timer with an incident and goes on; it is not claimed again."""
    pause_start_timers(app)
    element = _start_event_id()
    db = app.extensions["db"]
    with db.Session() as s, s.begin():
        s.add(ProcessDefinition(key="timer_yearly", name="旧的定时启动", version=1, bpmn_xml=yearly("R/PT0S"),
                                content_hash="zero", resource_name="timer_yearly.bpmn", deployed_at=clock()))
        s.add(Timer(kind="start", definition_key="timer_yearly", bpmn_id=element, status="pending", attempts=0,
                    due_at=clock() - timedelta(minutes=1)))
    assert timers.run_due(db, clock(), "test") == 0
    with db.Session() as s:
        row = s.scalars(select(Timer).where(Timer.definition_key == "timer_yearly")).one()
        assert row.status == "failed"
        assert s.scalars(select(Timer).where(Timer.definition_key == "timer_yearly",
                                             Timer.status == "pending")).all() == []
    admin = login("admin")
    [incident] = admin.ok(admin.get("/api/incidents"))
    assert (incident["kind"], incident["task"], incident["timer_id"]) == ("timer_period", element, row.id)
    assert "R/PT0S" in incident["error"]
    assert timers.run_due(db, clock(), "test") == 0


def test_a_cycle_from_instance_data_below_the_minimum_fails_the_step(app, clock, login):
    with app.extensions["db"].Session() as s, s.begin():
        deployments.deploy(s, [("timer_cycle_data.bpmn", (FIXTURES / "timer_cycle_data.bpmn").read_bytes())],
                           now=clock())
    clerk, admin = login("clerk"), login("admin")
    response = clerk.post("/api/processes/timer_cycle_data/instances", {"data": {"cycle": "R/PT0S"}})
    assert response.status_code == 422, response.json
    assert response.json["code"] == "TIMER_PERIOD" and "r_remind" in response.json["message"]
    [incident] = admin.ok(admin.get("/api/incidents"))
    assert (incident["kind"], incident["task"]) == ("timer_period", "r_remind")

    instance = clerk.start("timer_cycle_data", {"cycle": "R3/PT1H"})
    with app.extensions["db"].Session() as s:
        [row] = s.scalars(select(Timer).where(Timer.instance_id == instance["id"])).all()
        assert row.bpmn_id == "r_remind" and row.status == "pending"
