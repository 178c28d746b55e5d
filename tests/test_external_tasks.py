"""External tasks the Camunda 7 way (issue 18): a service task whose topic has no built-in handler waits for a
worker that fetches and locks it over /engine-rest/external-task, with Camunda's shapes and rules."""
from pathlib import Path

import pytest

from test_engine_rest import basic, deploy

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "external_charge.bpmn"
TOPIC = [{"topicName": "demo.charge", "lockDuration": 60000}]


def add_worker(app, username="worker1"):
    from app.models import User, UserRole
    with app.extensions["db"].Session() as s, s.begin():
        user = User(username=username, display_name="外部执行程序")
        user.set_password("demo")
        user.roles = [UserRole(role="worker")]
        s.add(user)


@pytest.fixture
def rest(app):
    """Deploys the fixture over /engine-rest as the Modeler does; a worker account; a poster for JSON calls."""
    client = app.test_client()
    assert deploy(client, [FIXTURE], name="external").status_code == 200
    add_worker(app)

    def post(path, body=None, user="worker1"):
        return client.post(f"/engine-rest{path}", json=body if body is not None else {}, headers=basic(user))

    def get(path, user="worker1"):
        return client.get(f"/engine-rest{path}", headers=basic(user))
    post.get = get
    return post


def start(rest, amount=120, business_key="B-1"):
    response = rest("/process-definition/key/external_charge/start",
                    {"businessKey": business_key, "variables": {"amount": {"value": amount, "type": "Integer"}}},
                    user="clerk")
    assert response.status_code == 200, response.json
    return response.json["id"]


def fetch(rest, worker="w1", max_tasks=1, topics=TOPIC, **extra):
    response = rest("/external-task/fetchAndLock", {"workerId": worker, "maxTasks": max_tasks, "topics": topics,
                                                    **extra})
    assert response.status_code == 200, response.json
    return response.json


def test_a_topic_without_handler_waits_for_a_worker_and_completes_with_camunda_shapes(app, rest, login, clock):
    instance_id = start(rest)
    clerk = login("clerk")
    assert [t["name"] for t in clerk.tasks() if t["instance_id"] == int(instance_id)] == []
    listed = rest.get("/external-task?topicName=demo.charge").json
    assert [(t["activityId"], t["workerId"], t["retries"], t["businessKey"], t["processInstanceId"])
            for t in listed] == [("x_charge", None, None, "B-1", instance_id)]
    assert rest.get("/external-task/count?notLocked=true").json == {"count": 1}
    assert rest.get("/external-task/topic-names").json == ["demo.charge"]

    assert fetch(rest, topics=[{"topicName": "unknown.topic", "lockDuration": 1000}]) == []
    [task] = fetch(rest, usePriority=True)
    assert set(task) >= {"activityId", "activityInstanceId", "errorMessage", "errorDetails", "executionId", "id",
                         "lockExpirationTime", "processDefinitionId", "processDefinitionKey", "processInstanceId",
                         "tenantId", "retries", "workerId", "priority", "topicName", "variables", "businessKey"}
    assert (task["workerId"], task["topicName"], task["priority"], task["businessKey"]) == ("w1", "demo.charge", 5,
                                                                                           "B-1")
    assert task["lockExpirationTime"] == "2026-11-20T09:01:00.000+0000"
    assert task["processDefinitionId"].startswith("external_charge:1:")
    assert task["variables"]["amount"] == {"type": "Integer", "value": 120, "valueInfo": {}}
    assert task["variables"]["charge_amount"] == {"type": "Integer", "value": 120, "valueInfo": {}}
    assert fetch(rest, worker="w2") == []  # locked: another worker does not get it
    assert rest.get("/external-task/count?locked=true").json == {"count": 1}

    wrong = rest(f"/external-task/{task['id']}/complete", {"workerId": "w2"})
    assert wrong.status_code == 400 and wrong.json["type"] == "InvalidRequestException"
    assert "cannot be completed by worker 'w2'. It is locked by worker 'w1'." in wrong.json["message"]
    bad_vars = rest(f"/external-task/{task['id']}/complete",
                    {"workerId": "w1", "variables": {"receipt": {"value": "x", "type": "Integer"}}})
    assert bad_vars.status_code == 400 and "receipt" in bad_vars.json["message"]
    reserved = rest(f"/external-task/{task['id']}/complete",
                    {"workerId": "w1", "variables": {"initiator": {"value": "x"}}})
    assert reserved.status_code == 400 and "initiator" in reserved.json["message"]

    done = rest(f"/external-task/{task['id']}/complete",
                {"workerId": "w1", "variables": {"receipt": {"value": "R-9", "type": "String"}}})
    assert done.status_code == 204 and done.data == b""
    assert rest(f"/external-task/{task['id']}/complete", {"workerId": "w1"}).status_code == 404
    [confirm] = [t for t in clerk.tasks() if t["instance_id"] == int(instance_id)]
    assert confirm["name"] == "确认扣款结果"
    history = clerk.history(int(instance_id))
    assert [e["type"] for e in history][:2] == ["instance_started", "external_task_completed"]
    clerk.complete(confirm["id"], {})
    verified = clerk.get(f"/api/instances/{instance_id}/verify")
    assert verified.status_code == 200 and verified.json["ok"], verified.json


