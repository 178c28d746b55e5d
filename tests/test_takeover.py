"""A cancellation (取消采购, 000 一(四)) or failure notice (废标, 一(六)) started as a procedure of its own, and the
procedure that ran the tender (委托代理采购 or 交易执行): every role played through the API (issue 14).

Confirmed, the procedure taken over ends through its own path, recorded in both histories; declined (with a
reason), it simply goes on. Bad input is refused in Chinese and changes nothing."""
from sqlalchemy import func, select

from helpers import approve, money, register_project
from procurement_helpers import GAP, file_plan, only, people, record, topics  # noqa: F401 - fixture
from test_entrustment import _do, _entrustment, _start, _to_announcement, _to_evaluation


def _count_instances(app, key):
    from app.models import ProcessInstance
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.key == key))


def _status(api, iid):
    return api.ok(api.get(f"/api/instances/{iid}"))["status"]


def _entrusted_tender(people, amount=300000):
    """An entrustment whose tender is announced, waiting at 报名登记; returns (plan, entrustment instance, tender id)."""
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = register_project(clerk, reviewer, amount=amount)
    plan = file_plan(people, project["id"], amount=amount, sme_reserved_amount=amount)
    instance = _start(people, plan)
    _to_announcement(people, instance["id"])
    return plan, instance, _entrustment(clerk, instance)["tender_id"]


