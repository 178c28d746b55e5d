"""采购意向公开 (001 ch.3) end to end, role by role: pick projects → review → publish, or 撤销 to re-edit before
publishing; the refusals; published intents never change; and the 30-day rule at the announcement, both ways."""
import pytest
from sqlalchemy import select

from helpers import GAP, PROJECT, event_types, filed_plan, names, register_project, reject

ROLES = ("clerk", "reviewer", "clerk2", "agency")


def tasks_of(login, instance_id):
    return {r: names(login(r).tasks(), instance_id) for r in ROLES}


def item(project_id, **overrides):
    return {"project_id": project_id, "summary": "实验室台式计算机 50 台、显示器 50 台", "expected_month": "2026-12",
            "remark": "", **overrides}


def disclosure(api, ident):
    return api.ok(api.get(f"/api/intents/{ident}"))


def test_intent_reviewed_taken_back_and_published(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    lab = register_project(clerk, reviewer)
    ops = register_project(clerk, reviewer, name="信息化运维服务", category="services", amount=600000, budget_line_id=2)
    own = register_project(clerk, reviewer, name="办公用品", amount=20000, implementation_form="self")

    # 自行采购 needs no intent: refused, back to the clerk with the rule.
    instance = clerk.start("intent_disclosure", {"title": "2026年12月采购意向", "items": [item(lab["id"]), item(own["id"])]})
    iid = instance["id"]
    assert instance["data"]["error_message"] == f"项目 {own['number']} 为自行采购，不需要公开采购意向（001 §3.1 注②）"
    assert tasks_of(login, iid) == {"clerk": ["修改采购意向"], "reviewer": [], "clerk2": [], "agency": []}
    edit = clerk.task_named("修改采购意向", iid)
    clerk.complete(edit["id"], {"title": "2026年12月采购意向", "action": "submit",
                                "items": [item(lab["id"]), item(ops["id"], summary="机房运维服务一年", expected_month="2027-01")]})
    assert tasks_of(login, iid) == {"clerk": [], "reviewer": ["审核岗审核"], "clerk2": [], "agency": []}
    did = clerk.ok(clerk.get(f"/api/instances/{iid}"))["data"]["intent_disclosure_id"]
    record = disclosure(clerk, did)
    assert record["status"] == "in_review" and record["number"] == f"YX2026{did:06d}"
    assert [(i["project_id"], i["project_name"], i["budget_amount"], i["expected_month"]) for i in record["intents"]] == [
        (lab["id"], "实验室设备采购", "800000.00", "2026-12"), (ops["id"], "信息化运维服务", "600000.00", "2027-01")]

    # The project cannot go into a second intent meanwhile.
    other = clerk.start("intent_disclosure", {"items": [item(lab["id"])]})
    assert other["data"]["error_message"] == f"项目 {lab['number']} 已在另一份采购意向中"
    clerk.complete(clerk.task_named("修改采购意向", other["id"])["id"], {"items": [item(lab["id"])], "action": "delete"})

    reject(reviewer, "审核岗审核", iid, "采购需求概况过于简略")
    assert tasks_of(login, iid)["clerk"] == ["修改采购意向"]
    assert disclosure(clerk, did)["review_comment"] == "采购需求概况过于简略"
    detailed = [item(lab["id"], summary="实验室台式计算机 50 台（i7/16G/512G）、显示器 50 台"), item(ops["id"])]
    clerk.complete(clerk.task_named("修改采购意向", iid)["id"], {"items": detailed, "action": "submit"})
    reviewer.complete(reviewer.task_named("审核岗审核", iid)["id"], {"approved": "true", "comment": "同意"})
    assert tasks_of(login, iid) == {"clerk": ["采购意向公开发布"], "reviewer": [], "clerk2": [], "agency": []}
    assert disclosure(clerk, did)["status"] == "reviewed"

    # 撤销 before publishing: back to editing, and through review again.
    clerk.complete(clerk.task_named("采购意向公开发布", iid)["id"], {"publish_action": "revoke"})
    assert disclosure(clerk, did)["status"] == "draft"
    clerk.complete(clerk.task_named("修改采购意向", iid)["id"],
                   {"items": [detailed[0], item(ops["id"], remark="含等保测评")], "action": "submit"})
    reviewer.complete(reviewer.task_named("审核岗审核", iid)["id"], {"approved": "true", "comment": "同意"})
    done = clerk.complete(clerk.task_named("采购意向公开发布", iid)["id"], {"publish_action": "publish"})
    assert done["status"] == "completed"
    assert tasks_of(login, iid) == {r: [] for r in ROLES}
    published = disclosure(clerk, did)
    assert published["status"] == "published" and published["published_at"].startswith("2026-11-20T09:00")
    assert {i["status"] for i in published["intents"]} == {"published"}
    assert published["intents"][1]["remark"] == "含等保测评"
    history = clerk.history(iid)
    assert [e["data"]["topic"] for e in history if e["type"] == "service_task"] == [
        "intent.save", "intent.submit", "intent.return", "intent.save", "intent.submit", "intent.approve",
        "intent.reopen", "intent.save", "intent.submit", "intent.approve", "intent.publish"]
    assert "error_caught" in event_types(history)

    # Published intents never change; a project has at most one.
    again = clerk.start("intent_disclosure", {"items": [item(lab["id"])]})
    assert again["data"]["error_message"] == \
        f"项目 {lab['number']} 已发布过采购意向，发布后无法撤销也无法更正（001 §3.2 注①）"
    from app.models import DomainError, IntentDisclosure
    with app.extensions["db"].Session() as s:
        with pytest.raises(DomainError, match="已发布，发布后无法撤销也无法更正（001 §3.2 注①），不能修改"):
            s.get(IntentDisclosure, did).fill(s, "x", [item(lab["id"])], None)
        with pytest.raises(DomainError, match="已发布"):
            s.get(IntentDisclosure, did).reopen(s)
    # Other units neither see it nor may act on it.
    assert login("clerk2").get(f"/api/intents/{did}").status_code == 404
    assert login("auditor").get(f"/api/intents/{did}").status_code == 200
    # The lists: the unit's own, filtered by status; another unit's list does not have it.
    clerk = login("clerk")
    assert [d["id"] for d in clerk.ok(clerk.get("/api/intents", query_string={"status": "published"}))] == [did]
    assert clerk.ok(clerk.get("/api/intents", query_string={"status": "draft"})) == []
    assert did not in [d["id"] for d in login("clerk2").ok(login("clerk2").get("/api/intents"))]
    assert clerk.get("/api/intents", query_string={"status": "nope"}).status_code == 400


def test_refusals_of_the_projects_picked(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    mine = register_project(clerk, reviewer)
    theirs = register_project(login("clerk2"), login("reviewer2"), budget_line_id=4, amount=100000, justification="")
    draft = clerk.start("project_registration", {**PROJECT, "amount": 6000000})  # over budget: stays a draft
    for items, message in (
            ([item(theirs["id"])], f"第 1 个项目：项目 {theirs['id']} 不存在或不属于本单位"),
            ([item(draft["data"]["project_id"])], "未登记完成（当前状态：录入中），不能公开采购意向"),
            ([item(mine["id"]), item(mine["id"])], "重复选择")):
        instance = clerk.start("intent_disclosure", {"items": items})
        assert message in instance["data"]["error_message"], instance["data"]["error_message"]
        clerk.complete(clerk.task_named("修改采购意向", instance["id"])["id"], {"items": items, "action": "delete"})
    response = clerk.post("/api/processes/intent_disclosure/instances", {"data": {"items": [{"project_id": mine["id"]}]}})
    assert response.status_code == 400  # the form asks for 采购需求概况 and 预计采购时间 (YYYY-MM)
    assert set(response.json["errors"]["items"]["0"]) == {"summary", "expected_month"}
    response = clerk.post("/api/processes/intent_disclosure/instances",
                          {"data": {"items": [item(mine["id"], expected_month="明年")]}})
    assert response.json["errors"]["items"]["0"]["expected_month"] == ["格式不正确"]
    assert login("reviewer").post("/api/processes/intent_disclosure/instances",
                                  {"data": {"items": [item(mine["id"])]}}).status_code == 403


def _publish(login, project_id):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("intent_disclosure", {"items": [item(project_id)]})
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    clerk.complete(clerk.task_named("采购意向公开发布", instance["id"])["id"], {"publish_action": "publish"})


def _tender(app, plan_id):
    from app.models import Tender
    with app.extensions["db"].Session() as s:
        return s.scalars(select(Tender).where(Tender.plan_id == plan_id)).one().to_dict()


def test_announcement_within_30_days_of_the_intent_or_without_one_needs_a_reason(app, clock, login):
    clerk, reviewer, finance, agency = login("clerk"), login("reviewer"), login("finance"), login("agency")
    early_project, early = filed_plan(clerk, reviewer, finance)
    late_project, late = filed_plan(clerk, reviewer, finance)
    _, none = filed_plan(clerk, reviewer, finance)
    _publish(login, early_project["id"])  # 20 November
    _publish(login, late_project["id"])

    clock.advance(days=29)  # 19 December (Beijing): 29 days after the intent
    plan_id = early["data"]["plan_id"]
    response = agency.post("/api/processes/tender_execution/instances", {"data": {"plan_id": plan_id}})
    assert response.status_code == 400
    assert response.json["errors"]["intent_gap_reason"] == [
        "采购意向于 2026-11-20 公开，至今仅 29 日（不足 30 日），发布采购公告须填写“意向未满30天的理由”（001 §3.1 注①）"]
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "filed"  # nothing changed
    agency.start("tender_execution", {"plan_id": plan_id, **GAP})
    assert _tender(app, plan_id)["intent_gap_reason"] == GAP["intent_gap_reason"]

    # No intent at all: the same.
    response = agency.post("/api/processes/tender_execution/instances", {"data": {"plan_id": none["data"]["plan_id"]}})
    assert response.status_code == 400 and "的项目未公开采购意向" in response.json["message"]

    clock.advance(days=1)  # 30 days: no reason needed, none recorded
    tx = agency.start("tender_execution", {"plan_id": late["data"]["plan_id"]})
    assert names(agency.tasks(), tx["id"]) == ["开标或取消采购任务"]
    assert _tender(app, late["data"]["plan_id"])["intent_gap_reason"] == ""

    # 自行采购 needs no intent.
    own = register_project(clerk, reviewer, name="办公设备", amount=200000, implementation_form="self")
    from helpers import apply_plan, approve
    plan = apply_plan(clerk, own["id"], amount=200000, sme_reserved_amount=200000)
    approve(reviewer, "采购单位审核岗审核", plan["id"])
    approve(finance, "财政部门审核", plan["id"])
    agency.start("tender_execution", {"plan_id": plan["data"]["plan_id"]})
    assert _tender(app, plan["data"]["plan_id"])["status"] == "announced"
