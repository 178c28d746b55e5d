"""One test per cause of issue 18 that stopped Camunda 7 diagrams from running here (the outside corpus shows
them together: tests/test_outside_corpus.py)."""
import json

import pytest

from camunda_diagrams import diagram, flow
from outside_driver import basic
from test_engine_rest import deploy as rest_deploy


def deploy_text(app, files):
    """Deploy (name, text) files over /engine-rest as the Modeler does; the response."""
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp())
    paths = []
    for name, text in files:
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return rest_deploy(app.test_client(), paths, name="compat")


def start(app, ident, variables=None, user="clerk"):
    response = app.test_client().post(f"/engine-rest/process-definition/{ident}/start", headers=basic(user),
                                      json={"variables": {k: {"value": v} for k, v in (variables or {}).items()}})
    assert response.status_code == 200, response.json
    return int(response.json["id"])


def only_definition(response):
    assert response.status_code == 200, response.json
    [ident] = response.json["deployedProcessDefinitions"]
    return ident


def open_tasks(app, instance_id):
    from sqlalchemy import select
    from app.models import HumanTask
    with app.extensions["db"].Session() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == "open")))


USER_TASK = ('<bpmn:startEvent id="s" {start} />{flows}<bpmn:userTask id="t" name="办理" {attrs}>{ext}</bpmn:userTask>'
             '<bpmn:endEvent id="e" />')


def one_task(pid, attrs="", ext="", start="", extra="", process_attrs=""):
    body = USER_TASK.format(start=start, attrs=attrs, ext=ext, flows=flow("f1", "s", "t") + flow("f2", "t", "e"))
    return diagram(pid, body, extra=extra, attrs=process_attrs)


def test_unassigned_task_goes_to_admin_starters_and_initiator_with_a_lint_warning(app, login):
    response = deploy_text(app, [("u.bpmn", one_task("unassigned", process_attrs='camunda:candidateStarterGroups='
                                                                                   '"clerk,reviewer"'))])
    ident = only_definition(response)
    instance_id = start(app, ident)
    [row] = open_tasks(app, instance_id)
    assert (row.assignee, row.candidate_groups, row.candidate_users) == (None, ["admin", "clerk", "reviewer"],
                                                                         ["clerk"])
    assert any(t["id"] == row.id for t in login("admin").tasks())  # the administrator, in any unit
    assert any(t["id"] == row.id for t in login("reviewer").tasks())  # a starter group, in the unit
    assert not any(t["id"] == row.id for t in login("clerk2").tasks())  # not in another unit
    login("admin").complete(row.id, {})


def test_unassigned_warning_at_deployment(app):
    from app.engine import deployments
    with app.extensions["db"].Session() as s, s.begin():
        deployment, _, _ = deployments.deploy(s, [("u.bpmn", one_task("unassigned2").encode())], changed_only=False)
        assert any(w["element"] == "t" and "系统管理员" in w["message"] for w in deployment.warnings)


def test_camunda_initiator_sets_the_variable(app, login):
    ident = only_definition(deploy_text(app, [("i.bpmn", one_task(
        "initiated", start='camunda:initiator="starter"', attrs='camunda:assignee="${starter}"'))]))
    [row] = open_tasks(app, start(app, ident, user="reviewer"))
    assert row.assignee == "reviewer"


def test_form_ref_by_form_id_with_binding_version(app, login):
    form = {"id": "approval_form", "type": "default", "components": [
        {"key": "note", "type": "textfield", "label": "意见", "validate": {"required": True}}]}
    bpmn = one_task("formref", attrs='camunda:candidateGroups="clerk" camunda:formRef="approval_form" '
                                     'camunda:formRefBinding="version" camunda:formRefVersion="1"')
    ident = only_definition(deploy_text(app, [("f.bpmn", bpmn), ("some-file-name.form", json.dumps(form))]))
    form["components"].append({"key": "extra", "type": "textfield", "label": "x", "validate": {"required": True}})
    assert deploy_text(app, [("other.form", json.dumps(form))]).status_code == 200  # version 2 of approval_form
    [row] = open_tasks(app, start(app, ident))
    assert row.form_key == "approval_form@1"
    clerk = login("clerk")
    assert clerk.post(f"/api/tasks/{row.id}/complete", {"data": {}}).json["errors"] == {"note": ["此项为必填项"]}
    clerk.complete(row.id, {"note": "同意"})  # version 1 has no `extra`: pinned by formRefVersion


