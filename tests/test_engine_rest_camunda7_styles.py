"""Five more small Camunda 7 diagrams in the styles issue 18 found in diagrams from elsewhere (besides the
25 of ../shared/modeler-corpus/outside/, test_outside_corpus.py): a process started by its message, generated
forms (camunda:formData), camunda:initiator, a plain bpmn:task and a business rule task with
camunda:mapDecisionResult. Each deploys through /engine-rest/deployment/create as the Modeler sends it, starts
over REST and is driven to its end as a Camunda 7 user would; the replay agrees."""
from pathlib import Path

import pytest

from camunda_diagrams import diagram, flow
from outside_driver import basic, drive
from test_engine_rest import deploy
from test_external_tasks import add_worker

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STARTERS = 'camunda:candidateStarterGroups="clerk"'

MESSAGE_START = diagram("c7_message_start", "\n".join([
    '<bpmn:startEvent id="s" name="收到订单"><bpmn:messageEventDefinition id="md" messageRef="Msg_order" />'
    '</bpmn:startEvent>',
    '<bpmn:userTask id="u_check" name="核对订单" />',  # no assignment at all: the fallback holders act
    '<bpmn:endEvent id="e" />', flow("f1", "s", "u_check"), flow("f2", "u_check", "e")]),
    extra='<bpmn:message id="Msg_order" name="orderReceived" />', attrs=STARTERS)

FORM_DATA = diagram("c7_form_data", "\n".join([
    '<bpmn:startEvent id="s"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="title" label="标题" type="string"><camunda:validation>'
    '<camunda:constraint name="required" /><camunda:constraint name="maxlength" config="20" />'
    '</camunda:validation></camunda:formField>'
    '<camunda:formField id="amount" label="金额" type="long" defaultValue="10"><camunda:validation>'
    '<camunda:constraint name="min" config="1" /></camunda:validation></camunda:formField>'
    '</camunda:formData></bpmn:extensionElements></bpmn:startEvent>',
    '<bpmn:userTask id="u_decide" name="审批" camunda:candidateGroups="clerk"><bpmn:extensionElements>'
    '<camunda:formData><camunda:formField id="verdict" label="结论" type="enum">'
    '<camunda:value id="yes" name="同意" /><camunda:value id="no" name="不同意" /></camunda:formField>'
    '</camunda:formData></bpmn:extensionElements></bpmn:userTask>',
    '<bpmn:exclusiveGateway id="g" default="f_no" />', '<bpmn:userTask id="u_yes" name="执行" '
    'camunda:candidateGroups="clerk" />', '<bpmn:endEvent id="e" />', '<bpmn:endEvent id="e_no" />',
    flow("f1", "s", "u_decide"), flow("f2", "u_decide", "g"),
    flow("f_yes", "g", "u_yes", "${verdict == 'yes'}"), flow("f_no", "g", "e_no"), flow("f3", "u_yes", "e")]),
    attrs=STARTERS)

INITIATOR = diagram("c7_initiator", "\n".join([
    '<bpmn:startEvent id="s" camunda:initiator="starter" />',
    '<bpmn:userTask id="u_own" name="发起人确认" camunda:assignee="${starter}" />', '<bpmn:endEvent id="e" />',
    flow("f1", "s", "u_own"), flow("f2", "u_own", "e")]), attrs=STARTERS)

PLAIN_TASK = diagram("c7_plain_task", "\n".join([
    '<bpmn:startEvent id="s" />', '<bpmn:task id="t_note" name="记录（无类型任务）" />',
    '<bpmn:manualTask id="t_manual" name="线下盖章" />',
    '<bpmn:userTask id="u_after" name="归档" camunda:candidateGroups="clerk" />', '<bpmn:endEvent id="e" />',
    flow("f1", "s", "t_note"), flow("f2", "t_note", "t_manual"), flow("f3", "t_manual", "u_after"),
    flow("f4", "u_after", "e")]), attrs=STARTERS)

