"""采购项目变更 (001 §2.2.3), 实施形式变更 (001 §2.3) and 项目结项 (001 §2.2.5) end to end, role by role through the
API: the happy paths, every reject path, each refusal with its message, the versions kept and the history."""
import pytest

from contract_records import PDF, attach, filed_contract, upload
from helpers import PROJECT, event_types, filed_plan, money, names, register_project, reject

ROLES = ("clerk", "reviewer", "leader", "finance")


@pytest.fixture(autouse=True)
def attachments_dir(app, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")


def tasks_of(login, instance_id, roles=ROLES):
    return {r: names(login(r).tasks(), instance_id) for r in roles}


def project(api, ident):
    return api.ok(api.get(f"/api/projects/{ident}"))


def versions(api, ident):
    return api.ok(api.get(f"/api/projects/{ident}/versions"))


def topics(history):
    return [e["data"]["topic"] for e in history if e["type"] == "service_task"]


def change_data(project_id, **overrides):
    data = {"project_id": project_id, "change_reason": "实验室扩建，设备数量增加", "name": "实验室设备采购（扩建）",
            "category": "goods", "amount": 900000, "region": "福建省本级", "is_government_procurement": True,
            "justification": PROJECT["justification"],
            "funds": [{"budget_line_id": 1, "amount": 600000}, {"budget_line_id": 2, "amount": 300000}],
            "items": [{"item_name": "实验台", "quantity": 30, "unit_price": 30000}]}
    data.update(overrides)
    return data


# -- 采购项目变更 ---------------------------------------------------------------------------------------------------
def test_change_reviewed_by_the_leader_makes_a_new_version_and_moves_the_budget(login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    p = register_project(clerk, reviewer)
    assert [v["version"] for v in versions(clerk, p["id"])] == [1]  # never changed: the record itself

    instance = clerk.start("project_change", change_data(p["id"]))
    iid = instance["id"]
    assert tasks_of(login, iid) == {"clerk": [], "reviewer": [], "leader": ["需求领导审核"], "finance": []}
    assert project(clerk, p["id"])["pending_action"] == "change"
    assert money(clerk.budget(1)["used_amount"]) == money(800000)  # nothing moves before the leader approves
    # Another request on the project waits for this one.
    other = clerk.start("project_revocation", {"project_id": p["id"], "reason": "不再采购"})
    assert other["data"]["error_message"] == f"项目 {p['number']} 有待审核的变更申请，办结后才能撤销"
    clerk.complete(clerk.task_named("修改撤销申请", other["id"])["id"], {"reason": "不再采购", "action": "abandon"})

    reject(leader, "需求领导审核", iid, "请附扩建批复")
    assert tasks_of(login, iid) == {"clerk": ["修改变更申请"], "reviewer": [], "leader": [], "finance": []}
    edit = clerk.task_named("修改变更申请", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]["comment"] == "请附扩建批复"
    assert project(clerk, p["id"])["pending_action"] is None
    clerk.complete(edit["id"], {**change_data(p["id"], change_reason="实验室扩建（闽教〔2026〕8号批复）"),
                                "action": "submit"})
    assert tasks_of(login, iid)["leader"] == ["需求领导审核"]
    done = leader.complete(leader.task_named("需求领导审核", iid)["id"], {"approved": "true", "comment": "同意"})
    assert done["status"] == "completed" and done["data"]["project_version"] == 2
    assert tasks_of(login, iid) == {r: [] for r in ROLES}

    after = project(clerk, p["id"])
    assert after["name"] == "实验室设备采购（扩建）" and money(after["amount"]) == money(900000)
    assert after["funds"] == [{"budget_line_id": 1, "amount": "600000.00"}, {"budget_line_id": 2, "amount": "300000.00"}]
    assert after["status"] == "registered" and after["pending_action"] is None
    assert money(clerk.budget(1)["used_amount"]) == money(600000)
    assert money(clerk.budget(2)["used_amount"]) == money(300000)

    kept = versions(clerk, p["id"])
    assert [(v["version"], v["kind"], v["current"]) for v in kept] == [(1, "registered", False), (2, "change", True)]
    assert kept[0]["snapshot"]["amount"] == "800000.00" and kept[0]["snapshot"]["name"] == "实验室设备采购"
    assert kept[0]["snapshot"]["funds"] == [{"budget_line_id": 1, "amount": "800000.00"}]
    assert kept[1]["reason"] == "实验室扩建（闽教〔2026〕8号批复）" and kept[1]["instance_id"] == iid
    assert kept[1]["changes"]["amount"] == ["800000.00", "900000.00"]
    assert set(kept[1]["changes"]) == {"name", "amount", "funds", "items"}

    history = clerk.history(iid)
    assert topics(history) == ["project.request_change", "project.return_request", "project.request_change",
                               "project.apply_change"]
    applied = next(e for e in history if e["type"] == "service_task" and e["data"]["topic"] == "project.apply_change")
    fields = {c["record"]: c["fields"] for c in applied["changes"]}
    assert fields[f"project:{p['id']}"]["amount"] == ["800000.00", "900000.00"]
    assert fields["budget_line:2"]["used_amount"] == ["0.00", "300000.00"]
    assert event_types(history)[-1] == "instance_completed"


def test_change_refusals_go_back_to_the_clerk_with_the_rule(login):
    clerk, reviewer, leader, finance = login("clerk"), login("reviewer"), login("leader"), login("finance")
    p = register_project(clerk, reviewer)

    def refused(data, text):
        instance = clerk.start("project_change", data)
        assert text in instance["data"]["error_message"], instance["data"]["error_message"]
        assert tasks_of(login, instance["id"]) == {"clerk": ["修改变更申请"], "reviewer": [], "leader": [], "finance": []}
        clerk.complete(clerk.task_named("修改变更申请", instance["id"])["id"], {**data, "action": "abandon"})
        assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "completed"
        return instance

    same = {**PROJECT, "project_id": p["id"], "change_reason": "核对"}
    refused(same, "变更内容与项目当前内容相同")
    refused(change_data(p["id"], amount=6000000, funds=[{"budget_line_id": 1, "amount": 6000000}]),
            "可用余额 4,200,000.00 元，不足 5,200,000.00 元")
    refused(change_data(p["id"], is_government_procurement=False), "“是否政府采购”应选择“是”")
    refused(change_data(p["id"], amount=800000), "资金构成合计 900,000.00 元与项目金额 800,000.00 元不一致")
    # The form asks for a reason.
    response = clerk.post("/api/processes/project_change/instances", {"data": change_data(p["id"], change_reason="")})
    assert response.status_code == 400 and "change_reason" in response.json["errors"]
    assert project(clerk, p["id"])["pending_action"] is None and money(project(clerk, p["id"])["amount"]) == money(800000)

    # A project a live plan uses cannot be changed (项目未被使用).
    used, plan = filed_plan(clerk, reviewer, finance)
    instance = refused(change_data(used["id"], amount=300000, funds=[{"budget_line_id": 1, "amount": 300000}],
                                   name="改名"), f"已被采购计划 {plan['data']['plan_number']} 使用，不能变更")
    assert leader.tasks() == []
    assert [v["version"] for v in versions(clerk, used["id"])] == [1]
    assert instance


def test_change_that_no_longer_fits_when_approved_goes_back_to_the_clerk(login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    p = register_project(clerk, reviewer)
    instance = clerk.start("project_change", change_data(p["id"]))
    # Meanwhile another project takes all of budget line 2.
    register_project(clerk, reviewer, name="信息化运维", category="services", amount=1200000, budget_line_id=2)
    leader.complete(leader.task_named("需求领导审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    detail = clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))
    assert "可用余额 0.00 元" in detail["data"]["error_message"]
    assert tasks_of(login, instance["id"])["clerk"] == ["修改变更申请"]
    after = project(clerk, p["id"])
    assert money(after["amount"]) == money(800000) and after["pending_action"] is None
    assert money(clerk.budget(1)["used_amount"]) == money(800000)
    assert "error_caught" in event_types(clerk.history(instance["id"]))
    # Back to one line: resubmitted and approved.
    clerk.complete(clerk.task_named("修改变更申请", instance["id"])["id"],
                   {**change_data(p["id"], funds=[{"budget_line_id": 1, "amount": 900000}]), "action": "submit"})
    leader.complete(leader.task_named("需求领导审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    assert money(clerk.budget(1)["used_amount"]) == money(900000)
    assert [v["kind"] for v in versions(clerk, p["id"])] == ["registered", "change"]


# -- 实施形式变更 ------------------------------------------------------------------------------------------------
def test_implementation_form_change_saved_when_it_fits_refused_otherwise(login):
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    p = register_project(clerk, reviewer)  # 80万 goods, 委托代理机构采购

    def refused(data, status, text, field=None):
        response = clerk.post("/api/processes/implementation_form_change/instances", {"data": data})
        assert response.status_code == status, response.json
        assert text in response.json["message"], response.json
        if field:
            assert text in response.json["errors"][field][0]

    refused({"project_id": p["id"], "implementation_form": "self"}, 400,
            "货物类项目金额 800,000.00 元，达到省级分散采购限额 50万元（含）以上，属于政府采购，须按政府采购方式采购，不能自行采购",
            "implementation_form")
    refused({"project_id": p["id"], "implementation_form": "agency"}, 400, "实施形式已是“委托代理机构采购”")
    assert project(clerk, p["id"])["implementation_form"] == "agency"

    instance = clerk.start("implementation_form_change", {"project_id": p["id"], "implementation_form": "centralized",
                                                         "reason": "纳入集中采购目录"})
    assert instance["status"] == "completed" and instance["data"]["project_version"] == 2
    assert tasks_of(login, instance["id"]) == {r: [] for r in ROLES}
    assert project(clerk, p["id"])["implementation_form"] == "centralized"
    kept = versions(clerk, p["id"])
    assert [(v["kind"], v["reason"]) for v in kept] == [("registered", ""), ("implementation_form", "纳入集中采购目录")]
    assert kept[1]["changes"] == {"implementation_form": ["agency", "centralized"]}

    small = register_project(clerk, reviewer, name="打印纸", amount=50000, justification="累计说明")
    done = clerk.start("implementation_form_change", {"project_id": small["id"], "implementation_form": "self"})
    assert done["status"] == "completed" and project(clerk, small["id"])["implementation_form"] == "self"

    used, _ = filed_plan(clerk, reviewer, finance)
    refused({"project_id": used["id"], "implementation_form": "centralized"}, 409, "已被采购计划")
    refused({"project_id": 999, "implementation_form": "centralized"}, 404, "项目 999 不存在")
    assert login("clerk2").post("/api/processes/implementation_form_change/instances",
                                {"data": {"project_id": p["id"], "implementation_form": "agency"}}).status_code == 403


# -- 项目结项 ----------------------------------------------------------------------------------------------------
def _accept(login, contract_id):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    report = attach(clerk, contract_id, "验收报告.pdf")
    instance = clerk.start("performance_acceptance", {
        "contract_id": contract_id, "result": "pass", "accepted_on": "2026-11-19", "notes": "全部到货，抽检合格",
        "acceptance_attachment_ids": [report]})
    reviewer.complete(reviewer.task_named("履约验收审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})


CITY = ("clerk2", "reviewer2", "leader2", "clerk", "leader")


def test_closing_needs_an_accepted_filed_contract_then_the_project_is_closed_for_good(app, login):
    clerk, leader = login("clerk2"), login("leader2")
    contract = filed_contract(login)
    pid = contract["project_id"]
    note = upload(clerk, PDF, "项目结项说明.pdf", record_type="project", record_id=pid)["id"]
    data = {"project_id": pid, "reason": "合同已履约并验收合格", "closing_attachment_ids": [note]}

    # 无验收不结项: refused, back to the clerk with the rule.
    early = clerk.start("project_closing", data)
    assert f"合同 {contract['number']} 尚未履约验收合格，不能结项（无验收不结项）" == early["data"]["error_message"]
    assert tasks_of(login, early["id"], CITY) == {"clerk2": ["修改结项申请"], "reviewer2": [], "leader2": [],
                                                  "clerk": [], "leader": []}
    clerk.complete(clerk.task_named("修改结项申请", early["id"])["id"], {**data, "action": "abandon"})
    # The attachment is required.
    bare = clerk.start("project_closing", {**data, "closing_attachment_ids": []})
    assert bare["data"]["error_message"] == "请上传项目结项附件"
    clerk.complete(clerk.task_named("修改结项申请", bare["id"])["id"], {**data, "action": "abandon"})

    _accept(login, contract["id"])
    instance = clerk.start("project_closing", data)
    iid = instance["id"]
    assert "error_message" not in instance["data"]
    assert tasks_of(login, iid, CITY) == {"clerk2": [], "reviewer2": [], "leader2": ["需求领导审核"], "clerk": [],
                                          "leader": []}
    assert project(clerk, pid)["pending_action"] == "closing"
    reject(leader, "需求领导审核", iid, "请补充验收报告")
    assert tasks_of(login, iid, CITY)["clerk2"] == ["修改结项申请"]
    assert project(clerk, pid)["status"] == "registered" and project(clerk, pid)["pending_action"] is None
    clerk.complete(clerk.task_named("修改结项申请", iid)["id"], {**data, "reason": "合同已履约，验收报告见附件",
                                                               "action": "submit"})
    done = leader.complete(leader.task_named("需求领导审核", iid)["id"], {"approved": "true", "comment": "同意结项"})
    assert done["status"] == "completed"
    closed = project(clerk, pid)
    assert closed["status"] == "closed" and closed["status_label"] == "已结项"
    assert closed["closing_reason"] == "合同已履约，验收报告见附件"
    last = versions(clerk, pid)[-1]
    assert last["kind"] == "closing" and last["changes"]["status"] == ["registered", "closed"]
    assert [a["attachment_id"] for a in last["attachments"]] == [note] and len(last["attachments"][0]["sha256"]) == 64
    assert topics(clerk.history(iid)) == ["project.request_closing", "project.return_request",
                                          "project.request_closing", "project.close"]

    # Afterwards: closing again, changes, fund operations, supplementary contracts, payments, acceptance — all refused.
    again = clerk.start("project_closing", data)
    assert again["data"]["error_message"] == f"项目 {closed['number']} 已结项"
    change = clerk.start("project_change", change_data(pid, funds=[{"budget_line_id": 4, "amount": 900000}]))
    assert f"项目 {closed['number']} 已结项，不能变更" in change["data"]["error_message"]
    response = clerk.post("/api/processes/implementation_form_change/instances",
                          {"data": {"project_id": pid, "implementation_form": "centralized"}})
    assert response.status_code == 409 and response.json["code"] == "PROJECT_CLOSED"
    fund = clerk.start("project_fund_adjustment", {"project_id": pid, "kind": "add"})
    clerk.complete(clerk.task_named("录入资金调整", fund["id"])["id"], {"kind": "add", "budget_line_id": 5, "amount": 1000})
    assert "已结项" in clerk.ok(clerk.get(f"/api/instances/{fund['id']}"))["data"]["error_message"]
    file_id = attach(clerk, contract["id"], "支付依据.pdf")
    for key, body in (("contract_payment", {"contract_id": contract["id"], "amount": 1000, "phase": "预付款",
                                            "note": "预付款", "payment_attachment_ids": [file_id]}),
                      ("supplementary_contract", {"contract_id": contract["id"], "name": "补充合同", "amount": 1000,
                                                  "signed_date": "2026-11-19", "content": "增购",
                                                  "text_attachment_ids": [file_id]}),
                      ("performance_acceptance", {"contract_id": contract["id"], "result": "pass",
                                                  "accepted_on": "2026-11-19", "notes": "复验",
                                                  "acceptance_attachment_ids": [file_id]})):
        response = clerk.post(f"/api/processes/{key}/instances", {"data": body})
        assert response.status_code == 409 and response.json["code"] == "PROJECT_CLOSED", (key, response.json)