def test_expression_form_key_is_resolved_at_run_time_and_html_forms_need_none(app, login):
    form = {"id": "chosen", "type": "default", "components": [{"key": "ok", "type": "checkbox", "label": "ok"}]}
    bpmn = one_task("exprform", attrs='camunda:candidateGroups="clerk" camunda:formKey="${formName}"')
    ident = only_definition(deploy_text(app, [("x.bpmn", bpmn), ("chosen.form", json.dumps(form))]))
    [row] = open_tasks(app, start(app, ident, {"formName": "camunda-forms:deployment:chosen.form"}))
    assert row.form_key == "chosen"
    html = one_task("htmlform", attrs='camunda:candidateGroups="clerk" camunda:formKey="embedded:app:forms/a.html"')
    response = deploy_text(app, [("h.bpmn", html)])
    [row] = open_tasks(app, start(app, only_definition(response)))
    assert row.form_key is None


def test_form_data_is_a_generated_form_validated_on_the_server(app, login):
    ext = ('<bpmn:extensionElements><camunda:formData>'
           '<camunda:formField id="amount" label="金额" type="long"><camunda:validation>'
           '<camunda:constraint name="required" /><camunda:constraint name="max" config="100" /></camunda:validation>'
           '</camunda:formField><camunda:formField id="kind" type="enum"><camunda:value id="a" name="A" />'
           '</camunda:formField></camunda:formData></bpmn:extensionElements>')
    ident = only_definition(deploy_text(app, [("g.bpmn", one_task("generated", attrs='camunda:candidateGroups="clerk"',
                                                                   ext=ext))]))
    [row] = open_tasks(app, start(app, ident))
    assert row.form_key == "generated.t"
    clerk = login("clerk")
    refused = clerk.post(f"/api/tasks/{row.id}/complete", {"data": {"amount": 1000, "kind": "b"}})
    assert refused.status_code == 400 and set(refused.json["errors"]) == {"amount", "kind"}
    clerk.complete(row.id, {"amount": 12, "kind": "a"})
    custom = ext.replace('type="long"', 'type="money"')
    response = deploy_text(app, [("c.bpmn", one_task("generated2", attrs='camunda:candidateGroups="clerk"',
                                                     ext=custom))])
    assert response.status_code == 400 and "money" in response.json["message"]


def test_data_store_references_are_ignored(app):
    body = ('<bpmn:startEvent id="s" />' + flow("f1", "s", "t") + flow("f2", "t", "e") +
            '<bpmn:userTask id="t" camunda:candidateGroups="clerk"><bpmn:dataOutputAssociation id="a1">'
            '<bpmn:targetRef>ds_ref</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:userTask>'
            '<bpmn:dataStoreReference id="ds_ref" name="财务系统" dataStoreRef="ds" /><bpmn:endEvent id="e" />')
    response = deploy_text(app, [("d.bpmn", diagram("datastore", body, extra='<bpmn:dataStore id="ds" name="财务系统" />'))])
    assert response.status_code == 200, response.json


def test_unsupported_constructs_are_refused_each_by_name_in_one_deployment(app):
    body = ('<bpmn:startEvent id="s" />' + flow("f1", "s", "java") + flow("f2", "java", "groovy") +
            flow("f3", "groovy", "e") +
            '<bpmn:serviceTask id="java" camunda:class="com.acme.Pay" />'
            '<bpmn:scriptTask id="groovy" scriptFormat="groovy"><bpmn:script>println 1</bpmn:script></bpmn:scriptTask>'
            '<bpmn:endEvent id="e"><bpmn:extensionElements><camunda:executionListener '
            'delegateExpression="${audit}" event="end" /></bpmn:extensionElements></bpmn:endEvent>')
    response = deploy_text(app, [("u.bpmn", diagram("unsupported", body))])
    assert response.status_code == 400
    errors = {e["mainElementId"]: e["message"] for e in response.json["details"]["u.bpmn"]["errors"]}
    assert set(errors) == {"java", "groovy", "e"}
    assert "com.acme.Pay" in errors["java"] and "Topic" in errors["java"]
    assert "groovy" in errors["groovy"] and "变量 = 表达式" in errors["groovy"]
    assert "${audit}" in errors["e"]


