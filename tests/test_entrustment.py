"""entrustment 委托代理采购 end to end (issue 7; seed 004 §3(二)(三)): the purchaser's and the agency's steps in one
process with two lanes, every role in turn through the API — happy path with the optional 评审邀请函, every return,
the refusals, cancellation before opening, and a failed tender terminated or re-tendered after a method change."""
from helpers import approve, money, register_project, reject
from procurement_helpers import GAP, actors, demo_agency, file_plan, only, record, refused, people, topics  # noqa: F401 - fixture
from test_contracts import contract_data

WINNER = {"winner_name": "福州精密仪器有限公司", "winner_credit_code": "91350100MA2Y3K4L5R"}


def _do(api, name, iid, data=None):
    return api.complete(api.task_named(name, iid)["id"], data or {})


def _entrustment(api, instance):
    return record(api, "entrustments", instance["data"]["entrustment_id"])


def _start(people, plan, clerk="clerk", **extra):
    """委托单 to the demo's 福建省政府采购中心 (the agency of the ``agency`` user) unless ``agency_id`` says otherwise."""
    data = {"plan_id": plan["id"], "requirements": "实验室设备一批，含安装调试和培训", "contact": "张经办 0591-87654321",
            "agency_id": demo_agency(people[clerk]), **extra}
    return people[clerk].start("entrustment", data)


def _to_announcement(people, iid, clerk="clerk", reviewer="reviewer"):
    """委托单审核 → 受理 → 采购文件 → 确认 → 发布采购公告."""
    agency = people["agency"]
    approve(people[reviewer], "委托单审核", iid)
    _do(agency, "受理审核委托单", iid, {"approved": "true"})
    _do(agency, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-0001", "documents_note": "综合评分法"})
    _do(people[clerk], "采购文件确认", iid, {"approved": "true"})
    _do(agency, "审核、发布采购公告", iid, {"title": "实验室设备采购公告", **GAP})


def _to_evaluation(people, iid):
    agency = people["agency"]
    _do(agency, "报名登记", iid, {"registered_count": 4, "invitation": "skip"})
    _do(agency, "开标或取消采购任务", iid, {"opening": "open"})


def test_entrustment_end_to_end_with_review_invitation(app, people):
    clerk, reviewer, agency = people["clerk"], people["reviewer"], people["agency"]
    project = register_project(clerk, reviewer)
    plan = file_plan(people, project["id"], amount=500000, sme_reserved_amount=500000)
    instance = _start(people, plan)
    iid = instance["id"]
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "in_review" and ent["number"].startswith("WT2026") and ent["plan_id"] == plan["id"]
    only(people, iid, reviewer=["委托单审核"])

    approve(reviewer, "委托单审核", iid)
    assert _entrustment(clerk, instance)["status"] == "submitted"
    only(people, iid, agency=["受理审核委托单"])
    _do(agency, "受理审核委托单", iid, {"approved": "true"})
    assert _entrustment(clerk, instance)["status"] == "accepted"
    only(people, iid, agency=["生成采购项目及采购文件"])
    _do(agency, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-0001", "documents_note": "综合评分法"})
    only(people, iid, clerk=["采购文件确认"])  # the plan's clerk, not the other clerk of the unit
    _do(clerk, "采购文件确认", iid, {"approved": "true"})
    only(people, iid, agency=["审核、发布采购公告"])
    assert record(clerk, "plans", plan["id"])["status"] == "filed"
    done = _do(agency, "审核、发布采购公告", iid, {"title": "实验室设备采购公告", **GAP})
    tender_id = done["data"]["tender_id"]
    assert record(clerk, "tenders", tender_id)["status"] == "announced"
    assert record(clerk, "plans", plan["id"])["status"] == "used"
    only(people, iid, agency=["报名登记"])

    _do(agency, "报名登记", iid, {"registered_count": 5, "invitation": "send"})
    only(people, iid, clerk=["评审邀请函回复"])
    _do(clerk, "评审邀请函回复", iid, {"attend": "true", "representative": "李老师"})
    ent = _entrustment(clerk, instance)
    assert ent["registered_count"] == 5 and ent["invitation_reply"] == "attend" and ent["representative"] == "李老师"
    only(people, iid, agency=["开标或取消采购任务"])
    _do(agency, "开标或取消采购任务", iid, {"opening": "open"})
    assert record(clerk, "tenders", tender_id)["status"] == "opened"
    only(people, iid, agency=["评审"])
    _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 480000})
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "evaluated" and ent["winner"]["name"] == WINNER["winner_name"]
    assert ent["award_amount"] == "480000.00"
    # 004 §三(二): the purchaser confirms the result before the agency publishes the result announcement.
    only(people, iid, clerk=["采购结果确认"])
    assert ent["result_title"] == ""
    _do(clerk, "采购结果确认", iid, {"approved": "true"})
    assert _entrustment(clerk, instance)["status"] == "result_confirmed"
    only(people, iid, agency=["审核、发布采购结果公告"])
    _do(agency, "审核、发布采购结果公告", iid, {})
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "result_published" and ent["result_title"] == "福州精密仪器有限公司中标（成交）结果公告"
    only(people, iid, agency=["发送中标通知书"])
    done = _do(agency, "发送中标通知书", iid, {"notice_note": "已通过交易系统发送"})

    assert done["status"] == "completed" and done["tasks"] == []
    only(people, iid)
    assert record(clerk, "tenders", tender_id)["status"] == "awarded"
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "awarded" and ent["contract_id"] == done["data"]["contract_id"]
    contract = record(clerk, "contracts", ent["contract_id"])
    assert contract["source"] == "award" and contract["status"] == "draft" and contract["plan_id"] == plan["id"]
    assert money(contract["amount"]) == money(480000)
    assert contract["suppliers"] == [{"name": WINNER["winner_name"], "credit_code": WINNER["winner_credit_code"]}]

    history = clerk.history(iid)
    assert topics(history) == ["entrustment.create", "entrustment.submit", "entrustment.approve", "entrustment.accept", "entrustment.documents",
                               "entrustment.confirm_documents", "entrustment.announce", "entrustment.register",
                               "entrustment.reply_invitation", "tender.open", "entrustment.evaluate",
                               "entrustment.confirm_result", "entrustment.publish_result", "entrustment.award"]
    assert actors(history) == ["reviewer", "agency", "agency", "clerk", "agency", "agency", "clerk", "agency", "agency",
                               "clerk", "agency", "agency"]
    assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True

    # contract_filing picks the award's draft up by id.
    filing = clerk.start("contract_filing", contract_data(plan["id"], amount=480000, contract_id=contract["id"],
                                                          name="实验室设备采购合同"))
    assert filing["data"]["contract_id"] == contract["id"]
    assert record(clerk, "contracts", contract["id"])["status"] == "in_review"
    assert clerk.ok(clerk.get("/api/entrustments", query_string={"plan_id": plan["id"]}))[0]["id"] == ent["id"]


