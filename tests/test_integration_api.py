"""Integration API v1 for the budget system (issue 13): machine clients with API keys, the call log, the
budget-line upsert, frozen/recalled lines, changed-since reads and the year-end requests' acknowledgement."""
from datetime import datetime, timezone

from sqlalchemy import select

from app.engine.runtime import start_instance
from app.models import BudgetLine, BudgetSystemRequest, ProcessInstance
from app.models.budget import BudgetLineChange
from helpers import PROJECT

V1 = "/api/integration/v1"
LINE = {"unit_code": "350001", "name": "实验室设备购置", "fund_type": "general", "amount": "900000.00",
        "status": "active"}


def make_client(login, name="预算管理一体化系统"):
    admin = login("admin")
    client = admin.ok(admin.post("/api/integration-clients", {"name": name, "role": "budget_system"}), 201)
    return client, client["api_key"]


class Machine:
    def __init__(self, app, key):
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {key}"}

    def put(self, path, body):
        return self.client.put(V1 + path, json=body, headers=self.headers)

    def get(self, path, **kw):
        return self.client.get(V1 + path, headers=self.headers, **kw)

    def post(self, path, body=None):
        return self.client.post(V1 + path, json=body or {}, headers=self.headers)


def test_administrator_creates_and_revokes_a_client_and_every_call_is_logged(app, login):
    admin = login("admin")
    assert login("finance").post("/api/integration-clients", {"name": "x"}).status_code == 403
    client, key = make_client(login)
    assert key.startswith("gpk_") and client["role_label"] == "预算系统"
    assert all("api_key" not in c for c in admin.ok(admin.get("/api/integration-clients")))
    with app.extensions["db"].Session() as s:  # stored hashed: the key itself is nowhere in the row
        from app.models import IntegrationClient
        row = s.get(IntegrationClient, client["id"])
        assert key.split("_", 2)[2] not in (row.key_hash, row.key_id)
    machine = Machine(app, key)
    assert machine.get("/budget-requests").status_code == 200
    assert app.test_client().get(V1 + "/budget-requests").status_code == 401  # no key
    # A new key makes the old one stale.
    fresh = admin.ok(admin.post(f"/api/integration-clients/{client['id']}/key"))["api_key"]
    stale = machine.get("/budget-requests")
    assert stale.status_code == 401 and "已更换或已吊销" in stale.json["message"]
    machine = Machine(app, fresh)
    assert machine.get("/budget-requests").status_code == 200
    admin.ok(admin.post(f"/api/integration-clients/{client['id']}/revoke"))
    assert machine.get("/budget-requests").status_code == 401
    assert admin.post(f"/api/integration-clients/{client['id']}/key").status_code == 409  # revoked for good
    calls = admin.ok(admin.get("/api/integration-calls"))
    assert [c["status"] for c in calls][:5] == [401, 200, 401, 401, 200]
    assert calls[0]["key_id"] == fresh.split("_")[1] and calls[0]["client_id"] is None
    assert "INVALID" in calls[0]["outcome"] or "UNAUTHORIZED" in calls[0]["outcome"]
    assert calls[1]["client_id"] == client["id"] and calls[1]["endpoint"] == V1 + "/budget-requests"
    assert login("auditor").get("/api/integration-calls").status_code == 200
    # A person cannot be given the machine role.
    bad = admin.post("/api/users", {"username": "bs", "display_name": "预算", "password": "abc12345",
                                    "roles": ["budget_system"]})
    assert bad.status_code == 400


