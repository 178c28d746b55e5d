"""加签 / 减签 (issue 17): 前加签 and 后加签, 会签 and 或签; opinions in the history; refusals change nothing."""
import pytest

from taskops_helpers import add_user, deploy_taskops, start_to_review


@pytest.fixture(autouse=True)
def _setup(app, clock):
    deploy_taskops(app, clock)
    add_user(app, "reviewer3", "钱审核", ["reviewer"])


def _review(user, instance_id):
    return user.task_named("审核岗审核", instance_id)


def _verify(login, instance_id):
    assert login("auditor").ok(login("auditor").get(f"/api/instances/{instance_id}/verify"))["ok"]
    replay = login("auditor").ok(login("auditor").post(f"/api/instances/{instance_id}/replay"))
    assert replay["ok"], replay["first_divergence"]


def _finish(login, instance_id):
    leader = login("leader")
    leader.complete(leader.task_named("领导审批", instance_id)["id"], {"approved": "true"})


def test_before_signers_all_must_answer_then_holder_decides(app, login):
    clerk, reviewer, r3, leader = login("clerk"), login("reviewer"), login("reviewer3"), login("leader")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    url = f"/api/tasks/{task['id']}/signers"
    added = reviewer.ok(reviewer.post(url, {"users": ["reviewer3", "leader"], "mode": "before", "kind": "all",
                                            "reason": "请先提意见"}), 201)
    assert [(s["username"], s["status"]) for s in added] == [("reviewer3", "pending"), ("leader", "pending")]
    assert [s["task_id"] for s in r3.ok(r3.get("/api/signs"))] == [task["id"]]
    blocked = reviewer.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
    assert blocked.status_code == 409 and "前加签" in blocked.json["message"]
    assert r3.post(f"{url}/answer", {"approved": False}).status_code == 400  # a refusal needs a comment
    assert r3.ok(r3.post(f"{url}/answer", {"approved": True, "comment": "价格合理"}))["outcome"] == "waiting"
    assert r3.post(f"{url}/answer", {"approved": True}).status_code == 409  # already answered
    assert leader.ok(leader.post(f"{url}/answer", {"approved": False, "comment": "预算偏高"}))["outcome"] == "answered"
    reviewer.complete(task["id"], {"approved": "true", "comment": "综合意见，同意"})
    history = reviewer.history(instance["id"])
    answers = [(e["actor"], e["data"]["comment"]) for e in history if e["type"] == "task_signer_answered"]
    assert answers == [("reviewer3", "价格合理"), ("leader", "预算偏高")]
    _verify(login, instance["id"])
    _finish(login, instance["id"])


def test_after_signers_any_one_approval_moves_the_flow(app, login):
    clerk, reviewer, r3 = login("clerk"), login("reviewer"), login("reviewer3")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    url = f"/api/tasks/{task['id']}/signers"
    bad = reviewer.post(url, {"users": ["reviewer3"], "mode": "after", "kind": "any", "data": {"approved": "maybe"}})
    assert bad.status_code == 400  # the holder's decision is validated by the form
    reviewer.ok(reviewer.post(url, {"users": ["reviewer3", "leader"], "mode": "after", "kind": "any",
                                    "data": {"approved": "true", "comment": "同意"}}), 201)
    again = reviewer.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
    assert again.status_code == 409 and "后加签" in again.json["message"]
    assert r3.ok(r3.post(f"{url}/answer", {"approved": True, "comment": "同意"}))["outcome"] == "approved"
    done = login("auditor").ok(login("auditor").get(f"/api/tasks/{task['id']}"))
    assert done["status"] == "completed" and done["completed_by"] == "reviewer"
    signers = reviewer.ok(reviewer.get(url))
    assert {s["username"]: s["status"] for s in signers} == {"reviewer3": "approved", "leader": "skipped"}
    _verify(login, instance["id"])
    _finish(login, instance["id"])


def test_after_signers_all_a_refusal_returns_to_holder_and_remove(app, login):
    clerk, reviewer, r3, leader = login("clerk"), login("reviewer"), login("reviewer3"), login("leader")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    url = f"/api/tasks/{task['id']}/signers"
    reviewer.ok(reviewer.post(url, {"users": ["reviewer3", "leader"], "mode": "after", "kind": "all",
                                    "data": {"approved": "true"}}), 201)
    assert r3.post(f"{url}/remove", {"username": "leader"}).status_code == 403  # only the holder removes
    assert reviewer.ok(reviewer.post(f"{url}/remove", {"username": "leader"}))["outcome"] == "waiting"
    assert leader.post(f"{url}/answer", {"approved": True}).status_code == 409  # removed
    assert r3.ok(r3.post(f"{url}/answer", {"approved": False, "comment": "资料不全"}))["outcome"] == "refused"
    assert login("auditor").ok(login("auditor").get(f"/api/tasks/{task['id']}"))["status"] == "open"
    note = next(n for n in reviewer.ok(reviewer.get("/api/notices"))["items"] if n["kind"] == "signers")
    assert "未通过" in note["title"] and "资料不全" in note["body"]
    reviewer.complete(task["id"], {"approved": "false", "comment": "资料不全，退回"})
    _verify(login, instance["id"])
    clerk.complete(clerk.task_named("录入", instance["id"])["id"], {})
    reviewer.complete(_review(reviewer, instance["id"])["id"], {"approved": "true"})
    _finish(login, instance["id"])


@pytest.mark.parametrize("body,status,words", [
    ({"users": ["reviewer2"], "mode": "before"}, 403, "不能办理该任务"),  # another unit
    ({"users": ["reviewer"], "mode": "before"}, 409, "不能给自己加签"),
    ({"users": ["auditor"], "mode": "before"}, 403, "不能办理该任务"),
    ({"users": ["reviewer3"], "mode": "sideways"}, 400, "前加签"),
])
def test_add_signer_refusals(app, login, body, status, words):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    before = reviewer.history(instance["id"])
    answer = reviewer.post(f"/api/tasks/{task['id']}/signers", body)
    assert answer.status_code == status and words in answer.json["message"] + str(answer.json.get("errors")), answer.json
    assert reviewer.history(instance["id"]) == before and reviewer.ok(reviewer.get(f"/api/tasks/{task['id']}/signers")) == []
    reviewer.complete(task["id"], {"approved": "true"})
    _finish(login, instance["id"])
