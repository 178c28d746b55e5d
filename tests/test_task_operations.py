"""转办, 委派/归还, 催办, 抄送, 常用意见 (issue 17): each recorded, each replays, each refusal clear and changing nothing."""
import threading

import pytest

from helpers import Api
from taskops_helpers import add_user, deploy_taskops, start_to_review


@pytest.fixture(autouse=True)
def _setup(app, clock):
    deploy_taskops(app, clock)
    add_user(app, "reviewer3", "钱审核", ["reviewer"])  # a second reviewer of unit 0


def _review(user, instance_id):
    return user.task_named("审核岗审核", instance_id)


def _verify(user, instance_id):
    result = user.ok(user.get(f"/api/instances/{instance_id}/verify"))
    assert result["ok"], result
    return result


def _history_types(user, instance_id):
    return [e["type"] for e in user.history(instance_id)]


def test_reassign_hands_the_task_over_and_replays(app, login):
    clerk, reviewer, other = login("clerk"), login("reviewer"), login("reviewer3")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    names = [p["username"] for p in reviewer.ok(reviewer.get(f"/api/tasks/{task['id']}/candidates"))]
    assert names == ["reviewer3"]
    moved = reviewer.ok(reviewer.post(f"/api/tasks/{task['id']}/reassign", {"assignee": "reviewer3", "reason": "出差"}))
    assert moved["assignee"] == "reviewer3"
    assert all(t["id"] != task["id"] for t in reviewer.tasks())  # no longer the reviewer's
    assert reviewer.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}}).status_code == 403
    other.complete(task["id"], {"approved": "true", "comment": "同意"})
    event = next(e for e in auditor_history(login, instance["id"]) if e["type"] == "task_reassigned")
    assert event["actor"] == "reviewer" and event["data"]["to"] == "reviewer3" and event["data"]["reason"] == "出差"
    assert any(n["kind"] == "reassigned" for n in other.ok(other.get("/api/notices"))["items"])
    _verify(login("auditor"), instance["id"])
    login("leader").complete(login("leader").task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def auditor_history(login, instance_id):
    return login("auditor").history(instance_id)


@pytest.mark.parametrize("target,status,words", [
    ("reviewer2", 403, "不在该任务所属单位"),  # another unit
    ("reviewer", 409, "不能转办给自己"),
    ("clerk", 403, "不是该任务的办理岗位"),  # same unit, cannot hold a review
    ("nobody", 400, "不存在"),
])
def test_reassign_refusals_change_nothing(app, login, target, status, words):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    before = _history_types(reviewer, instance["id"])
    answer = reviewer.post(f"/api/tasks/{task['id']}/reassign", {"assignee": target})
    assert answer.status_code == status and words in answer.json["message"], answer.json
    assert _history_types(reviewer, instance["id"]) == before
    assert reviewer.ok(reviewer.get(f"/api/tasks/{task['id']}"))["assignee"] is None
    reviewer.complete(task["id"], {"approved": "false", "comment": "退回"})
    clerk.complete(clerk.task_named("录入", instance["id"])["id"], {})
    assert reviewer.post(f"/api/tasks/{task['id']}/reassign", {"assignee": "reviewer3"}).status_code == 409  # done
    reviewer.complete(_review(reviewer, instance["id"])["id"], {"approved": "false", "comment": "作废"})
    _finish_entry_loop(login, instance["id"])


def _finish_entry_loop(login, instance_id):
    """Drive the fixture instance to its end so no instance is left behind."""
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    clerk.complete(clerk.task_named("录入", instance_id)["id"], {})
    reviewer.complete(_review(reviewer, instance_id)["id"], {"approved": "true"})
    leader.complete(leader.task_named("领导审批", instance_id)["id"], {"approved": "true"})


def test_delegate_and_resolve_camunda_semantics(app, login):
    clerk, reviewer, helper = login("clerk"), login("reviewer"), login("leader")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/delegate", {"assignee": "reviewer"}).json["message"] == "不能委派给自己"
    assert reviewer.post(f"/api/tasks/{task['id']}/delegate", {"assignee": "reviewer2"}).status_code == 403
    # a delegate need not hold the role (Camunda): the unit's leader may help
    row = reviewer.ok(reviewer.post(f"/api/tasks/{task['id']}/delegate", {"assignee": "leader", "reason": "请核价"}))
    assert (row["owner"], row["assignee"], row["delegation_state"]) == ("reviewer", "leader", "pending")
    refused = helper.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
    assert refused.status_code == 409 and "归还" in refused.json["message"]
    assert reviewer.post(f"/api/tasks/{task['id']}/resolve", {}).status_code == 403
    back = helper.ok(helper.post(f"/api/tasks/{task['id']}/resolve", {"comment": "价格合理"}))
    assert (back["assignee"], back["delegation_state"]) == ("reviewer", "resolved")
    assert helper.post(f"/api/tasks/{task['id']}/resolve", {}).status_code == 409
    notes = reviewer.ok(reviewer.get("/api/notices"))["items"]
    assert any(n["kind"] == "resolved" and n["body"] == "价格合理" for n in notes)
    reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})
    types = _history_types(reviewer, instance["id"])
    assert types.index("task_delegated") < types.index("task_resolved") < types.index("task_completed", 3)
    _verify(login("auditor"), instance["id"])
    login("leader").complete(login("leader").task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def test_urge_by_starter_rate_limited_and_refused_to_others(app, clock, login):
    clerk, reviewer, admin = login("clerk"), login("reviewer"), login("admin")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    assert reviewer.post(f"/api/tasks/{task['id']}/urge", {}).status_code == 403
    assert login("clerk2").post(f"/api/tasks/{task['id']}/urge", {}).status_code == 404  # cannot even see it
    done = clerk.ok(clerk.post(f"/api/tasks/{task['id']}/urge", {"message": "年底前须完成"}))
    assert set(done["notified"]) == {"reviewer", "reviewer3"}
    again = admin.post(f"/api/tasks/{task['id']}/urge", {})
    assert again.status_code == 409 and "再催办" in again.json["message"]
    clock.advance(minutes=31)
    admin.ok(admin.post(f"/api/tasks/{task['id']}/urge", {}))
    urged = [n for n in reviewer.ok(reviewer.get("/api/notices"))["items"] if n["kind"] == "urged"]
    assert len(urged) == 2 and urged[-1]["body"] == "年底前须完成"
    assert _history_types(reviewer, instance["id"]).count("task_urged") == 2
    _verify(login("auditor"), instance["id"])
    reviewer.complete(task["id"], {"approved": "true"})
    assert clerk.post(f"/api/tasks/{task['id']}/urge", {}).status_code == 409
    login("leader").complete(login("leader").task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def test_copy_lists_under_copied_to_me(app, login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    instance = start_to_review(clerk)
    path = f"/api/instances/{instance['id']}/copies"
    assert login("leader").post(path, {"users": ["finance"]}).status_code == 403  # not a handler of it
    assert reviewer.post(path, {"users": ["reviewer2"]}).status_code == 403  # another unit
    assert reviewer.post(path, {"users": []}).status_code == 400
    got = reviewer.ok(reviewer.post(path, {"users": ["leader", "finance"], "comment": "请知悉"}))
    assert got["copied_to"] == ["leader", "finance"]
    assert reviewer.post(path, {"users": ["leader"]}).status_code == 409
    mine = leader.ok(leader.get("/api/copies"))
    assert [(c["instance_id"], c["copied_by"], c["comment"]) for c in mine] == [(instance["id"], "reviewer", "请知悉")]
    assert any(n["kind"] == "copied" for n in leader.ok(leader.get("/api/notices"))["items"])
    _verify(login("auditor"), instance["id"])
    reviewer.complete(_review(reviewer, instance["id"])["id"], {"approved": "true"})
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def test_saved_comments_defaults_and_own(app, login):
    clerk, admin, reviewer = login("clerk"), login("admin"), login("reviewer")
    texts = [c["text"] for c in reviewer.ok(reviewer.get("/api/comments"))]
    assert texts == ["同意", "情况属实，同意", "不同意，请修改后重新提交"]
    mine = reviewer.ok(reviewer.post("/api/comments", {"text": "材料齐全，同意"}), 201)
    assert reviewer.post("/api/comments", {"text": "材料齐全，同意"}).status_code == 409
    assert reviewer.post("/api/comments", {"text": ""}).status_code == 400
    assert reviewer.post("/api/comments", {"text": "默认", "default": True}).status_code == 403
    admin.ok(admin.post("/api/comments", {"text": "经审核，符合规定", "default": True}), 201)
    assert [c["text"] for c in clerk.ok(clerk.get("/api/comments"))][-1] == "经审核，符合规定"
    assert "材料齐全，同意" not in [c["text"] for c in clerk.ok(clerk.get("/api/comments"))]
    assert clerk.client.delete(f"/api/comments/{mine['id']}", headers=clerk.headers).status_code == 404
    default_id = reviewer.ok(reviewer.get("/api/comments"))[0]["id"]
    assert reviewer.client.delete(f"/api/comments/{default_id}", headers=reviewer.headers).status_code == 403
    assert reviewer.client.delete(f"/api/comments/{mine['id']}", headers=reviewer.headers).status_code == 204


def test_concurrent_reassign_and_complete_one_wins(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    task = _review(reviewer, instance["id"])
    barrier, results = threading.Barrier(2), {}
    second = Api(app, "reviewer")  # a client of its own: two requests at once

    def run(name, call):
        barrier.wait()
        results[name] = call().status_code

    threads = [threading.Thread(target=run, args=("reassign", lambda: reviewer.post(
                   f"/api/tasks/{task['id']}/reassign", {"assignee": "reviewer3"}))),
               threading.Thread(target=run, args=("complete", lambda: second.post(
                   f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}})))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) in ([200, 403], [200, 409]), results
    history = _history_types(reviewer, instance["id"])
    assert (results["reassign"] == 200) == ("task_reassigned" in history)
    assert (results["complete"] == 200) == (history.count("task_completed") == 2)
    _verify(login("auditor"), instance["id"])
    if results["reassign"] == 200:
        login("reviewer3").complete(task["id"], {"approved": "true"})
    login("leader").complete(login("leader").task_named("领导审批", instance["id"])["id"], {"approved": "true"})