def test_upsert_is_idempotent_audited_and_refuses_bad_values(app, login):
    _, key = make_client(login)
    machine = Machine(app, key)
    created = machine.put("/budget-lines/2026/2026-BS-001", LINE)
    assert created.status_code == 201, created.json
    assert created.json["changed"] and created.json["free_amount"] == "900000.00"
    again = machine.put("/budget-lines/2026/2026-BS-001", LINE)
    assert again.status_code == 200 and again.json["changed"] is False
    moved = machine.put("/budget-lines/2026/2026-BS-001", {**LINE, "amount": 950000, "name": "实验室设备购置（调增）"})
    assert moved.status_code == 200 and moved.json["amount"] == "950000.00"
    with app.extensions["db"].Session() as s:
        history = list(s.scalars(select(BudgetLineChange).where(
            BudgetLineChange.budget_line_id == created.json["id"]).order_by(BudgetLineChange.id)))
    assert [(h.action, h.source, h.actor) for h in history] == [("create", "api", "client:预算管理一体化系统"),
                                                               ("update", "api", "client:预算管理一体化系统")]
    assert history[1].changes == {"amount": ["900000.00", "950000.00"], "name": ["实验室设备购置", "实验室设备购置（调增）"]}
    for body, field, message in (({**LINE, "unit_code": "999999"}, "unit_code", "不存在"),
                                 ({**LINE, "amount": "1.234"}, "amount", "两位小数"),
                                 ({**LINE, "amount": -5}, "amount", "负数"),
                                 ({**LINE, "status": "有效的"}, "status", "指标状态应为"),
                                 ({**LINE, "fund_type": "x"}, "fund_type", "资金性质应为")):
        refused = machine.put("/budget-lines/2026/2026-BS-002", body)
        assert refused.status_code == 400 and message in refused.json["errors"][field][0], refused.json
    assert machine.get("/budget-lines/2026/2026-BS-002").status_code == 404


def test_lowering_below_occupied_frozen_lines_and_usage_read_back(app, login, clock):
    _, key = make_client(login)
    machine = Machine(app, key)
    line = machine.put("/budget-lines/2026/2026-BS-010", LINE).json
    since = datetime.now(timezone.utc).isoformat()
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {**PROJECT, "amount": 600000, "budget_line_id": line["id"]})
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    project_id = instance["data"]["project_id"]

    changed = machine.get("/budget-lines", query_string={"since": since, "year": 2026}).json
    mine = [i for i in changed["items"] if i["code"] == "2026-BS-010"]
    assert mine and mine[0]["used_amount"] == "600000.00" and mine[0]["free_amount"] == "300000.00"
    assert mine[0]["occupations"][0]["project_id"] == project_id

    below = machine.put("/budget-lines/2026/2026-BS-010", {**LINE, "amount": 500000})
    assert below.status_code == 409 and below.json["code"] == "BUDGET_BELOW_USED"
    assert "已被占用 600,000.00 元" in below.json["message"]
    assert below.json["details"]["used_amount"] == "600000.00"
    assert below.json["details"]["occupations"][0]["project_id"] == project_id

    frozen = machine.put("/budget-lines/2026/2026-BS-010", {**LINE, "status": "frozen"})
    assert frozen.status_code == 200 and frozen.json["status_label"] == "冻结"
    assert [o["project_id"] for o in frozen.json["occupations"]] == [project_id]  # existing occupations stay
    # A frozen line is not newly occupied: a second project on it is refused at submission.
    refused = clerk.post("/api/processes/project_registration/instances",
                         {"data": {**PROJECT, "amount": 100000, "budget_line_id": line["id"]}})
    assert refused.status_code in (409, 422), refused.json
    assert "已被预算管理一体化系统冻结" in str(refused.json)
    with app.extensions["db"].Session() as s:
        assert s.get(BudgetLine, line["id"]).used_amount == 600000