def test_every_return_path_city_unit(app, people):
    clerk, reviewer, agency = people["clerk2"], people["reviewer2"], people["agency"]
    project = register_project(clerk, reviewer, budget_line_id=4, amount=600000)
    plan = file_plan(people, project["id"], finance=False, amount=400000, sme_reserved_amount=400000)
    instance = _start(people, plan, clerk="clerk2")
    iid = instance["id"]
    # 委托单审核不通过 → 修改委托单.
    reject(reviewer, "委托单审核", iid, "请写明主要技术参数")
    only(people, iid, clerk2=["修改委托单"])
    assert _entrustment(clerk, instance)["review_comment"] == "请写明主要技术参数"
    _do(clerk, "修改委托单", iid, {"requirements": "课桌椅 500 套，参数见附件", "action": "submit"})
    approve(reviewer, "委托单审核", iid)
    # 代理机构不予受理 → 修改委托单.
    _do(agency, "受理审核委托单", iid, {"approved": "false", "comment": "委托事项不完整，缺少交货期"})
    only(people, iid, clerk2=["修改委托单"])
    edit = clerk.task_named("修改委托单", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]["comment"] == "委托事项不完整，缺少交货期"
    assert _entrustment(clerk, instance)["status"] == "draft"
    clerk.complete(edit["id"], {"requirements": "课桌椅 500 套，30 日内交货", "action": "submit"})
    approve(reviewer, "委托单审核", iid)
    _do(agency, "受理审核委托单", iid, {"approved": "true"})
    # 采购文件有意见 → back to the agency.
    _do(agency, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-1"})
    response = clerk.post(f"/api/tasks/{clerk.task_named('采购文件确认', iid)['id']}/complete",
                          {"data": {"approved": "false"}})
    assert response.status_code == 400  # a return needs the purchaser's comment
    _do(clerk, "采购文件确认", iid, {"approved": "false", "comment": "评分标准中价格分比例需调整"})
    only(people, iid, agency=["生成采购项目及采购文件"])
    assert _entrustment(clerk, instance)["status"] == "accepted"
    _do(agency, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-2"})
    _do(clerk, "采购文件确认", iid, {"approved": "true"})
    import inspect
    from app.models import Tender
    intent_rule = "intent_gap_reason" in inspect.signature(Tender.announce).parameters
    if intent_rule:
        # No 采购意向 published: the announcement needs 意向未满30天的理由 (001 §3.1 注①) and comes back without one.
        refused_announcement = _do(agency, "审核、发布采购公告", iid, {"intent_gap_reason": ""})
        assert "意向未满30天的理由" in refused_announcement["data"]["error_message"]
        only(people, iid, agency=["审核、发布采购公告"])
        assert _entrustment(clerk, instance)["status"] == "confirmed"
    _do(agency, "审核、发布采购公告", iid, {**GAP})
    _do(agency, "报名登记", iid, {"registered_count": 3, "invitation": "skip"})
    only(people, iid, agency=["开标或取消采购任务"])  # no invitation: straight to opening
    _do(agency, "开标或取消采购任务", iid, {"opening": "open"})
    _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 390000})
    # 采购结果有异议 → back to the evaluation, before anything is published.
    response = clerk.post(f"/api/tasks/{clerk.task_named('采购结果确认', iid)['id']}/complete",
                          {"data": {"approved": "false"}})
    assert response.status_code == 400 and "comment" in response.json["errors"]
    _do(clerk, "采购结果确认", iid, {"approved": "false", "comment": "中标金额与报价不符"})
    only(people, iid, agency=["评审"])
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "evaluated" and ent["result_title"] == "" and ent["review_comment"] == "中标金额与报价不符"
    _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 385000})
    _do(clerk, "采购结果确认", iid, {"approved": "true"})
    _do(agency, "审核、发布采购结果公告", iid, {"result_title": "课桌椅采购结果公告"})
    assert _entrustment(clerk, instance)["result_title"] == "课桌椅采购结果公告"
    done = _do(agency, "发送中标通知书", iid)
    assert done["status"] == "completed"
    assert money(record(clerk, "contracts", done["data"]["contract_id"])["amount"]) == money(385000)
    announcing = ["agency", "agency"] if intent_rule else ["agency"]
    assert actors(clerk.history(iid)) == [
        "reviewer2", "clerk2", "reviewer2", "agency", "clerk2", "reviewer2", "agency", "agency", "clerk2", "agency",
        "clerk2", *announcing, "agency", "agency", "agency", "clerk2", "agency", "clerk2", "agency", "agency"]


