"""统招分签 (001 §2.1) end to end, role by role: the lead unit creates and reviews; every member unit responds in its own
task list (响应 reviewed by its own reviewer, or 不响应 with a reason); 归集 early when all answered, or at the deadline
(the timer, driven by the clock) with what was answered — 未归集 when nothing was; 取消归集 and 终止."""
from datetime import datetime, timedelta, timezone

import pytest

from app.engine import starts, timers
from contract_records import PDF, upload
from helpers import apply_plan, approve, event_types, money, names, pause_start_timers, register_project, reject

DEADLINE = "2026-11-27T17:00:00"  # Beijing time
DEADLINE_UTC = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
ROLES = ("clerk", "reviewer", "clerk2", "reviewer2", "clerk3", "reviewer3")
ITEMS = [{"item_name": "学生课桌椅", "unit": "套", "spec": "升降式"}, {"item_name": "教师办公桌", "unit": "张", "spec": ""}]


@pytest.fixture(autouse=True)
def third_unit(app, tmp_path):
    """A third member unit (福清市教育局) with a clerk and a reviewer of its own."""
    from app.models import Unit, UnitGrant, User, UserRole
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")
    pause_start_timers(app)  # the clock moves past the deadline: no yearly or daily start timers join in
    from app.models import BudgetLine
    with app.extensions["db"].Session() as s, s.begin():
        unit = Unit(code="350181", name="福清市教育局", level="county", region="福州市福清市", parent_id=2)
        s.add(unit)
        s.flush()
        s.add(BudgetLine(code="2026-350181-001", name="课桌椅购置", unit_id=unit.id, year=2026, amount=1000000,
                         used_amount=0))
        for username, name, role in (("clerk3", "郑经办", "clerk"), ("reviewer3", "黄审核", "reviewer")):
            user = User(username=username, display_name=name, unit_id=unit.id)
            user.set_password("demo")
            user.roles = [UserRole(role=role)]
            user.grants = [UnitGrant(unit_id=unit.id)]
            s.add(user)
        return unit.id


def unified_data(**overrides):
    data = {"unified_action": "create", "name": "2026年中小学课桌椅统招分签采购", "year": 2026, "category": "goods",
            "items": ITEMS, "execution_plan": "由省教育厅牵头公开招标，各单位分别签订合同、分别验收付款",
            "member_units": [{"unit_id": 1}, {"unit_id": 2}, {"unit_id": 3}], "response_deadline": DEADLINE}
    data.update(overrides)
    return data


def tasks_of(login, instance_ids=None):
    out = {}
    for role in ROLES:
        out[role] = names([t for t in login(role).tasks() if instance_ids is None or t["instance_id"] in instance_ids])
    return out


def plan(api, ident):
    return api.ok(api.get(f"/api/unified-plans/{ident}"))


def created(login, app, clock, **overrides):
    """Created, rejected once, resubmitted, approved; the members' instances started. Returns (instance, plan id)."""
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("unified_procurement", unified_data(**overrides))
    iid = instance["id"]
    pid = instance["data"]["unified_plan_id"]
    assert instance["data"]["response_deadline"] == DEADLINE_UTC.isoformat()
    assert tasks_of(login, {iid}) == {**{r: [] for r in ROLES}, "reviewer": ["牵头单位审核岗审核"]}
    assert plan(clerk, pid)["status"] == "in_review"
    reject(reviewer, "牵头单位审核岗审核", iid, "请写明交货期")
    assert tasks_of(login, {iid}) == {**{r: [] for r in ROLES}, "clerk": ["修改统招分签项目"]}
    clerk.complete(clerk.task_named("修改统招分签项目", iid)["id"], {
        **unified_data(execution_plan="由省教育厅牵头公开招标，2027年2月底前交货，各单位分别签订合同", **overrides),
        "action": "submit"})
    approve(reviewer, "牵头单位审核岗审核", iid)
    assert plan(clerk, pid)["status"] == "responding"
    assert tasks_of(login, {iid}) == {**{r: [] for r in ROLES}, "clerk": ["归集"]}
    assert starts.dispatch(app.extensions["db"], clock()) == 3
    return instance, pid


# Each member unit's own budget line its response (立项) is funded from: 教育厅 1, 福州 4, 福清 6 (the fixture's).
LINES = {"": 1, 2: 4, 3: 6}


