"""scripts/lint_bpmn.py and app/engine/lint.py: one test per rule, each naming the file, the element and the fix."""
import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REG = "project_registration.bpmn"


def _script():
    spec = importlib.util.spec_from_file_location("lint_bpmn", ROOT / "scripts" / "lint_bpmn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lint_bpmn = _script()


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def lint_edited(workdir, name, *replacements, form=None, warnings=None):
    """Lint bpmn/<name> after text replacements (each must apply), with the rest of bpmn/ and forms/ as context."""
    text = (ROOT / "bpmn" / name).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = workdir / name
    path.write_text(text, encoding="utf-8")
    files = [path]
    if form is not None:
        form_path = workdir / form[0]
        form_path.write_text(form[1], encoding="utf-8")
        files.append(form_path)
    return [(f, e, m) for f, e, m in lint_bpmn.lint(files, warnings=warnings)]


def by_element(problems):
    return {e: m for _, e, m in problems}


def test_project_diagrams_and_forms_are_clean():
    assert lint_bpmn.lint(lint_bpmn.collect([ROOT / "bpmn", ROOT / "forms"]), context=False) == []
    assert lint_bpmn.main([str(ROOT / "bpmn"), str(ROOT / "forms")]) == 0


def test_topic_without_handler_is_an_external_task_with_a_typo_warning(workdir):
    """Camunda 7: a topic no built-in handler serves waits for an external worker; lint says so, and names the
    registered topic it is close to (a likely typo), without refusing it."""
    text = (ROOT / "bpmn" / REG).read_text(encoding="utf-8").replace(
        'camunda:topic="project.register"', 'camunda:topic="project.regster"')
    path = workdir / REG
    path.write_text(text, encoding="utf-8")
    warnings = []
    assert lint_bpmn.lint([path], warnings=warnings) == []
    [(file, element, message)] = [w for w in warnings if "Topic" in w[2]]
    assert (file, element) == (REG, "reg_register")
    assert "project.regster" in message and "外部任务" in message and "project.register" in message


def test_form_ref_without_form(workdir):
    # reg_edit's formRef (the start event names the same form: one form per step kind, issue 19)
    problems = lint_edited(workdir, REG, ('camunda:candidateGroups="clerk" camunda:formRef="project_registration"',
                                          'camunda:candidateGroups="clerk" camunda:formRef="nope"'))
    assert list(by_element(problems)) == ["reg_edit"]
    assert by_element(problems)["reg_edit"].startswith("表单 “nope” 未部署；formRef 按表单 JSON 的 id 查找")


def test_start_form_without_form(workdir):
    problems = lint_edited(workdir, REG, ('camunda:formRef="project_registration"', 'camunda:formRef="nope"'))
    assert "reg_start" in by_element(problems) and "nope" in by_element(problems)["reg_start"]


def test_candidate_group_not_a_role(workdir):
    import re
    start_tag = re.search(r'<bpmn:userTask id="reg_edit"[^>]*>', (ROOT / "bpmn" / REG).read_text(encoding="utf-8"))[0]
    edited = re.sub(r' camunda:candidateGroups="[^"]*"', "", start_tag).replace(
        'id="reg_edit"', 'id="reg_edit" camunda:candidateGroups="clerks"')
    warnings = []
    problems = lint_edited(workdir, REG, (start_tag, edited), warnings=warnings)
    # Camunda 7 accepts any group name: a warning, and the task goes to the fallback holders (issue 18).
    assert "reg_edit" not in by_element(problems)
    assert any(e == "reg_edit" and "候选组 “clerks” 不是本服务的角色" in m for _, e, m in warnings)


@pytest.mark.parametrize("condition,words", [
    ("${approved ==}", "无法解析"),
    ("${__import__('os').system('x')}", "不允许"),
    ("${approved.__class__}", "不允许"),
])
def test_condition_outside_the_safe_evaluator(workdir, condition, words):
    problems = lint_edited(workdir, REG, ("${approved == true}", condition))
    assert len(problems) == 1 and problems[0][0] == REG
    flow, message = problems[0][1], problems[0][2]
    assert flow.startswith("Flow_") and words in message


def test_gateway_reads_a_variable_the_form_does_not_declare(workdir):
    problems = lint_edited(workdir, REG, ('${action == "submit"}', '${resubmit == true}'))
    assert [(f, e) for f, e, _ in problems] == [(REG, "reg_edit_action")]
    message = problems[0][2]
    assert "resubmit" in message and "reg_edit" in message and "“project_registration”" in message
    assert "forms/project_registration.form" in message  # the fix: add the field to that form


def test_gateway_may_read_what_the_form_or_the_diagram_sets(workdir):
    # `action` is a field of the edit form; `initiator` is set by the engine; `approved` by the review form.
    assert lint_edited(workdir, REG, ('${action == "submit"}', '${action == "submit" &amp;&amp; initiator != null}')) == []
    # A variable a service task declares as an output parameter counts as set by the diagram.
    problems = lint_edited(workdir, REG, ('${action == "submit"}', '${checked == true}'))
    assert by_element(problems).keys() == {"reg_edit_action"}
    declared = lint_edited(
        workdir, REG, ('${action == "submit"}', '${checked == true}'),
        ('camunda:topic="project.register">', 'camunda:topic="project.register"><bpmn:extensionElements>'
         '<camunda:inputOutput><camunda:outputParameter name="checked">${true}</camunda:outputParameter>'
         '</camunda:inputOutput></bpmn:extensionElements>'))
    assert declared == []


def test_gateway_rule_uses_the_forms_deployed_together(workdir):
    """The user task's form in the same batch counts; a field added there satisfies the gateway."""
    import json
    form = json.loads((ROOT / "forms" / "project_registration.form").read_text(encoding="utf-8"))
    form["components"].append({"key": "resubmit", "type": "checkbox", "label": "重新提交"})
    problems = lint_edited(workdir, REG, ('${action == "submit"}', '${resubmit == true}'),
                           form=("project_registration.form", json.dumps(form, ensure_ascii=False)))
    assert problems == []


def test_call_activity_to_an_unknown_process(workdir):
    problems = lint_edited(workdir, REG, ('calledElement="review"', 'calledElement="reviews"'))
    assert "调用活动引用的流程 “reviews” 未部署" in by_element(problems)["reg_review"]


def test_element_without_layout(workdir):
    problems = lint_edited(workdir, REG, ('bpmnElement="reg_edit"', 'bpmnElement="reg_edit_gone"'))
    assert "缺少图形布局" in by_element(problems)["reg_edit"]


def test_cli_prints_file_element_message_and_fails(workdir, capsys):
    src = workdir / "bad"
    src.mkdir()
    text = (ROOT / "bpmn" / REG).read_text(encoding="utf-8").replace(
        'camunda:candidateGroups="clerk" camunda:formRef="project_registration"',
        'camunda:candidateGroups="clerk" camunda:formRef="nope_nope"')
    (src / REG).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "forms" / "project_registration.form", src)
    assert lint_bpmn.main([str(src)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{REG} [reg_edit]: 表单 “nope_nope” 未部署")


def test_deployment_runs_the_same_lint(app):
    """deployments.deploy refuses what the lint reports (it calls lint.check)."""
    from app.engine import deployments
    from app.engine.deployments import DeploymentError
    text = (ROOT / "bpmn" / REG).read_text(encoding="utf-8").replace('${action == "submit"}', '${resubmit == true}')
    with app.extensions["db"].Session() as session, session.begin():
        with pytest.raises(DeploymentError) as info:
            deployments.deploy(session, [(REG, text.encode())], deployed_by="analyst")
    assert [p["element"] for p in info.value.problems] == ["reg_edit_action"]


# -- nothing strands by construction (issue 14) ---------------------------------------------------------------
def test_user_task_nobody_can_hold(workdir):
    """Camunda 7 shows such tasks to authorised users: here the administrators, the starter groups and the
    initiator hold it (access.unassigned_fallback); lint warns."""
    warnings = []
    problems = lint_edited(workdir, REG, (' camunda:assignee="${initiator}" camunda:candidateGroups="clerk"', ""),
                           warnings=warnings)
    assert problems == []
    [(file, element, message)] = [w for w in warnings if "发起人" in w[2]]
    assert (file, element) == (REG, "reg_edit") and "系统管理员" in message and "candidateGroups" in message


def test_message_nobody_may_send(workdir):
    """A withdraw message in a process only a timer starts: the initiator is the system, nobody may send it."""
    name = "plan_application.bpmn"
    problems = lint_edited(
        workdir, name,
        ('<bpmn:startEvent id="plan_start" name="申报采购计划" camunda:formRef="plan_application" '
         'camunda:formRefBinding="latest">',
         '<bpmn:startEvent id="plan_start" name="每年"><bpmn:timerEventDefinition id="t1"><bpmn:timeCycle '
         'xsi:type="bpmn:tFormalExpression">R/2026-12-01T00:00:00+08:00/P1Y</bpmn:timeCycle></bpmn:timerEventDefinition>'))
    assert "没有人能发送它" in by_element(problems)["plan_withdraw"], problems
    unknown = lint_edited(workdir, name, ('<bpmn:boundaryEvent id="plan_withdraw" name="撤回" attachedToRef="plan_review">',
                                          '<bpmn:boundaryEvent id="plan_withdraw" name="撤回" attachedToRef="plan_review">'
                                          '<bpmn:extensionElements><camunda:properties><camunda:property '
                                          'name="candidateGroups" value="clrek" /></camunda:properties>'
                                          '</bpmn:extensionElements>'))
    assert [(f, e) for f, e, _ in unknown] == [(name, "plan_withdraw")] and "不是已知角色" in unknown[0][2]


def test_variables_all_after_a_mapping_overrides_it(workdir):
    name = "project_change.bpmn"
    problems = lint_edited(workdir, name, ('<camunda:in variables="all" /><camunda:in sourceExpression="leader" '
                                           'target="review_group" />', '<camunda:in sourceExpression="leader" '
                                           'target="review_group" /><camunda:in variables="all" />'))
    assert [(f, e) for f, e, _ in problems] == [(name, "prj_chg_review")]
    assert "会覆盖前面的映射" in problems[0][2]


def _crosses(p, q, box, pad=2):
    """Does segment p–q pass through the inside of box (x, y, w, h)? (Liang–Barsky clipping.)"""
    x, y, w, h = box
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for edge, dist in ((-dx, p[0] - x - pad), (dx, x + w - pad - p[0]), (-dy, p[1] - y - pad), (dy, y + h - pad - p[1])):
        if edge == 0:
            if dist < 0:
                return False
            continue
        t = dist / edge
        if edge < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def test_flows_do_not_cross_shapes():
    """The project's diagrams stay readable in Camunda Modeler: no sequence flow runs through another element."""
    from lxml import etree
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
          "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
    crossings = []
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        tree = etree.parse(str(path))
        kinds = {n.get("id"): etree.QName(n).localname for n in tree.iter() if n.get("id")}
        shapes = {s.get("bpmnElement"): tuple(float(s.find("dc:Bounds", ns).get(k)) for k in ("x", "y", "width", "height"))
                  for s in tree.iterfind(".//bpmndi:BPMNShape", ns)
                  if kinds.get(s.get("bpmnElement")) not in ("participant", "lane")}
        hosts = {n.get("id"): n.get("attachedToRef") for n in tree.iterfind(".//bpmn:boundaryEvent", ns)}
        for edge in tree.iterfind(".//bpmndi:BPMNEdge", ns):
            flow = tree.find(f".//bpmn:sequenceFlow[@id='{edge.get('bpmnElement')}']", ns)
            ends = {flow.get("sourceRef"), flow.get("targetRef")}
            ends |= {hosts[e] for e in list(ends) if e in hosts} | {b for b, h in hosts.items() if h in ends}
            points = [(float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", ns)]
            crossings += [f"{path.name}: {flow.get('id')} → {element}" for element, box in shapes.items()
                          if element not in ends and any(_crosses(a, b, box) for a, b in zip(points, points[1:]))]
    assert crossings == []


FIXTURES = ROOT / "tests" / "fixtures"


def test_cycle_without_a_wait_state_is_a_warning(capsys):
    """loop_no_wait: 计数加一 → 再来一次 → 计数加一 … with nothing to wait for. Warned about (named, in Chinese and
    English), not refused: a loop whose gateway always ends it is legitimate."""
    warnings = []
    assert lint_bpmn.lint([FIXTURES / "loop_no_wait.bpmn"], warnings=warnings) == []
    [(file, element, message)] = warnings
    assert (file, element) == ("loop_no_wait.bpmn", "l_inc")
    assert "循环 l_inc、l_again 中没有等待状态" in message and "cycle l_inc, l_again contains no wait state" in message
    assert lint_bpmn.main([str(FIXTURES / "loop_no_wait.bpmn")]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("警告 / warning: loop_no_wait.bpmn [l_inc]: 循环 l_inc、l_again")
    assert "1 个警告" in out.err


def test_cycles_through_a_wait_state_are_not_warned_about(workdir):
    """The same loop through the user task 准备 (and the shipped diagrams, whose loops all pass a person): silent."""
    text = (FIXTURES / "loop_no_wait.bpmn").read_text(encoding="utf-8")
    text = text.replace('sourceRef="l_again" targetRef="l_inc"', 'sourceRef="l_again" targetRef="l_prepare"')
    path = workdir / "loop_no_wait.bpmn"
    path.write_text(text, encoding="utf-8")
    warnings = []
    assert lint_bpmn.lint([path], warnings=warnings) == []
    assert warnings == []
    shipped = []
    lint_bpmn.lint(lint_bpmn.collect([ROOT / "bpmn", ROOT / "forms"]), context=False, warnings=shipped)
    assert [w for w in shipped if "循环" in w[2]] == []  # (form fields nothing reads: tests/test_lint_fields.py)


def test_deployment_keeps_the_warnings(app):
    from app.engine import deployments
    with app.extensions["db"].Session() as session, session.begin():
        deployment, definitions, _ = deployments.deploy(
            session, [("loop_no_wait.bpmn", (FIXTURES / "loop_no_wait.bpmn").read_bytes())], deployed_by="analyst")
        assert [d.key for d in definitions] == ["loop_no_wait"]
        assert [w["element"] for w in deployment.warnings] == ["l_inc"]
