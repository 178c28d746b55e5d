"""scripts/merge_edit_form.py (issue 19): an edit form merged into its start form validates each step's inputs as the
two forms did, the diagrams name the one form, and what needs a person stops the merge."""
import importlib.util
import json

import pytest
from marshmallow import ValidationError

from app.engine import forms
from test_lint import ROOT

_spec = importlib.util.spec_from_file_location("merge_edit_form", ROOT / "scripts" / "merge_edit_form.py")
merge_edit_form = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(merge_edit_form)

ACTION = {"type": "radio", "key": "action", "label": "操作", "defaultValue": "submit", "validate": {"required": True}}
START = {"id": "demo", "components": [
    {"type": "text", "id": "T1", "text": "### 合同变更"},
    {"type": "number", "id": "F1", "key": "contract_id", "label": "合同", "validate": {"required": True}},
    {"type": "textarea", "id": "F2", "key": "reason", "label": "变更原因", "validate": {"required": True},
     "description": "写明依据"},
    {**ACTION, "id": "F3", "values": [{"label": "提交审核", "value": "submit"}, {"label": "暂存", "value": "draft"}]},
]}
EDIT = {"id": "demo_edit", "components": [
    {"type": "text", "id": "T2", "text": "### 修改变更申请"},
    {"type": "text", "id": "T3", "text": "{{#if error_message}}**未通过检查：** {{error_message}}{{/if}}"},
    {"type": "text", "id": "T4", "text": "{{#if comment}}**审核意见：** {{comment}}{{/if}}"},
    {"type": "textarea", "id": "F4", "key": "reason", "label": "变更原因", "validate": {"required": True}},
    {**ACTION, "id": "F5", "values": [{"label": "提交审核", "value": "submit"}, {"label": "暂存", "value": "draft"},
                                      {"label": "放弃", "value": "abandon"}]},
]}
DIAGRAM = ('<bpmn:startEvent id="s" camunda:formRef="demo" /><bpmn:userTask id="e" camunda:formRef="demo_edit" '
           'camunda:formRefBinding="latest" />')


@pytest.fixture
def root(tmp_path):
    (tmp_path / "forms").mkdir()
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "forms" / "demo.form").write_text(json.dumps(START, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "forms" / "demo_edit.form").write_text(json.dumps(EDIT, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "bpmn" / "demo.bpmn").write_text(DIAGRAM, encoding="utf-8")
    return tmp_path


def test_merged_form_checks_each_step_as_its_old_form_did(root):
    notes, touched = merge_edit_form.merge("demo", "demo_edit", root)
    assert touched == ["demo.bpmn"] and not (root / "forms" / "demo_edit.form").exists()
    assert (root / "bpmn" / "demo.bpmn").read_text(encoding="utf-8").count('camunda:formRef="demo"') == 2
    merged = json.loads((root / "forms" / "demo.form").read_text(encoding="utf-8"))
    hides = {c.get("key") or c["text"][:8]: (c.get("conditional") or {}).get("hide") for c in merged["components"]}
    assert hides == {"### 合同变更": "=initiator != null", "contract_id": "=initiator != null",
                     "### 修改变更": "=initiator = null", "{{#if er": "=error_message = null",
                     "{{#if co": "=comment = null", "reason": None, "action": None}
    assert "reason: the start's description kept" in notes and "action: options by step" in notes

    start, edit = {}, {"initiator": "clerk", "contract_id": 7, "comment": "请补充"}
    assert forms.validate_data(merged, {"contract_id": 7, "reason": "延期", "action": "draft"}, context=start) == {
        "contract_id": 7, "reason": "延期", "action": "draft"}
    with pytest.raises(ValidationError) as refused:  # 放弃 is the edit step's
        forms.validate_data(merged, {"contract_id": 7, "reason": "延期", "action": "abandon"}, context=start)
    assert refused.value.messages == {"action": ["请选择有效的选项"]}
    with pytest.raises(ValidationError) as refused:
        forms.validate_data(merged, {"reason": "延期"}, context=start)
    assert refused.value.messages == {"contract_id": ["此项为必填项"]}
    # the edit step: no 合同 to choose (a value sent for it is dropped, as the edit form never asked it), 放弃 offered
    assert forms.validate_data(merged, {"reason": "延期", "action": "abandon", "contract_id": 9}, context=edit) == {
        "reason": "延期", "action": "abandon"}


def test_a_difference_a_person_must_decide_stops_the_merge(root):
    edit = json.loads((root / "forms" / "demo_edit.form").read_text(encoding="utf-8"))
    edit["components"][3]["validate"] = {"required": False}
    (root / "forms" / "demo_edit.form").write_text(json.dumps(edit, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(merge_edit_form.MergeError, match="reason differs in description, validate: merge it by hand"):
        merge_edit_form.merge("demo", "demo_edit", root)
    assert (root / "forms" / "demo_edit.form").exists()  # nothing written
    assert 'camunda:formRef="demo_edit"' in (root / "bpmn" / "demo.bpmn").read_text(encoding="utf-8")


def test_unified_procurement_merged_by_hand():
    """统招分签 (merged by hand: its create fields hide unless unified_action = "create" on the start form and had no
    condition on the edit form; the edit step is only reached on the create path, so the start's conditions show
    them there): the start checks each 操作's fields, the edit step asks what the old edit form asked."""
    form = json.loads((ROOT / "forms" / "unified_procurement.form").read_text(encoding="utf-8"))
    assert not (ROOT / "forms" / "unified_procurement_edit.form").exists()
    assert 'camunda:formRef="unified_procurement"' in (ROOT / "bpmn" / "unified_procurement.bpmn").read_text(
        encoding="utf-8").split('id="up_edit"')[1].split(">")[0]
    created = {"name": "统招项目", "year": 2026, "category": "goods", "execution_plan": "方案",
               "response_deadline": "2026-12-31"}

    def refused(data, context):
        with pytest.raises(ValidationError) as err:
            forms.validate_data(form, data, context=context)
        return set(err.value.messages)

    start = {}
    assert refused({"unified_action": "create"}, start) >= {"name", "year", "category", "execution_plan"}
    assert "name" not in refused({"unified_action": "terminate"}, start)  # 终止 asks no 项目名称
    assert "action" not in forms.validate_data(form, {"unified_action": "create", **created}, context=start)

    edit = {"initiator": "clerk", "unified_action": "create", "comment": "请修改", **created}
    assert refused({"action": "submit"}, edit) == {"name", "year", "category", "execution_plan", "response_deadline"}
    kept = forms.validate_data(form, {**created, "name": "改名", "action": "delete"}, context=edit)
    assert kept["name"] == "改名" and kept["action"] == "delete" and kept["year"] == 2026
    # what only the start asks is neither required nor kept on the edit step: the instance stays on the create path
    kept = forms.validate_data(form, {**created, "action": "submit", "unified_action": "terminate", "reason": "不要了",
                                      "unified_plan_id": 3}, context=edit)
    assert kept["action"] == "submit" and not {"unified_action", "reason", "unified_plan_id"} & set(kept)
