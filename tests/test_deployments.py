"""Deploying diagrams: versions, an analyst's edit without code, refusals that name file and element."""
from pathlib import Path

import pytest
from lxml import etree

from app import create_app
from app.engine import deployments
from app.engine.deployments import DeploymentError
from helpers import apply_plan, approve, names, register_project

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "modeler-corpus"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}


def deploy(app, files, user="analyst"):
    with app.extensions["db"].Session() as session, session.begin():
        deployment, defs, forms = deployments.deploy(session, files, deployed_by=user, name="test")
        return [(d.key, d.version) for d in defs], [(f.key, f.version) for f in forms]


def _el(parent, tag, **attrs):
    ns, name = tag.split(":")
    node = etree.SubElement(parent, f"{{{NS[ns]}}}{name}")
    for k, v in attrs.items():
        if ":" in k:
            kns, kname = k.split(":")
            node.set(f"{{{NS[kns]}}}{kname}", v)
        else:
            node.set(k, v)
    return node


def with_leader_level():
    """plan_application.bpmn as an analyst would change it: a 需求领导审核 level after the unit review."""
    tree = etree.parse(str(ROOT / "bpmn" / "plan_application.bpmn"))
    process = tree.find("bpmn:process", NS)
    plane = tree.find(".//bpmndi:BPMNPlane", NS)
    flow = process.find("bpmn:sequenceFlow[@sourceRef='plan_review_result'][@targetRef='plan_chain']", NS)
    flow.set("targetRef", "leader_review")
    call = _el(process, "bpmn:callActivity", id="leader_review", name="需求领导审核", calledElement="review")
    ext = _el(call, "bpmn:extensionElements")  # Camunda 7: what the review receives and what comes back
    _el(ext, "camunda:in", variables="all")
    _el(ext, "camunda:in", sourceExpression="leader", target="review_group")
    _el(ext, "camunda:in", sourceExpression="${null}", target="review_assignee")
    _el(ext, "camunda:out", source="approved", target="approved")
    _el(ext, "camunda:out", source="comment", target="comment")
    gateway = _el(process, "bpmn:exclusiveGateway", id="leader_result", name="领导审核结果")
    ok = _el(process, "bpmn:sequenceFlow", id="Flow_leader_ok", sourceRef="leader_result", targetRef="plan_chain")
    _el(ok, "bpmn:conditionExpression").text = "${approved == true}"
    no = _el(process, "bpmn:sequenceFlow", id="Flow_leader_no", sourceRef="leader_result", targetRef="plan_return")
    _el(no, "bpmn:conditionExpression").text = "${approved == false}"
    _el(process, "bpmn:sequenceFlow", id="Flow_leader_in", sourceRef="leader_review", targetRef="leader_result")
    for element, (x, y, w, h) in {"leader_review": (900, 400, 100, 80), "leader_result": (1050, 415, 50, 50)}.items():
        shape = _el(plane, "bpmndi:BPMNShape", id=f"{element}_di", bpmnElement=element)
        _el(shape, "dc:Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for fid in ("Flow_leader_ok", "Flow_leader_no", "Flow_leader_in"):
        edge = _el(plane, "bpmndi:BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
        _el(edge, "di:waypoint", x="0", y="0")
        _el(edge, "di:waypoint", x="10", y="10")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_analyst_routes_the_review_chain_by_region(app, login):
    """002 §2: the chain differs by unit and region — a row of the decision review_chain (unit_level / unit_region),
    deployed like a diagram; the diagram stays as it is."""
    text = (ROOT / "bpmn" / "review_chain.dmn").read_text(encoding="utf-8")
    anchor = '      <rule id="Rule_provincial_finance">'
    row = ('      <rule id="Rule_fuzhou_finance">\n'
           '        <inputEntry id="UnaryTests_fz_1"><text>-</text></inputEntry>\n'
           '        <inputEntry id="UnaryTests_fz_2"><text>"福州市"</text></inputEntry>\n'
           '        <inputEntry id="UnaryTests_fz_3"><text>-</text></inputEntry>\n'
           '        <inputEntry id="UnaryTests_fz_4"><text>-</text></inputEntry>\n'
           '        <outputEntry id="LiteralExpression_fz_1"><text>"finance"</text></outputEntry>\n'
           '        <outputEntry id="LiteralExpression_fz_2"><text>"财政部门审核"</text></outputEntry>\n'
           '      </rule>\n')
    assert anchor in text
    assert deploy(app, [("review_chain.dmn", text.replace(anchor, row + anchor).encode())]) == ([], [])
    clerk2, reviewer2, finance = login("clerk2"), login("reviewer2"), login("finance")
    project = register_project(clerk2, reviewer2, budget_line_id=4, amount=300000, region="福州市")
    instance = apply_plan(clerk2, project["id"], amount=200000, sme_reserved_amount=200000)
    assert instance["data"]["unit_region"] == "福州市" and instance["data"]["unit_code"] == "350101"
    approve(reviewer2, "采购单位审核岗审核", instance["id"])
    assert names(finance.tasks(), instance["id"]) == ["财政部门审核"]  # a city unit of 福州市 now goes to finance


def test_unchanged_files_make_no_new_version(app, login):
    assert deploy(app, [("review.bpmn", (ROOT / "bpmn" / "review.bpmn").read_bytes())]) == ([], [])
    versions = login("analyst").ok(login("analyst").get("/api/processes/review/versions"))
    assert [v["version"] for v in versions] == [1]
    # Restarting the service deploys nothing new either.
    create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test"}).extensions["db"].dispose()
    assert [v["version"] for v in login("analyst").ok(login("analyst").get("/api/processes/review/versions"))] == [1]


def test_analyst_adds_a_review_level_without_code(app, login):
    clerk, reviewer, leader, finance = login("clerk"), login("reviewer"), login("leader"), login("finance")
    project = register_project(clerk, reviewer, amount=2000000)
    old = apply_plan(clerk, project["id"])

    assert deploy(app, [("plan_application.bpmn", with_leader_level())]) == ([("plan_application", 2)], [])
    new = apply_plan(clerk, project["id"])
    assert new["version"] == 2 and old["version"] == 1

    # The running instance keeps version 1: reviewer then finance.
    approve(reviewer, "采购单位审核岗审核", old["id"])
    assert names(finance.tasks(), old["id"]) == ["财政部门审核"]
    # The new instance needs the leader's level in between.
    approve(reviewer, "采购单位审核岗审核", new["id"])
    assert names(finance.tasks(), new["id"]) == []
    assert names(leader.tasks(), new["id"]) == ["需求领导审核"]
    # The leader's own decision routes (camunda:out approved), not the unit reviewer's earlier one.
    leader.complete(leader.task_named("需求领导审核", new["id"])["id"], {"approved": "false", "comment": "请补充论证"})
    assert names(clerk.tasks(), new["id"]) == ["编辑采购计划"] and names(finance.tasks(), new["id"]) == []
    edit = clerk.task_named("编辑采购计划", new["id"])
    data = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]
    clerk.complete(edit["id"], {**{k: data[k] for k in ("year", "project_id", "method", "amount", "sme_reserved_amount")},
                                "action": "submit"})
    approve(reviewer, "采购单位审核岗审核", new["id"])
    approve(leader, "需求领导审核", new["id"])
    approve(finance, "财政部门审核", new["id"])
    approve(finance, "财政部门审核", old["id"])
    for instance in (old, new):
        assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "completed"
    versions = clerk.ok(clerk.get("/api/processes/plan_application/versions"))
    assert [(v["version"], v["deployed_by"]) for v in versions] == [(1, "system"), (2, "analyst")]


def test_unsafe_expression_is_refused_and_nothing_deployed(app):
    text = (ROOT / "bpmn" / "plan_application.bpmn").read_text(encoding="utf-8")
    text = text.replace('${action == "submit"}', "${__import__('os').system('touch /tmp/pwned')}")
    with pytest.raises(DeploymentError) as info:
        deploy(app, [("plan_application.bpmn", text.encode())])
    problem = info.value.problems[0]
    assert problem["file"] == "plan_application.bpmn"
    assert problem["element"] == "Flow_plan_action_plan_submit"
    assert "不允许" in problem["message"]
    assert not Path("/tmp/pwned").exists()
    with app.extensions["db"].Session() as s:
        assert deployments.latest(s, "plan_application").version == 1


def test_lint_names_element_and_fix(app):
    text = (ROOT / "bpmn" / "project_registration.bpmn").read_text(encoding="utf-8")
    text = text.replace('camunda:topic="project.register"', 'camunda:topic="project.regster"')
    text = text.replace('camunda:candidateGroups="clerk" camunda:formRef="project_registration"',
                        'camunda:candidateGroups="clerks" camunda:formRef="no_such_form"')
    with pytest.raises(DeploymentError) as info:
        deploy(app, [("project_registration.bpmn", text.encode())])
    by_element = {(p["element"], p["message"].split("；")[0].split("（")[0]) for p in info.value.problems}
    assert not any(p["element"] == "reg_register" for p in info.value.problems)  # an external task, not refused
    assert any(w["element"] == "reg_register" and "project.register" in w["message"] for w in info.value.warnings)
    assert ("reg_edit", "表单 “no_such_form” 未部署") in by_element
    # Camunda 7 accepts any group: an unknown one is a warning, and the task falls back to its fallback holders.
    assert any(w["element"] == "reg_edit" and "候选组 “clerks”" in w["message"] for w in info.value.warnings)


def test_broken_diagram_stops_startup_naming_file_and_element(tmp_path):
    bpmn = tmp_path / "bpmn"
    bpmn.mkdir()
    text = (ROOT / "bpmn" / "review.bpmn").read_text(encoding="utf-8")
    (bpmn / "review.bpmn").write_text(text.replace('<bpmndi:BPMNShape id="review_task_di"',
                                                   '<bpmndi:BPMNShape id="x_di"').replace(
        'bpmnElement="review_task"', 'bpmnElement="gone"'), encoding="utf-8")
    (bpmn / "bad.bpmn").write_text("<bpmn:definitions", encoding="utf-8")
    with pytest.raises(DeploymentError) as info:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "BPMN_DIR": str(bpmn),
                    "FORMS_DIR": str(ROOT / "forms")})
    message = str(info.value)
    assert "bad.bpmn" in message and "XML" in message
    assert "review.bpmn [review_task]" in message and "布局" in message


