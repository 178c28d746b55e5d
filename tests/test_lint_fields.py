"""Lint: a form field nothing in the diagrams that use the form reads is a warning, an error with --strict (issue 19,
app/engine/lint_fields.py)."""
import json
import shutil

from app.engine import lint_fields
from test_lint import ROOT, lint_bpmn

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">')


def diagram(body, process="p"):
    return f'{HEAD}<bpmn:process id="{process}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'


START = '<bpmn:startEvent id="s" camunda:formRef="f" />'
WRITEOFF = '<bpmn:serviceTask id="w" camunda:type="external" camunda:topic="payment.writeoff_submit" />'
GATEWAY = ('<bpmn:exclusiveGateway id="g" /><bpmn:sequenceFlow id="x" sourceRef="g" targetRef="w">'
           '<bpmn:conditionExpression>${kind == "full"}</bpmn:conditionExpression></bpmn:sequenceFlow>')


def form(*components):
    return ("f.form", {"id": "f", "components": list(components)})


def field(key, **extra):
    return {"type": "textfield", "key": key, "id": f"Field_{key}", **extra}


def unread(diagrams, forms):
    return [(w["file"], w["element"]) for w in lint_fields.unread_fields(diagrams, forms)]


def test_a_field_nothing_reads_is_reported_with_its_form_and_element():
    forms = {"f": form(field("kind"), field("amount"), field("reason"), field("memo"))}
    warnings = lint_fields.unread_fields({"p.bpmn": diagram(START + WRITEOFF + GATEWAY)}, forms)
    assert [(w["file"], w["element"]) for w in warnings] == [("f.form", "Field_memo")]
    assert "表单字段 “memo” 没有任何地方读取" in warnings[0]["message"] and "p.bpmn" in warnings[0]["message"]
    assert "form field 'memo' is never read" in warnings[0]["message"]
    # the gateway reads kind, the handler of payment.writeoff_submit amount and reason; without them all are unread
    assert unread({"p.bpmn": diagram(START)}, forms) == [
        ("f.form", f"Field_{k}") for k in ("kind", "amount", "reason", "memo")]


def test_what_counts_as_read():
    memo = field("memo")
    forms = {"f": form(memo)}
    # an expression of the diagram: an input parameter, a camunda:in source, an assignee
    for body in ('<bpmn:serviceTask id="t"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter '
                 'name="note">${memo}</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements>'
                 '</bpmn:serviceTask>',
                 '<bpmn:callActivity id="c" calledElement="other"><bpmn:extensionElements><camunda:in source="memo" '
                 'target="memo" /></bpmn:extensionElements></bpmn:callActivity>',
                 '<bpmn:userTask id="u" camunda:assignee="${memo}" />'):
        assert unread({"p.bpmn": diagram(START + body)}, forms) == [], body
    # a text of another form of the diagram shows it
    shown = {**forms, "g": ("g.form", {"id": "g", "components": [{"type": "text", "text": "说明：{{memo}}"}]})}
    assert unread({"p.bpmn": diagram(START + '<bpmn:userTask id="u" camunda:formRef="g" />')}, shown) == []
    # a topic without a built-in handler is an external worker's: it may read anything
    external = '<bpmn:serviceTask id="e" camunda:type="external" camunda:topic="erp.sync" />'
    assert unread({"p.bpmn": diagram(START + external)}, forms) == []


def test_a_called_process_given_all_variables_reads_for_the_caller():
    forms = {"f": form(field("amount"), field("memo"))}
    call = ('<bpmn:callActivity id="c" calledElement="pay"><bpmn:extensionElements><camunda:in variables="all" />'
            '</bpmn:extensionElements></bpmn:callActivity>')
    called = diagram(WRITEOFF, process="pay")
    assert unread({"p.bpmn": diagram(START + call), "pay.bpmn": called}, forms) == [("f.form", "Field_memo")]
    # a called process not among the diagrams may read anything
    assert unread({"p.bpmn": diagram(START + call)}, forms) == []


def test_a_reviewed_submission_is_read_by_the_reviewer():
    """A review task shows the reviewer the submission before it, every field (app/web/review.py)."""
    review = ("r.form", {"id": "r", "components": [{"type": "radio", "key": "approved", "id": "Field_approved",
                                                    "values": [{"label": "通过", "value": "true"},
                                                               {"label": "不通过", "value": "false"}]}]})
    forms = {"f": form(field("memo")), "r": review}
    reviewed = diagram(START + '<bpmn:userTask id="u" camunda:formRef="r" />')
    assert unread({"p.bpmn": reviewed}, forms) == []
    call = '<bpmn:callActivity id="c" calledElement="review" />'
    assert unread({"p.bpmn": diagram(START + call), "review.bpmn": diagram(
        '<bpmn:userTask id="u" camunda:formRef="r" />', process="review")}, forms) == []


