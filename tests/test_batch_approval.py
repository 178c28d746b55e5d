"""批量审批 (issue 17): one comment for several tasks of the same form, each its own transaction, outcome per task."""
import pytest

from taskops_helpers import deploy_taskops, start_to_review


@pytest.fixture(autouse=True)
def _diagram(app, clock):
    deploy_taskops(app, clock)


def test_batch_approves_each_and_reports_each(app, login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    instances = [start_to_review(clerk) for _ in range(3)]
    tasks = [reviewer.task_named("审核岗审核", i["id"]) for i in instances]
    # the third is claimed by someone else meanwhile: refused alone, the others go through
    from taskops_helpers import add_user
    add_user(app, "reviewer3", "钱审核", ["reviewer"])
    login("reviewer3").ok(login("reviewer3").post(f"/api/tasks/{tasks[2]['id']}/claim"))
    result = reviewer.ok(reviewer.post("/api/tasks/batch-complete", {
        "task_ids": [t["id"] for t in tasks] + ["no-such-task"], "data": {"approved": "true", "comment": "同意"}}))
    assert (result["succeeded"], result["failed"], result["form_key"]) == (2, 2, "review")
    by_id = {o["task_id"]: o for o in result["outcomes"]}
    assert by_id[tasks[0]["id"]]["ok"] and by_id[tasks[1]["id"]]["ok"]
    assert by_id[tasks[2]["id"]]["code"] == "TASK_CLAIMED" and "签收" in by_id[tasks[2]["id"]]["message"]
    assert by_id["no-such-task"]["code"] == "NOT_FOUND"
    for instance in instances[:2]:
        assert leader.task_named("领导审批", instance["id"])
        assert login("auditor").ok(login("auditor").get(f"/api/instances/{instance['id']}/verify"))["ok"]
    login("reviewer3").complete(tasks[2]["id"], {"approved": "true"})
    for instance in instances:
        leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def test_batch_refuses_mixed_forms_and_bad_values_changing_nothing(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    review = reviewer.task_named("审核岗审核", instance["id"])
    other = clerk.start("taskops_review", {})
    entry = clerk.task_named("录入", other["id"])  # no form
    mixed = clerk.post("/api/tasks/batch-complete", {"task_ids": [review["id"], entry["id"]],
                                                     "data": {"approved": "true"}})
    assert mixed.status_code == 409 and "不同的表单" in mixed.json["message"]
    assert clerk.task_named("录入", other["id"])["id"] == entry["id"]  # nothing done
    assert reviewer.post("/api/tasks/batch-complete", {"task_ids": []}).status_code == 400
    bad = reviewer.ok(reviewer.post("/api/tasks/batch-complete", {"task_ids": [review["id"]],
                                                                  "data": {"approved": "maybe"}}))
    assert bad["failed"] == 1 and bad["outcomes"][0]["code"] == "INVALID_INPUT"
    reviewer.complete(review["id"], {"approved": "false", "comment": "退回"})
    clerk.complete(entry["id"], {})
    clerk.complete(clerk.task_named("录入", instance["id"])["id"], {})
    for inst in (instance, other):
        reviewer.complete(reviewer.task_named("审核岗审核", inst["id"])["id"], {"approved": "true"})
        login("leader").complete(login("leader").task_named("领导审批", inst["id"])["id"], {"approved": "true"})
