"""Camunda's Node.js worker client (npm camunda-external-task-client-js, tests/node/worker.mjs) against the
running service: it fetches and locks over HTTP, completes a task, reports a BPMN error and a failure with
retries (issue 18). Skipped when node or the client is not installed (test.sh installs it when npm is there)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_engine_rest import basic, deploy
from test_external_task_client import served, start  # noqa: F401 - the app over HTTP
from test_external_tasks import FIXTURE, add_worker

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT = NODE_DIR / "node_modules" / "camunda-external-task-client-js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or not CLIENT.is_dir(),
                                reason="node or camunda-external-task-client-js not installed (cd tests/node && "
                                       "npm install)")


def run_worker(base_url, count):
    env = {**os.environ, "BASE_URL": base_url, "WORKER_USER": "worker1", "WORKER_PASSWORD": "demo",
           "TOPIC": "demo.charge", "COUNT": str(count)}
    done = subprocess.run(["node", "worker.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_node_client_completes_reports_bpmn_errors_and_failures(app, served, login):  # noqa: F811
    client = app.test_client()
    assert deploy(client, [FIXTURE], name="external").status_code == 200
    add_worker(app)
    paid, declined, flaky = start(client, 50, "J-1"), start(client, 500, "J-2"), start(client, 5000, "J-3")
    reports = run_worker(served, 3)
    assert sorted((r["businessKey"], r["outcome"], r["priority"]) for r in reports) == [
        ("J-1", "complete", 5), ("J-2", "bpmnError", 5), ("J-3", "failure", 5)]
    clerk = login("clerk")
    tasks = {t["instance_id"]: t["name"] for t in clerk.tasks()}
    assert tasks.get(paid) == "确认扣款结果" and tasks.get(declined) == "处理被拒扣款" and flaky not in tasks
    assert clerk.get(f"/api/instances/{paid}").json["data"]["receipt"] == "R-J-1"
    assert clerk.get(f"/api/instances/{declined}").json["data"]["declined_amount"] == 500
    listed = client.get(f"/engine-rest/external-task?processInstanceId={flaky}", headers=basic("worker1")).json
    assert [(t["retries"], t["errorMessage"]) for t in listed] == [(2, "支付网关超时")]
    for instance_id in (paid, declined):
        assert clerk.get(f"/api/instances/{instance_id}/verify").json["ok"]
