"""The stranded-instance guard (issue 14): running instances nobody and nothing can move, found with the reason,
shown to administrators and auditors (API and 审计 page), recorded daily as incidents by the scheduler."""
from sqlalchemy import select

from app.engine import stranded
from app.models import Incident, User
from helpers import Api, Web, register_project


def _set_active(app, username, active):
    with app.extensions["db"].Session() as s, s.begin():
        s.scalars(select(User).where(User.username == username)).one().active = active


def _found(app, clock):
    with app.extensions["db"].Session() as s:
        return stranded.find_stranded(s, clock())


def _incidents(app):
    with app.extensions["db"].Session() as s:
        return [(i.instance_id, i.status) for i in s.scalars(select(Incident).where(
            Incident.kind == stranded.INCIDENT_KIND).order_by(Incident.id))]


def test_a_review_nobody_may_hold_is_found_shown_and_recorded(app, clock, login):
    clerk2, reviewer2, leader2 = login("clerk2"), login("reviewer2"), login("leader2")
    project = register_project(clerk2, reviewer2, budget_line_id=4, amount=300000, region="福州市")
    revocation = clerk2.start("project_revocation", {"project_id": project["id"], "reason": "需求取消"})
    # The city unit has its own 需求领导 in the demo data: the revocation is in someone's list.
    assert [t["name"] for t in leader2.tasks() if t["instance_id"] == revocation["id"]] == ["需求领导审核"]
    assert _found(app, clock) == []

    _set_active(app, "leader2", False)
    assert _found(app, clock) == []  # the unit's clerks may still 撤回 (withdraw) the request
    _set_active(app, "clerk2", False)
    [found] = _found(app, clock)
    assert (found["instance_id"], found["key"], found["name"]) == (revocation["id"], "project_revocation", "采购项目撤销")
    assert found["tasks"] == ["需求领导审核"]
    assert "待办“需求领导审核”的候选岗位（需求领导）在本单位没有在岗用户" in found["reason"]

    for role in ("admin", "auditor"):
        listed = login(role).ok(login(role).get("/api/stranded"))
        assert [(s["instance_id"], s["reason"]) for s in listed] == [(revocation["id"], found["reason"])]
    assert "等待消息“withdraw”" in found["reason"] and "采购单位经办岗" in found["reason"]
    response = login("clerk").get("/api/stranded")
    assert response.status_code == 403 and "系统管理员和审计" in response.json["message"]
    page = Web(app, "auditor").get("/audit/stranded").get_data(as_text=True)
    assert f'data-instance-id="{revocation["id"]}"' in page and "在本单位没有在岗用户" in page
    assert Web(app, "clerk").get("/audit/stranded").status_code == 403

    # The daily job: one incident per stranded instance, never a second while one is open.
    db = app.extensions["db"]
    assert stranded.run_daily(db, clock())["stranded"] == [revocation["id"]]
    assert stranded.run_daily(db, clock())["incidents"] == []
    assert _incidents(app) == [(revocation["id"], "open")]
    assert "每日检查发现 1 个实例" in Web(app, "auditor").get("/audit").get_data(as_text=True)
    with db.Session() as s:
        assert "需求领导" in s.scalars(select(Incident.error).where(Incident.kind == stranded.INCIDENT_KIND)).one()

    # Someone may hold it again: the next run resolves the incident.
    _set_active(app, "leader2", True)
    _set_active(app, "clerk2", True)
    assert _found(app, clock) == []
    assert stranded.run_daily(db, clock()) == {"stranded": [], "incidents": []}
    assert _incidents(app) == [(revocation["id"], "resolved")]
    leader2 = Api(app, "leader2")
    leader2.complete(leader2.task_named("需求领导审核", revocation["id"])["id"], {"approved": "true", "comment": "同意"})


def test_a_message_the_initiator_may_send_keeps_it_movable(app, clock, login):
    """Review waiting for a reviewer nobody is: the submitter may still 撤回 (withdraw) — until they cannot either."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    plan = clerk.start("plan_application", {"year": 2026, "project_id": project["id"], "method": "open_tender",
                                            "amount": 100000, "sme_reserved_amount": 100000, "action": "submit"})
    _set_active(app, "reviewer", False)
    assert _found(app, clock) == []  # the clerk who submitted may withdraw it
    _set_active(app, "clerk", False)
    [found] = _found(app, clock)
    assert found["instance_id"] == plan["id"]
    assert "等待消息“withdraw”" in found["reason"] and "采购单位审核岗" in found["reason"]
    _set_active(app, "clerk", True)
    _set_active(app, "reviewer", True)
    assert _found(app, clock) == []


def test_a_task_claimed_by_someone_gone(app, clock, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {"name": "办公设备", "year": 2026, "category": "goods",
                                                   "amount": 100000, "budget_line_id": 1, "region": "福建省本级",
                                                   "implementation_form": "agency"})
    task = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.ok(reviewer.post(f"/api/tasks/{task['id']}/claim"))
    _set_active(app, "reviewer", False)
    [found] = _found(app, clock)
    assert "已由 reviewer 签收，该用户已停用或不能在本单位处理" in found["reason"]
    _set_active(app, "reviewer", True)
    reviewer = Api(app, "reviewer")
    reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})


def test_waiting_on_a_timer_is_not_stranded(app, clock, login):
    campaign = login("finance").start("year_end_campaign", {"year": 2026, "reminder_days": 7})
    assert campaign["status"] == "running" and campaign["tasks"] == []
    assert _found(app, clock) == []