def respond(login, unit, quantities, amount, approve_it=True, deadline="2026-11-27 17:00", funds=None):
    clerk, reviewer = login(f"clerk{unit}"), login(f"reviewer{unit}")
    task = clerk.task_named("统招分签项目响应")
    detail = clerk.ok(clerk.get(f"/api/tasks/{task['id']}"))
    assert detail["data"]["lead_unit_name"] == "福建省教育厅" and detail["data"]["response_deadline_text"] == deadline
    clerk.complete(task["id"], {"decision": "respond", "amount": amount,
                                "quantities": [{"item_name": k, "quantity": v} for k, v in quantities.items()],
                                "funds": funds or [{"budget_line_id": LINES[unit], "amount": amount}]})
    if approve_it:
        review = reviewer.task_named("分签单位审核岗审核")
        reviewer.complete(review["id"], {"approved": "true", "comment": "同意"})
    return task["instance_id"]


def decline(login, unit, reason="本单位今年不需要课桌椅"):
    clerk = login(f"clerk{unit}")
    task = clerk.task_named("统招分签项目响应")
    clerk.complete(task["id"], {"decision": "decline", "reason": reason})
    return task["instance_id"]


def test_every_member_answers_then_the_lead_aggregates_early(app, clock, login):
    clerk, clerk2, reviewer2 = login("clerk"), login("clerk2"), login("reviewer2")
    instance, pid = created(login, app, clock)
    iid = instance["id"]
    # Each member unit's clerk sees only its own unit's response task (the lead unit takes part too).
    everyone = tasks_of(login)
    assert everyone["clerk"] == ["归集", "统招分签项目响应"]
    assert everyone["clerk2"] == ["统招分签项目响应"] and everyone["clerk3"] == ["统招分签项目响应"]
    assert everyone["reviewer"] == everyone["reviewer2"] == everyone["reviewer3"] == []
    own = [t for t in clerk2.tasks() if t["name"] == "统招分签项目响应"][0]
    assert own["due_at"] == DEADLINE_UTC.isoformat() and clerk.task_named("归集", iid)["due_at"] == DEADLINE_UTC.isoformat()
    assert own["unit_id"] == 2 and login("clerk3").post(f"/api/tasks/{own['id']}/complete",
                                                        {"data": {"decision": "decline", "reason": "x"}}).status_code == 404

    # 归集 before every unit answered is refused with the rule.
    task = clerk.task_named("归集", iid)
    response = clerk.post(f"/api/tasks/{task['id']}/complete", {"data": {}})
    assert response.status_code == 409
    assert response.json["message"] == ("尚有 3 家单位未响应（福建省教育厅、福州市教育局、福清市教育局），须全部单位响应（已响应或不响应）"
                                         "后才能提前归集，否则在响应截止时间 2026-11-27 17:00 到达后归集（001 §2.1.4）")

    # 福州: responds, its reviewer rejects once, responds again, approved.
    member = respond(login, 2, {"学生课桌椅": 300, "教师办公桌": 20}, 186000, approve_it=False)
    assert names(reviewer2.tasks(), member) == ["分签单位审核岗审核"] and names(login("reviewer").tasks(), member) == []
    reject(reviewer2, "分签单位审核岗审核", member, "数量与学校上报不符")
    again = clerk2.task_named("统招分签项目响应", member)
    detail = clerk2.ok(clerk2.get(f"/api/tasks/{again['id']}"))
    assert detail["data"]["comment"] == "数量与学校上报不符"
    assert detail["data"]["quantities"] == [{"item_name": "学生课桌椅", "quantity": 300}, {"item_name": "教师办公桌", "quantity": 20}]
    bad = clerk2.complete(again["id"], {"decision": "respond", "amount": 180000, "quantities": [
        {"item_name": "学生课桌椅", "quantity": 0}, {"item_name": "教师办公桌", "quantity": 0}]})
    assert bad["data"]["error_message"] == "货物类统招分签请填写各采购内容的响应数量（至少一项大于 0）"
    respond(login, 2, {"学生课桌椅": 280, "教师办公桌": 20}, 175000)
    # 福清: 不响应 with a reason — no review; the lead unit itself responds.
    decline(login, 3)
    respond(login, "", {"学生课桌椅": 500, "教师办公桌": 40}, 320000)
    assert tasks_of(login) == {**{r: [] for r in ROLES}, "clerk": ["归集"]}

    done = clerk.complete(clerk.task_named("归集", iid)["id"], {"aggregate_note": "各单位均已响应"})
    assert done["status"] == "completed" and done["data"]["aggregated"] is True
    record = plan(clerk, pid)
    assert record["status"] == "aggregated" and money(record["total_amount"]) == money(495000)
    assert record["totals"] == [{"item_name": "学生课桌椅", "quantity": 780}, {"item_name": "教师办公桌", "quantity": 60}]
    assert [(r["unit_id"], r["status"]) for r in record["responses"]] == [(1, "responded"), (2, "responded"),
                                                                           (3, "declined")]
    assert record["responses"][2]["reason"] == "本单位今年不需要课桌椅"
    # A member unit sees the plan and only its own response; other units nothing.
    seen = plan(clerk2, pid)
    assert [r["unit_id"] for r in seen["responses"]] == [2]
    assert login("auditor").get(f"/api/unified-plans/{pid}").status_code == 200
    # The list: the lead's and each asked member's, with the same view of the responses.
    listed = clerk2.ok(clerk2.get("/api/unified-plans", query_string={"status": "aggregated"}))
    assert [(p["id"], [r["unit_id"] for r in p["responses"]]) for p in listed] == [(pid, [2])]
    assert [p["id"] for p in clerk.ok(clerk.get("/api/unified-plans"))] == [pid]
    history = clerk.history(iid)
    assert [e["data"]["topic"] for e in history if e["type"] == "service_task"] == [
        "unified.save", "unified.submit", "unified.return", "unified.save", "unified.submit",
        "unified.open_responses", "unified.aggregate"]
    assert event_types(history)[-1] == "instance_completed"


