"""Every deployment in ../shared/modeler-corpus/outside/ (public Camunda 7 diagrams nobody here wrote) through
/engine-rest/deployment/create as Camunda Modeler sends it, with the outcome Camunda 7 would give: deployed,
started and driven to its end (or to the wait Camunda would wait at), or refused with one message per element
this service deliberately does not run (Java, scripts, connectors, compensation). Never a 500 (issue 18)."""
from pathlib import Path

import pytest

from outside_driver import basic, drive
from test_engine_rest import deploy
from test_external_tasks import add_worker

OUTSIDE = Path(__file__).resolve().parents[2] / "shared" / "modeler-corpus" / "outside"

# folder → (start variables, task data a person would type) for the diagrams that run
RUNS = {
    "01": ({"name": "张三", "email": "zs@example.cn"}, {"email": "zs@example.cn"}, "completed"),
    "03": ({"bookTitle": "BPMN", "help": "Austria"}, {"help": "Austria", "helpNote": "please help"}, "completed"),
    "07": ({}, {}, "completed"),
    "09": ({}, {}, "completed"),  # assignee user1 and groups accounting/management are nobody here: fallback
    "11": ({}, {}, "completed"),  # ${assignee}, ${candidateGroups}, ${formKey} unset: fallback holders, no form
    "15": ({}, {}, "completed"),  # embedded HTML forms: a generic form
    "17": ({}, {}, "completed"),  # an external task: a worker completes it
    "23": ({}, {}, "message"),  # after the external send task, waits for its message
    "25": ({}, {}, "message"),  # started by its message over REST, then waits for the next one
    "29": ({}, {}, "completed"),  # inclusive gateways
    "33": ({}, {}, "completed"),  # event sub-process
    "35": ({}, {}, "completed"),  # message event sub-process inside a sub-process
    "49": ({}, {}, "completed"),  # a plain bpmn:task passes through
}
# folder → {element: words its message must have}: refused, one message per element not run here
REFUSED = {
    "05": {"GenerateList": "delegateExpression"},
    "19": {"ServiceTask_1": "camunda:class"},
    "21": {"ServiceTask_1": "http-connector"},
    "27": {"timerEvent": "Java Bean", "sendReminderTask": "执行监听器"},
    "31": {"Activity_0x1k9u4": "delegateExpression"},  # inside a multi-instance sub-process: found there too
    "37": {"BoundaryEvent_0bpw3io": "补偿", "IntermediateThrowEvent_14v0ocg": "补偿"},
    "39": {"publish_announcement_website": "camunda:expression", "publish_announcement_twitter": "camunda:expression",
           "publish_announcement_facebook": "camunda:expression"},
    "43": {"ServiceTaskArchiveInvoice": "camunda:class"},
    "45": {"ScriptTask_1": "xslt", "StartEvent_1": "groovy", "EndEvent_1": "groovy"},
}


def folders():
    return sorted(p.name for p in OUTSIDE.iterdir() if p.is_dir())


def files_of(name):
    return sorted((OUTSIDE / name).iterdir(), key=lambda p: (not p.name.endswith(".bpmn"), p.name))


def test_the_corpus_is_what_this_test_covers():
    assert set(folders()) == set(RUNS) | set(REFUSED) | {"13", "41", "47"}


def waiting_messages(app, instance_id):
    from app.engine import runtime
    from app.models import ProcessInstance
    with app.extensions["db"].Session() as s:
        workflow = runtime.load(runtime.Step(s, None, None), s.get(ProcessInstance, instance_id))
        return [name for name, _, _ in runtime.waiting_messages(workflow)]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_runs_as_camunda_7_would(app, login, name):
    add_worker(app)
    client = app.test_client()
    response = deploy(client, files_of(name), name=f"outside-{name}")
    assert response.status_code == 200, response.json
    variables, data, outcome = RUNS[name]
    for ident in response.json["deployedProcessDefinitions"]:
        started = client.post(f"/engine-rest/process-definition/{ident}/start", headers=basic("clerk"), json={
            "businessKey": f"outside-{name}", "variables": {k: {"value": v} for k, v in variables.items()}})
        assert started.status_code == 200, started.json
        instance_id = int(started.json["id"])
        status, _done = drive(app, login, instance_id, extra=data)
        if outcome == "message":
            assert status == "waiting"
            [message] = waiting_messages(app, instance_id)
            sent = login("clerk").post(f"/api/instances/{instance_id}/messages/{message}", {"data": {}})
            assert sent.status_code == 200, sent.json
            status, _done = drive(app, login, instance_id, extra=data)
        assert status == "completed", (name, status, _done)
        assert login("auditor").get(f"/api/instances/{instance_id}/verify").json["ok"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_one_clear_message_per_element(app, name):
    response = deploy(app.test_client(), files_of(name), name=f"outside-{name}")
    assert response.status_code == 400, response.json
    assert response.json["type"] == "ParseException"
    errors = [e for d in response.json["details"].values() for e in d["errors"]]
    by_element = {}
    for error in errors:
        by_element.setdefault(error["mainElementId"], []).append(error["message"])
    for element, words in REFUSED[name].items():
        assert any(words in m for m in by_element.get(element, [])), (element, by_element)
    for message in (m for ms in by_element.values() for m in ms):
        assert " / " in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)  # Chinese and English
        assert "Error(" not in message and "Traceback" not in message and "b'<" not in message


def test_a_called_process_is_refused_a_direct_start_clearly(app):
    response = deploy(app.test_client(), files_of("41"), name="outside-41")
    assert response.status_code == 200, response.json
    [ident] = response.json["deployedProcessDefinitions"]
    started = app.test_client().post(f"/engine-rest/process-definition/{ident}/start", headers=basic("clerk"),
                                     json={})
    assert started.status_code == 403 and "isStartableInTasklist" in started.json["message"]


def test_a_collaboration_without_executable_process_deploys_without_definitions(app):
    response = deploy(app.test_client(), files_of("47"), name="outside-47")
    assert response.status_code == 200, response.json
    assert response.json["deployedProcessDefinitions"] is None


def test_a_diagram_whose_decision_is_not_in_the_folder_deploys_and_says_so_when_reached(app):
    """Folder 13 holds the .bpmn of a business rule task but not its .dmn. Camunda 7 deploys it and looks the
    decision up when the task is reached; so does this service: deployed, and a start that reaches the task is a
    clear 422 naming the decision (never a 500 nor a raw error)."""
    client = app.test_client()
    response = deploy(client, files_of("13"), name="outside-13")
    assert response.status_code == 200, response.json
    [ident] = response.json["deployedProcessDefinitions"]
    started = client.post(f"/engine-rest/process-definition/{ident}/start", headers=basic("clerk"), json={})
    assert started.status_code == 422, started.json
    assert "Decision_Task_Assignment" in started.json["message"] and "Traceback" not in started.json["message"]
