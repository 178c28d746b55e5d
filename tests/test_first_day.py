"""The first day of a real deployment (issue 13; docs/api.md §17): an empty database with DEMO_DATA=0, and
only the API — units and users, the budget system's client pushing budget lines, a project from 立项 through
plan, 委托单 to the agency, tender and award, contract filed from the award, payment, acceptance and 结项; then
the budget system reads the usage back. The same on PostgreSQL (TEST_DATABASE_URL)."""
import io

import pytest

from app import create_app
from helpers import sign_in

PASSWORD = "Start2026pass"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
GAP = {"intent_gap_reason": "因预算单位不可预见的原因急需开展采购"}
SUPPLIER = {"name": "福州精密仪器有限公司", "credit_code": "91350100MA2Y3K4L5R"}
ACCOUNT = {"bank": "中国银行福州鼓楼支行", "account_name": "福州精密仪器有限公司", "account_number": "4070 0123 4567 8901"}


class Caller:
    """One signed-in person (or the budget system's key) speaking JSON to the service."""

    def __init__(self, app, username=None, password=PASSWORD, key=None):
        self.client = app.test_client()
        if key is not None:
            self.headers = {"Authorization": f"Bearer {key}"}
            return
        self.headers = sign_in(self.client, username, password)

    def call(self, method, path, body=None, status=200):
        response = self.client.open(path, method=method, json=body, headers=self.headers)
        assert response.status_code == status, (method, path, response.status_code, response.json)
        return response.json

    def get(self, path, **query):
        response = self.client.get(path, query_string=query, headers=self.headers)
        assert response.status_code == 200, (path, response.json)
        return response.json

    def start(self, key, data):
        return self.call("POST", f"/api/processes/{key}/instances", {"data": data}, 201)

    def do(self, name, instance_id, data=None):
        tasks = [t for t in self.get("/api/tasks") if t["name"] == name and t["instance_id"] == instance_id]
        assert tasks, (name, [t["name"] for t in self.get("/api/tasks")])
        return self.call("POST", f"/api/tasks/{tasks[0]['id']}/complete", {"data": data or {}})

    def attach(self, record_type, record_id, name):
        response = self.client.post("/api/attachments", headers=self.headers, content_type="multipart/form-data",
                                    data={"file": (io.BytesIO(PDF), name), "record_type": record_type,
                                          "record_id": str(record_id)})
        assert response.status_code == 201, response.json
        return response.json["id"]


@pytest.fixture
def fresh(scratch_url, clock, tmp_path):
    app = create_app({"DATABASE_URL": scratch_url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test",
                      "DEMO_DATA": False, "ADMIN_PASSWORD": PASSWORD, "TOKEN_TTL_SECONDS": 86400 * 365,
                      "ATTACHMENTS_DIR": str(tmp_path / "attachments")})
    yield app
    app.extensions["db"].dispose()


