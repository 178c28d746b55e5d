"""One form for a procedure's start and edit steps (issue 19): the options a ``valuesExpression`` offers are checked
on the server as form-js offers them at each step (app/engine/form_conditions.py)."""
import pytest

from app.engine import forms
from app.engine.form_conditions import UNKNOWN, condition, options
from helpers import PLAN, apply_plan, register_project
from marshmallow import ValidationError

ACTIONS = ('=if plan_id = null then [{label: "提交审核", value: "submit"}, {label: "暂存", value: "draft"}] '
           'else [{label: "提交审核", value: "submit"}, {label: "暂存", value: "draft"}, {label: "删除计划", value: "delete"}]')


def test_conditions():
    assert condition("=plan_id = null", {}) is True
    assert condition("=plan_id = null", {"plan_id": 3}) is False
    assert condition("=plan_id != null", {"plan_id": 3}) is True
    assert condition("=is defined(plan_id)", {"plan_id": 3}) is True
    assert condition("=not(is defined(plan_id))", {"plan_id": 3}) is False
    assert condition('=plan_type = "joint"', {"plan_type": "joint"}) is True
    assert condition('=plan_type != "joint" and amount = 5', {"plan_type": "project", "amount": 5}) is True
    assert condition('=a = true or b = "x"', {"a": False, "b": "x"}) is True
    assert condition("=record.id = null", {"record": {"id": 1}}) is False
    for unsupported in ("=plan_id > 3", "=count(items) = 0", "=(a = null)", "=a = b", 12, None):
        assert condition(unsupported, {"a": 1}) is UNKNOWN


def test_options():
    assert options(ACTIONS, {}) == ["submit", "draft"]
    assert options(ACTIONS, {"plan_id": 7}) == ["submit", "draft", "delete"]
    assert options('=[{label: "是", value: "yes"}]', {}) == ["yes"]
    assert options("=[]", {}) == []
    assert options("=items", {"items": []}) is UNKNOWN
    assert options('=if plan_id > 1 then [] else []', {}) is UNKNOWN


def test_the_form_checks_each_steps_options():
    form = {"components": [{"type": "radio", "key": "action", "valuesExpression": ACTIONS,
                            "validate": {"required": True}}]}
    assert forms.validate_data(form, {"action": "draft"}, context={}) == {"action": "draft"}
    with pytest.raises(ValidationError) as refused:
        forms.validate_data(form, {"action": "delete"}, context={})
    assert refused.value.messages == {"action": ["请选择有效的选项"]}
    assert forms.validate_data(form, {"action": "delete"}, context={"plan_id": 9}) == {"action": "delete"}
    with pytest.raises(ValidationError):  # plan_id is no field of the form: sent at the start it offers nothing
        forms.validate_data(form, {"action": "delete", "plan_id": 9}, context={})
    with pytest.raises(ValidationError):
        forms.validate_data(form, {}, context={"plan_id": 9})


def test_plan_application_start_and_edit_share_one_form(login):
    """The start offers 提交审核 / 暂存; the edit step of the same form also 删除计划; old field names as before."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    refused = clerk.post("/api/processes/plan_application/instances",
                         {"data": {**PLAN, "project_id": project["id"], "action": "delete"}})
    assert refused.status_code == 400 and refused.json["errors"] == {"action": ["请选择有效的选项"]}
    instance = apply_plan(clerk, project["id"], action="draft")
    edit = clerk.task_named("编辑采购计划", instance["id"])
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["form"]["id"] == "plan_application"
    headings = [c for c in detail["form"]["components"] if c["type"] == "text" and c["text"].startswith("###")]
    assert [h["conditional"]["hide"] for h in headings] == ["=initiator != null", "=initiator = null"]
    done = clerk.complete(edit["id"], {**PLAN, "project_id": project["id"], "action": "delete"})
    assert done["status"] == "completed"
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "deleted"


HIDDEN = {"components": [
    {"type": "radio", "key": "result", "defaultValue": "won",
     "values": [{"label": "成交", "value": "won"}, {"label": "失败", "value": "failed"}]},
    {"type": "textfield", "key": "winner_name", "validate": {"required": True},
     "conditional": {"hide": '=result = "failed"'}},
    {"type": "textarea", "key": "reason", "validate": {"required": True},
     "conditional": {"hide": '=result != "failed"'}},
    {"type": "group", "components": [
        {"type": "number", "key": "award_amount", "validate": {"required": True}}],
     "conditional": {"hide": '=result = "failed"'}},
    {"type": "textfield", "key": "note", "validate": {"required": True}, "conditional": {"hide": "=count(x) > 1"}},
]}


def test_a_hidden_field_is_neither_required_nor_kept():
    """As form-js: a field its condition hides is not validated and not submitted; a shown one is as declared."""
    assert forms.validate_data(HIDDEN, {"result": "failed", "reason": "无人响应", "winner_name": "甲公司",
                                        "award_amount": 5}, context={}) == {"result": "failed", "reason": "无人响应"}
    with pytest.raises(ValidationError) as refused:
        forms.validate_data(HIDDEN, {"result": "failed"}, context={})
    assert refused.value.messages == {"reason": ["此项为必填项"]}
    with pytest.raises(ValidationError) as refused:  # the default 成交 shows the winner and the amount
        forms.validate_data(HIDDEN, {"reason": "x"}, context={})
    assert refused.value.messages == {"winner_name": ["此项为必填项"], "award_amount": ["此项为必填项"]}
    assert forms.validate_data(HIDDEN, {"winner_name": "甲公司", "award_amount": 5, "reason": "x"}, context={}) == {
        "result": "won", "winner_name": "甲公司", "award_amount": 5}
    # the step's data decides too (an edit step shows the form with the instance's data)
    edit_only = {"components": [{"type": "textarea", "key": "change_reason", "validate": {"required": True},
                                 "conditional": {"hide": "=plan_id = null"}}]}
    assert forms.validate_data(edit_only, {"change_reason": "x"}, context={}) == {}
    with pytest.raises(ValidationError) as refused:
        forms.validate_data(edit_only, {}, context={"plan_id": 4})
    assert refused.value.messages == {"change_reason": ["此项为必填项"]}
    # only the step's data and the form's own fields decide: a key the form does not ask for changes nothing
    assert forms.validate_data(edit_only, {"plan_id": 4}, context={}) == {}
    # a condition the server cannot evaluate: optional, value kept (as without a context)
    assert forms.validate_data(HIDDEN, {"result": "failed", "reason": "r", "note": "n"}, context={})["note"] == "n"
    assert forms.validate_data(HIDDEN, {"result": "failed"}) == {"result": "failed"}


def test_the_server_drops_a_hidden_fields_value(login):
    """plan_application: 原合同 (original_contract_id) only for a renewal; sent with another plan type, it is not kept."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"], action="draft", original_contract_id=12)
    assert "original_contract_id" not in instance["data"]