def test_year_end_request_is_read_and_acknowledged_and_the_instance_moves_on(app, login, clock):
    _, key = make_client(login)
    machine = Machine(app, key)
    db = app.extensions["db"]
    with db.Session() as s, s.begin():
        instance = start_instance(s, None, "ye_budget_surplus",
                                  {"budget_line_id": 2, "year": 2026, "year_end_category": "2.1", "case": "adjust",
                                   "amount": 1200000.0}, business_key="ye2026:budget_line:2", unit_id=1, now=clock())
        instance_id = instance.id
    clerk = login("clerk")
    clerk.complete(clerk.task_named("在预算管理一体化系统中调整采购预算", instance_id)["id"], {"note": "请调整"})
    assert clerk.ok(clerk.get(f"/api/instances/{instance_id}"))["status"] == "running"  # waits for the receipt
    pending = machine.get("/budget-requests", query_string={"acknowledged": "false"}).json
    assert [(r["kind"], r["budget_line_code"], r["amount"], r["unit_code"]) for r in pending] == [
        ("adjust", "2026-350001-002", "1200000.00", "350001")]
    # A person cannot send the budget system's message.
    assert clerk.post(f"/api/instances/{instance_id}/messages/budget_acknowledged", {}).status_code in (403, 404, 405)
    done = machine.post(f"/budget-requests/{pending[0]['id']}/acknowledge", {"note": "已调整，单号 YS-1"})
    assert done.status_code == 200, done.json
    assert done.json["instances_moved_on"] == [instance_id] and done.json["acknowledgement"] == "已调整，单号 YS-1"
    assert clerk.ok(clerk.get(f"/api/instances/{instance_id}"))["status"] == "completed"
    history = clerk.history(instance_id)
    received = [e for e in history if e["type"] == "message_received"]
    assert received and received[0]["actor"] == "client:预算管理一体化系统"
    again = machine.post(f"/budget-requests/{pending[0]['id']}/acknowledge", {})
    assert again.status_code == 409 and "已于" in again.json["message"]
    assert machine.get("/budget-requests", query_string={"acknowledged": "false"}).json == []
    with db.Session() as s:
        assert s.get(BudgetSystemRequest, pending[0]["id"]).acknowledged_by == "client:预算管理一体化系统"
        assert s.get(ProcessInstance, instance_id).status == "completed"


def test_guarantee_funds_wait_for_the_budget_system_after_finance_approves(app, login, clock):
    """二(二)3: the budget system issues guarantee funds only after 财政业务处室 approved the request; the year-end
    instance waits for that acknowledgement before it replaces the contract's funds."""
    _, key = make_client(login)
    machine = Machine(app, key)
    with app.extensions["db"].Session() as s, s.begin():
        instance_id = start_instance(s, None, "ye_budget_surplus",
                                     {"budget_line_id": 2, "year": 2026, "year_end_category": "2.2.3",
                                      "case": "guarantee", "amount": 50000.0, "project_id": 1},
                                     business_key="ye2026:budget_line:2:g", unit_id=1, now=clock()).id
    clerk, finance = login("clerk"), login("finance")
    apply = {"fund_type": "general", "amount": 50000, "guarantee_code": "2026-BZ-T1"}
    clerk.complete(clerk.task_named("申请政府采购保障性资金", instance_id)["id"], apply)
    first = machine.get("/budget-requests", query_string={"acknowledged": "false"}).json[0]
    assert (first["kind"], first["status"]) == ("guarantee", "requested")
    early = machine.post(f"/budget-requests/{first['id']}/acknowledge", {})
    assert early.status_code == 409 and "尚待财政业务处室审核" in early.json["message"]
    finance.complete(finance.task_named("财政业务处室审核", instance_id)["id"], {"approved": "false", "comment": "金额有误"})
    void = machine.post(f"/budget-requests/{first['id']}/acknowledge", {})
    assert void.status_code == 409 and "已作废" in void.json["message"]
    clerk.complete(clerk.task_named("申请政府采购保障性资金", instance_id)["id"], apply)
    finance.complete(finance.task_named("财政业务处室审核", instance_id)["id"], {"approved": "true", "comment": "同意"})
    assert clerk.ok(clerk.get(f"/api/instances/{instance_id}"))["status"] == "running"
    assert [t for t in clerk.tasks() if t["instance_id"] == instance_id] == []  # waits for the budget system
    second = [r for r in machine.get("/budget-requests", query_string={"acknowledged": "false"}).json
              if r["status"] == "approved"]
    assert len(second) == 1 and second[0]["id"] != first["id"]
    # The budget system pushes the guarantee line under the request's code, then acknowledges.
    pushed = machine.put("/budget-lines/2026/2026-BZ-T1", {**LINE, "name": "政府采购保障性资金", "amount": "50000.00"})
    assert pushed.status_code in (200, 201), pushed.json
    done = machine.post(f"/budget-requests/{second[0]['id']}/acknowledge", {"note": "已下达"})
    assert done.status_code == 200 and done.json["instances_moved_on"] == [instance_id]
    assert "录入资金调整" in [t["name"] for t in clerk.tasks()]  # the replacement onto the pushed line
    with app.extensions["db"].Session() as s:
        line = s.scalars(select(BudgetLine).where(BudgetLine.code == "2026-BZ-T1")).one()
        assert s.get(ProcessInstance, instance_id).data["to_budget_line_id"] == line.id


