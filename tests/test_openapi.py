"""The OpenAPI document says what the API does: error bodies with a string ``code``, money as decimal strings,
a schema for every answer (JSON, Excel, files), ids bounded, and bad query parameters as 400, never 422.
(tests/test_api_fuzz.py then checks real responses against it.)"""
import pytest


@pytest.fixture
def spec(app):
    return app.test_client().get("/api/openapi.json").json


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method != "parameters":
                yield path, method, operation


def test_errors_are_documented_as_they_are_sent(app, login, spec):
    error = spec["components"]["schemas"]["ApiError"]["properties"]
    assert error["code"]["type"] == "string" and error["message"]["type"] == "string"
    assert "request_id" in error and "status" not in error
    assert spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/ApiError"}
    body = login("clerk").get("/api/plans/999").json
    assert isinstance(body["code"], str) and set(body) <= set(error)


def test_money_is_one_documented_type(spec):
    found = 0
    for name, schema in spec["components"]["schemas"].items():
        for prop, definition in schema.get("properties", {}).items():
            if prop.endswith(("amount", "price")):
                assert (definition.get("type"), definition.get("format")) == ("string", "decimal"), (name, prop)
                found += 1
    assert found >= 30


def test_every_answer_has_a_schema_and_no_operation_speaks_of_422(spec):
    for path, method, operation in _operations(spec):
        assert "422" not in operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            if status.startswith("2") and status != "204" and "$ref" not in response:
                content = response.get("content") or {}
                assert content and all("schema" in c for c in content.values()), (method, path, status)


def test_path_ids_are_bounded(spec):
    ids = [p for _, _, op in _operations(spec) for p in op.get("parameters", [])] + \
          [p for ops in spec["paths"].values() for p in ops.get("parameters", [])]
    bounded = [p for p in ids if p["in"] == "path" and p["schema"]["type"] == "integer"]
    assert bounded and all(p["schema"]["maximum"] <= 2**31 - 1 for p in bounded)


def test_bad_query_parameters_are_400_in_chinese(login):
    auditor = login("auditor")
    for url in ("/api/method-changes?plan_id=abc", "/api/entrustments?plan_id=1.5", "/api/import-approvals?project_id=x",
                "/api/contracts?plan_id=-", "/api/reports/funds?year=2026.5", "/api/tasks?assigned=you",
                "/api/calendar?year=abc", f"/api/supervision/warnings?unit_id={2**40}"):
        response = auditor.get(url)
        assert response.status_code == 400, url
        assert response.json["code"] == "BAD_REQUEST" and response.json["message"] == "提交的数据有误，请检查标红的字段"


def test_list_endpoints_describe_their_rows(login, spec):
    for path in ("/api/method-changes", "/api/entrustments", "/api/import-approvals"):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array" and "$ref" in schema["items"], path
    export = spec["paths"]["/api/instances/{instance_id}/export.json"]["get"]["responses"]["200"]
    assert export["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Export"}