def test_deadline_timer_aggregates_what_was_answered_and_ends_the_rest(app, clock, login):
    db = app.extensions["db"]
    clerk = login("clerk")
    instance, pid = created(login, app, clock)
    respond(login, 2, {"学生课桌椅": 200}, 120000)
    unanswered = respond(login, "", {"学生课桌椅": 100}, 60000, approve_it=False)  # still in its unit's review

    clock.now = DEADLINE_UTC - timedelta(seconds=1)
    assert timers.run_due(db, clock(), "a") == 0
    clock.now = DEADLINE_UTC + timedelta(seconds=1)
    assert timers.run_due(db, clock(), "a") == 1
    assert timers.run_due(db, clock(), "b") == 0  # once
    record = plan(clerk, pid)
    assert record["status"] == "aggregated" and money(record["total_amount"]) == money(120000)
    assert [(r["unit_id"], r["status"]) for r in record["responses"]] == [(1, "expired"), (2, "responded"), (3, "expired")]
    assert tasks_of(login) == {r: [] for r in ROLES}  # the 归集 task and the unanswered units' tasks are gone
    detail = clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))
    assert detail["status"] == "completed" and detail["data"]["aggregated"] is True
    assert "timer_fired" in event_types(clerk.history(instance["id"]))
    member = clerk.ok(clerk.get(f"/api/instances/{unanswered}"))
    assert member["status"] == "cancelled"
    assert clerk.history(unanswered)[-1]["data"]["by_instance"] == instance["id"]


def test_nobody_answered_by_the_deadline_ends_not_aggregated(app, clock, login):
    clerk = login("clerk")
    instance, pid = created(login, app, clock)
    clock.now = DEADLINE_UTC + timedelta(minutes=1)
    assert timers.run_due(app.extensions["db"], clock(), "a") == 1
    record = plan(clerk, pid)
    assert record["status"] == "not_aggregated" and record["status_label"] == "未归集"
    assert {r["status"] for r in record["responses"]} == {"expired"}
    detail = clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))
    assert detail["status"] == "completed" and detail["data"]["aggregated"] is False
    assert tasks_of(login) == {r: [] for r in ROLES}