def test_integration_clients_page(app):
    from helpers import Web
    web = Web(app, "admin")
    token = web.csrf()
    created = web.client.post("/integration-clients", data={"csrf_token": token, "name": "预算管理一体化系统",
                                                            "role": "budget_system"})
    html = created.data.decode()
    assert created.status_code == 200 and "只显示这一次" in html
    key = html.split('<p class="mono">')[1].split("</p>")[0]
    assert Machine(app, key).get("/budget-requests").status_code == 200
    page = web.client.get("/integration-clients").data.decode()
    assert "预算管理一体化系统" in page and "GET /api/integration/v1/budget-requests" in page and key not in page
    assert "密钥到期" in page and "2027-11-20" in page  # a year after the clock's day, the default
    again = web.client.post("/integration-clients", data={"csrf_token": token, "name": "预算管理一体化系统"})
    assert again.status_code == 409 and "已存在" in again.data.decode()
    with app.extensions["db"].Session() as s:
        from app.models import IntegrationClient
        client_id = s.scalars(select(IntegrationClient.id)).one()
    revoked = web.client.post("/integration-clients", data={"csrf_token": token, "client_id": client_id,
                                                            "action": "revoke"}, follow_redirects=True)
    assert "已吊销客户端" in revoked.data.decode()
    assert Machine(app, key).get("/budget-requests").status_code == 401
    assert Web(app, "clerk").client.get("/integration-clients").status_code == 403
    assert Web(app, "auditor").client.get("/integration-clients").status_code == 200


def test_a_key_expires_and_a_renewed_key_works_again(app, login, clock):
    admin = login("admin")
    bad = admin.post("/api/integration-clients", {"name": "短期客户端", "valid_days": 0})
    assert bad.status_code == 400 and "密钥有效期应为 1 到 1825 天" in str(bad.json)
    client = admin.ok(admin.post("/api/integration-clients", {"name": "预算管理一体化系统", "valid_days": 30}), 201)
    assert client["key_expires_at"].startswith("2026-12-20")  # the clock's 2026-11-20 plus 30 days
    machine = Machine(app, client["api_key"])
    clock.advance(days=29, hours=23)
    assert machine.get("/budget-requests").status_code == 200
    clock.advance(hours=1)
    expired = machine.get("/budget-requests")
    assert expired.status_code == 401 and "API 密钥已于 2026-12-20 过期" in expired.json["message"]
    assert admin.ok(admin.get("/api/integration-calls"))[0]["status"] == 401  # the refusal is logged
    renewed = admin.ok(admin.post(f"/api/integration-clients/{client['id']}/key"))  # no body: the default year
    assert renewed["key_expires_at"].startswith("2027-12-20")
    assert Machine(app, renewed["api_key"]).get("/budget-requests").status_code == 200
    assert admin.post(f"/api/integration-clients/{client['id']}/key", {"valid_days": 5000}).status_code == 400
