"""Camunda's own Python worker client (PyPI camunda-external-task-client-python3) against the running service:
it fetches and locks over HTTP, completes a task, reports a BPMN error and a failure with retries (issue 18)."""
import threading
from pathlib import Path

import pytest
from camunda.external_task.external_task_worker import ExternalTaskWorker
from werkzeug.serving import make_server

from test_engine_rest import basic, deploy
from test_external_tasks import FIXTURE, add_worker

TOPIC = "demo.charge"


@pytest.fixture
def served(app):
    """The app served over HTTP on a free port, as a worker on another machine would reach it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/engine-rest"
    server.shutdown()
    thread.join(10)


def start(client, amount, key):
    response = client.post("/engine-rest/process-definition/key/external_charge/start", headers=basic("clerk"),
                           json={"businessKey": key, "variables": {"amount": {"value": amount, "type": "Integer"}}})
    assert response.status_code == 200, response.json
    return int(response.json["id"])


def worker(base_url, worker_id="py-worker"):
    return ExternalTaskWorker(worker_id=worker_id, base_url=base_url, config={
        "auth_basic": {"username": "worker1", "password": "demo"}, "maxTasks": 1, "lockDuration": 10000,
        "asyncResponseTimeout": 500, "retries": 2, "retryTimeout": 1000, "sleepSeconds": 0})


def charge(task):
    """The worker's business logic, as a Camunda user writes it: by the amount it was given."""
    amount = task.get_variable("charge_amount")
    if amount < 100:
        return task.complete({"receipt": f"R-{task.get_business_key()}", "charged": amount})
    if amount < 1000:
        return task.bpmn_error("CARD_DECLINED", "余额不足", {"declined_amount": amount})
    return task.failure("支付网关超时", "timeout after 30 s", max_retries=2, retry_timeout=1000)


def test_the_python_client_completes_reports_bpmn_errors_and_failures(app, served, login, clock):
    client = app.test_client()
    assert deploy(client, [FIXTURE], name="external").status_code == 200
    add_worker(app)
    paid, declined, flaky = start(client, 50, "P-1"), start(client, 500, "P-2"), start(client, 5000, "P-3")
    py = worker(served)
    results = []
    for _ in range(3):
        py.fetch_and_execute(TOPIC, lambda task: results.append((task.get_business_key(), charge(task))) or
                             results[-1][1])
    assert [(key, result.is_success(), bool(result.is_bpmn_error()), result.is_failure())
            for key, result in sorted(results, key=lambda r: r[0])] == [("P-1", True, False, False), ("P-2", False, True, False),
                                            ("P-3", False, False, True)]
    clerk = login("clerk")
    tasks = {t["instance_id"]: t["name"] for t in clerk.tasks()}
    assert tasks.get(paid) == "确认扣款结果" and tasks.get(declined) == "处理被拒扣款" and flaky not in tasks
    assert clerk.get(f"/api/instances/{paid}").json["data"]["receipt"] == "R-P-1"
    listed = client.get(f"/engine-rest/external-task?processInstanceId={flaky}", headers=basic("worker1")).json
    assert [(t["retries"], t["errorMessage"]) for t in listed] == [(2, "支付网关超时")]

    clock.advance(seconds=2)  # after the retry timeout the client fetches it again and counts retries down
    retried = []
    py.fetch_and_execute(TOPIC, lambda task: retried.append(task.get_variable("charge_amount")) or charge(task))
    assert retried == [5000]
    listed = client.get(f"/engine-rest/external-task?processInstanceId={flaky}", headers=basic("worker1")).json
    assert listed[0]["retries"] == 1
    for instance_id in (paid, declined):
        assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]