def test_a_bpmn_error_goes_to_the_boundary_event_and_replays(rest, login):
    instance_id = start(rest)
    [task] = fetch(rest)
    response = rest(f"/external-task/{task['id']}/bpmnError",
                    {"workerId": "w1", "errorCode": "CARD_DECLINED", "errorMessage": "余额不足",
                     "variables": {"declined_at": {"value": "2026-11-20", "type": "String"}}})
    assert response.status_code == 204
    clerk = login("clerk")
    [handle] = [t for t in clerk.tasks() if t["instance_id"] == int(instance_id)]
    assert handle["name"] == "处理被拒扣款"
    assert [e["type"] for e in clerk.history(int(instance_id))][-2:] == ["external_task_error", "error_caught"]
    clerk.complete(handle["id"], {})
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]


def test_failure_counts_retries_down_and_leaves_an_incident_at_zero(app, rest, login, clock):
    instance_id = start(rest)
    [task] = fetch(rest)
    failed = rest(f"/external-task/{task['id']}/failure",
                  {"workerId": "w1", "errorMessage": "网关超时", "errorDetails": "timeout after 30 s", "retries": 1,
                   "retryTimeout": 30000})
    assert failed.status_code == 204
    assert fetch(rest) == []  # not before the retry timeout
    clock.advance(seconds=31)
    [again] = fetch(rest, worker="w2")
    assert (again["retries"], again["errorMessage"], again["errorDetails"]) == (1, "网关超时", "timeout after 30 s")
    assert rest(f"/external-task/{task['id']}/failure",
                {"workerId": "w1", "errorMessage": "x", "retries": 0}).status_code == 400  # w2 holds it now
    assert rest(f"/external-task/{task['id']}/failure",
                {"workerId": "w2", "errorMessage": "仍然超时", "retries": 0, "retryTimeout": 0}).status_code == 204
    clock.advance(seconds=1)
    assert fetch(rest) == []  # no retries left: not fetched
    assert rest.get("/external-task?noRetriesLeft=true").json[0]["id"] == task["id"]
    admin = login("admin")
    incidents = admin.get("/api/incidents").json
    rows = incidents if isinstance(incidents, list) else incidents.get("items", incidents)
    assert any(i["kind"] == "failedExternalTask" and i["instance_id"] == int(instance_id) for i in rows)
    from app.engine.stranded import find_stranded
    with app.extensions["db"].Session() as s:
        assert int(instance_id) not in [f["instance_id"] for f in find_stranded(s, clock())]
    response = app.test_client().put(f"/engine-rest/external-task/{task['id']}/retries", json={"retries": 2},
                                     headers=basic("worker1"))
    assert response.status_code == 204
    [third] = fetch(rest, worker="w3")
    assert third["retries"] == 2
    assert rest(f"/external-task/{task['id']}/complete", {"workerId": "w3"}).status_code == 204
    assert login("clerk").get(f"/api/instances/{instance_id}/verify").json["ok"]


