"""The auditor reads every unit's instances and records and changes nothing: every write route answers 403."""
import base64
import re

import pytest
from sqlalchemy import func, select

from helpers import PROJECT, apply_plan, register_project

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# POST routes that write nothing, and why they are open to auditors.
READ_ONLY_POSTS = {
    "auth.login": "signing in to the API",
    "web.login": "signing in to the web UI",
    "web.logout": "signing out",
    "auth.logout": "signing out of the API (ends the caller's own session)",
    "audit.replay_instance": "the replay runs in memory in a read-only session (auditors' own tool)",
    "users.change_own_password": "everyone, auditors included, changes their own password",
    "web.password": "the same, in the web UI",
    "notices.mark_read": "marking one's own notices read (站内通知)",
    "notices.put_preference": "one's own address for notices",
    "web.notices_read": "marking one's own notices read, in the web UI",
    "engine_rest.evaluate": "evaluating a deployed DMN decision writes nothing (Camunda 7 REST, issue 18)",
    "engine_rest.evaluate_by_key": "the same, by the decision's key",
}


def _web_session(app, username):
    client = app.test_client()
    page = client.get("/login").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/").data.decode()
    return client, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _counts(app):
    from app.models import (Deployment, FormDefinition, HistoryEvent, HumanTask, Incident, InstanceRecord, Plan,
                            ProcessDefinition, ProcessInstance, Project, Timer)
    with app.extensions["db"].Session() as s:
        counts = {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in (
            Deployment, FormDefinition, HistoryEvent, HumanTask, Incident, InstanceRecord, Plan, ProcessDefinition,
            ProcessInstance, Project, Timer)}
        counts["claimed"] = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.claimed_by.isnot(None)))
        counts["open"] = s.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    return counts


def test_every_write_route_refuses_the_auditor(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    task_id = instance["tasks"][0]["id"]
    from app.api.engine_rest import definition_id
    from app.engine import deployments
    from app.models import Incident
    with app.extensions["db"].Session() as s, s.begin():
        ident = definition_id(deployments.latest(s, "project_registration"))
        s.add(Incident(instance_id=instance["id"], kind="timer", error="x", status="open"))
    values = {"instance_id": instance["id"], "task_id": task_id, "name": "withdraw", "key": "project_registration",
              "ident": ident, "incident_id": 1, "year": 2026, "kind": "units"}

    auditor = login("auditor")
    web, csrf = _web_session(app, "auditor")
    basic = {"Authorization": "Basic " + base64.b64encode(b"auditor:demo").decode()}
    before = _counts(app)
    checked = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods & WRITE_METHODS
        if not methods or rule.endpoint in READ_ONLY_POSTS or rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", str(values.get(arg, 1)), url)
        for method in sorted(methods):
            if url.startswith("/api/"):
                response = auditor.client.open(url, method=method, json={"data": {}, "version": 2},
                                               headers=auditor.headers)
            elif url.startswith("/engine-rest/"):
                response = web.open(url, method=method, json={}, headers=basic)
            else:
                response = web.open(url, method=method, json={"data": {}},
                                    headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
            # The integration API is the budget system's (an API key): a person's token is not one (401).
            refused = (401,) if url.startswith("/api/integration/") else (403,)
            assert response.status_code in refused, (method, url, response.status_code, response.data[:300])
            checked.append(f"{method} {rule.rule}")
    assert len(checked) >= 15, checked
    assert {"POST /api/tasks/<task_id>/complete", "POST /api/instances/<int:instance_id>/migrate",
            "POST /engine-rest/deployment/create", "POST /tasks/<task_id>/complete"} <= set(checked)
    assert _counts(app) == before


def test_auditor_reads_every_unit_and_the_audit_pages(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    clerk2, reviewer2 = login("clerk2"), login("reviewer2")
    first = register_project(clerk, reviewer)
    second = register_project(clerk2, reviewer2, budget_line_id=4)
    auditor = login("auditor")
    for iid in (1, 2):
        assert auditor.ok(auditor.get(f"/api/instances/{iid}"))["status"] == "completed"
        assert auditor.ok(auditor.get(f"/api/instances/{iid}/verify"))["ok"] is True
    assert auditor.ok(auditor.get(f"/api/projects/{first['id']}"))["unit_id"] == 1
    assert auditor.ok(auditor.get(f"/api/projects/{second['id']}"))["unit_id"] == 2

    web, _ = _web_session(app, "auditor")
    page = web.get("/audit")
    assert page.status_code == 200
    text = page.data.decode()
    assert 'data-instance-id="1"' in text and 'data-instance-id="2"' in text
    assert 'data-nav="audit"' in web.get("/").data.decode()
    detail = web.get("/audit/instances/2").data.decode()
    assert 'data-testid="chain-ok"' in detail and 'data-testid="state-ok"' in detail
    assert detail.count('class="step') >= 5 and "export.xlsx" in detail
    # The diagram payload carries the token position after every event.
    payload = re.search(r'<script type="application/json" id="audit-data">(.*?)</script>', detail, re.S).group(1)
    import json
    steps = json.loads(payload)["steps"]
    assert steps[0]["position"]["active"] == ["reg_review"] and "reg_register" in steps[-1]["position"]["completed"]

    clerk_web, _ = _web_session(app, "clerk")
    assert clerk_web.get("/audit").status_code == 403
    assert clerk_web.get("/audit/instances/1").status_code == 403
    assert 'data-nav="audit"' not in clerk_web.get("/").data.decode()


@pytest.mark.parametrize("username", ["auditor", "analyst", "admin"])
def test_audit_page_shows_a_tampered_instance(app, login, username):
    from sqlalchemy import text
    register_project(login("clerk"), login("reviewer"))
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE instance_id = 1 AND seq = 1"))
    web, _ = _web_session(app, username)
    detail = web.get("/audit/instances/1").data.decode()
    assert 'data-testid="chain-bad"' in detail


def test_the_auditor_changes_only_their_own_password(app, login):
    auditor = login("auditor")
    done = auditor.post("/api/me/password", {"old_password": "demo", "new_password": "Shenji2026"})
    assert done.status_code == 204
    assert app.test_client().post("/api/login", json={"username": "auditor", "password": "Shenji2026"}).status_code == 200


def test_the_audit_list_pages_in_sql(app, login, monkeypatch):
    """/audit reads one page of instances (count, then offset/limit), newest first; filters still apply."""
    from app.web import audit as audit_page
    clerk = login("clerk")
    started = [clerk.start("project_registration", {**PROJECT, "name": f"设备{i}"})["id"] for i in range(3)]
    monkeypatch.setattr(audit_page, "PAGE_SIZE", 2)
    web, _ = _web_session(app, "auditor")
    pages = [[int(i) for i in re.findall(r'data-instance-id="(\d+)"', web.get(f"/audit?page={n}").data.decode())]
             for n in (1, 2, 9999)]
    ids = sorted(started, reverse=True)
    assert pages[0] == ids[:2] and pages[1][0] == ids[2] and len(pages[1]) <= 2
    assert pages[2] and not set(pages[2]) & set(ids[:2])  # past the end: the last page
    completed = re.findall(r'data-instance-id="(\d+)"', web.get("/audit?status=completed").data.decode())
    assert not {int(i) for i in completed} & set(ids)  # still open: filtered out in SQL
