"""退回 and 撤回 (issue 17): back to an earlier completed user task by SpiffWorkflow's reset, recorded and replayed;
refused for a step never reached, a step the diagram does not allow, or across records a service task changed."""
import pytest

from app import handlers
from app.models import BudgetLine
from taskops_helpers import FIXTURES, deploy_taskops, start_to_review
from app.engine import deployments


@handlers.handler("test.taskops_touch")
def _touch(ctx):
    """Changes a record (budget line 1's used amount) only when the instance asks: an effect no reset undoes."""
    if ctx.data.get("touch"):
        line = ctx.session.get(BudgetLine, 1)
        line.used_amount = line.used_amount + 1
    return {}


@pytest.fixture(autouse=True)
def _diagrams(app, clock):
    deploy_taskops(app, clock)
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [("taskops_effects.bpmn", (FIXTURES / "taskops_effects.bpmn").read_bytes())],
                           deployed_by="analyst", now=clock())


def _verify(login, instance_id):
    result = login("auditor").ok(login("auditor").get(f"/api/instances/{instance_id}/verify"))
    assert result["ok"], result
    replay = login("auditor").ok(login("auditor").post(f"/api/instances/{instance_id}/replay"))
    assert replay["ok"], replay["first_divergence"]


def _to_leader(login, key="taskops_review", **data):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start(key, data)
    clerk.complete(clerk.task_named("录入", instance["id"])["id"], {})
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    return instance


def _finish(login, instance_id):
    leader = login("leader")
    leader.complete(leader.task_named("领导审批", instance_id)["id"], {"approved": "true"})


def test_return_to_a_chosen_earlier_step_and_back_again(app, login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    instance = _to_leader(login)
    task = leader.task_named("领导审批", instance["id"])
    targets = leader.ok(leader.get(f"/api/tasks/{task['id']}/return-targets"))
    assert [t["bpmn_id"] for t in targets] == ["o_review", "o_entry"]  # nearest first
    assert leader.post(f"/api/tasks/{task['id']}/return", {"target": "o_entry"}).status_code == 400  # no reason
    done = leader.ok(leader.post(f"/api/tasks/{task['id']}/return", {"target": "o_entry", "reason": "附件缺失"}))
    assert done["status"] == "running"
    assert [t["name"] for t in leader.tasks() if t["instance_id"] == instance["id"]] == []
    entry = clerk.task_named("录入", instance["id"])
    note = next(n for n in clerk.ok(clerk.get("/api/notices"))["items"] if n["kind"] == "returned")
    assert "附件缺失" in note["title"] and note["task_id"] == entry["id"]
    event = next(e for e in clerk.history(instance["id"]) if e["type"] == "task_returned")
    assert (event["actor"], event["data"]["target"], event["data"]["reason"]) == ("leader", "o_entry", "附件缺失")
    _verify(login, instance["id"])
    clerk.complete(entry["id"], {})
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true"})
    _finish(login, instance["id"])
    _verify(login, instance["id"])


def test_return_refusals(app, login):
    leader = login("leader")
    instance = _to_leader(login)
    task = leader.task_named("领导审批", instance["id"])
    before = leader.history(instance["id"])
    never = leader.post(f"/api/tasks/{task['id']}/return", {"target": "o_leader", "reason": "x"})
    assert never.status_code == 409 and "尚未办理过" in never.json["message"]
    assert login("reviewer").post(f"/api/tasks/{task['id']}/return", {"target": "o_entry", "reason": "x"}).status_code == 403
    assert leader.history(instance["id"]) == before  # nothing recorded, nothing changed
    assert leader.task_named("领导审批", instance["id"])["id"] == task["id"]
    _finish(login, instance["id"])


def test_return_across_changed_records_is_refused_naming_why(app, login):
    leader = login("leader")
    touched = _to_leader(login, "taskops_effects", touch=True)
    task = leader.task_named("领导审批", touched["id"])
    refused = leader.post(f"/api/tasks/{task['id']}/return", {"target": "x_review", "reason": "重审"})
    assert refused.status_code == 409 and "登记备注" in refused.json["message"] and "budget_line:1" in refused.json["message"]
    # the diagram allows only x_review (returnTargets)
    assert [t["bpmn_id"] for t in leader.ok(leader.get(f"/api/tasks/{task['id']}/return-targets"))] == ["x_review"]
    not_allowed = leader.post(f"/api/tasks/{task['id']}/return", {"target": "x_entry", "reason": "重录"})
    assert not_allowed.status_code == 403 and "x_review" in not_allowed.json["message"]
    _finish(login, touched["id"])
    untouched = _to_leader(login, "taskops_effects")
    task = leader.task_named("领导审批", untouched["id"])
    leader.ok(leader.post(f"/api/tasks/{task['id']}/return", {"target": "x_review", "reason": "重审"}))
    reviewer = login("reviewer")
    reviewer.complete(reviewer.task_named("审核岗审核", untouched["id"])["id"], {"approved": "true"})
    _finish(login, untouched["id"])
    _verify(login, untouched["id"])


def test_recall_while_next_step_untouched(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("taskops_review", {})
    entry = clerk.task_named("录入", instance["id"])
    clerk.complete(entry["id"], {})
    assert reviewer.post(f"/api/tasks/{entry['id']}/recall", {}).status_code == 403
    clerk.ok(clerk.post(f"/api/tasks/{entry['id']}/recall", {"reason": "漏填附件"}))
    assert clerk.task_named("录入", instance["id"])["id"] == entry["id"]
    assert not [t for t in reviewer.tasks() if t["instance_id"] == instance["id"]]
    clerk.complete(entry["id"], {})
    review = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.ok(reviewer.post(f"/api/tasks/{review['id']}/claim"))  # the next step is touched now
    refused = clerk.post(f"/api/tasks/{entry['id']}/recall", {})
    assert refused.status_code == 409 and "不能撤回" in refused.json["message"]
    reviewer.complete(review["id"], {"approved": "true"})
    _finish(login, instance["id"])
    _verify(login, instance["id"])


def test_diagram_copies_on_completion(app, login):
    """copyToGroups on 审核岗审核: when it completes, the unit's finance users get a copy (抄送我的) and a notice."""
    finance = login("finance")
    instance = _to_leader(login, "taskops_effects")
    copies = finance.ok(finance.get("/api/copies"))
    assert [(c["instance_id"], c["copied_by"]) for c in copies] == [(instance["id"], "reviewer")]
    assert any(n["kind"] == "copied" for n in finance.ok(finance.get("/api/notices"))["items"])
    event = next(e for e in finance.history(instance["id"]) if e["type"] == "instance_copied")
    assert event["data"]["by_diagram"] == "x_review" and event["data"]["to"] == ["finance"]
    _finish(login, instance["id"])
    _verify(login, instance["id"])