def test_lock_expiry_extend_and_unlock_follow_camunda(rest, clock):
    start(rest)
    [task] = fetch(rest, topics=[{"topicName": "demo.charge", "lockDuration": 10000}])
    assert rest(f"/external-task/{task['id']}/extendLock", {"workerId": "w2", "newDuration": 5000}).status_code == 400
    assert rest(f"/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 20000}).status_code == 204
    clock.advance(seconds=15)
    assert fetch(rest, worker="w2") == []  # extended: still locked
    clock.advance(seconds=10)
    expired = rest(f"/external-task/{task['id']}/extendLock", {"workerId": "w1", "newDuration": 5000})
    assert expired.status_code == 400 and "expired" in expired.json["message"]
    [taken] = fetch(rest, worker="w2")  # the lock expired: another worker takes it
    late = rest(f"/external-task/{task['id']}/complete", {"workerId": "w1"})
    assert late.status_code == 400 and "It is locked by worker 'w2'" in late.json["message"]
    assert rest(f"/external-task/{taken['id']}/unlock").status_code == 204
    assert rest.get(f"/external-task/{task['id']}").json["workerId"] is None
    [again] = fetch(rest, worker="w3")
    assert rest(f"/external-task/{again['id']}/complete", {"workerId": "w3"}).status_code == 204


def test_bad_input_and_permissions(rest):
    start(rest)
    assert rest("/external-task/fetchAndLock", {"workerId": "w1", "maxTasks": 1, "topics": TOPIC},
                user="clerk").status_code == 403
    for body, field in (({"maxTasks": 1, "topics": TOPIC}, "workerId"), ({"workerId": "w", "topics": TOPIC}, "maxTasks"),
                        ({"workerId": "w", "maxTasks": -1}, "maxTasks"),
                        ({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "demo.charge"}]}, "lockDuration"),
                        ({"workerId": "w", "maxTasks": 1, "topics": "x"}, "topics")):
        response = rest("/external-task/fetchAndLock", body)
        assert response.status_code == 400 and field in response.json["message"], (body, response.json)
    assert rest("/external-task/nope/complete", {"workerId": "w"}).status_code == 404
    assert rest("/external-task/" + "x" * 300 + "/complete", {"workerId": "w"}).status_code == 404
    [task] = fetch(rest)
    assert rest(f"/external-task/{task['id']}/failure", {"workerId": "w1", "retries": -1}).status_code == 400
    assert rest(f"/external-task/{task['id']}/bpmnError", {"workerId": "w1"}).status_code == 400
    assert rest.get("/external-task?sortBy=id").status_code == 400


def test_long_polling_waits_for_a_task_but_is_bounded(app, rest):
    import time
    app.config["EXTERNAL_TASK_MAX_POLL_MS"] = 600
    began = time.monotonic()
    assert fetch(rest, asyncResponseTimeout=60000) == []
    assert 0.5 <= time.monotonic() - began < 5


def test_unknown_topics_deploy_with_a_warning_not_a_refusal(app):
    from app.engine import deployments
    with app.extensions["db"].Session() as s, s.begin():
        deployment, definitions, _ = deployments.deploy(s, [("external_charge.bpmn", FIXTURE.read_bytes())],
                                                        changed_only=False)
        assert [d.key for d in definitions] == ["external_charge"]
        assert any("demo.charge" in w["message"] and w["element"] == "x_charge" for w in deployment.warnings)


def test_two_workers_never_lock_the_same_task(app, rest, clock):
    """PostgreSQL: FOR UPDATE SKIP LOCKED lets a second worker take the next task while the first one's lock
    transaction is still open (SQLite serialises writers instead, so there is nothing to race)."""
    from app.engine import external
    db = app.extensions["db"]
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE)")
    for key in ("K-1", "K-2"):
        start(rest, business_key=key)
    topic = {"topicName": "demo.charge", "lockDuration": 1000, "definition_ids": None}
    with db.Session() as first, first.begin():
        [(mine, _)] = external.fetch_and_lock(first, "w1", 1, [topic], clock())
        with db.Session() as second, second.begin():
            [(theirs, _)] = external.fetch_and_lock(second, "w2", 5, [topic], clock())
        assert mine.id != theirs.id