def test_inclusive_gateway_takes_flows_without_condition(app, login):
    body = ('<bpmn:startEvent id="s" />' + flow("f1", "s", "g") +
            '<bpmn:inclusiveGateway id="g" />' + flow("f2", "g", "a") + flow("f3", "g", "b", "${false}") +
            '<bpmn:userTask id="a" camunda:candidateGroups="clerk" /><bpmn:userTask id="b" camunda:candidateGroups="clerk" />'
            + flow("f4", "a", "e") + flow("f5", "b", "e") + '<bpmn:endEvent id="e" />')
    ident = only_definition(deploy_text(app, [("i.bpmn", diagram("inclusive", body))]))
    assert [r.bpmn_id for r in open_tasks(app, start(app, ident))] == ["a"]


@pytest.mark.parametrize("expression, data, expected", [
    ("${items.size() > 1}", {"items": [1, 2]}, True),
    ("${name.isEmpty()}", {"name": ""}, True),
    ("${tags.contains('urgent')}", {"tags": ["urgent"]}, True),
    ("${_count + 1}", {"_count": 1}, 2),
    ("${dateTime().plusDays(2).toDate()}", {}, "2026-11-22T09:00:00+00:00"),
])
def test_camunda_expressions(expression, data, expected):
    from datetime import datetime, timezone
    from app.engine import expressions, timers
    with timers.step_clock(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)):
        assert expressions.evaluate(expression, data) == expected


@pytest.mark.parametrize("expression", ["${__class__}", "${x.__dict__}", "${bean.run()}", "${x.size(2)}"])
def test_expressions_stay_safe(expression):
    from app.engine import expressions
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate(expression, {"x": "a", "bean": {}})


def test_form_pattern_is_tested_anywhere_in_the_value_like_regexp_test():
    from marshmallow import ValidationError
    from app.engine import forms
    form = {"components": [{"key": "help", "type": "textfield", "validate": {"pattern": "Jean-Xavier|Austria"}}]}
    assert forms.validate_data(form, {"help": "to Austria"}) == {"help": "to Austria"}  # re.match would refuse
    with pytest.raises(ValidationError):
        forms.validate_data(form, {"help": "Germany"})


def test_embedded_sub_processes_are_linted_inside_and_run(app, login):
    inner = ('<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />' + flow("g1", "ss", "inner_task") +
             '<bpmn:userTask id="inner_task" camunda:candidateGroups="clerk" />' + flow("g2", "inner_task", "se") +
             '<bpmn:endEvent id="se" /></bpmn:subProcess>')
    body = '<bpmn:startEvent id="s" />' + flow("f1", "s", "sub") + inner + flow("f2", "sub", "e") + '<bpmn:endEvent id="e" />'
    ident = only_definition(deploy_text(app, [("s.bpmn", diagram("embedded", body))]))
    instance_id = start(app, ident)
    [row] = open_tasks(app, instance_id)
    assert row.bpmn_id == "inner_task"
    login("clerk").complete(row.id, {})
    broken = body.replace('<bpmn:userTask id="inner_task" camunda:candidateGroups="clerk" />',
                          '<bpmn:serviceTask id="inner_task" />')
    response = deploy_text(app, [("b.bpmn", diagram("embedded_broken", broken))])
    assert response.status_code == 400
    assert [e["mainElementId"] for e in response.json["details"]["b.bpmn"]["errors"]] == ["inner_task"]


def test_a_business_rule_task_spiffworkflow_cannot_parse_is_a_refusal_not_a_500(app):
    body = ('<bpmn:startEvent id="s" />' + flow("f1", "s", "rule") + '<bpmn:businessRuleTask id="rule" />' +
            flow("f2", "rule", "e") + '<bpmn:endEvent id="e" />')
    response = deploy_text(app, [("r.bpmn", diagram("rules", body))])
    assert response.status_code in (200, 400), response.json  # DMN itself is h-bench's (issue 18)
    assert "KeyError" not in str(response.json.get("message", "")) or "无法解析" in response.json["message"]