DECISION = diagram("c7_decision", "\n".join([
    '<bpmn:startEvent id="s" />',
    '<bpmn:businessRuleTask id="d_level" name="定审核级别" camunda:decisionRef="review_level" '
    'camunda:mapDecisionResult="singleEntry" camunda:resultVariable="level" />',
    '<bpmn:businessRuleTask id="d_chain" name="定审核链" camunda:decisionRef="amount_chain" '
    'camunda:decisionRefBinding="deployment" camunda:mapDecisionResult="collectEntries" '
    'camunda:resultVariable="chain" />',
    '<bpmn:exclusiveGateway id="g" default="f_low" />',
    '<bpmn:userTask id="u_top" name="主要领导审核" camunda:candidateGroups="leader" />',
    '<bpmn:userTask id="u_low" name="科室审核" camunda:candidateGroups="clerk" />',
    '<bpmn:endEvent id="e1" />', '<bpmn:endEvent id="e2" />',
    flow("f1", "s", "d_level"), flow("f2", "d_level", "d_chain"), flow("f3", "d_chain", "g"),
    flow("f_top", "g", "u_top", "${level == '主要领导'}"), flow("f_low", "g", "u_low"),
    flow("f4", "u_top", "e1"), flow("f5", "u_low", "e2")]), attrs=STARTERS)


def deploy_text(client, tmp_path, name, xml, *more):
    path = tmp_path / f"{name}.bpmn"
    path.write_text(xml, encoding="utf-8")
    response = deploy(client, [path, *more], name=name)
    assert response.status_code == 200, response.json
    return response.json


def start(client, key, variables=None, user="clerk"):
    response = client.post(f"/engine-rest/process-definition/key/{key}/start", headers=basic(user), json={
        "businessKey": f"c7-{key}", "variables": {k: {"value": v} for k, v in (variables or {}).items()}})
    assert response.status_code == 200, response.json
    return int(response.json["id"])


def finish(app, login, instance_id, data=None):
    status, done = drive(app, login, instance_id, extra=data)
    assert status == "completed", (status, done)
    assert login("auditor").get(f"/api/instances/{instance_id}/verify").json["ok"]
    return done


@pytest.fixture
def client(app):
    add_worker(app)
    return app.test_client()


def test_a_process_started_only_by_its_message(app, login, client, tmp_path):
    deploy_text(client, tmp_path, "c7_message_start", MESSAGE_START)
    instance_id = start(client, "c7_message_start")
    done = finish(app, login, instance_id)
    assert [bpmn for _, bpmn in done] == ["u_check"]


def test_generated_forms_from_camunda_form_data(app, login, client, tmp_path):
    deploy_text(client, tmp_path, "c7_form_data", FORM_DATA)
    refused = client.post("/engine-rest/process-definition/key/c7_form_data/start", headers=basic("clerk"),
                          json={"variables": {"title": {"value": "x" * 21}, "amount": {"value": 0}}})
    assert refused.status_code == 400, refused.json  # maxlength and min, validated on the server
    instance_id = start(client, "c7_form_data", {"title": "办公桌椅", "amount": 5})
    done = finish(app, login, instance_id, {"verdict": "yes"})
    assert [bpmn for _, bpmn in done] == ["u_decide", "u_yes"]


def test_the_initiator_holds_the_task_assigned_to_them(app, login, client, tmp_path):
    deploy_text(client, tmp_path, "c7_initiator", INITIATOR)
    instance_id = start(client, "c7_initiator")
    assert login("clerk").get(f"/api/instances/{instance_id}").json["data"]["starter"] == "clerk"
    done = finish(app, login, instance_id)
    assert done == [("clerk", "u_own")]


def test_plain_and_manual_tasks_pass_through(app, login, client, tmp_path):
    deploy_text(client, tmp_path, "c7_plain_task", PLAIN_TASK)
    instance_id = start(client, "c7_plain_task")
    assert [t["name"] for t in login("clerk").tasks() if t["instance_id"] == instance_id] == ["归档"]
    finish(app, login, instance_id)


def test_business_rule_tasks_map_decision_results(app, login, client, tmp_path):
    deploy_text(client, tmp_path, "c7_decision", DECISION, FIXTURES / "dmn_thresholds.dmn")
    high, low = start(client, "c7_decision", {"amount": 6000000}), start(client, "c7_decision", {"amount": 5})
    clerk = login("clerk")
    assert clerk.get(f"/api/instances/{high}").json["data"]["level"] == "主要领导"  # singleEntry: the value
    assert clerk.get(f"/api/instances/{high}").json["data"]["chain"] == ["科室负责人", "分管领导", "主要领导"]
    assert clerk.get(f"/api/instances/{low}").json["data"]["chain"] == ["科室负责人"]  # collectEntries: a list
    assert [bpmn for _, bpmn in finish(app, login, high)] == ["u_top"]
    assert [bpmn for _, bpmn in finish(app, login, low)] == ["u_low"]