def test_first_day_of_a_real_deployment(fresh, clock):
    admin = Caller(fresh, "admin")
    assert [u["username"] for u in admin.get("/api/users")] == ["admin"]
    assert admin.get("/api/budgets") == []  # nothing from demo seeding

    # 1. The administrator adds the unit and its people.
    unit = admin.call("POST", "/api/units", {"code": "350101", "name": "福州市教育局", "level": "city",
                                            "region": "福州市"}, 201)
    for username, name, roles, home in (("fz_clerk", "陈经办", ["clerk"], True), ("fz_reviewer", "林审核", ["reviewer"], True),
                                        ("fz_leader", "黄领导", ["leader"], True), ("fz_finance", "何财政", ["finance"], False)):
        admin.call("POST", "/api/users", {"username": username, "display_name": name, "password": PASSWORD,
                                          "roles": roles, "unit_id": unit["id"] if home else None,
                                          "grants": [{"unit_id": unit["id"]}]}, 201)
    # 代理机构库: the agency is an organisation; its user belongs to it and is granted no purchaser unit.
    fj_center = admin.call("POST", "/api/agencies", {"name": "福建省政府采购中心", "credit_code": "12350000MB0123456W",
                                                     "kind": "central", "region": "福建省本级"}, 201)
    staff = admin.call("POST", "/api/users", {"username": "fj_agency", "display_name": "福建省采购中心", "password": PASSWORD,
                                              "roles": ["agency"], "agency_id": fj_center["id"], "grants": []}, 201)
    assert staff["agency_id"] == fj_center["id"] and staff["grants"] == []
    assert [u["username"] for u in admin.get(f"/api/agencies/{fj_center['id']}")["users"]] == ["fj_agency"]
    clerk, reviewer, leader = Caller(fresh, "fz_clerk"), Caller(fresh, "fz_reviewer"), Caller(fresh, "fz_leader")
    agency = Caller(fresh, "fj_agency")

    # 2. The budget system's client; it pushes the unit's budget line.
    client = admin.call("POST", "/api/integration-clients", {"name": "预算管理一体化系统", "role": "budget_system"}, 201)
    budget = Caller(fresh, key=client["api_key"])
    line = budget.call("PUT", "/api/integration/v1/budget-lines/2026/2026-350101-101",
                       {"unit_code": "350101", "name": "实验室设备购置", "fund_type": "general", "amount": "900000.00"}, 201)
    since = line["updated_at"]
    assert [b["code"] for b in clerk.get("/api/budgets")] == ["2026-350101-101"]

    # 3. 立项: the project occupies the line.
    registration = clerk.start("project_registration", {
        "name": "实验室设备采购", "year": 2026, "category": "goods", "amount": 600000, "budget_line_id": line["id"],
        "implementation_form": "agency", "region": "福州市",
        "justification": "本年度同品目已执行项目预算累计达到分散采购限额，属于政府采购"})
    reviewer.do("审核岗审核", registration["id"], {"approved": "true", "comment": "同意"})
    project = clerk.get(f"/api/projects/{registration['data']['project_id']}")
    assert project["status"] == "registered"

    # 4. 采购计划 (a city unit: the unit's review files it).
    plan_instance = clerk.start("plan_application", {"year": 2026, "project_id": project["id"], "method": "open_tender",
                                                     "amount": 500000, "sme_reserved_amount": 500000,
                                                     "budget_line_id": line["id"], "action": "submit"})
    reviewer.do("采购单位审核岗审核", plan_instance["id"], {"approved": "true", "comment": "同意"})
    plan = clerk.get(f"/api/plans/{plan_instance['data']['plan_id']}")
    assert plan["status"] == "filed"

    # 5. 委托单 to the agency → announcement → opening → evaluation → result → award.
    entrust = clerk.start("entrustment", {"plan_id": plan["id"], "requirements": "实验室设备一批，含安装调试和培训",
                                          "contact": "陈经办 0591-87654321", "agency_id": fj_center["id"]})
    iid = entrust["id"]
    reviewer.do("委托单审核", iid, {"approved": "true", "comment": "同意"})
    agency.do("受理审核委托单", iid, {"approved": "true"})
    agency.do("生成采购项目及采购文件", iid, {"documents_ref": "file-doc-0001", "documents_note": "综合评分法"})
    clerk.do("采购文件确认", iid, {"approved": "true"})
    agency.do("审核、发布采购公告", iid, {"title": "实验室设备采购公告", **GAP})
    agency.do("报名登记", iid, {"registered_count": 4, "invitation": "skip"})
    agency.do("开标或取消采购任务", iid, {"opening": "open"})
    # The winner enters the 供应商库 through its review (finance), GB 32100 code checked.
    proposed = agency.call("POST", "/api/suppliers", {**SUPPLIER, "contact_name": "王经理", "is_sme": True}, 201)
    finance = Caller(fresh, "fz_finance")
    assert finance.call("POST", f"/api/suppliers/{proposed['id']}/review", {"approved": True})["status"] == "active"
    agency.do("评审", iid, {"result": "awarded", "winner_name": SUPPLIER["name"],
                          "winner_credit_code": SUPPLIER["credit_code"], "award_amount": 480000})
    clerk.do("采购结果确认", iid, {"approved": "true"})
    agency.do("审核、发布采购结果公告", iid)
    awarded = agency.do("发送中标通知书", iid, {"notice_note": "已通过交易系统发送"})
    assert awarded["status"] == "completed"
    contract_id = awarded["data"]["contract_id"]

    # 6. 合同 filed from the award.
    filing = clerk.start("contract_filing", {
        "plan_id": plan["id"], "contract_id": contract_id, "name": "实验室设备采购合同", "amount": 480000,
        "signed_date": "2026-11-18", "suppliers": [SUPPLIER], "accounts": [ACCOUNT],
        "items": [{"item_name": "实验室设备", "quantity": 1, "unit_price": 480000}],
        "payment_schedule": [{"phase": "验收款", "amount": 480000, "condition": "验收合格后支付"}],
        "text_ref": "file-contract-0001", "action": "submit"})
    reviewer.do("合同审核", filing["id"], {"approved": "true", "comment": "同意"})
    clerk.do("发布合同公告", filing["id"])
    assert clerk.do("合同备案", filing["id"])["status"] == "completed"
    contract = clerk.get(f"/api/contracts/{contract_id}")
    assert contract["status"] == "filed" and contract["source"] == "award"

    # 7. 履约验收, then 支付.
    report = clerk.attach("contract", contract_id, "验收报告.pdf")
    acceptance = clerk.start("performance_acceptance", {"contract_id": contract_id, "result": "pass",
                                                        "accepted_on": "2026-11-19", "notes": "全部到货，抽检合格",
                                                        "acceptance_attachment_ids": [report]})
    reviewer.do("履约验收审核", acceptance["id"], {"approved": "true", "comment": "同意"})
    invoice = clerk.attach("contract", contract_id, "发票.pdf")
    payment = clerk.start("contract_payment", {"contract_id": contract_id, "amount": 480000, "phase": "验收款",
                                               "note": "验收合格后支付", "payment_attachment_ids": [invoice]})
    reviewer.do("合同支付审核", payment["id"], {"approved": "true", "comment": "同意"})
    assert clerk.get(f"/api/contracts/{contract_id}")["paid_amount"] == "480000.00"

    # 8. 结项.
    note = clerk.attach("project", project["id"], "项目结项说明.pdf")
    closing = clerk.start("project_closing", {"project_id": project["id"], "reason": "合同已履约并验收合格、已支付",
                                              "closing_attachment_ids": [note]})
    assert leader.do("需求领导审核", closing["id"], {"approved": "true", "comment": "同意结项"})["status"] == "completed"
    assert clerk.get(f"/api/projects/{project['id']}")["status"] == "closed"

    # 9. The budget system reads the usage back.
    changed = budget.get("/api/integration/v1/budget-lines", since=since, year=2026)
    usage = next(i for i in changed["items"] if i["code"] == "2026-350101-101")
    assert (usage["amount"], usage["used_amount"], usage["free_amount"]) == ("900000.00", "600000.00", "300000.00")
    assert [(o["number"], o["status"], o["amount"]) for o in usage["occupations"]] == [
        (project["number"], "closed", "600000.00")]
    calls = admin.get("/api/integration-calls", client_id=client["id"])
    assert [c["status"] for c in calls] == [200, 201]