def test_acknowledgements_and_declared_readers_are_not_reported():
    confirm = {"type": "radio", "key": "confirmed", "id": "Field_confirmed", "validate": {"required": True},
               "values": [{"label": "确认删除", "value": "yes"}]}
    agree = {"type": "checkbox", "key": "agree", "id": "Field_agree", "validate": {"required": True}}
    note = field("note", properties={"readBy": "history"})
    forms = {"f": form(confirm, agree, note, {**confirm, "key": "maybe", "id": "Field_maybe", "validate": {}})}
    assert unread({"p.bpmn": diagram(START)}, forms) == [("f.form", "Field_maybe")]


def test_handler_reads_follow_helpers_and_constants():
    # contract.subcontract_submit reads its fields through a module constant (_ON_CONTRACT_FIELDS) and a helper
    assert {"name", "amount", "signed_date", "subcontractor_name"} <= lint_fields.handler_reads(
        "contract.subcontract_submit")
    # payment.submit: through PAYMENT_FIELDS imported from the models
    assert "contract_id" in lint_fields.handler_reads("payment.submit")
    assert lint_fields.handler_reads("no.such_topic") is None


def test_shipped_forms_and_the_cli(tmp_path, capsys):
    """bpmn/ and forms/: every field is read (预警处理's 附件 is an upload its handler links to the warned record), so
    ./test.sh lints with --strict. plan_dispatch's 说明 is read by the history only and says so (readBy); without
    that, lint warns and --strict fails."""
    shipped = []
    lint_bpmn.lint(lint_bpmn.collect([ROOT / "bpmn", ROOT / "forms"]), context=False, warnings=shipped)
    assert [(f, e, m) for f, e, m in shipped if "没有任何地方读取" in m] == []
    assert lint_bpmn.main(["--joins", "--strict", str(ROOT / "bpmn"), str(ROOT / "forms")]) == 0
    assert "--joins --strict bpmn/ forms/" in (ROOT / "test.sh").read_text(encoding="utf-8")
    capsys.readouterr()

    shutil.copy(ROOT / "bpmn" / "plan_dispatch.bpmn", tmp_path / "plan_dispatch.bpmn")
    schema = json.loads((ROOT / "forms" / "plan_dispatch.form").read_text(encoding="utf-8"))
    for c in schema["components"]:
        c.pop("properties", None)
    (tmp_path / "plan_dispatch.form").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    files = [str(tmp_path / "plan_dispatch.bpmn"), str(tmp_path / "plan_dispatch.form")]
    assert lint_bpmn.main(files) == 0
    out = capsys.readouterr()
    assert "警告 / warning: plan_dispatch.form [Field_i7005]: 表单字段 “note” 没有任何地方读取" in out.out
    assert lint_bpmn.main(["--strict", *files]) == 1
    assert capsys.readouterr().out.startswith("plan_dispatch.form [Field_i7005]: 表单字段 “note”")


def test_a_condition_reading_what_nothing_sets():
    """Any gateway (not only one right after a user task, lint.py): a variable no form, handler, parameter,
    script, message or caller sets is a warning; each of those setting it silences it."""
    forms = {"f": form(field("amount"))}
    flow = ('<bpmn:sequenceFlow id="big" sourceRef="w" targetRef="e"><bpmn:conditionExpression>${amount &gt; 100 '
            'and unit_level == "county"}</bpmn:conditionExpression></bpmn:sequenceFlow>')
    found = lint_fields.unset_gateway_reads({"p.bpmn": diagram(START + WRITEOFF + flow)}, forms)
    assert [(w["file"], w["element"]) for w in found] == [("p.bpmn", "big")]
    assert "条件读取变量 “unit_level”" in found[0]["message"] and "'unit_level'" in found[0]["message"]
    setters = [
        '<bpmn:serviceTask id="t"><bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter '
        'name="unit_level">county</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements>'
        '</bpmn:serviceTask>',
        '<bpmn:businessRuleTask id="d" camunda:decisionRef="route" camunda:resultVariable="unit_level" />',
        '<bpmn:serviceTask id="h" camunda:type="external" camunda:topic="plan.save" />',  # returns unit_level
        '<bpmn:serviceTask id="x" camunda:type="external" camunda:topic="erp.level" />',  # a worker: anything
    ]
    for setter in setters:
        assert lint_fields.unset_gateway_reads({"p.bpmn": diagram(START + WRITEOFF + flow + setter)}, forms) == [], \
            setter
    # a caller hands it in
    caller = diagram('<bpmn:callActivity id="c" calledElement="p"><bpmn:extensionElements><camunda:in source="x" '
                     'target="unit_level" /></bpmn:extensionElements></bpmn:callActivity>', process="caller")
    assert lint_fields.unset_gateway_reads({"p.bpmn": diagram(START + WRITEOFF + flow), "c.bpmn": caller}, forms) == []
    # a start without a form takes whatever its starter gives
    formless = '<bpmn:startEvent id="s" />'
    assert lint_fields.unset_gateway_reads({"p.bpmn": diagram(formless + WRITEOFF + flow)}, forms) == []
