"""Two people completing the same task at once: exactly one wins, the other gets 409."""
import threading

from helpers import Api, apply_plan, register_project


def test_concurrent_completions_one_wins(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    project = register_project(clerk, reviewer, budget_line_id=4, amount=300000)
    instance = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000)
    task = reviewer.task_named("采购单位审核岗审核", instance["id"])

    # Separate clients (separate pooled connections), released together.
    clients = [Api(app, "reviewer2") for _ in range(2)]
    barrier = threading.Barrier(len(clients))
    results = []

    def complete(api):
        barrier.wait()
        response = api.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
        results.append((response.status_code, response.json))

    threads = [threading.Thread(target=complete, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409], results
    loser = next(body for code, body in results if code == 409)
    assert "已" in loser["message"]

    # Done exactly once: one completion in the history, plan filed once.
    history = clerk.history(instance["id"])
    assert [e["type"] for e in history].count("task_completed") == 1
    assert [e["type"] for e in history].count("instance_completed") == 1
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "filed"
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))["ok"] is True
