"""Bounded task lists (issue 16): GET /api/tasks pages in SQL, filters in SQL, bad paging gets a 400 in Chinese."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import HumanTask
from app.web import present
from helpers import PROJECT


def start(login, n, user="clerk", **overrides):
    return [login(user).start("project_registration", {**PROJECT, "name": f"设备{i:02d}", "amount": 1000 + i,
                                                        **overrides}) for i in range(n)]


def test_pages_are_disjoint_newest_first_and_say_the_total(login, clock):
    started = []
    for i in range(5):
        started += start(login, 1)
        clock.advance(minutes=1)  # distinct creation times: newest first is well defined
    reviewer = login("reviewer")
    pages, links = [], []
    for number in (1, 2, 3, 4):
        response = reviewer.get("/api/tasks", query_string={"page": number, "per_page": 2})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "5" and response.headers["X-Per-Page"] == "2"
        pages.append([t["instance_id"] for t in response.json])
        links.append(response.headers.get("Link"))
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert sum(pages, []) == [i["id"] for i in reversed(started)]
    assert links[0] == '</api/tasks?per_page=2&page=2>; rel="next"' and links[2] is None


def test_a_page_larger_than_the_maximum_is_capped(login):
    start(login, 1)
    response = login("reviewer").get("/api/tasks", query_string={"per_page": 100000})
    assert response.status_code == 200 and response.headers["X-Per-Page"] == "200"
    assert response.headers["X-Page"] == "1" and len(response.json) == 1


@pytest.mark.parametrize("query, field", [({"page": 0}, "page"), ({"page": -1}, "page"), ({"page": "abc"}, "page"),
                                          ({"per_page": 0}, "per_page"), ({"per_page": "十"}, "per_page"),
                                          ({"page": "1.5"}, "page"), ({"created_from": "2026-13-01"}, "created_from")])
def test_bad_paging_is_a_400_in_chinese(login, query, field):
    response = login("reviewer").get("/api/tasks", query_string=query)
    assert response.status_code == 400
    message = response.json["errors"][field][0]
    assert message in ("应为整数", "应为日期（YYYY-MM-DD）") or message.startswith("应为 1 到")


def test_filters_run_in_sql_and_combine(login, clock):
    first = start(login, 3)
    clock.advance(days=2)
    later = start(login, 2, user="clerk2", budget_line_id=4, region="福州市")
    auditor, reviewer = login("auditor"), login("reviewer")
    everyone = auditor.tasks()
    assert {t["instance_id"] for t in everyone} >= {i["id"] for i in first + later}
    # Auditors page through every unit; a unit filter narrows to one.
    units = {t["unit_id"] for t in everyone}
    assert len(units) == 2
    assert {t["instance_id"] for t in auditor.tasks(unit_id=later[0]["data"]["unit_id"])} == {i["id"] for i in later}
    # A reviewer sees only the own unit's tasks, whatever the filters say.
    assert {t["instance_id"] for t in reviewer.tasks()} == {i["id"] for i in first}
    assert reviewer.tasks(unit_id=later[0]["data"]["unit_id"]) == []
    # Text: task name, record name and number, business key, instance id.
    assert [t["instance_id"] for t in reviewer.tasks(q="设备01")] == [first[1]["id"]]
    number = login("clerk").ok(login("clerk").get(f"/api/projects/{first[2]['data']['project_id']}"))["number"]
    assert [t["instance_id"] for t in reviewer.tasks(q=number)] == [first[2]["id"]]
    assert first[0]["id"] in [t["instance_id"] for t in reviewer.tasks(q=str(first[0]["id"]))]
    assert len(reviewer.tasks(q="审核")) == 3 and reviewer.tasks(q="不存在的文字%_") == []
    # Dates are China dates of creation, inclusive.
    day = (clock.now + timedelta(hours=8)).date()
    assert {t["instance_id"] for t in auditor.tasks(created_from=day.isoformat())} == {i["id"] for i in later}
    earlier = (day - timedelta(days=2)).isoformat()
    assert {t["instance_id"] for t in auditor.tasks(created_to=earlier)} >= {i["id"] for i in first}
    assert not {t["instance_id"] for t in auditor.tasks(created_to=earlier)} & {i["id"] for i in later}
    # Group, process and assignee.
    assert len(reviewer.tasks(group="reviewer", process="project_registration")) == 3
    assert reviewer.tasks(group="finance") == []
    task = reviewer.tasks()[0]
    assert reviewer.ok(reviewer.post(f"/api/tasks/{task['id']}/claim"))["claimed_by"] == "reviewer"
    assert [t["id"] for t in auditor.tasks(assignee="reviewer")] == [task["id"]]
    assert [t["id"] for t in reviewer.tasks(assigned="me")] == [task["id"]]


def test_candidate_keys_follow_the_lists_and_escape_like_wildcards(app, login):
    start(login, 1)
    with app.extensions["db"].Session() as session, session.begin():
        row = session.scalars(select(HumanTask).where(HumanTask.status == "open")).one()
        assert row.candidate_keys == ",g:reviewer,"
        row.candidate_groups, row.candidate_users = [], ["re_iewer"]
    with app.extensions["db"].Session() as session:
        assert session.scalars(select(HumanTask)).one().candidate_keys == ",u:re_iewer,"
    # "_" is no wildcard: the reviewer is not the candidate user re_iewer, nor is "%" anyone.
    assert login("reviewer").tasks() == []
    with app.extensions["db"].Session() as session, session.begin():
        session.scalars(select(HumanTask)).one().candidate_users = ["reviewer"]
    assert len(login("reviewer").tasks()) == 1


def test_record_lookups_never_build_an_in_list_past_the_drivers_limit(app, login):
    instance = start(login, 1)[0]
    project_id = instance["data"]["project_id"]
    refs = [("project", i) for i in range(1, 70001)]  # more than PostgreSQL's 65,535 parameters
    with app.extensions["db"].Session() as session:
        found = present.records(session, refs)
        assert set(found) == {("project", project_id)}
        assert present.user_names(session, [f"u{i}" for i in range(70000)] + ["clerk"]) == {"clerk": "张经办（clerk）"}


def test_overdue_first_pages_hold_every_task_once(app, login, clock):
    from app.engine import tasklist
    from app.models import User
    started = start(login, 7)
    with app.extensions["db"].Session() as session, session.begin():
        rows = {t.instance_id: t for t in session.scalars(select(HumanTask).where(HumanTask.status == "open"))}
        rows[started[4]["id"]].due_at = clock.now - timedelta(days=1)
        rows[started[2]["id"]].due_at = clock.now - timedelta(days=3)  # the most overdue
        rows[started[6]["id"]].due_at = clock.now + timedelta(days=3)  # due, not yet overdue
    with app.extensions["db"].Session() as session:
        auditor = session.scalars(select(User).where(User.username == "auditor")).one()
        clauses = tasklist.visible(session, auditor)
        pages = [tasklist.page_overdue_first(session, clauses, clock.now, n, 3) for n in (1, 2, 3, 4)]
        order = [[t.instance_id for t in rows] for rows, _ in pages]
        newest = tasklist.page(session, clauses, tasklist.newest_first(), 1, 10)[0]
    ids = [i["id"] for i in started]
    assert order[0][:2] == [ids[2], ids[4]]
    assert sum(order[:3], []) == [ids[2], ids[4]] + [t.instance_id for t in newest if t.instance_id not in (ids[2], ids[4])]
    assert order[3] == order[2] and pages[3][1]["page"] == 3  # past the end: the last page
    assert [info["total"] for _, info in pages] == [7, 7, 7, 7]


def test_record_pages_page_and_search_in_sql(app, login):
    from helpers import Web
    start(login, 3)
    start(login, 1, user="clerk2", budget_line_id=4, region="福州市")
    clerk, auditor = Web(app, "clerk"), Web(app, "auditor")
    page = clerk.get("/projects").data.decode()
    assert "共 3 条" in page and "设备02" in page
    found = clerk.get("/projects?q=设备01").data.decode()
    assert "共 1 条" in found and "设备01" in found and "设备02" not in found
    assert "设备0" not in clerk.get("/projects?q=%25").data.decode()  # "%" is text, not a wildcard
    assert "共 4 条" in auditor.get("/projects").data.decode()  # auditors: every unit


def test_started_tab_pages_and_filters_in_sql(app, login, clock):
    import re
    from helpers import Web
    started = start(login, 22)
    clerk = Web(app, "clerk")

    def shown(query):
        return [int(i) for i in re.findall(r'<tr data-instance-id="(\d+)"', clerk.get(f"/?tab=started&{query}").data.decode())]
    ids = [i["id"] for i in started]
    assert shown("") == list(reversed(ids))[:20] and shown("page=2") == list(reversed(ids))[20:]
    assert shown("q=设备07") == [ids[7]]
    number = login("clerk").ok(login("clerk").get(f"/api/projects/{started[3]['data']['project_id']}"))["number"]
    assert shown(f"number={number}") == [ids[3]]
    assert shown("q=审核岗") == shown("")  # the open task's name
    assert shown("process=plan_application") == [] and shown("date_from=2026-11-21") == []


def test_a_unit_users_pages_merge_their_units_tasks_and_unitless_ones(app, login, clock):
    """The unit rows and the unit-less rows are queried as two halves (each on its own index) and merged: pages
    stay newest first, disjoint and complete, counts add up, other units' tasks stay out."""
    from app.engine import tasklist
    from app.models import Unit, User
    started = []
    for _ in range(7):
        started += start(login, 1)
        clock.advance(minutes=1)
    ids = [i["id"] for i in started]
    with app.extensions["db"].Session() as session, session.begin():
        rows = {t.instance_id: t for t in session.scalars(select(HumanTask).where(HumanTask.status == "open"))}
        other = session.scalars(select(Unit.id).where(Unit.id != rows[ids[0]].unit_id)).first()
        for i in (1, 3, 4):
            rows[ids[i]].unit_id = None
        rows[ids[5]].unit_id = other  # another unit's task: never the reviewer's
        rows[ids[3]].due_at = clock.now - timedelta(days=1)
    visible = [i for i in reversed(ids) if i != ids[5]]
    reviewer = login("reviewer")
    pages = []
    for number in (1, 2, 3, 4):
        response = reviewer.get("/api/tasks", query_string={"page": number, "per_page": 2})
        assert response.headers["X-Total-Count"] == "6"
        pages.append([t["instance_id"] for t in response.json])
    assert pages == [visible[0:2], visible[2:4], visible[4:6], []]
    with app.extensions["db"].Session() as session:
        user = session.scalars(select(User).where(User.username == "reviewer")).one()
        clauses = tasklist.visible(session, user)
        overdue = [tasklist.page_overdue_first(session, clauses, clock.now, n, 4) for n in (1, 2)]
    assert [t.instance_id for t in overdue[0][0] + overdue[1][0]] == [ids[3]] + [i for i in visible if i != ids[3]]
    assert overdue[0][1]["total"] == 6