def test_abandon_then_entrust_again(app, people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    plan = file_plan(people, register_project(clerk, reviewer)["id"])
    first = _start(people, plan)
    refused(clerk, "entrustment", {"plan_id": plan["id"], "requirements": "再次委托", "agency_id": demo_agency(clerk)}, 409,
            "已有进行中的委托单")
    reject(reviewer, "委托单审核", first["id"], "暂缓委托")
    done = _do(clerk, "修改委托单", first["id"], {"requirements": "x", "action": "abandon"})
    assert done["status"] == "completed"
    assert _entrustment(clerk, first)["status"] == "abandoned"
    only(people, first["id"])
    second = _start(people, plan)
    assert second["data"]["entrustment_id"] != first["data"]["entrustment_id"]


def test_refusals(app, people):
    clerk, reviewer, agency = people["clerk"], people["reviewer"], people["agency"]
    project = register_project(clerk, reviewer, amount=2000000)
    plan = file_plan(people, project["id"], amount=500000, sme_reserved_amount=500000)
    data = {"plan_id": plan["id"], "requirements": "设备", "agency_id": demo_agency(clerk)}
    for role in ("reviewer", "finance", "agency", "leader"):
        refused(people[role], "entrustment", data, 403, "不能发起")
    refused(people["clerk2"], "entrustment", data, 403, "不属于本单位")
    response = clerk.post("/api/processes/entrustment/instances", {"data": {"plan_id": plan["id"]}})
    assert response.status_code == 400 and "requirements" in response.json["errors"]
    # Only a usable plan of a type that goes through the transaction system, and not 自行采购.
    from helpers import apply_plan
    in_review = apply_plan(clerk, project["id"], amount=100000, sme_reserved_amount=100000)
    refused(clerk, "entrustment", {**data, "plan_id": in_review["data"]["plan_id"]}, 409, "只有可使用的采购计划才能委托")
    self_plan = file_plan(people, project["id"], method="self", amount=100000, sme_reserved_amount=100000)
    refused(clerk, "entrustment", {**data, "plan_id": self_plan["id"]}, 409, "无需委托代理机构")
    framework = file_plan(people, project["id"], plan_type="framework", method="framework", amount=100000,
                          sme_reserved_amount=100000)
    refused(clerk, "entrustment", {**data, "plan_id": framework["id"]}, 409, "框架协议计划不通过委托代理机构采购")
    # A dispatched plan: its procurement is started by the clerk it was dispatched to (002 §3).
    clerk.start("plan_dispatch", {"plan_id": plan["id"], "assignee": "clerk3"})
    refused(clerk, "entrustment", data, 403, "已分派给其他经办人")
    instance = people["clerk3"].start("entrustment", data)
    iid = instance["id"]
    # While it runs, the plan is neither re-dispatched nor recalled.
    refused(people["clerk3"], "plan_dispatch", {"plan_id": plan["id"], "action": "recall"}, 409, "已发起委托代理采购")
    _to_announcement(people, iid, clerk="clerk3")
    _to_evaluation(people, iid)
    # An award above the plan amount, or without a supplier, goes back to the evaluation with the reason.
    over = _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 500000.01})
    assert "超过采购计划" in over["data"]["error_message"]
    only(people, iid, agency=["评审"])
    nameless = _do(agency, "评审", iid, {"result": "awarded", "winner_name": "", "award_amount": 400000})
    assert "供应商的名称" in nameless["data"]["error_message"]
    failed = _do(agency, "评审", iid, {"result": "failed"})
    assert "请填写招标失败原因" in failed["data"]["error_message"]
    assert record(clerk, "tenders", failed["data"]["tender_id"])["status"] == "opened"
    _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 500000})
    only(people, iid, clerk3=["采购结果确认"])  # the plan's clerk confirms the result first (004 §三(二))