def test_modeler_corpus_invoice_deploys_and_validates_its_forms(app, login):
    files = [(p.name, p.read_bytes()) for p in
             (CORPUS / "invoiceApproval.bpmn", CORPUS / "start-form.form", CORPUS / "task-form.form")]
    defs, forms = deploy(app, files)
    assert defs == [("camundaFormsQuickstart", 1)]
    assert sorted(forms) == [("start-form", 1), ("task-form", 1)]
    clerk = login("clerk")
    bad = clerk.post("/api/processes/camundaFormsQuickstart/instances",
                     {"data": {"amount": "12a", "invoiceNumber": "X-1"}})
    assert bad.status_code == 400
    assert set(bad.json["errors"]) == {"creditor", "amount", "invoiceNumber"}
    instance = clerk.start("camundaFormsQuickstart", {"creditor": "Acme", "amount": "300", "invoiceNumber": "C-12"})
    assert instance["data"]["creditor"] == "Acme"
    task = instance["tasks"][0]
    # Camunda's quickstart assigns Approve Invoice to the user demo, who does not exist here: the task goes to the
    # fallback holders (the administrators, the starter groups, the initiator) instead of stranding (issue 18).
    assert (task["name"], task["assignee"], task["form_key"]) == ("Approve Invoice", None, "task-form")
    assert "admin" in task["candidate_groups"] and task["candidate_users"] == ["clerk"]


