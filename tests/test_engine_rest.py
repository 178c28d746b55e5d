"""Camunda Modeler's "Deploy" and "Start instance" against /engine-rest, with real multipart bodies as the
Modeler sends them, and the real Modeler exports in ../shared/modeler-corpus."""
import base64
import re
import uuid
from pathlib import Path

import pytest

from app.api.engine_rest import PARSE_ERROR_PREFIX, CamundaError, variables_to_data

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "modeler-corpus"
INVOICE = [CORPUS / "invoiceApproval.bpmn", CORPUS / "start-form.form", CORPUS / "task-form.form"]


def basic(username, password="demo"):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def multipart(fields, files):
    """The body Camunda Modeler's FormData produces: text fields, then one part per file, named by the file."""
    boundary = f"----ModelerFormBoundary{uuid.uuid4().hex[:16]}"
    chunks = []
    for name, value in fields:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for index, path in enumerate(files):
        ctype = "text/xml" if index == 0 else "application/octet-stream"  # the diagram's Blob type; attachments none
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{path.name}"; '
                      f'filename="{path.name}"\r\nContent-Type: {ctype}\r\n\r\n'.encode())
        chunks.append(path.read_bytes() + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def deploy(client, files, user="analyst", name="invoice", changed="true", flag="deploy-changed-only", tenant=None):
    fields = [("deployment-name", name), ("deployment-source", "Camunda Modeler"), (flag, changed)]
    if tenant:
        fields.append(("tenant-id", tenant))
    body, ctype = multipart(fields, files)
    return client.post("/engine-rest/deployment/create", data=body,
                       headers={"Content-Type": ctype, "Accept": "application/json", **basic(user)})


def add_demo_user(app):
    """The invoice's user task is assigned to `demo`: a clerk of unit 1 with that name."""
    from app.models import UnitGrant, User, UserRole
    with app.extensions["db"].Session() as s, s.begin():
        user = User(username="demo", display_name="Demo", unit_id=1)
        user.set_password("demo")
        user.roles = [UserRole(role="clerk")]
        user.grants = [UnitGrant(unit_id=1)]
        s.add(user)


def test_connection_check_and_authentication(app, login):
    client = app.test_client()
    ok = client.get("/engine-rest/deployment?maxResults=0", headers=basic("analyst"))
    assert ok.status_code == 200 and ok.json == []
    missing = client.get("/engine-rest/deployment?maxResults=0")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Basic")
    assert missing.json["type"] == "AuthenticationException"
    wrong = client.get("/engine-rest/deployment?maxResults=0", headers=basic("analyst", "nope"))
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    bearer = client.get("/engine-rest/deployment?maxResults=0", headers=login("analyst").headers)
    assert bearer.status_code == 200
    forged = client.get("/engine-rest/deployment?maxResults=0", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    assert client.get("/engine-rest/version", headers=basic("analyst")).json == {"version": "7.22.0"}


def test_modeler_deploys_the_invoice_with_its_forms_and_it_runs_end_to_end(app, login):
    client = app.test_client()
    response = deploy(client, INVOICE, tenant="tenant-a")
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"links", "id", "name", "source", "deploymentTime", "tenantId", "deployedProcessDefinitions",
                         "deployedCaseDefinitions", "deployedDecisionDefinitions",
                         "deployedDecisionRequirementsDefinitions"}
    assert (body["name"], body["source"], body["tenantId"]) == ("invoice", "Camunda Modeler", "tenant-a")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", body["deploymentTime"])
    assert body["links"][0]["rel"] == "self" and body["links"][0]["href"].endswith(f"/engine-rest/deployment/{body['id']}")
    assert body["deployedCaseDefinitions"] is None and body["deployedDecisionDefinitions"] is None
    (def_id, definition), = body["deployedProcessDefinitions"].items()
    assert def_id == definition["id"] and re.fullmatch(r"camundaFormsQuickstart:1:\d+", def_id)
    assert {k: definition[k] for k in ("key", "name", "version", "resource", "deploymentId", "suspended")} == {
        "key": "camundaFormsQuickstart", "name": "Camunda Forms Quickstart", "version": 1,
        "resource": "invoiceApproval.bpmn", "deploymentId": body["id"], "suspended": False}
    assert client.get(f"/engine-rest/process-definition/{def_id}", headers=basic("clerk")).json == definition
    versions = login("analyst").ok(login("analyst").get("/api/processes/camundaFormsQuickstart/versions"))
    assert [(v["version"], v["deployed_by"]) for v in versions] == [(1, "analyst")]

    # "Start instance" as the analyst: analysts act for no unit, so the service says who may start it.
    refused = client.post(f"/engine-rest/process-definition/{def_id}/start", json={"businessKey": "INV-1"},
                          headers=basic("analyst"))
    assert refused.status_code == 403 and refused.json["type"] == "AuthorizationException"
    add_demo_user(app)
    # The start form's rules are checked on the server (required creditor, amount ^[0-9]+$, invoice C-123).
    bad = client.post(f"/engine-rest/process-definition/{def_id}/start", headers=basic("demo"), json={
        "businessKey": "INV-1", "variables": {"amount": {"value": "12a", "type": "String"},
                                              "invoiceNumber": {"value": "X-1", "type": "String"}}})
    assert bad.status_code == 400 and bad.json["type"] == "InvalidRequestException"
    assert set(bad.json["errors"]) == {"creditor", "amount", "invoiceNumber"}
    started = client.post(f"/engine-rest/process-definition/{def_id}/start", headers=basic("demo"), json={
        "businessKey": "INV-1", "variables": {"creditor": {"value": "Acme", "type": "String"},
                                              "amount": {"value": "300", "type": "String"},
                                              "invoiceNumber": {"value": "C-12", "type": "String"}}})
    assert started.status_code == 200, started.json
    instance = started.json
    assert {k: instance[k] for k in ("definitionId", "businessKey", "ended", "suspended", "caseInstanceId")} == {
        "definitionId": def_id, "businessKey": "INV-1", "ended": False, "suspended": False, "caseInstanceId": None}
    assert client.get(f"/engine-rest/process-instance/{instance['id']}", headers=basic("demo")).json == instance

    demo = login("demo")
    task = demo.task_named("Approve Invoice", int(instance["id"]))
    assert (task["assignee"], task["form_key"]) == ("demo", "task-form")
    assert login("clerk").post(f"/api/tasks/{task['id']}/complete", {"data": {}}).status_code == 403
    done = demo.complete(task["id"], {"creditor": "Acme", "amount": "300", "invoiceNumber": "C-12",
                                      "approved": "true", "approvedBy": "demo"})
    assert done["status"] == "completed" and done["data"]["approvedBy"] == "demo"
    assert client.get(f"/engine-rest/process-instance/{instance['id']}", headers=basic("demo")).json["ended"] is True
    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    assert report["ok"], report["first_divergence"]


def test_redeploying_unchanged_files_answers_with_the_existing_deployment(app):
    client = app.test_client()
    first = deploy(client, INVOICE).json
    again = deploy(client, INVOICE)
    assert again.status_code == 200
    assert again.json["id"] == first["id"] and again.json["deployedProcessDefinitions"] is None
    # Newer Modelers send enable-duplicate-filtering instead; same meaning here.
    assert deploy(client, INVOICE, flag="enable-duplicate-filtering").json["id"] == first["id"]
    # Camunda's default (no flag): a new version even when nothing changed.
    fresh = deploy(client, INVOICE, changed="false").json
    assert [d["version"] for d in fresh["deployedProcessDefinitions"].values()] == [2]


def test_start_instance_starts_exactly_the_deployed_version(app, login, tmp_path):
    client = app.test_client()
    v1 = next(iter(deploy(client, INVOICE).json["deployedProcessDefinitions"]))
    changed = tmp_path / "invoiceApproval.bpmn"
    changed.write_text(INVOICE[0].read_text(encoding="utf-8").replace('name="Approve Invoice"',
                                                                       'name="Approve the Invoice"'),
                       encoding="utf-8")
    v2 = next(iter(deploy(client, [changed]).json["deployedProcessDefinitions"]))
    assert v2.startswith("camundaFormsQuickstart:2:")
    add_demo_user(app)
    variables = {"creditor": {"value": "Acme", "type": "String"}, "amount": {"value": "1", "type": "String"}}
    old = client.post(f"/engine-rest/process-definition/{v1}/start", json={"variables": variables},
                      headers=basic("demo")).json
    latest = client.post("/engine-rest/process-definition/key/camundaFormsQuickstart/start",
                         json={"variables": variables}, headers=basic("demo")).json
    assert (old["definitionId"], latest["definitionId"]) == (v1, v2)
    by_number = client.post(f"/engine-rest/process-definition/{v1.rsplit(':', 1)[1]}/start",
                            json={"variables": variables}, headers=basic("demo")).json
    assert by_number["definitionId"] == v1
    demo = login("demo")
    names = {t["instance_id"]: t["name"] for t in demo.tasks()}
    assert names[int(old["id"])] == "Approve Invoice" and names[int(latest["id"])] == "Approve the Invoice"
    unknown = client.post("/engine-rest/process-definition/camundaFormsQuickstart:9:999/start", json={},
                          headers=basic("demo"))
    assert unknown.status_code == 404 and unknown.json["type"] == "RestException"


def test_loan_granting_is_refused_with_one_clear_message_per_construct(app):
    response = deploy(app.test_client(), [CORPUS / "loan-granting.bpmn"], name="loan-granting")
    assert response.status_code == 400
    body = response.json
    assert body["type"] == "ParseException"
    # The Modeler shows `message` in its log and classifies it as a diagram parse error by this prefix.
    assert body["message"].startswith(PARSE_ERROR_PREFIX)
    errors = body["details"]["loan-granting.bpmn"]["errors"]
    # Its topics have no built-in handler: external tasks a worker fetches (issue 18), reported as warnings.
    assert {w["mainElementId"] for w in body["details"]["loan-granting.bpmn"]["warnings"]} == {
        "Task_1lvjtd4", "Task_0v4gadf", "Task_0j0sjlk"}
    found = {(e["mainElementId"], e["message"].split(" / ")[-1]) for e in errors}
    assert found == {
        ("StartEvent_1", "cron cycles are not supported, use ISO-8601"),
        ("Task_1lvjtd4", "script parameter not supported"),
    }
    for error in errors:
        assert error["elementIds"] == [error["mainElementId"]] and error["line"] > 0
        assert f"element {error['mainElementId']}" in body["message"]  # the Modeler-visible text names each
        assert re.search(r"[\u4e00-\u9fff]", error["message"])  # with the Chinese explanation
    assert body["message"].count("\n* ") == 2
    with app.extensions["db"].Session() as s:
        from app.engine import deployments
        assert deployments.latest(s, "loanGranting") is None


def test_only_analysts_may_deploy(app):
    client = app.test_client()
    for user in ("clerk", "auditor", "admin"):
        response = deploy(client, INVOICE, user=user)
        assert response.status_code == 403 and response.json["type"] == "AuthorizationException"
    body, ctype = multipart([("deployment-name", "x")], INVOICE)
    anonymous = client.post("/engine-rest/deployment/create", data=body, headers={"Content-Type": ctype})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    empty = client.post("/engine-rest/deployment/create", data=multipart([("deployment-name", "x")], [])[0],
                        headers={"Content-Type": multipart([], [])[1], **basic("analyst")})
    assert empty.status_code == 400
    with app.extensions["db"].Session() as s:
        from app.engine import deployments
        assert deployments.latest(s, "camundaFormsQuickstart") is None


def test_deployment_listing_and_lookup(app):
    client = app.test_client()
    created = deploy(client, INVOICE).json
    listed = client.get("/engine-rest/deployment", headers=basic("clerk")).json
    assert created["id"] in [d["id"] for d in listed]
    one = client.get(f"/engine-rest/deployment/{created['id']}", headers=basic("clerk")).json
    assert {k: one[k] for k in ("id", "name", "source")} == {"id": created["id"], "name": "invoice",
                                                             "source": "Camunda Modeler"}
    assert client.get("/engine-rest/deployment/9999", headers=basic("clerk")).status_code == 404
    assert client.get("/engine-rest/deployment/count", headers=basic("clerk")).json["count"] == len(listed)
    latest = client.get("/engine-rest/process-definition?key=camundaFormsQuickstart&latestVersion=true",
                        headers=basic("clerk")).json
    assert [d["version"] for d in latest] == [1]


def test_camunda_variables_become_plain_values():
    assert variables_to_data({
        "amount": {"value": 1, "type": "Integer"}, "big": {"value": "12", "type": "Long"},
        "rate": {"value": 0.5, "type": "Double"}, "ok": {"value": "true", "type": "Boolean"},
        "name": {"value": "甲", "type": "String"}, "none": {"value": None, "type": "Null"},
        "items": {"value": '[{"a": 1}]', "type": "Json"}, "raw": {"value": 3},
        "obj": {"value": '{"x": 1}', "type": "Object", "valueInfo": {"serializationDataFormat": "application/json"}},
        "when": {"value": "2026-11-20T09:00:00.000+0800", "type": "Date"},
    }) == {"amount": 1, "big": 12, "rate": 0.5, "ok": True, "name": "甲", "none": None, "items": [{"a": 1}],
           "raw": 3, "obj": {"x": 1}, "when": "2026-11-20T09:00:00.000+0800"}
    for bad in ({"n": {"value": "x", "type": "Integer"}}, {"n": {"value": 1.5, "type": "Integer"}},
                {"n": {"value": "yes", "type": "Boolean"}}, {"n": {"value": "AAA", "type": "Bytes"}}, {"n": 1}):
        with pytest.raises(CamundaError) as info:
            variables_to_data(bad)
        assert info.value.status == 400 and "n" in info.value.message