def test_cancel_before_opening_runs_the_cancellation_chain(app, people):
    clerk, reviewer, finance, leader, agency = (people[r] for r in ("clerk", "reviewer", "finance", "leader", "agency"))
    project = register_project(clerk, reviewer, amount=300000)
    plan = file_plan(people, project["id"], amount=300000, sme_reserved_amount=300000)
    instance = _start(people, plan)
    iid = instance["id"]
    _to_announcement(people, iid)
    tender_id = _entrustment(clerk, instance)["tender_id"]
    _do(agency, "报名登记", iid, {"registered_count": 0, "invitation": "skip"})
    # 取消采购任务, declined by the purchaser: back to opening.
    _do(agency, "开标或取消采购任务", iid, {"opening": "cancel", "reason": "采购需求变化"})
    only(people, iid, clerk=["采购人确认取消采购任务"], clerk3=["采购人确认取消采购任务"])  # procurement_cancellation: the unit's clerks
    _do(clerk, "采购人确认取消采购任务", iid, {"approved": "false", "comment": "需求未变"})
    only(people, iid, agency=["开标或取消采购任务"])
    assert record(clerk, "tenders", tender_id)["cancel_requested"] is False
    # Confirmed: the tender is cancelled and the plan terminated, its funds recovered.
    _do(agency, "开标或取消采购任务", iid, {"opening": "cancel", "reason": "财政资金收回"})
    _do(clerk, "采购人确认取消采购任务", iid, {"approved": "true"})
    assert record(clerk, "tenders", tender_id)["status"] == "cancelled"
    only(people, iid, agency=["流标重招终止申请"])
    _do(agency, "流标重招终止申请", iid, {"reason": "本年度不再采购"})
    _do(clerk, "录入终止采购计划", iid, {"explanation": "资金收回"})
    approve(reviewer, "审核岗审核", iid)
    _do(agency, "流标重招终止操作", iid, {})
    _do(clerk, "录入资金调整", iid, {"kind": "recover", "amount": 300000})
    done = approve(leader, "需求领导审核", iid)
    assert done["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["status"] == "terminated"
    assert _entrustment(clerk, instance)["status"] == "cancelled"
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    only(people, iid)


def test_failed_tender_terminated(app, people):
    clerk, reviewer, leader, agency = (people[r] for r in ("clerk", "reviewer", "leader", "agency"))
    project = register_project(clerk, reviewer, amount=500000)
    plan = file_plan(people, project["id"], amount=500000, sme_reserved_amount=500000)
    instance = _start(people, plan)
    iid = instance["id"]
    _to_announcement(people, iid)
    _to_evaluation(people, iid)
    _do(agency, "评审", iid, {"result": "failed", "reason": "有效投标人不足三家"})
    assert _entrustment(clerk, instance)["status"] == "failed"
    only(people, iid, agency=["流标重招处理"])
    _do(agency, "流标重招处理", iid, {"retender": "terminate", "reason": "有效投标人不足三家"})
    tender_id = _entrustment(clerk, instance)["tender_id"]
    tender = record(clerk, "tenders", tender_id)
    # The 废标公告 waits for the purchaser: nothing is published before 采购人确认 (000 一(六) 步骤一).
    assert tender["status"] == "opened" and tender["failure_requested"] is True and tender["result"] == "failed"
    only(people, iid, clerk=["采购人确认废标公告"], clerk3=["采购人确认废标公告"])  # failed_bid_termination: the unit's clerks
    response = clerk.post(f"/api/tasks/{clerk.task_named('采购人确认废标公告', iid)['id']}/complete",
                          {"data": {"approved": "false"}})
    assert response.status_code == 400 and "comment" in response.json["errors"]
    assert record(clerk, "tenders", tender_id)["failure_requested"] is True
    _do(clerk, "采购人确认废标公告", iid, {"approved": "false", "comment": "废标原因应写明投标人数量"})
    only(people, iid, agency=["修改废标公告"])
    assert record(clerk, "tenders", tender_id)["status"] == "opened"
    revise = agency.task_named("修改废标公告", iid)
    assert agency.ok(agency.get(f"/api/tasks/{revise['id']}"))["data"]["comment"] == "废标原因应写明投标人数量"
    agency.complete(revise["id"], {"reason": "有效投标人不足三家（仅两家），本年度不再采购"})
    _do(clerk, "采购人确认废标公告", iid, {"approved": "true"})
    tender = record(clerk, "tenders", tender_id)
    assert tender["status"] == "failed" and tender["reason"] == "有效投标人不足三家（仅两家），本年度不再采购"
    _do(agency, "流标重招终止申请", iid, {"reason": "本年度不再采购"})
    _do(clerk, "录入终止采购计划", iid, {"explanation": "招标失败，不再采购"})
    approve(reviewer, "审核岗审核", iid)
    _do(agency, "流标重招终止操作", iid, {})
    _do(clerk, "录入资金调整", iid, {"kind": "recover", "amount": 500000})
    done = approve(leader, "需求领导审核", iid)
    assert done["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["status"] == "terminated"
    assert _entrustment(clerk, instance)["status"] == "terminated"
    only(people, iid)
    done_topics = topics(clerk.history(iid))
    assert done_topics[done_topics.index("tender.request_failure_notice"):] == [
        "tender.request_failure_notice", "tender.decline_failure_notice", "tender.request_failure_notice",
        "tender.publish_failure", "tender.request_termination", "plan.check_termination", "plan.request_termination",
        "plan.terminate", "project.recoverable_amount", "project.check_fund_adjustment", "project.adjust_funds",
        "entrustment.close"]


def test_failed_tender_retendered_after_a_method_change(app, people):
    clerk, reviewer, finance, agency = (people[r] for r in ("clerk", "reviewer", "finance", "agency"))
    project = register_project(clerk, reviewer, amount=500000)
    plan = file_plan(people, project["id"], amount=450000, sme_reserved_amount=450000)
    instance = _start(people, plan)
    iid = instance["id"]
    _to_announcement(people, iid)
    first_tender = _entrustment(clerk, instance)["tender_id"]
    _to_evaluation(people, iid)
    _do(agency, "评审", iid, {"result": "failed", "reason": "有效投标人不足三家"})
    # 流标重招-变更采购方式: the failure is published, the purchaser enters the change, reviewer and finance approve.
    _do(agency, "流标重招处理", iid, {"retender": "change_method", "reason": "只有两家供应商响应，拟变更为竞争性谈判"})
    assert record(clerk, "tenders", first_tender)["status"] == "failed"
    only(people, iid, clerk=["录入采购方式变更"])
    entry = clerk.task_named("录入采购方式变更", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{entry['id']}"))["data"]["agency_reason"] == "只有两家供应商响应，拟变更为竞争性谈判"
    clerk.complete(entry["id"], {"new_method": "negotiation", "reason": "公开招标失败，符合竞争性谈判情形",
                                 "action": "submit"})
    assert record(clerk, "plans", plan["id"])["pending_action"] == "method_change"
    approve(reviewer, "采购单位审核岗审核", iid)
    approve(finance, "财政部门审核", iid)
    changed = record(clerk, "plans", plan["id"])
    assert changed["method"] == "negotiation" and changed["status"] == "filed"
    ent = _entrustment(clerk, instance)
    assert ent["status"] == "accepted" and ent["attempt"] == 2 and ent["tender_id"] is None
    only(people, iid, agency=["生成采购项目及采购文件"])
    # The second attempt: new documents, a new tender with a number of its own, and the award.
    _do(agency, "生成采购项目及采购文件", iid, {"documents_ref": "file-doc-negotiation"})
    _do(clerk, "采购文件确认", iid, {"approved": "true"})
    announced = _do(agency, "审核、发布采购公告", iid, {"title": "竞争性谈判公告", **GAP})
    second_tender = record(clerk, "tenders", announced["data"]["tender_id"])
    assert second_tender["id"] != first_tender and second_tender["number"].endswith("-2")
    _to_evaluation(people, iid)
    _do(agency, "评审", iid, {"result": "awarded", **WINNER, "award_amount": 440000})
    _do(clerk, "采购结果确认", iid, {"approved": "true"})
    _do(agency, "审核、发布采购结果公告", iid, {})
    done = _do(agency, "发送中标通知书", iid)
    assert done["status"] == "completed"
    assert record(clerk, "tenders", second_tender["id"])["status"] == "awarded"
    assert record(clerk, "plans", plan["id"])["status"] == "used"
    changes = clerk.ok(clerk.get("/api/method-changes", query_string={"plan_id": plan["id"]}))
    assert [(c["origin"], c["status"], c["tender_id"]) for c in changes] == [("agency", "approved", first_tender)]
    only(people, iid)


def test_method_change_abandoned_ends_in_termination(app, people):
    clerk, reviewer, leader, agency = (people[r] for r in ("clerk", "reviewer", "leader", "agency"))
    project = register_project(clerk, reviewer, amount=400000)
    plan = file_plan(people, project["id"], amount=400000, sme_reserved_amount=400000)
    instance = _start(people, plan)
    iid = instance["id"]
    _to_announcement(people, iid)
    _to_evaluation(people, iid)
    _do(agency, "评审", iid, {"result": "failed", "reason": "无人投标"})
    _do(agency, "流标重招处理", iid, {"retender": "change_method", "reason": "拟变更采购方式"})
    _do(clerk, "录入采购方式变更", iid, {"new_method": "negotiation", "reason": "x", "action": "abandon"})
    assert record(clerk, "plans", plan["id"])["pending_action"] is None
    only(people, iid, agency=["流标重招终止申请"])
    _do(agency, "流标重招终止申请", iid, {"reason": "本年度不再采购"})
    _do(clerk, "录入终止采购计划", iid, {"explanation": "不再采购"})
    approve(reviewer, "审核岗审核", iid)
    _do(agency, "流标重招终止操作", iid, {})
    _do(clerk, "录入资金调整", iid, {"kind": "recover", "amount": 400000})
    assert approve(leader, "需求领导审核", iid)["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["status"] == "terminated"
    assert _entrustment(clerk, instance)["status"] == "terminated"