def test_modeler_corpus_loan_granting_refused_with_one_message_per_construct(app):
    with pytest.raises(DeploymentError) as info:
        deploy(app, [("loan-granting.bpmn", (CORPUS / "loan-granting.bpmn").read_bytes())])
    problems = {(p["element"], p["message"].split(" / ")[-1]) for p in info.value.problems}
    assert problems == {
        ("StartEvent_1", "cron cycles are not supported, use ISO-8601"),
        ("Task_1lvjtd4", "script parameter not supported"),
    }  # its topics have no built-in handler: external tasks (issue 18), a warning each
    assert {w["element"] for w in info.value.warnings} >= {"Task_1lvjtd4", "Task_0v4gadf", "Task_0j0sjlk"}


def test_bare_timer_expressions_parse():
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    text = (ROOT / "bpmn" / "review.bpmn").read_text(encoding="utf-8")
    timer = ('<bpmn:boundaryEvent id="t1" attachedToRef="review_task"><bpmn:timerEventDefinition id="td">'
             '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P10D</bpmn:timeDuration>'
             '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
             '<bpmn:startEvent id="s2"><bpmn:timerEventDefinition id="td2">'
             '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/2026-12-01T00:00:00/P1Y</bpmn:timeCycle>'
             '</bpmn:timerEventDefinition></bpmn:startEvent>')
    text = text.replace("</bpmn:process>", timer + "</bpmn:process>")
    parser, problems = deployments.parse_file(text, "review.bpmn")
    assert problems == []
    spec = parser.get_spec("review")
    timers = {ts.bpmn_id: ts.event_definition.expression for ts in spec.task_specs.values()
              if isinstance(getattr(ts, "event_definition", None), TimerEventDefinition)}
    assert timers == {"t1": "'P10D'", "s2": "'R/2026-12-01T00:00:00/P1Y'"}
    from app.engine.expressions import evaluate
    assert evaluate(timers["t1"], {}) == "P10D"


