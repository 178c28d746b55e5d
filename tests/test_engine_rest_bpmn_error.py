"""A BPMN error a worker reports (``/external-task/{id}/bpmnError``) goes where Camunda 7 sends it (issue 18): the
task's boundary event, an enclosing sub-process's boundary event or an error event sub-process; caught nowhere,
Camunda 7 (``enableExceptionsAfterUnhandledBpmnError`` false, its default) ends the task's execution path: its
outgoing flow is not taken, the scope ends when nothing else is left in it, and the variables sent stay set."""
import pytest

from camunda_diagrams import diagram, flow
from test_engine_rest import basic, deploy
from test_external_tasks import add_worker

WORKER = "w1"


def ext(ident, topic="demo.uncaught"):
    return (f'<bpmn:serviceTask id="{ident}" name="外部处理" camunda:type="external" camunda:topic="{topic}" />')


def user(ident, name):
    return f'<bpmn:userTask id="{ident}" name="{name}" camunda:candidateGroups="clerk" />'


ERROR = '<bpmn:error id="Err_1" name="拒绝" errorCode="REJECTED" />'

PLAIN = diagram("err_plain", "\n".join([
    '<bpmn:startEvent id="s" />', ext("t"), user("u_after", "后续审核"), '<bpmn:endEvent id="e" />',
    flow("f1", "s", "t"), flow("f2", "t", "u_after"), flow("f3", "u_after", "e"),
    '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:errorEventDefinition id="bd" errorRef="Err_1" />'
    '</bpmn:boundaryEvent>', user("u_rejected", "处理拒绝"), '<bpmn:endEvent id="e2" />',
    flow("f4", "b", "u_rejected"), flow("f5", "u_rejected", "e2")]), extra=ERROR, attrs='camunda:candidateStarterGroups="clerk"')

PARALLEL = diagram("err_parallel", "\n".join([
    '<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', ext("t"), user("u_after", "后续审核"),
    user("u_other", "并行审核"), '<bpmn:endEvent id="e1" />', '<bpmn:endEvent id="e2" />',
    flow("f1", "s", "fork"), flow("f2", "fork", "t"), flow("f3", "fork", "u_other"), flow("f4", "t", "u_after"),
    flow("f5", "u_after", "e1"), flow("f6", "u_other", "e2")]), attrs='camunda:candidateStarterGroups="clerk"')

NESTED = diagram("err_nested", "\n".join([
    '<bpmn:startEvent id="s" />',
    '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />' + ext("t") + user("u_inner", "内部审核") +
    '<bpmn:endEvent id="se" />' + flow("g1", "ss", "t") + flow("g2", "t", "u_inner") + flow("g3", "u_inner", "se") +
    '</bpmn:subProcess>', user("u_after", "子流程之后"), '<bpmn:endEvent id="e" />',
    flow("f1", "s", "sub"), flow("f2", "sub", "u_after"), flow("f3", "u_after", "e"),
    '<bpmn:boundaryEvent id="b" attachedToRef="sub"><bpmn:errorEventDefinition id="bd" errorRef="Err_1" />'
    '</bpmn:boundaryEvent>', user("u_rejected", "处理拒绝"), '<bpmn:endEvent id="e2" />',
    flow("f4", "b", "u_rejected"), flow("f5", "u_rejected", "e2")]), extra=ERROR,
    attrs='camunda:candidateStarterGroups="clerk"')

EVENT_SUB = diagram("err_event_sub", "\n".join([
    '<bpmn:startEvent id="s" />', ext("t"), user("u_after", "后续审核"), '<bpmn:endEvent id="e" />',
    flow("f1", "s", "t"), flow("f2", "t", "u_after"), flow("f3", "u_after", "e"),
    '<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="es"><bpmn:errorEventDefinition '
    'id="esd" errorRef="Err_1" /></bpmn:startEvent>' + user("u_handler", "事件子流程处理") +
    '<bpmn:endEvent id="ee" />' + flow("h1", "es", "u_handler") + flow("h2", "u_handler", "ee") +
    '</bpmn:subProcess>']), extra=ERROR, attrs='camunda:candidateStarterGroups="clerk"')


NEIGHBOUR = diagram("err_neighbour", "\n".join([
    '<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', ext("t"), user("u_other", "并行审核"),
    '<bpmn:endEvent id="e1" />', '<bpmn:endEvent id="e2" />',
    '<bpmn:boundaryEvent id="b_other" attachedToRef="u_other"><bpmn:errorEventDefinition id="bd" errorRef="Err_1" />'
    '</bpmn:boundaryEvent>', user("u_rejected", "处理拒绝"), '<bpmn:endEvent id="e3" />',
    flow("f1", "s", "fork"), flow("f2", "fork", "t"), flow("f3", "fork", "u_other"), flow("f4", "t", "e1"),
    flow("f5", "u_other", "e2"), flow("f6", "b_other", "u_rejected"), flow("f7", "u_rejected", "e3")]),
    extra=ERROR, attrs='camunda:candidateStarterGroups="clerk"')


