"""Every list endpoint pages like GET /api/tasks (issue 16): page/per_page, X-Total-Count, X-Page, X-Per-Page,
Link rel="next", per_page capped at 200, bad paging parameters a 400 in Chinese. And the audit list's text
search runs in SQL (process_instance.search_text)."""
import re

import pytest
from sqlalchemy import select

from helpers import PROJECT, Web, register_project

# (user, path) of every paged list endpoint (besides /api/tasks, tested in test_task_paging.py).
LISTS = [
    ("admin", "/api/incidents"), ("admin", "/api/stranded"), ("clerk", "/api/experts"),
    ("clerk", "/api/expert-extractions"), ("clerk", "/api/instances/1/history"), ("admin", "/api/users"),
    ("clerk", "/api/contracts"), ("clerk", "/api/attachments"), ("clerk", "/api/suppliers"),
    ("clerk", "/api/supervision/warnings"), ("clerk", "/api/intents"), ("clerk", "/api/unified-plans"),
    ("clerk", "/api/announcements/single-source"), ("clerk", "/api/announcements/sme-reservation"),
    ("clerk", "/api/import-approvals"), ("clerk", "/api/method-changes"), ("clerk", "/api/entrustments"),
    ("auditor", "/api/instances"),
]


@pytest.fixture
def started(login):
    register_project(login("clerk"), login("reviewer"))  # instance 1, with a history


@pytest.mark.parametrize("username,path", LISTS, ids=[p for _, p in LISTS])
def test_bad_paging_parameters_are_400_in_chinese_and_large_pages_capped(login, started, username, path):
    user = login(username)
    for params, field in (({"page": 0}, "page"), ({"page": -1}, "page"), ({"per_page": "abc"}, "per_page"),
                          ({"per_page": 0}, "per_page"), ({"page": "二"}, "page")):
        response = user.get(path, query_string=params)
        assert response.status_code == 400, (path, params, response.status_code)
        message = response.json["errors"][field][0]
        assert re.search(r"[\u4e00-\u9fff]", message), message
    response = user.get(path, query_string={"per_page": 100000})
    assert response.status_code == 200 and response.headers["X-Per-Page"] == "200"
    assert int(response.headers["X-Total-Count"]) >= len(response.json) and response.headers["X-Page"] == "1"


def test_incidents_page_newest_first_with_a_next_link(app, login):
    from app.models import Incident, utcnow
    with app.extensions["db"].Session() as s, s.begin():
        for n in range(7):
            s.add(Incident(kind="timer", error=f"第{n}个", status="open", created_at=utcnow()))
    admin = login("admin")
    first = admin.get("/api/incidents", query_string={"per_page": 3})
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "7" and len(first.json) == 3
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    pages = [admin.ok(admin.get("/api/incidents", query_string={"per_page": 3, "page": n})) for n in (1, 2, 3, 4)]
    ids = [i["id"] for page in pages for i in page]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7 and pages[3] == []
    last = admin.get("/api/incidents", query_string={"per_page": 3, "page": 3})
    assert "Link" not in last.headers
    assert login("clerk").get("/api/incidents").status_code == 403


