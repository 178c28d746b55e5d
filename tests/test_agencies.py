"""代理机构库 (issue 13): agencies are organisations with their own users. The administrator keeps the library
(GB 32100 credit codes, 409 on a duplicate, deactivation); the purchaser names the agency on the 委托单; the
agency's tasks, tender and 委托单 reach that agency's staff and no other agency's (API 404/403, not in the task
list) — the engine's rule for any diagram whose data names ``agency_id``."""
from helpers import approve, register_project
from procurement_helpers import GAP, demo_agency, file_plan, people, record  # noqa: F401 - fixture
from test_entrustment import _do, _start

CENTRAL, SOCIAL = "福建省政府采购中心", "福建华信招标代理有限公司"


def _error(response, status):
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def _patch(api, path, body):
    return api.client.patch(path, json=body, headers=api.headers)


def test_the_administrator_keeps_the_library(app, login):
    admin, clerk = login("admin"), login("clerk")
    listed = clerk.ok(clerk.get("/api/agencies"))
    assert {(a["name"], a["kind_label"]) for a in listed} == {(CENTRAL, "集中采购机构"), (SOCIAL, "社会代理机构")}
    assert [a["name"] for a in clerk.ok(clerk.get("/api/agencies", query_string={"kind": "central"}))] == [CENTRAL]

    body = {"name": "福州建诚项目管理有限公司", "credit_code": "12350000MB0123457T", "region": "福州市", "contact_name": "陈经理"}
    wrong = _error(admin.post("/api/agencies", body), 400)
    assert "校验位不正确" in wrong["message"] or "校验位不正确" in str(wrong.get("errors")), wrong
    from app.models.supplier import check_digit
    body["credit_code"] = "91350100MA2Y54321"
    body["credit_code"] += check_digit(body["credit_code"])
    added = admin.ok(admin.post("/api/agencies", body), 201)
    assert added["kind"] == "social" and added["active"] is True and added["users"] == []
    duplicate = _error(admin.post("/api/agencies", {**body, "name": "另一家", "credit_code": body["credit_code"].lower()}), 409)
    assert "已登记为代理机构“福州建诚项目管理有限公司”" in duplicate["message"]
    missing = _error(admin.post("/api/agencies", {"credit_code": body["credit_code"]}), 400)
    assert missing["errors"]["name"] == ["请填写代理机构名称"]
    bad_kind = _error(admin.post("/api/agencies", {**body, "kind": "private"}), 400)
    assert "机构类型应为" in bad_kind["errors"]["kind"][0]
    assert "只有系统管理员" in _error(clerk.post("/api/agencies", body), 403)["message"]

    # Its user: an agency post, no purchaser unit granted.
    user = admin.ok(admin.post("/api/users", {"username": "jc_agent", "display_name": "建诚代理", "password": "Passw0rd1",
                                              "roles": ["agency"], "agency_id": added["id"]}), 201)
    assert user["agency_id"] == added["id"] and user["grants"] == []
    assert [u["username"] for u in admin.ok(admin.get(f"/api/agencies/{added['id']}"))["users"]] == ["jc_agent"]
    not_agency = _error(admin.post("/api/users", {"username": "jc_clerk", "display_name": "x", "password": "Passw0rd1",
                                                  "roles": ["clerk"], "unit_id": 1, "agency_id": added["id"]}), 400)
    assert "代理机构的用户须有代理机构岗位" in not_agency["message"]
    no_home = _error(admin.post("/api/users", {"username": "jc_two", "display_name": "x", "password": "Passw0rd1",
                                               "roles": ["agency"]}), 400)
    assert "指定所属代理机构" in no_home["message"]

    # Deactivated: listed as such, no longer offered to a 委托单.
    changed = admin.ok(_patch(admin, f"/api/agencies/{added['id']}", {"active": False, "contact_phone": "0591-1"}))
    assert changed["active"] is False and changed["contact_phone"] == "0591-1"
    assert added["id"] not in [a["id"] for a in clerk.ok(clerk.get("/api/agencies", query_string={"active": "true"}))]
    assert _error(_patch(admin, "/api/agencies/9999", {"active": False}), 404)["code"] == "NOT_FOUND"
    assert _error(_patch(admin, f"/api/agencies/{added['id']}", {"credit_code": listed[0]["credit_code"]}), 409)