@pytest.fixture
def rest(app, tmp_path):
    client = app.test_client()
    paths = []
    for name, xml in (("plain", PLAIN), ("parallel", PARALLEL), ("nested", NESTED), ("event_sub", EVENT_SUB),
                      ("neighbour", NEIGHBOUR)):
        path = tmp_path / f"err_{name}.bpmn"
        path.write_text(xml, encoding="utf-8")
        paths.append(path)
    for path in paths:
        response = deploy(client, [path], name=path.stem)
        assert response.status_code == 200, response.json
    add_worker(app)

    def post(path, body=None, user="worker1"):
        return client.post(f"/engine-rest{path}", json=body if body is not None else {}, headers=basic(user))
    post.get = lambda path, user="worker1": client.get(f"/engine-rest{path}", headers=basic(user))
    return post


def start(rest, key):
    response = rest(f"/process-definition/key/{key}/start", {"businessKey": f"BK-{key}"}, user="clerk")
    assert response.status_code == 200, response.json
    return int(response.json["id"])


def throw(rest, code):
    response = rest("/external-task/fetchAndLock", {"workerId": WORKER, "maxTasks": 1,
                                                    "topics": [{"topicName": "demo.uncaught", "lockDuration": 60000}]})
    [task] = response.json
    response = rest(f"/external-task/{task['id']}/bpmnError", {
        "workerId": WORKER, "errorCode": code, "errorMessage": "供应商资格不符",
        "variables": {"reason": {"value": "资格不符", "type": "String"}}})
    assert response.status_code == 204, response.json
    return task


def names(clerk, instance_id):
    return sorted(t["name"] for t in clerk.tasks() if t["instance_id"] == instance_id)


def test_an_uncaught_error_ends_the_path_and_the_process_completes(rest, login):
    instance_id = start(rest, "err_plain")
    throw(rest, "SOMETHING_ELSE")  # the boundary event catches REJECTED only
    clerk = login("clerk")
    assert names(clerk, instance_id) == []  # neither the outgoing flow nor the boundary event's path is taken
    instance = clerk.get(f"/api/instances/{instance_id}").json
    assert instance["status"] == "completed"
    assert instance["data"]["reason"] == "资格不符"  # the variables the worker sent are set
    assert "error_code" not in instance["data"]
    events = [e["type"] for e in clerk.history(instance_id)]
    assert "error_uncaught" in events and "error_caught" not in events
    assert rest.get(f"/external-task/count?processInstanceId={instance_id}").json == {"count": 0}
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]  # the replay ends the same path


def test_a_matching_boundary_event_still_catches(rest, login):
    instance_id = start(rest, "err_plain")
    throw(rest, "REJECTED")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["处理拒绝"]
    instance = clerk.get(f"/api/instances/{instance_id}").json
    assert instance["status"] == "running"
    assert instance["data"]["reason"] == "资格不符" and instance["data"]["error_code"] == "REJECTED"


def test_an_uncaught_error_ends_one_parallel_path_only(rest, login):
    instance_id = start(rest, "err_parallel")
    throw(rest, "REJECTED")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["并行审核"]  # the other path goes on; 后续审核 never comes
    [other] = [t for t in clerk.tasks() if t["instance_id"] == instance_id]
    clerk.complete(other["id"], {})
    assert clerk.get(f"/api/instances/{instance_id}").json["status"] == "completed"
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]


def test_the_enclosing_sub_process_boundary_event_catches(rest, login):
    instance_id = start(rest, "err_nested")
    throw(rest, "REJECTED")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["处理拒绝"]
    assert clerk.get(f"/api/instances/{instance_id}").json["data"]["reason"] == "资格不符"
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]


def test_an_uncaught_error_in_a_sub_process_ends_it_and_the_process_goes_on(rest, login):
    instance_id = start(rest, "err_nested")
    throw(rest, "OTHER")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["子流程之后"]  # the sub-process ended as at a none end event
    assert clerk.get(f"/api/instances/{instance_id}").json["data"]["reason"] == "资格不符"
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]


def test_an_error_event_sub_process_catches(rest, login):
    instance_id = start(rest, "err_event_sub")
    throw(rest, "REJECTED")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["事件子流程处理"]  # it interrupts: the external task is gone
    assert clerk.get(f"/api/instances/{instance_id}").json["data"]["reason"] == "资格不符"
    assert rest.get(f"/external-task/count?processInstanceId={instance_id}").json == {"count": 0}
    [handler] = [t for t in clerk.tasks() if t["instance_id"] == instance_id]
    clerk.complete(handler["id"], {})
    assert clerk.get(f"/api/instances/{instance_id}").json["status"] == "completed"
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]
    other = start(rest, "err_event_sub")  # the handler is not started with the next instance
    throw(rest, "OTHER")
    assert names(clerk, other) == [] and clerk.get(f"/api/instances/{other}").json["status"] == "completed"


def test_a_boundary_event_on_another_task_does_not_catch(rest, login):
    """Only the task's own boundary events and its enclosing scopes' handlers catch, never a neighbour's."""
    instance_id = start(rest, "err_neighbour")
    throw(rest, "REJECTED")
    clerk = login("clerk")
    assert names(clerk, instance_id) == ["并行审核"]
    [other] = [t for t in clerk.tasks() if t["instance_id"] == instance_id]
    clerk.complete(other["id"], {})
    assert clerk.get(f"/api/instances/{instance_id}").json["status"] == "completed"
    assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]