def test_experts_and_history_page_through_everything(login, started):
    clerk = login("clerk")
    everything = clerk.ok(clerk.get("/api/experts", query_string={"per_page": 200}))
    total = int(clerk.get("/api/experts").headers["X-Total-Count"])
    assert total == len(everything) > 5
    paged = [e["id"] for n in range(1, total // 5 + 2)
             for e in clerk.ok(clerk.get("/api/experts", query_string={"per_page": 5, "page": n}))]
    assert paged == [e["id"] for e in everything]
    history = clerk.history(1)  # every page
    first = clerk.get("/api/instances/1/history", query_string={"per_page": 2})
    assert first.headers["X-Total-Count"] == str(len(history)) and [e["seq"] for e in first.json] == [1, 2]


def test_stranded_list_pages(app, login, monkeypatch):
    from app.engine import stranded
    found = [{"instance_id": n, "key": "k", "name": "流程", "business_key": None, "unit_id": 1,
              "started_at": None, "reason": "无人", "reasons": ["无人"], "tasks": []} for n in range(1, 6)]
    monkeypatch.setattr(stranded, "find_stranded", lambda session, now=None: found)
    admin = login("admin")
    page = admin.get("/api/stranded", query_string={"per_page": 2, "page": 3})
    assert page.headers["X-Total-Count"] == "5" and [s["instance_id"] for s in page.json] == [5]
    web = Web(app, "auditor").get("/audit/stranded").data.decode()
    assert "共 5 条" in web


def test_openapi_documents_the_paging_parameters(app):
    spec = app.test_client().get("/api/openapi.json").json
    for path in ("/api/incidents", "/api/stranded", "/api/experts", "/api/instances/{instance_id}/history"):
        names = {p["name"] for p in spec["paths"][path]["get"].get("parameters", []) if p.get("in") == "query"}
        assert {"page", "per_page"} <= names, (path, names)


# -- the audit list's search, in SQL ---------------------------------------------------------------------------

def _audit_ids(app, q):
    page = Web(app, "auditor").get("/audit", query_string={"q": q}).data.decode()
    return {int(i) for i in re.findall(r'data-instance-id="(\d+)"', page)}


def test_audit_search_matches_id_business_key_and_data_values_in_sql(app, login, monkeypatch):
    clerk = login("clerk")
    lab = clerk.start("project_registration", {**PROJECT, "name": "实验室Lab设备"})["id"]
    car = clerk.start("project_registration", {**PROJECT, "name": "公务用车100%"})["id"]
    assert _audit_ids(app, "实验室") == {lab}
    assert _audit_ids(app, "lab") == {lab}  # any case
    assert _audit_ids(app, "100%") == {car} and _audit_ids(app, "0%设") == set()  # % is text, not a wildcard
    assert _audit_ids(app, "_") == set()
    assert lab in _audit_ids(app, str(lab))
    assert _audit_ids(app, "name") == set()  # keys are not searched, as before
    # Not one instance is read into Python to filter: the rows come from the SQL query's page.
    from app.models import ProcessInstance
    from app.models.search import text_of
    with app.extensions["db"].Session() as s:
        row = s.get(ProcessInstance, lab)
        assert row.search_text == text_of(row.business_key, row.data) and "实验室lab设备" in row.search_text
        assert s.scalars(select(ProcessInstance.id).where(ProcessInstance.search_text.is_(None))).first() is None


def test_the_instances_api_searches_in_sql_within_the_callers_units(app, login):
    clerk, clerk2, auditor = login("clerk"), login("clerk2"), login("auditor")
    lab = clerk.start("project_registration", {**PROJECT, "name": "实验室Lab设备"})["id"]
    other = clerk2.start("project_registration", {**PROJECT, "name": "实验室耗材", "budget_line_id": 4})["id"]
    assert [i["id"] for i in auditor.ok(auditor.get("/api/instances", query_string={"q": "实验室"}))] == [other, lab]
    assert [i["id"] for i in clerk.ok(clerk.get("/api/instances", query_string={"q": "LAB"}))] == [lab]
    assert clerk.ok(clerk.get("/api/instances", query_string={"q": "实验室"})) == \
        clerk.ok(clerk.get("/api/instances", query_string={"q": "实验室", "unit_id": 1}))
    running = auditor.get("/api/instances", query_string={"status": "running", "process": "project_registration",
                                                          "per_page": 1})
    assert running.headers["X-Total-Count"] == "2" and len(running.json) == 1 and "Link" in running.headers
    bad = auditor.get("/api/instances", query_string={"status": "done"})
    assert bad.status_code == 400 and "状态只能为" in bad.json["errors"]["status"][0]


def test_the_admin_page_loads_one_page_of_experts_and_users(app, monkeypatch):
    from app.web import admin as admin_page
    monkeypatch.setattr(admin_page, "ADMIN_PAGE_SIZE", 7)
    web = Web(app, "admin")
    first = web.get("/admin").data.decode()
    second = web.get("/admin", query_string={"experts_page": 2}).data.decode()
    experts = [re.findall(r'data-expert="(\d+)"', page) for page in (first, second)]
    assert len(experts[0]) == 7 and len(experts[1]) == 7 and not set(experts[0]) & set(experts[1])
    assert 'data-testid="experts-next-page"' in first and "experts_page=2#experts" in first
    assert len(re.findall(r'<tr data-user="\d+"', first)) == 7
    assert 'data-testid="users-next-page"' in first