def test_restart_keeps_a_version_deployed_from_the_modeler(app, login):
    """bpmn/ holds version 1; an analyst deploys version 2; a restart must not bring version 1 back as 3."""
    deploy(app, [("plan_application.bpmn", with_leader_level())])
    create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test", "TESTING": True}) \
        .extensions["db"].dispose()
    versions = login("analyst").ok(login("analyst").get("/api/processes/plan_application/versions"))
    assert [(v["version"], v["deployed_by"]) for v in versions] == [(1, "system"), (2, "analyst")]


def test_definitions_seen_by_a_transaction_follow_its_deployments_and_rollbacks(app):
    """latest/resolve_called read the definitions once per transaction (deployments._seen): a deployment in the same
    transaction is seen at once, and one rolled back (a savepoint) is forgotten."""
    text = (ROOT / "bpmn" / "review.bpmn").read_text(encoding="utf-8")
    changed = text.replace("</bpmn:definitions>", "<!-- v2 --></bpmn:definitions>")
    with app.extensions["db"].Session() as session, session.begin():
        plan = deployments.latest(session, "plan_application")
        first = deployments.latest(session, "review")
        pinned = deployments.resolve_called(session, plan)
        assert pinned["review"] == first.id
        savepoint = session.begin_nested()
        deployments.deploy(session, [("review.bpmn", changed.encode())], name="test")
        second = deployments.latest(session, "review")
        assert second.version == first.version + 1
        assert deployments.resolve_called(session, plan)["review"] == second.id
        savepoint.rollback()
        assert deployments.latest(session, "review").id == first.id
        assert deployments.resolve_called(session, plan) == pinned
        deployments.deploy(session, [("review.bpmn", changed.encode())], name="test")
        assert deployments.resolve_called(session, plan)["review"] == deployments.latest(session, "review").id != first.id
    with app.extensions["db"].Session() as session, session.begin():  # and the next transaction reads them anew
        assert deployments.latest(session, "review").version == first.version + 1
