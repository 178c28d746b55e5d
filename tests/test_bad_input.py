"""Never a 500 on bad input: ids of any size, NUL bytes and lone surrogates, deep JSON, long lists, loose
numbers and dates — each a 400/404 with a Chinese message, nothing changed. Runs on SQLite and PostgreSQL
(where ids past 2^31 and NUL bytes used to reach the database and fail there)."""
import io
import json
import re

import pytest

from helpers import PLAN, PROJECT, Web, register_project

HUGE = [2**31, 2**63, 10**30, "9" * 5000]  # as path text: 5,000 digits
CHINESE = re.compile("[\u4e00-\u9fff]")


def _snapshot(app):
    from sqlalchemy import func, select
    from app.models import HistoryEvent, ProcessInstance, Project
    with app.extensions["db"].Session() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (HistoryEvent, ProcessInstance, Project)]


def _refused(response, status=400):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    text = response.get_data(as_text=True)
    assert CHINESE.search(text) and "Traceback" not in text and "SELECT" not in text and "INSERT" not in text
    return response.json if response.is_json else text


# -- ids of any size --------------------------------------------------------------------------------------
def _int_rules(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "IdConverter"]
        if ints:
            yield rule, ints


@pytest.mark.parametrize("huge", HUGE, ids=["2^31", "2^63", "10^30", "5000 digits"])
def test_every_id_route_answers_404_for_ids_of_any_size(app, login, huge):
    """Every <int:…> route — API, /engine-rest and web pages — for GET and POST alike."""
    auditor, admin = login("auditor"), login("admin")
    web = Web(app, "auditor")
    checked = 0
    for rule, ints in _int_rules(app):
        url = rule.rule
        for name in ints:
            url = re.sub(rf"<int(\([^)]*\))?:{name}>", str(huge), url)
        url = re.sub(r"<[^>]+>", "x", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith("/api/") or rule.rule.startswith("/engine-rest"):
                client, headers = (auditor if method == "GET" else admin).client, \
                    (auditor if method == "GET" else admin).headers
            else:
                client, headers = web.client, {"X-CSRF-Token": web.token()}
            response = client.open(url, method=method, json={} if method != "GET" else None, headers=headers)
            assert response.status_code in (400, 404), (method, url[:80], response.status_code)
            checked += 1
    assert checked >= 45


def test_web_instance_page_with_a_huge_id_is_a_chinese_404_page(app):
    web = Web(app, "clerk")
    response = web.get(f"/instances/{2**63}")
    assert response.status_code == 404 and "地址不存在" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_engine_rest_start_with_a_huge_definition_id_is_404(app):
    from test_engine_rest import basic
    client = app.test_client()
    for ident in (str(2**31), str(2**63), f"review:1:{2**63}", "١٢", "²"):
        response = client.post(f"/engine-rest/process-definition/{ident}/start", json={}, headers=basic("clerk"))
        assert response.status_code == 404 and response.json["type"] == "RestException", ident
    response = client.get("/engine-rest/deployment?maxResults=abc", headers=basic("analyst"))
    assert response.status_code == 400 and "maxResults" in response.json["message"]
    response = client.get(f"/engine-rest/process-definition?firstResult={2**63}", headers=basic("analyst"))
    assert response.status_code == 400


def test_integer_query_parameters_of_any_size_are_400(app, login):
    """Every integer query parameter the OpenAPI document lists, given 2^31, 2^63 and 1.5."""
    spec = app.test_client().get("/api/openapi.json").json
    auditor = login("auditor")
    admin = login("admin")  # the integration API answers machine clients only: it gets a key of its own
    key = admin.ok(admin.post("/api/integration-clients", {"name": "预算系统"}), 201)["api_key"]
    machine = {"Authorization": f"Bearer {key}"}
    checked = 0
    for path, operations in spec["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        for param in operations["get"].get("parameters", []):
            if param["in"] == "query" and param["schema"].get("type") == "integer":
                for value in (2**31, 2**63, "1.5", "2026.5"):
                    if path.startswith("/api/integration/"):
                        response = auditor.client.get(f"{path}?{param['name']}={value}", headers=machine)
                    else:
                        response = auditor.get(f"{path}?{param['name']}={value}")
                    body = _refused(response)
                    assert param["name"] in body["errors"], (path, param["name"], body)
                    checked += 1
    assert checked >= 40


def test_record_ids_in_form_data_of_any_size_are_400(app, login):
    clerk = login("clerk")
    before = _snapshot(app)
    for huge in (2**31, 2**63):
        body = _refused(clerk.post("/api/processes/project_registration/instances",
                                   {"data": {**PROJECT, "budget_line_id": huge}}))
        assert list(body["errors"]) == ["budget_line_id"]
        body = _refused(clerk.post("/api/processes/plan_application/instances",
                                   {"data": {**PLAN, "project_id": huge}}))
        assert list(body["errors"]) == ["project_id"]
    assert _snapshot(app) == before


def test_attachment_target_ids_of_any_size_are_404(app, login, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path)
    clerk = login("clerk")
    for field in ("record_id", "instance_id"):
        data = {"file": (io.BytesIO(b"%PDF-1.4\n"), "a.pdf"), field: str(2**63)}
        if field == "record_id":
            data["record_type"] = "contract"
        response = clerk.client.post("/api/attachments", data=data, headers=clerk.headers,
                                     content_type="multipart/form-data")
        _refused(response, 404)


# -- text: NUL bytes and lone surrogates -----------------------------------------------------------------
def test_nul_in_the_login_user_name_is_400_without_authentication(app):
    client = app.test_client()
    body = _refused(client.post("/api/login", json={"username": "cl\u0000erk", "password": "demo"}))
    assert body["code"] == "INVALID_INPUT" and "空字符" in body["errors"]["username"][0]
    web = Web(app)
    token = web.csrf()
    page = _refused(web.client.post("/login", data={"username": "cl\x00erk", "password": "demo", "csrf_token": token}))
    assert "空字符" in page
    from test_engine_rest import basic
    response = client.get("/engine-rest/version", headers=basic("cl\x00erk"))
    assert response.status_code == 400 and "空字符" in response.json["message"]


@pytest.mark.parametrize("where", ["path", "query", "json", "nested", "key"])
def test_nul_bytes_anywhere_are_400(app, login, where):
    clerk = login("clerk")
    before = _snapshot(app)
    if where == "path":
        response = clerk.get("/api/tasks/ab%00cd")
    elif where == "query":
        response = clerk.get("/api/tasks?process=plan%00")
    else:
        data = {**PROJECT, "name": "实验\u0000室"} if where == "json" else \
            {**PROJECT, "items": [{"item_name": "\u0000"}]} if where == "nested" else {**PROJECT, "na\u0000me": 1}
        response = clerk.post("/api/processes/project_registration/instances", {"data": data})
    body = _refused(response)
    assert "空字符" in body["message"]
    assert _snapshot(app) == before


def test_lone_surrogates_are_400(app, login):
    clerk = login("clerk")
    before = _snapshot(app)
    raw = json.dumps({"data": {**PROJECT, "name": "x"}}).replace('"name": "x"', '"name": "\\ud800x"')
    response = clerk.client.post("/api/processes/project_registration/instances", data=raw,
                                 content_type="application/json", headers=clerk.headers)
    assert "代理项" in _refused(response)["errors"]["data.name"][0]
    # A surrogate pair is one character (😀) and fine.
    ok = clerk.start("project_registration", {**PROJECT, "name": "实验室设备 \U0001f600"})
    assert ok["status"] == "running"
    assert _snapshot(app)[1] == before[1] + 1


def test_text_in_a_message_payload_is_checked_too(app, login):
    """Message data is not form-validated; the request guard still refuses what cannot be stored."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = clerk.start("plan_application", {**PLAN, "project_id": project["id"]})
    body = _refused(clerk.post(f"/api/instances/{instance['id']}/messages/withdraw", {"data": {"reason": "\u0000"}}))
    assert "data.reason" in body["errors"]


# -- JSON shape -----------------------------------------------------------------------------------------
def test_json_nested_100000_deep_is_400(app, login):
    clerk = login("clerk")
    for depth in (100_000, 40):
        raw = '{"data": ' + "[" * depth + "]" * depth + "}"
        response = clerk.client.post("/api/processes/project_registration/instances", data=raw,
                                     content_type="application/json", headers=clerk.headers)
        assert "嵌套" in _refused(response)["message"]
    from test_engine_rest import basic
    variables = {"items": {"type": "Json", "value": "[" * 100_000 + "]" * 100_000}}
    response = app.test_client().post("/engine-rest/process-definition/key/project_registration/start",
                                      json={"variables": variables}, headers=basic("clerk"))
    assert response.status_code == 400 and "嵌套" in response.json["message"]


def test_invalid_json_nan_and_long_lists_are_400(app, login):
    clerk = login("clerk")
    for raw, words in (('{"data": {', "JSON"), ('{"data": {"amount": NaN}}', "JSON"),
                       (b'{"data": {"name": "\xff\xfe"}}', "UTF-8"),
                       (json.dumps({"data": {"x": list(range(1001))}}), "1000")):
        response = clerk.client.post("/api/processes/project_registration/instances", data=raw,
                                     content_type="application/json", headers=clerk.headers)
        assert words in _refused(response)["message"], raw[:40]


def test_form_lists_hold_at_most_500_rows(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    row = {"item_name": "电脑", "quantity": 1, "unit_price": 5000}
    before = _snapshot(app)
    body = _refused(clerk.post("/api/processes/plan_application/instances",
                               {"data": {**PLAN, "project_id": project["id"], "items": [row] * 501}}))
    assert body["errors"]["items"] == ["最多 500 项"]
    assert _snapshot(app) == before
    clerk.start("plan_application", {**PLAN, "project_id": project["id"], "items": [row] * 500})


# -- numbers and dates are strict -----------------------------------------------------------------------
@pytest.mark.parametrize("field, value, message", [
    ("year", 2026.5, "请输入整数"), ("year", "2026.5", "请输入整数"), ("budget_line_id", 1.5, "请输入整数"),
    ("amount", 99999999999999.99, "9999999999999.99"), ("amount", 1e20, "9999999999999.99"),
    ("amount", "1e400000", "9999999999999.99"), ("amount", 12.345, "最多保留 2 位小数"),
    ("amount", True, "请输入数字"), ("amount", [1], "请输入数字"),
])
def test_form_numbers_are_refused_not_rounded(app, login, field, value, message):
    clerk = login("clerk")
    before = _snapshot(app)
    body = _refused(clerk.post("/api/processes/project_registration/instances", {"data": {**PROJECT, field: value}}))
    assert any(message in m for m in body["errors"][field]), body
    assert _snapshot(app) == before


def test_largest_amount_is_stored_exactly_on_both_databases(app):
    from decimal import Decimal
    from app.models import BudgetLine, DomainError, money
    top = Decimal("9999999999999.99")
    with app.extensions["db"].Session() as s, s.begin():
        line = s.get(BudgetLine, 1)
        line.amount = money("9999999999999.99")
    with app.extensions["db"].Session() as s:
        assert s.get(BudgetLine, 1).amount == top
    for bad in ("99999999999999.99", "1e20", 1e20, "0.001", "-1", "NaN", "三十万", True):
        with pytest.raises(DomainError):
            money(bad)


def test_api_integers_are_refused_not_rounded(app, login):
    admin = login("admin")
    body = _refused(admin.client.patch("/api/units/1", json={"parent_id": 1.5}, headers=admin.headers))
    assert body["errors"]["parent_id"]
    body = _refused(admin.client.put("/api/calendar", json={"year": 2026.5, "days": []}, headers=admin.headers))
    assert body["errors"]["year"]
    body = _refused(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "transaction", "region": "*", "category": "goods", "amount": "300000.001"}]}))
    assert "两位小数" in body["errors"]["thresholds"]["0"]["amount"][0]


@pytest.mark.parametrize("text", ["2026-02-30", "20260101", "2026-W01-1", "2026-1-5", "2026-01-01garbage",
                                  "2026-13-01", "明天", ""])
def test_dates_are_real_calendar_days(text):
    from app.engine import forms
    from app.models.base import date_field, parse_day
    from marshmallow import ValidationError
    assert parse_day(text) is None
    with pytest.raises(Exception):
        date_field(text, "d", "日期")
    form = {"components": [{"type": "datetime", "key": "d", "subtype": "date", "validate": {"required": True}}]}
    with pytest.raises(ValidationError) as info:
        forms.validate_data(form, {"d": text})
    assert "日期" in info.value.messages["d"][0] or "必填" in info.value.messages["d"][0]
    assert forms.validate_data(form, {"d": "2028-02-29"}) == {"d": "2028-02-29"}
