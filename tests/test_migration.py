"""Migrating running instances to a new version: offered where SpiffWorkflow's diff says it is safe."""
from pathlib import Path

from helpers import apply_plan, approve, names, register_project
from test_deployments import deploy, with_leader_level

ROOT = Path(__file__).resolve().parent.parent


def _plan_at_unit_review(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer, amount=2000000)
    return clerk, apply_plan(clerk, project["id"])


def _events(app, iid):
    from app.engine import history
    with app.extensions["db"].Session() as s:
        return [(e.type, e.data) for e in history.events(s, iid)]


def test_safe_migration_adds_the_later_review_level(app, login):
    clerk, instance = _plan_at_unit_review(login)
    reviewer, leader, finance, analyst = login("reviewer"), login("leader"), login("finance"), login("analyst")
    iid = instance["id"]
    open_task = reviewer.task_named("采购单位审核岗审核", iid)
    assert deploy(app, [("plan_application.bpmn", with_leader_level())]) == ([("plan_application", 2)], [])

    preview = analyst.ok(analyst.get(f"/api/instances/{iid}/migration", query_string={"version": 2}))
    assert preview["safe"] is True and preview["blocking"] == []
    assert (preview["from_version"], preview["to_version"]) == (1, 2)
    assert {"leader_review", "leader_result"} <= {a["element"] for a in preview["added"]}
    assert {"plan_review_result", "plan_chain"} <= {c["element"] for c in preview["changed"]}
    assert _events(app, iid)[-1][0] != "migrated"  # the preview wrote nothing

    result = analyst.ok(analyst.post(f"/api/instances/{iid}/migrate", {"version": 2}))
    assert result["instance"]["version"] == 2 and result["migration"]["safe"] is True
    kind, data = _events(app, iid)[-1]
    assert kind == "migrated"
    assert (data["from"]["version"], data["to"]["version"]) == (1, 2)
    assert {"leader_review", "leader_result"} <= {a["element"] for a in data["diff"]["added"]}
    # The open review task survived (same id) and the path now goes through the leader.
    assert reviewer.task_named("采购单位审核岗审核", iid)["id"] == open_task["id"]
    approve(reviewer, "采购单位审核岗审核", iid)
    assert names(finance.tasks(), iid) == [] and names(leader.tasks(), iid) == ["需求领导审核"]
    approve(leader, "需求领导审核", iid)
    approve(finance, "财政部门审核", iid)
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["status"] == "completed"

    auditor = login("auditor")
    report = auditor.ok(auditor.post(f"/api/instances/{iid}/replay"))
    assert report["ok"], report["first_divergence"]
    assert "migrated" in [s["type"] for s in report["steps"]]
    assert auditor.ok(auditor.get(f"/api/instances/{iid}/verify"))["ok"] is True


def test_migration_refused_when_a_completed_step_changed(app, login):
    clerk, instance = _plan_at_unit_review(login)
    iid, analyst = instance["id"], login("analyst")
    approve(login("reviewer"), "采购单位审核岗审核", iid)  # the review result gateway has now run
    deploy(app, [("plan_application.bpmn", with_leader_level())])
    before = _events(app, iid)

    preview = analyst.ok(analyst.get(f"/api/instances/{iid}/migration", query_string={"version": 2}))
    assert preview["safe"] is False
    # The review result gateway (its flow now leads to the leader) ran and the review chain after it is running.
    assert {b["element"] for b in preview["blocking"]} == {"plan_review_result", "plan_chain"}
    response = analyst.post(f"/api/instances/{iid}/migrate", {"version": 2})
    assert response.status_code == 409
    body = response.json
    assert body["code"] == "MIGRATION_UNSAFE" and "plan_review_result" in body["message"]
    assert set(body["errors"]) == {"plan_review_result", "plan_chain"}
    assert "修改" in body["errors"]["plan_review_result"][0]
    assert body["migration"]["blocking"][0]["state"] == "COMPLETED"
    # Nothing changed: same version, same history, the finance review still open.
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["version"] == 1
    assert _events(app, iid) == before
    assert names(login("finance").tasks(), iid) == ["财政部门审核"]