def test_a_total_above_the_exact_limit_is_kept_as_an_estimate(login, monkeypatch):
    """docs/api.md "Paging": totals up to EXACT_UP_TO are exact on every request; a larger one is counted exactly
    once and served again for COUNT_TTL seconds (here: the limit lowered to 2 tasks)."""
    from app.engine import tasklist
    monkeypatch.setattr(tasklist, "EXACT_UP_TO", 2)
    monkeypatch.setattr(tasklist, "_counts", type(tasklist._counts)())
    start(login, 3)
    auditor = login("auditor")

    def total():
        return int(auditor.get("/api/tasks", query_string={"per_page": 1}).headers["X-Total-Count"])
    before = total()
    assert before >= 3
    start(login, 1)
    assert total() == before  # the kept estimate
    monkeypatch.setattr(tasklist, "COUNT_TTL", 0.0)
    assert total() == before + 1  # expired: counted again


def test_my_tasks_count_a_task_claimed_and_assigned_by_the_same_user_once(app, login):
    """我的 is split in two disjoint parts (claimed by the user; assigned to them and not claimed by them)."""
    [instance] = start(login, 1)
    with app.extensions["db"].Session() as s, s.begin():
        task = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance["id"])).one()
        task.assignee = task.claimed_by = "reviewer"
    mine = login("reviewer").get("/api/tasks", query_string={"assigned": "me"})
    assert mine.headers["X-Total-Count"] == "1" and [t["instance_id"] for t in mine.json] == [instance["id"]]