def test_cancel_aggregation_while_no_plan_uses_it_then_terminate(app, clock, login):
    clerk, reviewer, clerk2 = login("clerk"), login("reviewer"), login("clerk2")
    lead_project = register_project(clerk, reviewer, name="课桌椅统招分签采购项目")
    instance, pid = created(login, app, clock, project_id=lead_project["id"])
    decline(login, 3)
    respond(login, 2, {"学生课桌椅": 200}, 120000)
    respond(login, "", {"学生课桌椅": 100}, 60000)
    clerk.complete(clerk.task_named("归集", instance["id"])["id"], {})
    assert plan(clerk, pid)["status"] == "aggregated"

    # 取消归集 needs a new deadline in the future.
    cancel = {"unified_action": "cancel_aggregation", "unified_plan_id": pid}
    response = clerk.post("/api/processes/unified_procurement/instances",
                          {"data": {**cancel, "response_deadline": "2026-11-01T17:00:00"}})
    assert response.status_code == 400
    assert response.json["errors"]["response_deadline"] == ["响应截止时间应晚于当前时间"]
    assert plan(clerk, pid)["status"] == "aggregated"
    # Then every member answers again by the new deadline (their previous answers shown).
    again = clerk.start("unified_procurement", {**cancel, "response_deadline": "2026-12-04T17:00"})
    record = plan(clerk, pid)
    assert (record["status"], record["round"], money(record["total_amount"])) == ("responding", 2, money(0))
    assert record["response_deadline"].startswith("2026-12-04T09:00:00")
    assert {r["status"] for r in record["responses"]} == {"pending"}
    assert names(clerk.tasks(), again["id"]) == ["归集"]
    assert starts.dispatch(app.extensions["db"], clock()) == 3
    task = clerk2.task_named("统招分签项目响应")
    assert clerk2.ok(clerk2.get(f"/api/tasks/{task['id']}"))["data"]["quantities"][0] == {
        "item_name": "学生课桌椅", "quantity": 200}
    respond(login, 2, {"学生课桌椅": 260}, 150000, deadline="2026-12-04 17:00")
    decline(login, 3)
    decline(login, "", "已另行采购")
    clerk.complete(clerk.task_named("归集", again["id"])["id"], {})
    record = plan(clerk, pid)
    assert record["status"] == "aggregated" and money(record["total_amount"]) == money(150000)
    assert record["totals"][0] == {"item_name": "学生课桌椅", "quantity": 260}

    # A plan on the lead's project uses it now: neither 取消归集 nor 终止.
    used = apply_plan(clerk, lead_project["id"], plan_type="unified", amount=150000, sme_reserved_amount=150000)
    assert names(reviewer.tasks(), used["id"]) == ["采购单位审核岗审核"]
    number = used["data"]["plan_number"]
    response = clerk.post("/api/processes/unified_procurement/instances",
                          {"data": {**cancel, "response_deadline": "2026-12-10"}})
    assert response.status_code == 409 and response.json["message"] == (
        f"统招分签项目 {record['number']} 已被采购计划 {number} 使用，不能取消归集")
    note = upload(clerk, PDF, "终止说明.pdf", record_type="project", record_id=lead_project["id"])["id"]
    terminate = {"unified_action": "terminate", "unified_plan_id": pid, "reason": "经费调整",
                 "termination_attachment_ids": [note]}
    response = clerk.post("/api/processes/unified_procurement/instances", {"data": terminate})
    assert response.status_code == 409 and "不能终止" in response.json["message"]


def test_terminate_while_members_respond(app, clock, login):
    clerk = login("clerk")
    instance, pid = created(login, app, clock)
    respond(login, 2, {"学生课桌椅": 200}, 120000)
    response = clerk.post("/api/processes/unified_procurement/instances",
                          {"data": {"unified_action": "terminate", "unified_plan_id": pid, "reason": "经费调整"}})
    assert response.status_code == 400 and response.json["errors"]["termination_attachment_ids"] == ["请上传项目终止说明附件"]
    note = upload(clerk, PDF, "终止说明.pdf", instance_id=instance["id"])["id"]
    done = clerk.start("unified_procurement", {"unified_action": "terminate", "unified_plan_id": pid,
                                               "reason": "经费调整，本年度不再统一采购", "termination_attachment_ids": [note]})
    assert done["status"] == "completed"
    record = plan(clerk, pid)
    assert record["status"] == "terminated" and record["termination_reason"] == "经费调整，本年度不再统一采购"
    assert [a["attachment_id"] for a in record["attachments"]] == [note]
    assert [(r["unit_id"], r["status"]) for r in record["responses"]] == [(1, "expired"), (2, "responded"),
                                                                           (3, "expired")]
    assert tasks_of(login) == {r: [] for r in ROLES}  # the lead's 归集 and the open responses ended
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "cancelled"
    response = clerk.post("/api/processes/unified_procurement/instances",
                          {"data": {"unified_action": "terminate", "unified_plan_id": pid, "reason": "再次",
                                    "termination_attachment_ids": [note]}})
    assert response.status_code == 409 and "已终止" in response.json["message"]


def test_create_refusals(app, clock, login):
    clerk = login("clerk")
    for overrides, message in (({"member_units": []}, "请选择参与统招分签的单位（默认包括牵头单位）"),
                               ({"member_units": [{"unit_id": 99}]}, "分签单位 99 不存在"),
                               ({"response_deadline": "2026-11-19T17:00:00"}, "响应截止时间应晚于当前时间"),
                               ({"items": []}, "请至少填写一项采购内容")):
        instance = clerk.start("unified_procurement", unified_data(**overrides))
        assert instance["data"]["error_message"] == message
        assert names(clerk.tasks(), instance["id"]) == ["修改统招分签项目"]
        clerk.complete(clerk.task_named("修改统招分签项目", instance["id"])["id"], {**unified_data(), "action": "delete"})
    assert login("reviewer").post("/api/processes/unified_procurement/instances",
                                  {"data": unified_data()}).status_code == 403
    assert login("clerk2").post("/api/processes/unified_response/instances", {"data": {}}).status_code == 403