def test_migration_refused_when_a_completed_step_was_replaced(app, login):
    clerk, instance = _plan_at_unit_review(login)
    iid = instance["id"]
    text = (ROOT / "bpmn" / "plan_application.bpmn").read_text(encoding="utf-8")
    # The new version renames the save step that already ran (a different element id: removed + added).
    text = text.replace('id="plan_save"', 'id="plan_store"').replace('"plan_save"', '"plan_store"') \
        .replace('bpmnElement="plan_save"', 'bpmnElement="plan_store"')
    text = text.replace('sourceRef="plan_save"', 'sourceRef="plan_store"').replace(
        'targetRef="plan_save"', 'targetRef="plan_store"')
    assert deploy(app, [("plan_application.bpmn", text.encode())])[0] == [("plan_application", 2)]
    response = login("analyst").post(f"/api/instances/{iid}/migrate", {"version": 2})
    assert response.status_code == 409
    errors = response.json["errors"]
    # SpiffWorkflow aligns the renamed step with the old one by its place in the flow: a changed bpmn_id.
    assert "plan_save" in errors and "bpmn_id" in errors["plan_save"][0]
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["version"] == 1


def test_migration_repins_the_called_review(app, login):
    clerk, instance = _plan_at_unit_review(login)
    iid, reviewer = instance["id"], login("reviewer")
    review = (ROOT / "bpmn" / "review.bpmn").read_text(encoding="utf-8").replace(
        'name="审核" camunda:assignee', 'name="审核办理" camunda:assignee')
    defs, _ = deploy(app, [("review.bpmn", review.encode()), ("plan_application.bpmn", with_leader_level())])
    assert sorted(defs) == [("plan_application", 2), ("review", 2)]
    task = reviewer.task_named("采购单位审核岗审核", iid)
    result = login("analyst").ok(login("analyst").post(f"/api/instances/{iid}/migrate", {"version": 2}))
    assert result["migration"]["safe"] is True
    from app.engine import deployments
    from app.models import ProcessInstance
    with app.extensions["db"].Session() as s:
        pinned = s.get(ProcessInstance, iid).subprocess_definitions
        assert pinned["review"] == deployments.latest(s, "review").id
    # The open task kept its id and took the new element's name.
    renamed = [t for t in reviewer.tasks() if t["instance_id"] == iid]
    assert [(t["id"], t["name"]) for t in renamed] == [(task["id"], "审核办理")]
    approve(reviewer, "审核办理", iid)
    assert names(login("leader").tasks(), iid) == ["审核办理"]
    assert login("auditor").ok(login("auditor").post(f"/api/instances/{iid}/replay"))["ok"] is True


def test_migration_permissions_and_bad_versions(app, login):
    clerk, instance = _plan_at_unit_review(login)
    iid = instance["id"]
    deploy(app, [("plan_application.bpmn", with_leader_level())])
    for user in ("clerk", "reviewer", "auditor", "admin"):
        assert login(user).post(f"/api/instances/{iid}/migrate", {"version": 2}).status_code == 403
    assert clerk.get(f"/api/instances/{iid}/migration?version=2").status_code == 403
    assert login("auditor").get(f"/api/instances/{iid}/migration?version=2").status_code == 200
    analyst = login("analyst")
    assert analyst.post(f"/api/instances/{iid}/migrate", {"version": 7}).status_code == 404
    assert analyst.post(f"/api/instances/{iid}/migrate", {}).status_code == 400
    assert analyst.post(f"/api/instances/{iid}/migrate", {"version": 1}).status_code == 409
    assert analyst.post("/api/instances/999/migrate", {"version": 2}).status_code == 404
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["version"] == 1