def _tail(people, iid, amount):
    """000 一(四)/(六) 步骤二–五 on instance ``iid``: 流标重招终止申请 → 采购计划终止 → 终止操作 → 资金回收."""
    clerk, reviewer, leader, agency = (people[r] for r in ("clerk", "reviewer", "leader", "agency"))
    _do(agency, "流标重招终止申请", iid, {"reason": "财政资金年终收回，本年度不再采购"})
    entry = clerk.task_named("录入终止采购计划", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{entry['id']}"))["data"].get("comment") is None
    clerk.complete(entry["id"], {"explanation": "资金收回，终止采购计划"})
    approve(reviewer, "审核岗审核", iid)
    _do(agency, "流标重招终止操作", iid, {})
    entry = clerk.task_named("录入资金调整", iid)
    data = clerk.ok(clerk.get(f"/api/tasks/{entry['id']}"))["data"]
    # Only what the termination chain maps into 资金回收 reaches its form: no earlier 理由 or 意见 pre-filled.
    assert (data["kind"], data["amount"]) == ("recover", amount)
    assert "reason" not in data and "comment" not in data and "explanation" not in data
    # A refusal inside the called 资金回收 shows in the complete response (docs §4).
    refused = clerk.complete(entry["id"], {"kind": "recover", "amount": amount + 1, "action": "submit"})
    assert refused["data"]["error_code"] == "RECOVER_EXCEEDS"
    assert "未被计划占用的金额" in refused["data"]["error_message"]
    _do(clerk, "录入资金调整", iid, {"kind": "recover", "amount": amount, "action": "submit"})
    done = approve(leader, "需求领导审核", iid)
    assert "error_code" not in done["data"]
    return done


def test_cancellation_of_an_entrusted_tender_declined_then_confirmed(app, people):
    clerk, agency = people["clerk"], people["agency"]
    plan, instance, tender_id = _entrusted_tender(people)
    eid = instance["id"]

    # 步骤一 as a procedure of its own (e.g. in the agency's 取消采购任务 menu): the entrustment goes on meanwhile.
    cancel = agency.start("procurement_cancellation", {"tender_id": tender_id, "reason": "采购需求取消"})
    cid = cancel["id"]
    assert record(clerk, "tenders", tender_id)["cancel_requested"] is True
    only(people, cid, clerk=["采购人确认取消采购任务"], clerk3=["采购人确认取消采购任务"])
    only(people, eid, agency=["报名登记"])
    # A second cancellation of the same tender is refused; nothing is created.
    before = _count_instances(app, "procurement_cancellation")
    response = agency.post("/api/processes/procurement_cancellation/instances",
                           {"data": {"tender_id": tender_id, "reason": "再次取消"}})
    assert response.status_code == 409 and "已发起取消采购任务，等待采购人确认" in response.json["message"]
    assert _count_instances(app, "procurement_cancellation") == before
    # Opening is refused while the purchaser has not decided.
    _do(agency, "报名登记", eid, {"registered_count": 3, "invitation": "skip"})
    response = agency.post(f"/api/tasks/{agency.task_named('开标或取消采购任务', eid)['id']}/complete",
                           {"data": {"opening": "open"}})
    assert response.status_code == 409 and "已发起取消采购任务" in response.json["message"]
    assert record(clerk, "tenders", tender_id)["status"] == "announced"

    # 不确认 without a reason: refused, nothing changes.
    task = clerk.task_named("采购人确认取消采购任务", cid)
    response = clerk.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "false", "comment": " "}})
    assert response.status_code == 400 and "comment" in response.json["errors"]
    assert record(clerk, "tenders", tender_id)["cancel_requested"] is True
    # 不确认 with the reason: the request is withdrawn, the entrustment can open.
    done = clerk.complete(task["id"], {"approved": "false", "comment": "项目资金已落实，继续采购"})
    assert done["status"] == "completed" and done["tasks"] == []
    tender = record(clerk, "tenders", tender_id)
    assert (tender["status"], tender["cancel_requested"], tender["reason"]) == ("announced", False, "采购需求取消")
    declined = [e for e in clerk.history(cid) if e["type"] == "task_completed"][-1]
    assert declined["actor"] == "clerk" and declined["data"]["data"]["comment"] == "项目资金已落实，继续采购"
    only(people, eid, agency=["开标或取消采购任务"])
    assert _entrustment(clerk, instance)["status"] == "announced"

    # Asked again and confirmed: the entrustment ends through its own 已取消采购 path, both histories say so.
    cancel = agency.start("procurement_cancellation", {"tender_id": tender_id, "reason": "财政资金年终收回"})
    cid = cancel["id"]
    _do(clerk, "采购人确认取消采购任务", cid, {"approved": "true"})
    assert record(clerk, "tenders", tender_id)["status"] == "cancelled"
    assert _status(clerk, eid) == "completed" and _entrustment(clerk, instance)["status"] == "cancelled"
    only(people, eid)
    only(people, cid, agency=["流标重招终止申请"])
    received = [e for e in clerk.history(eid) if e["type"] == "message_received"]
    assert [(e["data"]["name"], e["data"]["by_instance"], e["actor"]) for e in received] == [
        ("tender_cancelled", cid, "clerk")]
    assert topics(clerk.history(eid))[-1] == "entrustment.close"
    confirm = next(e for e in clerk.history(cid) if e["type"] == "service_task"
                   and e["data"]["topic"] == "tender.confirm_cancellation")
    assert confirm["data"]["taken_over"] == [{"instance_id": eid, "message": "tender_cancelled"}]
    for iid in (eid, cid):
        assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True

    done = _tail(people, cid, 300000)
    assert done["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["status"] == "terminated"
    assert record(clerk, "tenders", tender_id)["termination"] == "performed"
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    only(people, cid)


def test_tender_execution_goes_on_after_a_declined_cancellation_and_ends_after_a_confirmed_one(app, people):
    clerk, reviewer, agency = people["clerk"], people["reviewer"], people["agency"]
    plans = [file_plan(people, register_project(clerk, reviewer, amount=200000)["id"]) for _ in range(2)]
    runs = [agency.start("tender_execution", {"plan_id": p["id"], "title": "设备采购", **GAP}) for p in plans]
    tenders = [r["data"]["tender_id"] for r in runs]

    declined = agency.start("procurement_cancellation", {"tender_id": tenders[0], "reason": "资金收回"})
    _do(clerk, "采购人确认取消采购任务", declined["id"], {"approved": "false", "comment": "资金已落实"})
    only(people, runs[0]["id"], agency=["开标或取消采购任务"])
    _do(agency, "开标或取消采购任务", runs[0]["id"], {"opening": "open"})
    assert record(clerk, "tenders", tenders[0])["status"] == "opened"
    # 取消采购 after 开标: refused, nothing changes.
    before = _count_instances(app, "procurement_cancellation")
    response = agency.post("/api/processes/procurement_cancellation/instances",
                           {"data": {"tender_id": tenders[0], "reason": "资金收回"}})
    assert response.status_code == 409 and "已开标，不能取消采购" in response.json["message"]
    assert _count_instances(app, "procurement_cancellation") == before
    assert record(clerk, "tenders", tenders[0])["cancel_requested"] is False
    _do(agency, "评标结果", runs[0]["id"], {"result": "awarded"})
    assert _status(clerk, runs[0]["id"]) == "completed"

    confirmed = agency.start("procurement_cancellation", {"tender_id": tenders[1], "reason": "资金收回"})
    _do(clerk, "采购人确认取消采购任务", confirmed["id"], {"approved": "true"})
    history = agency.history(runs[1]["id"])
    assert _status(agency, runs[1]["id"]) == "completed" and history[-1]["type"] == "instance_completed"
    assert [e["task"] for e in history if e["type"] == "service_task"][-1] == "tx_check_cancelled:核对交易项目已取消"
    only(people, runs[1]["id"])
    only(people, confirmed["id"], agency=["流标重招终止申请"])
    # The tender's own procedure cannot be ended by sending the message by hand while the tender is not cancelled.
    third = agency.start("tender_execution", {"plan_id": file_plan(
        people, register_project(clerk, reviewer, amount=200000)["id"])["id"], **GAP})
    response = agency.post(f"/api/instances/{third['id']}/messages/tender_cancelled", {"data": {}})
    assert response.status_code == 409 and "不是“已取消采购”" in response.json["message"]
    only(people, third["id"], agency=["开标或取消采购任务"])
    _tail(people, confirmed["id"], 200000)


def test_failure_notice_of_an_entrusted_tender(app, people):
    clerk, agency = people["clerk"], people["agency"]
    plan, instance, tender_id = _entrusted_tender(people, amount=400000)
    eid = instance["id"]
    _to_evaluation(people, eid)
    _do(agency, "评审", eid, {"result": "failed", "reason": "有效投标人不足三家"})
    only(people, eid, agency=["流标重招处理"])

    notice = agency.start("failed_bid_termination", {"tender_id": tender_id, "reason": "有效投标人不足三家"})
    fid = notice["id"]
    assert record(clerk, "tenders", tender_id)["status"] == "opened"  # not published before 采购人确认
    # While the notice waits for the purchaser, the entrustment can neither terminate nor change the method.
    for choice in ("terminate", "change_method"):
        response = agency.post(f"/api/tasks/{agency.task_named('流标重招处理', eid)['id']}/complete",
                               {"data": {"retender": choice, "reason": "x"}})
        assert response.status_code == 409 and "等待采购人确认" in response.json["message"], response.json
    response = agency.post("/api/processes/failed_bid_termination/instances",
                           {"data": {"tender_id": tender_id, "reason": "再次废标"}})
    assert response.status_code == 409 and "等待采购人确认" in response.json["message"]

    _do(clerk, "采购人确认废标公告", fid, {"approved": "true"})
    tender = record(clerk, "tenders", tender_id)
    assert (tender["status"], tender["failure_requested"]) == ("failed", False)
    assert _status(clerk, eid) == "completed" and _entrustment(clerk, instance)["status"] == "terminated"
    received = [e for e in clerk.history(eid) if e["type"] == "message_received"]
    assert [(e["data"]["name"], e["data"]["by_instance"]) for e in received] == [("tender_failed", fid)]
    only(people, eid)
    only(people, fid, agency=["流标重招终止申请"])
    _tail(people, fid, 400000)
    assert record(clerk, "plans", plan["id"])["status"] == "terminated"


def test_year_end_cancellation_is_the_agencys_task(app, people, clock):
    """000 一(四) from the campaign: the agency decides (取消 or 继续), the purchaser confirms, the owner ends."""
    from app.engine import runtime
    clerk, reviewer, agency = people["clerk"], people["reviewer"], people["agency"]
    runs = [agency.start("tender_execution", {"plan_id": file_plan(
        people, register_project(clerk, reviewer, amount=200000)["id"])["id"], **GAP}) for _ in range(2)]
    with app.extensions["db"].Session() as s, s.begin():
        items = [runtime.start_instance(s, None, "ye_cancel_procurement", {
            "tender_id": run["data"]["tender_id"], "reason": "财政性资金年终收回，取消采购"},
            business_key=f"ye2026:plan:{run['data']['plan_id']}", unit_id=1, now=clock()).id for run in runs]
    for iid in items:
        only(people, iid, agency=["取消采购任务（年终处理）"])
        assert record(clerk, "tenders", agency.ok(agency.get(f"/api/instances/{iid}"))["data"]["tender_id"])[
            "cancel_requested"] is False
    kept = _do(agency, "取消采购任务（年终处理）", items[0], {"decision": "keep", "reason": "必须开展采购活动"})
    assert kept["status"] == "completed"
    only(people, runs[0]["id"], agency=["开标或取消采购任务"])

    _do(agency, "取消采购任务（年终处理）", items[1], {"decision": "cancel", "reason": "财政性资金年终收回"})
    only(people, items[1], clerk=["采购人确认取消采购任务"], clerk3=["采购人确认取消采购任务"])
    start = next(e for e in agency.history(items[1]) if e["type"] == "service_task")
    assert (start["data"]["topic"], start["actor"]) == ("tender.start_cancellation", "agency")
    _do(clerk, "采购人确认取消采购任务", items[1], {"approved": "true"})
    assert _status(agency, runs[1]["id"]) == "completed"
    _tail(people, items[1], 200000)
    assert _status(agency, items[1]) == "completed"


def test_termination_refused_without_the_agencys_application(app, people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    plan = file_plan(people, register_project(clerk, reviewer)["id"])
    before = _count_instances(app, "plan_termination")
    response = clerk.post("/api/processes/plan_termination/instances", {"data": {"plan_id": plan["id"]}})
    assert response.status_code == 409 and "流标重招终止申请" in response.json["message"]
    assert _count_instances(app, "plan_termination") == before
    assert record(clerk, "plans", plan["id"])["status"] == "filed"
