"""Cancel-procurement and failed-bid chains, plan return/revocation/termination, fund adjustment (issue 4)."""
import pytest
from sqlalchemy import select

from helpers import GAP, apply_plan, approve, filed_plan, money, names, register_project, reject


@pytest.fixture
def roles(login):
    return {r: login(r) for r in ("clerk", "reviewer", "leader", "finance", "agency")}


def _record(api, kind, ident):
    return api.ok(api.get(f"/api/{kind}/{ident}"))


def _tender(app, plan_id):
    from app.models import Tender
    with app.extensions["db"].Session() as s:
        return s.scalars(select(Tender).where(Tender.plan_id == plan_id)).one().to_dict()


def _open_tasks(roles, instance_ids):
    return {r: names([t for t in api.tasks() if t["instance_id"] in instance_ids]) for r, api in roles.items()}


def test_cancel_procurement_chain_releases_the_budget(app, roles):
    clerk, reviewer, leader, finance, agency = (roles[r] for r in ("clerk", "reviewer", "leader", "finance", "agency"))
    project, plan_instance = filed_plan(clerk, reviewer, finance)
    plan_id = plan_instance["data"]["plan_id"]
    assert money(clerk.budget(1)["used_amount"]) == money(300000)

    tx = agency.start("tender_execution", {"plan_id": plan_id, "title": "实验室设备采购项目", **GAP})
    tid = tx["id"]
    assert _record(clerk, "plans", plan_id)["status"] == "used"
    assert _tender(app, plan_id)["status"] == "announced"
    assert _open_tasks(roles, {tid}) == {"clerk": [], "reviewer": [], "leader": [], "finance": [],
                                         "agency": ["开标或取消采购任务"]}

    # 步骤一: the agency starts 取消采购任务, the purchaser confirms.
    task = agency.task_named("开标或取消采购任务", tid)
    agency.complete(task["id"], {"opening": "cancel", "reason": "财政资金年终收回"})
    assert _tender(app, plan_id)["cancel_requested"] is True
    assert _open_tasks(roles, {tid})["clerk"] == ["采购人确认取消采购任务"]
    assert _open_tasks(roles, {tid})["agency"] == []
    clerk.complete(clerk.task_named("采购人确认取消采购任务", tid)["id"], {"approved": "true"})
    assert _tender(app, plan_id)["status"] == "cancelled"

    # 步骤二: 流标重招终止申请 by the agency.
    assert _open_tasks(roles, {tid})["agency"] == ["流标重招终止申请"]
    agency.complete(agency.task_named("流标重招终止申请", tid)["id"], {"reason": "本年度不再采购"})
    assert _tender(app, plan_id)["termination"] == "requested"

    # 步骤三: the purchaser enters the termination; the reviewer rejects once, then approves.
    assert _open_tasks(roles, {tid})["clerk"] == ["录入终止采购计划"]
    clerk.complete(clerk.task_named("录入终止采购计划", tid)["id"], {"explanation": "资金收回"})
    assert _record(clerk, "plans", plan_id)["pending_action"] == "termination"
    reject(reviewer, "审核岗审核", tid, "请写明资金收回文件")
    assert _record(clerk, "plans", plan_id)["pending_action"] is None
    clerk.complete(clerk.task_named("录入终止采购计划", tid)["id"], {"explanation": "依据财预〔2025〕X号收回"})
    approve(reviewer, "审核岗审核", tid)
    assert _record(clerk, "plans", plan_id)["status"] == "used"  # not terminated until the agency acts

    # 步骤四: the agency performs the 流标重招 termination.
    assert _open_tasks(roles, {tid})["agency"] == ["流标重招终止操作"]
    agency.complete(agency.task_named("流标重招终止操作", tid)["id"], {"agency_note": "已终止"})
    assert _record(clerk, "plans", plan_id)["status"] == "terminated"
    assert _tender(app, plan_id)["termination"] == "performed"
    assert money(_record(clerk, "projects", project["id"])["free_amount"]) == money(300000)
    assert money(clerk.budget(1)["used_amount"]) == money(300000)  # still occupied by the project

    # 步骤五: 资金回收, proposed at the whole unoccupied amount, approved by the leader.
    entry = clerk.task_named("录入资金调整", tid)
    detail = clerk.ok(clerk.get(f"/api/tasks/{entry['id']}"))
    assert detail["data"]["kind"] == "recover" and detail["data"]["amount"] == 300000
    clerk.complete(entry["id"], {"kind": "recover", "amount": 300000, "action": "submit"})
    assert _open_tasks(roles, {tid})["leader"] == ["需求领导审核"]
    approve(leader, "需求领导审核", tid)

    done = clerk.ok(clerk.get(f"/api/instances/{tid}"))
    assert done["status"] == "completed" and done["tasks"] == []
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    project = _record(clerk, "projects", project["id"])
    assert money(project["amount"]) == money(0) and money(project["recovered_amount"]) == money(300000)
    assert _open_tasks(roles, {tid}) == {r: [] for r in roles}
    history = clerk.history(tid)
    assert clerk.ok(clerk.get(f"/api/instances/{tid}/verify"))["ok"] is True
    topics = [e["data"]["topic"] for e in history if e["type"] == "service_task"]
    assert topics == ["tender.announce", "tender.start_cancellation", "tender.confirm_cancellation",
                      "tender.request_termination", "plan.check_termination", "plan.request_termination",
                      "plan.clear_pending", "plan.request_termination", "plan.terminate",
                      "project.recoverable_amount", "project.check_fund_adjustment", "project.adjust_funds"]
    actors = [e["actor"] for e in history if e["type"] == "task_completed"]
    assert actors == ["agency", "clerk", "agency", "clerk", "reviewer", "clerk", "reviewer", "agency", "clerk",
                      "leader"]