def test_the_work_reaches_the_named_agency_and_no_other(app, people, login):
    clerk, reviewer, central = people["clerk"], people["reviewer"], people["agency"]
    social = login("agency2")
    plan = file_plan(people, register_project(clerk, reviewer)["id"], amount=500000, sme_reserved_amount=500000)
    instance = _start(people, plan, agency_id=demo_agency(clerk, SOCIAL))
    iid = instance["id"]
    entrustment = record(clerk, "entrustments", instance["data"]["entrustment_id"])
    assert entrustment["agency_id"] == demo_agency(clerk, SOCIAL)
    approve(reviewer, "委托单审核", iid)

    # Only the entrusted agency's staff see the task; the 集中采购机构's user (granted the unit) does not.
    task = social.task_named("受理审核委托单", iid)
    assert [t for t in central.tasks() if t["instance_id"] == iid] == []
    assert central.get(f"/api/tasks/{task['id']}").status_code == 404
    assert central.post(f"/api/tasks/{task['id']}/claim").status_code == 404
    assert central.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}}).status_code == 404
    assert central.get(f"/api/entrustments/{entrustment['id']}").status_code == 404
    assert entrustment["id"] not in [e["id"] for e in central.ok(central.get("/api/entrustments"))]
    assert central.get(f"/api/instances/{iid}").status_code == 404

    # The entrusted agency does its steps (it is granted no purchaser unit at all).
    _do(social, "受理审核委托单", iid, {"approved": "true"})
    _do(social, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-0001", "documents_note": "综合评分法"})
    _do(clerk, "采购文件确认", iid, {"approved": "true"})
    _do(social, "审核、发布采购公告", iid, {"title": "实验室设备采购公告", **GAP})
    tender_id = record(clerk, "entrustments", entrustment["id"])["tender_id"]
    tender = record(social, "tenders", tender_id)
    assert tender["agency_id"] == demo_agency(clerk, SOCIAL)
    assert record(clerk, "tenders", tender_id)["id"] == tender_id  # the purchaser unit reads it as before
    assert record(login("auditor"), "tenders", tender_id)["id"] == tender_id
    assert central.get(f"/api/tenders/{tender_id}").status_code == 404
    assert [t["name"] for t in social.tasks() if t["instance_id"] == iid] == ["报名登记"]
    assert [t for t in central.tasks() if t["instance_id"] == iid] == []

    # The web 工作台 and the record page agree.
    from helpers import Web
    assert "报名登记" not in Web(app, "agency").get("/").data.decode()
    assert Web(app, "agency").get(f"/tasks/{social.task_named('报名登记', iid)['id']}").status_code == 404


def test_the_other_way_round_and_what_a_委托单_may_name(app, people, login):
    clerk, reviewer, central = people["clerk"], people["reviewer"], people["agency"]
    social = login("agency2")
    plan = file_plan(people, register_project(clerk, reviewer)["id"], amount=500000, sme_reserved_amount=500000)
    data = {"plan_id": plan["id"], "requirements": "设备"}
    missing = _error(clerk.post("/api/processes/entrustment/instances", {"data": data}), 400)
    assert "agency_id" in missing["errors"]
    unknown = _error(clerk.post("/api/processes/entrustment/instances", {"data": {**data, "agency_id": 9999}}), 400)
    assert "代理机构 9999 不存在" in unknown["message"]
    admin = login("admin")
    admin.ok(_patch(admin, f"/api/agencies/{demo_agency(clerk, SOCIAL)}", {"active": False}))
    inactive = _error(clerk.post("/api/processes/entrustment/instances",
                                 {"data": {**data, "agency_id": demo_agency(clerk, SOCIAL)}}), 400)
    assert "已停用" in inactive["message"]

    instance = _start(people, plan)  # to the 集中采购机构
    iid = instance["id"]
    approve(reviewer, "委托单审核", iid)
    task = central.task_named("受理审核委托单", iid)
    assert [t for t in social.tasks() if t["instance_id"] == iid] == []
    assert social.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}}).status_code == 404
    _do(central, "受理审核委托单", iid, {"approved": "true"})


