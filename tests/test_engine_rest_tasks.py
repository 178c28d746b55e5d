"""Camunda 7 REST task endpoints (issue 17): Camunda's shapes and status codes, the engine's rules."""
import base64

import pytest

from taskops_helpers import add_user, deploy_taskops, start_to_review


def basic(username, password="demo"):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture(autouse=True)
def _diagram(app, clock):
    deploy_taskops(app, clock)
    add_user(app, "reviewer3", "钱审核", ["reviewer"])


def test_task_query_shape_and_filters(app, login):
    instance = start_to_review(login("clerk"))
    client = app.test_client()
    tasks = client.get(f"/engine-rest/task?processInstanceId={instance['id']}", headers=basic("reviewer")).json
    assert len(tasks) == 1
    task = tasks[0]
    assert task["name"] == "审核岗审核" and task["taskDefinitionKey"] == "o_review"
    assert task["processInstanceId"] == str(instance["id"]) and task["processDefinitionId"].startswith("taskops_review:")
    assert task["assignee"] is None and task["delegationState"] is None and task["suspended"] is False
    assert task["due"].endswith("+0000") and task["camundaFormRef"]["key"] == "review"
    assert client.get("/engine-rest/task/count?candidateGroup=reviewer", headers=basic("reviewer")).json["count"] >= 1
    assert client.get(f"/engine-rest/task?processInstanceId={instance['id']}", headers=basic("reviewer2")).json == []
    assert client.get(f"/engine-rest/task/{task['id']}", headers=basic("reviewer")).json["id"] == task["id"]
    missing = client.get("/engine-rest/task/nope", headers=basic("reviewer"))
    assert missing.status_code == 404 and missing.json["type"] == "InvalidRequestException"
    assert client.get("/engine-rest/task").status_code == 401
    assert client.get("/engine-rest/task?maxResults=x", headers=basic("reviewer")).status_code == 400
    _finish(login, instance["id"], task["id"])


def _finish(login, instance_id, review_id=None):
    reviewer, leader = login("reviewer"), login("leader")
    if review_id:
        reviewer.complete(review_id, {"approved": "true"})
    leader.complete(leader.task_named("领导审批", instance_id)["id"], {"approved": "true"})


def test_claim_assignee_delegate_resolve_complete(app, login):
    instance = start_to_review(login("clerk"))
    client = app.test_client()
    task_id = login("reviewer").task_named("审核岗审核", instance["id"])["id"]
    url = f"/engine-rest/task/{task_id}"
    assert client.post(f"{url}/claim", json={"userId": "reviewer3"}, headers=basic("reviewer")).status_code == 403
    assert client.post(f"{url}/claim", json={"userId": "reviewer"}, headers=basic("reviewer")).status_code == 204
    assert client.get(url, headers=basic("reviewer")).json["assignee"] == "reviewer"
    taken = client.post(f"{url}/claim", json={"userId": "reviewer3"}, headers=basic("reviewer3"))
    assert taken.status_code == 409 and taken.json["type"] == "RestException" and "签收" in taken.json["message"]
    assert client.post(f"{url}/unclaim", headers=basic("reviewer")).status_code == 204
    other_unit = client.post(f"{url}/assignee", json={"userId": "reviewer2"}, headers=basic("reviewer"))
    assert other_unit.status_code == 403 and other_unit.json["type"] == "AuthorizationException"
    assert client.post(f"{url}/assignee", json={"userId": "reviewer3"}, headers=basic("reviewer")).status_code == 204
    assert client.post(f"{url}/delegate", json={"userId": "leader"}, headers=basic("reviewer3")).status_code == 204
    dto = client.get(url, headers=basic("reviewer3")).json
    assert (dto["owner"], dto["assignee"], dto["delegationState"]) == ("reviewer3", "leader", "PENDING")
    refused = client.post(f"{url}/complete", json={"variables": {"approved": {"value": True, "type": "Boolean"}}},
                          headers=basic("leader"))
    assert refused.status_code == 409
    resolved = client.post(f"{url}/resolve", json={"variables": {"comment": {"value": "价格合理", "type": "String"}}},
                           headers=basic("leader"))
    assert resolved.status_code == 204
    assert client.get(url, headers=basic("reviewer3")).json["delegationState"] == "RESOLVED"
    done = client.post(f"{url}/complete", json={"variables": {"approved": {"value": True, "type": "Boolean"},
                                                              "comment": {"value": "同意", "type": "String"}},
                                               "withVariablesInReturn": True}, headers=basic("reviewer3"))
    assert done.status_code == 200 and done.json["approved"] == {"value": True, "type": "Boolean", "valueInfo": {}}
    assert login("auditor").ok(login("auditor").get(f"/api/instances/{instance['id']}/verify"))["ok"]
    _finish(login, instance["id"])