def test_purchaser_declines_cancellation_and_the_tender_goes_on(app, roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    plan_id = plan_instance["data"]["plan_id"]
    tid = agency.start("tender_execution", {"plan_id": plan_id, **GAP})["id"]
    agency.complete(agency.task_named("开标或取消采购任务", tid)["id"], {"opening": "cancel", "reason": "x"})
    clerk.complete(clerk.task_named("采购人确认取消采购任务", tid)["id"], {"approved": "false", "comment": "资金已落实"})
    assert _tender(app, plan_id)["status"] == "announced" and _tender(app, plan_id)["cancel_requested"] is False
    agency.complete(agency.task_named("开标或取消采购任务", tid)["id"], {"opening": "open"})
    agency.complete(agency.task_named("评标结果", tid)["id"], {"result": "awarded"})
    assert _tender(app, plan_id)["status"] == "awarded"
    assert clerk.ok(clerk.get(f"/api/instances/{tid}"))["status"] == "completed"


def test_failed_bid_chain(app, roles):
    clerk, reviewer, leader, finance, agency = (roles[r] for r in ("clerk", "reviewer", "leader", "finance", "agency"))
    project, plan_instance = filed_plan(clerk, reviewer, finance, amount=500000, plan_amount=500000)
    plan_id = plan_instance["data"]["plan_id"]
    tid = agency.start("tender_execution", {"plan_id": plan_id, **GAP})["id"]
    agency.complete(agency.task_named("开标或取消采购任务", tid)["id"], {"opening": "open"})
    assert _tender(app, plan_id)["status"] == "opened"
    agency.complete(agency.task_named("评标结果", tid)["id"], {"result": "failed", "reason": "有效投标人不足三家"})
    # 000 一(六) 步骤一: the 废标公告 is published only once the purchaser confirms it.
    tender = clerk.ok(clerk.get(f"/api/tenders/{_tender(app, plan_id)['id']}"))
    assert (tender["status"], tender["result"], tender["failure_requested"]) == ("opened", "failed", True)
    assert _open_tasks(roles, {tid})["clerk"] == ["采购人确认废标公告"]
    clerk.complete(clerk.task_named("采购人确认废标公告", tid)["id"], {"approved": "true"})
    assert _tender(app, plan_id)["status"] == "failed" and _tender(app, plan_id)["failure_requested"] is False
    agency.complete(agency.task_named("流标重招终止申请", tid)["id"], {"reason": "本年度不再采购"})
    clerk.complete(clerk.task_named("录入终止采购计划", tid)["id"], {"explanation": "招标失败，不再采购"})
    approve(reviewer, "审核岗审核", tid)
    agency.complete(agency.task_named("流标重招终止操作", tid)["id"], {})
    assert _record(clerk, "plans", plan_id)["status"] == "terminated"
    clerk.complete(clerk.task_named("录入资金调整", tid)["id"], {"kind": "recover", "amount": 500000})
    approve(leader, "需求领导审核", tid)
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    assert clerk.ok(clerk.get(f"/api/instances/{tid}"))["status"] == "completed"
    assert _open_tasks(roles, {tid}) == {r: [] for r in roles}


def test_standalone_cancellation_of_an_opened_tender_is_refused(app, roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    plan_id = plan_instance["data"]["plan_id"]
    tid = agency.start("tender_execution", {"plan_id": plan_id, **GAP})["id"]
    agency.complete(agency.task_named("开标或取消采购任务", tid)["id"], {"opening": "open"})
    tender_id = _tender(app, plan_id)["id"]
    response = agency.post("/api/processes/procurement_cancellation/instances",
                           {"data": {"tender_id": tender_id, "reason": "资金收回"}})
    assert response.status_code == 409 and "已开标，不能取消采购" in response.json["message"]
    assert _tender(app, plan_id)["status"] == "opened" and _tender(app, plan_id)["cancel_requested"] is False
    # 废标 is refused before opening, too: a failure notice needs an opened tender.
    tid2 = agency.start("tender_execution", {"plan_id": filed_plan(clerk, reviewer, finance)[1]["data"]["plan_id"],
                                             **GAP})
    response = agency.post("/api/processes/failed_bid_termination/instances",
                           {"data": {"tender_id": tid2["data"]["tender_id"], "reason": "x"}})
    assert response.status_code == 409 and "不能发起废标公告" in response.json["message"]


def test_plan_termination_needs_the_agency_application(roles):
    clerk, reviewer, finance = roles["clerk"], roles["reviewer"], roles["finance"]
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    response = clerk.post("/api/processes/plan_termination/instances",
                          {"data": {"plan_id": plan_instance["data"]["plan_id"]}})
    assert response.status_code == 409
    assert "尚未对采购计划" in response.json["message"] and "流标重招终止申请" in response.json["message"]
    assert names(clerk.tasks()) == []


def test_plan_revocation_needs_return_and_refuses_used_plans(app, roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    project, plan_instance = filed_plan(clerk, reviewer, finance)
    plan_id = plan_instance["data"]["plan_id"]

    # A project plan must first be returned by the agency.
    rev = clerk.start("plan_revocation", {"plan_id": plan_id, "reason": "资金收回"})
    assert "尚未退回" in rev["data"]["error_message"]
    assert names(rev["tasks"]) == ["修改撤销申请"]
    assert names(reviewer.tasks(), rev["id"]) == []
    # The purchaser cannot return a project plan; the agency can.
    response = clerk.post("/api/processes/plan_return/instances", {"data": {"plan_id": plan_id, "reason": "x"}})
    assert response.status_code == 403 and "代理机构" in response.json["message"]
    agency.start("plan_return", {"plan_id": plan_id, "reason": "未开展采购活动"})
    assert _record(clerk, "plans", plan_id)["returned"] is True

    clerk.complete(clerk.task_named("修改撤销申请", rev["id"])["id"], {"reason": "资金收回", "action": "submit"})
    reject(reviewer, "审核岗审核", rev["id"], "请说明资金处置")
    assert _record(clerk, "plans", plan_id)["status"] == "filed"
    clerk.complete(clerk.task_named("修改撤销申请", rev["id"])["id"],
                   {"reason": "资金收回", "disposal": "退回预算", "action": "submit"})
    approve(reviewer, "审核岗审核", rev["id"])
    assert _record(clerk, "plans", plan_id)["status"] == "revoked"
    assert money(_record(clerk, "projects", project["id"])["free_amount"]) == money(300000)
    assert money(clerk.budget(1)["used_amount"]) == money(300000)  # the project still holds its funds

    # A used plan (announcement published) cannot be revoked.
    _, used = filed_plan(clerk, reviewer, finance)
    agency.start("tender_execution", {"plan_id": used["data"]["plan_id"], **GAP})
    refused = clerk.start("plan_revocation", {"plan_id": used["data"]["plan_id"], "reason": "x"})
    assert "已使用" in refused["data"]["error_message"]
    assert _record(clerk, "plans", used["data"]["plan_id"])["status"] == "used"


def test_plan_return_rules(roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    # An e-mall plan takes one item of its project's list (one order, 001 §4.1.2).
    item = {"item_name": "复印纸", "quantity": 1000, "unit_price": 200}
    project = register_project(clerk, reviewer, amount=300000, items=[item])
    emall = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000, plan_type="emall",
                       method="emall", items=[item])
    approve(reviewer, "采购单位审核岗审核", emall["id"])
    approve(finance, "财政部门审核", emall["id"])
    emall_id = emall["data"]["plan_id"]
    response = agency.post("/api/processes/plan_return/instances", {"data": {"plan_id": emall_id, "reason": "x"}})
    assert response.status_code == 403 and "采购人" in response.json["message"]
    clerk.start("plan_return", {"plan_id": emall_id, "reason": "未下单"})
    assert _record(clerk, "plans", emall_id)["returned"] is True
    response = clerk.post("/api/processes/plan_return/instances", {"data": {"plan_id": emall_id, "reason": "x"}})
    assert response.status_code == 409 and "已退回" in response.json["message"]
    _, no_process = filed_plan(clerk, reviewer, finance, plan_type="no_process", method="self")
    response = clerk.post("/api/processes/plan_return/instances",
                          {"data": {"plan_id": no_process["data"]["plan_id"], "reason": "x"}})
    assert response.status_code == 409 and "无需退回" in response.json["message"]
    # A no-process plan is revoked without a return.
    rev = clerk.start("plan_revocation", {"plan_id": no_process["data"]["plan_id"], "reason": "不再采购"})
    approve(reviewer, "审核岗审核", rev["id"])
    assert _record(clerk, "plans", no_process["data"]["plan_id"])["status"] == "revoked"


def test_fund_adjustment_replace_add_recover(roles):
    clerk, reviewer, leader, finance = roles["clerk"], roles["reviewer"], roles["leader"], roles["finance"]
    project, _ = filed_plan(clerk, reviewer, finance, amount=1000000, plan_amount=600000)
    pid = project["id"]

    def adjust(kind, **values):
        instance = clerk.start("project_fund_adjustment", {"project_id": pid, "kind": kind})
        clerk.complete(clerk.task_named("录入资金调整", instance["id"])["id"], {"kind": kind, **values})
        return instance

    # Recovering more than the plans leave free goes back to the clerk with the reason; nothing changes.
    too_much = adjust("recover", amount=500000)
    detail = clerk.ok(clerk.get(f"/api/instances/{too_much['id']}"))
    assert "未被计划占用的金额 400,000.00 元" in detail["data"]["error_message"]
    assert names(leader.tasks(), too_much["id"]) == []
    clerk.complete(clerk.task_named("录入资金调整", too_much["id"])["id"], {"kind": "recover", "amount": 1,
                                                                         "action": "abandon"})
    assert money(clerk.budget(1)["used_amount"]) == money(1000000)

    replace = adjust("replace", budget_line_id=1, to_budget_line_id=2, amount=200000)
    assert names(leader.tasks(), replace["id"]) == ["需求领导审核"]
    approve(leader, "需求领导审核", replace["id"])
    assert money(clerk.budget(1)["used_amount"]) == money(800000)
    assert money(clerk.budget(2)["used_amount"]) == money(200000)

    add = adjust("add", budget_line_id=2, amount=100000)
    reject(leader, "需求领导审核", add["id"], "追加依据不足")
    assert money(clerk.budget(2)["used_amount"]) == money(200000)
    clerk.complete(clerk.task_named("录入资金调整", add["id"])["id"],
                   {"kind": "add", "budget_line_id": 2, "amount": 100000, "reason": "依据已补充"})
    approve(leader, "需求领导审核", add["id"])
    assert money(clerk.budget(2)["used_amount"]) == money(300000)

    recover = adjust("recover", budget_line_id=2, amount=300000)
    approve(leader, "需求领导审核", recover["id"])
    p = _record(clerk, "projects", pid)
    assert money(p["amount"]) == money(800000) and money(p["free_amount"]) == money(200000)
    assert money(clerk.budget(1)["used_amount"]) == money(800000)
    assert money(clerk.budget(2)["used_amount"]) == money(0)
    assert p["funds"] == [{"budget_line_id": 1, "amount": "800000.00"}]


def test_fund_adjustment_refuses_unused_projects(roles):
    clerk, reviewer = roles["clerk"], roles["reviewer"]
    from helpers import register_project
    project = register_project(clerk, reviewer)
    instance = clerk.start("project_fund_adjustment", {"project_id": project["id"], "kind": "add"})
    clerk.complete(clerk.task_named("录入资金调整", instance["id"])["id"],
                   {"kind": "add", "budget_line_id": 2, "amount": 1000})
    detail = clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))
    assert "尚未被采购计划使用" in detail["data"]["error_message"]