def test_centralised_procurement_goes_to_the_集中采购机构(app, people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = register_project(clerk, reviewer, implementation_form="centralized")
    plan = file_plan(people, project["id"], amount=500000, sme_reserved_amount=500000)
    refused = _error(clerk.post("/api/processes/entrustment/instances", {"data": {
        "plan_id": plan["id"], "requirements": "设备", "agency_id": demo_agency(clerk, SOCIAL)}}), 400)
    assert "不是集中采购机构" in refused["message"]
    instance = _start(people, plan)
    assert record(clerk, "entrustments", instance["data"]["entrustment_id"])["agency_id"] == demo_agency(clerk, CENTRAL)


def test_only_the_entrusted_agency_is_told(app, people, login):
    clerk, reviewer = people["clerk"], people["reviewer"]
    social = login("agency2")
    plan = file_plan(people, register_project(clerk, reviewer)["id"], amount=500000, sme_reserved_amount=500000)
    iid = _start(people, plan, agency_id=demo_agency(clerk, SOCIAL))["id"]
    approve(reviewer, "委托单审核", iid)
    told = [n for n in social.ok(social.get("/api/notices"))["items"] if n["instance_id"] == iid]
    assert [n["title"] for n in told] == [f"新待办：“受理审核委托单”（流程 #{iid}）"]
    central = people["agency"]
    assert [n for n in central.ok(central.get("/api/notices"))["items"] if n["instance_id"] == iid] == []


def test_agencies_and_their_users_from_excel(app, login):
    import io

    from openpyxl import load_workbook
    from test_org_import import upload, xlsx
    admin = login("admin")
    header = [c.value for c in load_workbook(io.BytesIO(admin.get("/api/agencies/import-template").data)).active[1]]
    assert header == ["代理机构名称", "统一社会信用代码", "机构类型", "所在地区", "联系人", "联系电话", "是否在用"]
    from app.models.supplier import check_digit
    code = "91350200MA2Y00001"
    code += check_digit(code)
    # All or nothing: a wrong check digit, an unknown kind and a repeated code are each reported by row.
    bad = [["厦门招标有限公司", code, "社会代理机构", "厦门市", None, None, None],
           ["错码代理", "91350200MA2Y000010", "社会代理机构", None, None, None, None],
           ["类型不明", code[:-1] + "0", "民营", None, None, None, None],
           ["重复", code, "社会代理机构", None, None, None, None]]
    refused = upload(admin, "/api/agencies/import", xlsx(header, bad))
    assert refused.status_code == 400, refused.json
    problems = {(p["row"], p["column"]) for p in refused.json["details"]["problems"]}
    assert {(3, "统一社会信用代码"), (5, "统一社会信用代码")} <= problems and any(r == 4 for r, _ in problems)
    assert "厦门招标有限公司" not in [a["name"] for a in admin.ok(admin.get("/api/agencies"))]

    done = upload(admin, "/api/agencies/import", xlsx(header, [bad[0]]))
    assert done.status_code == 200 and done.json["created"] == 1, done.json
    agency = next(a for a in admin.ok(admin.get("/api/agencies")) if a["credit_code"] == code)
    assert agency["kind"] == "social" and agency["active"] is True and agency["region"] == "厦门市"
    users = ["用户名", "姓名", "初始密码", "所属单位编码", "岗位", "授权单位编码", "所属代理机构信用代码"]
    done = upload(admin, "/api/users/import", xlsx(users, [["xm_agent", "厦门代理", "Init2026pass", None, "代理机构", None,
                                                           code]]))
    assert done.status_code == 200, done.json
    staff = next(u for u in admin.ok(admin.get("/api/users")) if u["username"] == "xm_agent")
    assert staff["agency_id"] == agency["id"] and staff["grants"] == []
    unknown = upload(admin, "/api/users/import", xlsx(users, [["xm_two", "x", "Init2026pass", None, "代理机构", None,
                                                              "91350100MA2Y123459"[:-1] + "0"]]))
    assert unknown.status_code == 400
    assert unknown.json["details"]["problems"][0]["column"] == "所属代理机构信用代码"


def test_a_tender_an_agency_announces_itself_is_its_own(app, people, login):
    clerk, reviewer, central = people["clerk"], people["reviewer"], people["agency"]
    social = login("agency2")
    plan = file_plan(people, register_project(clerk, reviewer)["id"])
    tx = central.start("tender_execution", {"plan_id": plan["id"], "title": "实验室设备采购项目", **GAP})
    tid = tx["id"]
    assert tx["data"]["agency_id"] == demo_agency(clerk, CENTRAL)
    tender = record(central, "tenders", tx["data"]["tender_id"])
    assert tender["agency_id"] == demo_agency(clerk, CENTRAL)
    assert [t["name"] for t in central.tasks() if t["instance_id"] == tid] == ["开标或取消采购任务"]
    assert [t for t in social.tasks() if t["instance_id"] == tid] == []
    assert social.get(f"/api/tenders/{tender['id']}").status_code == 404
    # agency2 is granted no purchaser unit: it cannot start on the unit's plan either.
    assert social.post("/api/processes/tender_execution/instances",
                       {"data": {"plan_id": plan["id"], **GAP}}).status_code in (403, 404)


def test_upgrading_makes_an_agency_of_each_agency_user(scratch_url, monkeypatch):
    """Revision 0900: users in group ``agency`` become staff of an agency per display name (kind from the name), with a
    placeholder credit code that passes GB 32100; other users are untouched; the grants stay."""
    from sqlalchemy import text

    from app.db import Database
    from app.manage import main as manage
    from app.models.supplier import credit_code_problem
    from app.ops import migrate
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    assert manage(["db", "upgrade", migrate.scripts().get_revision("0900").down_revision]) == 0
    db = Database(scratch_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO unit (id, code, name, level, region) VALUES (1, '350001', '福建省教育厅', "
                              "'provincial', '')"))
            for uid, name, display, role in ((1, "center1", "福建省采购中心", "agency"), (2, "center2", "福建省采购中心", "agency"),
                                             (3, "hx", "华信招标代理", "agency"), (4, "clerk", "张经办", "clerk")):
                conn.execute(text("INSERT INTO app_user (id, username, display_name, password_hash, unit_id, active, "
                                  "token_generation) VALUES (:i, :u, :d, 'x', NULL, true, 0)"),
                             {"i": uid, "u": name, "d": display})
                conn.execute(text("INSERT INTO user_role (user_id, role) VALUES (:i, :r)"), {"i": uid, "r": role})
                conn.execute(text("INSERT INTO unit_grant (user_id, unit_id, include_children) VALUES (:i, 1, false)"),
                             {"i": uid})
        assert manage(["db", "upgrade"]) == 0
        with db.engine.connect() as conn:
            agencies = conn.execute(text("SELECT id, name, kind, credit_code FROM agency ORDER BY id")).all()
            staff = dict(conn.execute(text("SELECT username, agency_id FROM app_user")).all())
            grants = conn.execute(text("SELECT count(*) FROM unit_grant")).scalar()
        assert [(a.name, a.kind) for a in agencies] == [("福建省采购中心", "central"), ("华信招标代理", "social")]
        assert all(credit_code_problem(a.credit_code) is None for a in agencies)
        assert staff == {"center1": agencies[0].id, "center2": agencies[0].id, "hx": agencies[1].id, "clerk": None}
        assert grants == 4
    finally:
        db.dispose()
