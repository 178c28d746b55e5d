"""The year-end campaign (年终处理, seed 000) end to end: classify, one instance per item, every role, reminders."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.engine import starts, timers
from app.models import (BudgetLine, Contract, JointMember, Plan, Project, ProjectFund, Requirement, StartRequest,
                        Tender)
from app.models.year_end import YearEndItem
from helpers import PROJECT, Api, Web, approve, pause_start_timers

CHINA = timezone(timedelta(hours=8))
CONTRACT = {"name": "年终测试合同", "amount": 100000, "signed_date": "2026-11-18",
            "suppliers": [{"name": "福州某科技有限公司", "credit_code": "91350100MA0000000L", "is_sme": True}],
            "accounts": [{"bank": "中国银行福州分行", "account_name": "福州某科技有限公司", "account_number": "6217000000000001"}],
            "items": [{"item_name": "设备", "quantity": 1, "unit_price": 100000}],
            "payment_schedule": [{"phase": "一次性付款", "amount": 100000}], "text_ref": "file-ye-0001"}


class Seed:
    """Records in every state seed 000 names, written directly (as a year of real work would leave them)."""

    def __init__(self, session):
        self.s = session
        self.big = self._line(1, "2026-YE-001", 100_000_000)
        self.big2 = self._line(2, "2026-YE-002", 10_000_000)
        self.n = 0

    def _line(self, unit_id, code, amount):
        line = BudgetLine(code=code, name="年终测试指标", unit_id=unit_id, year=2026, fund_type="general",
                          amount=Decimal(amount), used_amount=Decimal(0))
        self.s.add(line)
        self.s.flush()
        return line

    def project(self, amount=100000, unit_id=1, requirement=False):
        self.n += 1
        line = self.big if unit_id == 1 else self.big2
        project = Project(number=f"XMYE{self.n:04d}", name=f"年终测试项目{self.n}", unit_id=unit_id, year=2026,
                          category="goods", amount=Decimal(amount), status="registered", items=[])
        project.funds = [ProjectFund(budget_line_id=line.id, amount=Decimal(amount))]
        line.used_amount += Decimal(amount)
        self.s.add(project)
        self.s.flush()
        if requirement:
            self.s.add(Requirement(unit_id=unit_id, project_id=project.id, status="final", title="需求",
                                   content="技术要求"))
        return project

    def plan(self, project, status, plan_type="project", amount=None):
        plan = Plan(number=f"JHYE{project.id:04d}", name=project.name, unit_id=project.unit_id, year=2026,
                    plan_type=plan_type, project_id=project.id, category="goods", method="open_tender",
                    amount=Decimal(amount or project.amount), sme_reserved_amount=Decimal(0), sme_reason="",
                    status=status)
        self.s.add(plan)
        self.s.flush()
        return plan

    def tender(self, plan, status, result="none"):
        tender = Tender(number=f"JYYE{plan.id:04d}", title=plan.name, plan_id=plan.id, unit_id=plan.unit_id,
                        status=status, result=result, cancel_requested=False, termination="none", reason="",
                        announced_at=datetime(2026, 10, 1, tzinfo=timezone.utc))
        self.s.add(tender)
        return tender

    def contract(self, plan, status):
        contract = Contract.new_draft(self.s, plan, plan.unit_id, dict(CONTRACT))
        contract.status = status
        return contract


def seed(app):
    with app.extensions["db"].Session() as s, s.begin():
        seed = Seed(s)
        p = {}
        p["1.1a"], p["1.1b"] = seed.project(), seed.project()
        for key, req in (("1.2a", False), ("1.2b", True)):
            p[key] = seed.project(requirement=req)
        p["1.3project"] = seed.project(requirement=True)
        seed.plan(p["1.3project"], "filed", "project")
        p["1.3emall"] = seed.project()
        seed.plan(p["1.3emall"], "filed", "emall")
        p["1.3no_process"] = seed.project()
        seed.plan(p["1.3no_process"], "filed", "no_process")
        p["1.3contract"] = seed.project()
        seed.contract(seed.plan(p["1.3contract"], "filed", "no_process"), "draft")
        p["1.3joint"] = seed.project()
        joint = seed.plan(p["1.3joint"], "filed", "joint")
        member = seed.project(unit_id=2)
        s.add(JointMember(plan_id=joint.id, unit_id=2, project_id=member.id))
        p["member"] = member
        for key in ("1.4a", "1.4b"):
            p[key] = seed.project()
            seed.tender(seed.plan(p[key], "used"), "announced")
        p["1.5opened"] = seed.project()
        seed.tender(seed.plan(p["1.5opened"], "used"), "opened")
        for key in ("1.5contract_a", "1.5contract_b"):
            p[key] = seed.project()
            plan = seed.plan(p[key], "used")
            seed.tender(plan, "awarded", "awarded")
            seed.contract(plan, "filed")
        for key in ("1.6a", "1.6b"):
            p[key] = seed.project()
            seed.tender(seed.plan(p[key], "used"), "opened", "failed")
        for key in ("1.7a", "1.7b"):
            p[key] = seed.project(requirement=True)
            seed.plan(p[key], "draft")
        ids, big = {k: v.id for k, v in p.items()}, seed.big.id
    _in_review(app, ids, big)
    return ids, big


def _in_review(app, ids, big):
    """一(二) plans and 二(二)1 a project still in review, as the unit's clerk left them: each with the procedure
    that holds it (plan 1.2b already past the unit reviewer, waiting at 财政部门审核)."""
    clerk, reviewer = Api(app, "clerk"), Api(app, "reviewer")
    for key in ("1.2a", "1.2b"):
        plan = clerk.start("plan_application", {"year": 2026, "project_id": ids[key], "method": "open_tender",
                                                "amount": 100000, "sme_reserved_amount": 100000, "action": "submit"})
        ids[f"{key}_instance"] = plan["id"]
    approve(reviewer, "采购单位审核岗审核", ids["1.2b_instance"])
    registration = clerk.start("project_registration", {**PROJECT, "amount": 50000, "budget_line_id": big})
    ids["2.2.1"], ids["2.2.1_instance"] = registration["data"]["project_id"], registration["id"]


def _task_data(user, task):
    """What each role enters at each seed step."""
    name = task["name"]
    data = user.ok(user.get(f"/api/tasks/{task['id']}"))["data"]
    if name in ("需求领导审核", "审核岗审核", "财政业务处室审核", "采购人确认取消采购任务", "合同审核",
                "采购人确认废标公告"):
        return {"approved": "true", "comment": "同意"}
    if name.endswith("退回计划") or name == "代理机构退回采购计划":
        return {"comment": "年终处理退回"}
    if name in ("删除暂存的采购计划", "12月31日前完成合同备案"):
        return {"confirmed": "yes"}
    if name == "确认继续开展采购活动":
        return {"acknowledged": "yes"}
    if name == "修改撤销申请":  # 000 一(一)(三): the clerk enters the reason of the revocation
        return {"reason": f"年终处理：{user.username}录入的撤销原因", "action": "submit"}
    if name == "取消采购任务（年终处理）":
        return {"decision": "cancel", "reason": "财政性资金年终收回，取消采购"}
    if name == "发起废标公告（年终处理）":
        return {"decision": "publish", "reason": "招标失败，本年度不再重新采购"}
    if name == "流标重招终止申请":
        return {"reason": "财政资金年终收回，本年度不再采购"}
    if name == "录入终止采购计划":
        return {"explanation": "年终处理：终止采购计划"}
    if name == "录入资金调整":
        return {k: data.get(k) for k in ("kind", "amount", "budget_line_id", "to_budget_line_id") if data.get(k)}
    if name == "在预算管理一体化系统中调整采购预算":
        return {"note": "已在预算管理一体化系统调整"}
    if name == "申请政府采购保障性资金":
        return {"fund_type": "general", "amount": data["amount"], "guarantee_code": f"2026-BZ-{data['project_id']}"}
    if name in ("流标重招终止操作", "确认年终处理情况", "发布合同公告", "合同备案"):
        return {}
    raise AssertionError(f"no test data for task {name!r}")


def play(users, skip=()):
    """Every role completes every open task until none is left (except those named in ``skip``)."""
    done = []
    for _ in range(60):
        progressed = False
        for user in users:
            for task in user.tasks():
                if task["name"] in skip:
                    continue
                user.complete(task["id"], _task_data(user, task))
                done.append((user.username, task["name"]))
                progressed = True
        if not progressed:
            return done
    raise AssertionError("tasks keep coming")


@pytest.fixture
def campaign(app, clock, login):
    ids, big = seed(app)
    finance = login("finance")
    instance = finance.start("year_end_campaign", {"year": 2026, "reminder_days": 7})
    return ids, big, instance


def _status(app, model, ident):
    with app.extensions["db"].Session() as s:
        return s.get(model, ident).status


def _plan_of(app, project_id):
    with app.extensions["db"].Session() as s:
        return s.scalars(select(Plan).where(Plan.project_id == project_id)).one()


def test_campaign_classifies_every_category(app, campaign, login):
    ids, _, instance = campaign
    assert instance["data"]["items_found"] == instance["data"]["items_new"]
    report = login("finance").ok(login("finance").get("/api/year-end/2026"))
    found = {c["category"]: c["found"] for c in report["categories"]}
    assert found["1.1"] == 2 and found["1.2"] == 2 and found["1.3"] == 5 and found["1.4"] == 2
    assert found["1.5"] == 3 and found["1.6"] == 2 and found["1.7"] == 2
    assert found["2.1"] == 5  # the demo lines and none of the seeded ones
    assert found["2.2.3"] == 2 and found["2.2.1"] + found["2.2.2"] >= 2
    assert found["unclassified"] == 0 and report["unclassified"] == []
    joint_member_item = [i for i in report["items"] if i["record_type"] == "project" and i["record_id"] == ids["member"]]
    assert joint_member_item == []  # a member's project is not unfinished on its own while the joint plan lives


def test_campaign_played_to_the_end(app, clock, campaign, login):
    ids, big, campaign_instance = campaign
    users = [login(u) for u in ("clerk", "reviewer", "leader", "finance", "agency", "clerk2", "reviewer2", "leader2")]
    assert starts.dispatch(app.extensions["db"], clock()) > 0
    clerk, reviewer, finance, agency = login("clerk"), login("reviewer"), login("finance"), login("agency")
    names = {t["name"] for t in clerk.tasks()}
    # Each clerk finds the seed's step names in the task list.
    assert {"删除暂存的采购计划", "确认继续开展采购活动", "12月31日前完成合同备案", "在预算管理一体化系统中调整采购预算",
            "申请政府采购保障性资金", "联系当前环节退回并删除采购计划", "联系当前环节退回并删除采购项目"} <= names
    # 一(四)/(六): the agency gets the tasks; nothing is cancelled or published in the system's name.
    assert {t["name"] for t in agency.tasks()} >= {"代理机构退回采购计划", "取消采购任务（年终处理）", "发起废标公告（年终处理）"}
    assert "采购人确认取消采购任务" not in names and "采购人确认废标公告" not in names
    with app.extensions["db"].Session() as s:
        assert {t.cancel_requested or t.failure_requested for t in s.scalars(select(Tender))} == {False}

    _unapproved_plans_and_project(app, ids, big, clerk, reviewer, finance)

    # The no-process plan's unfiled contract must be filed first: confirming too early is refused.
    task = clerk.task_named("12月31日前完成合同备案")
    after = clerk.complete(task["id"], {"confirmed": "yes"})
    assert "合同尚未备案" in after["data"]["error_message"]
    contract_id = after["data"]["contract_id"]
    filing = clerk.start("contract_filing", {**CONTRACT, "plan_id": _plan_of(app, ids["1.3contract"]).id,
                                             "contract_id": contract_id, "action": "submit"})
    play(users, skip={"确认年终处理情况"})
    assert _status(app, Contract, contract_id) == "filed"
    assert login("clerk").ok(login("clerk").get(f"/api/instances/{filing['id']}"))["status"] == "completed"
    starts.dispatch(app.extensions["db"], clock())  # the joint members' project revocations
    play(users, skip={"确认年终处理情况"})
    budget = _budget_system(app, login)
    _budget_system_issues_guarantees(budget)
    play(users, skip={"确认年终处理情况"})

    revoked = ("1.1a", "1.1b", "1.2a", "1.2b", "1.3project", "1.3emall", "1.3no_process", "1.3joint", "member",
               "1.7a", "1.7b")
    for key in revoked:
        assert _status(app, Project, ids[key]) == "revoked", key
    assert _status(app, Project, ids["2.2.1"]) == "deleted"
    _revocations_entered_by_the_clerks(app, ids)
    with app.extensions["db"].Session() as s:  # 一(四)/(六) were started by the agency, confirmed by the purchaser
        from app.models import HistoryEvent
        steps = {(e.data["topic"], e.actor) for e in s.scalars(select(HistoryEvent).where(
            HistoryEvent.type == "service_task")) if e.data["topic"] in (
            "tender.start_cancellation", "tender.confirm_cancellation", "tender.request_failure_notice",
            "tender.publish_failure")}
        assert steps == {("tender.start_cancellation", "agency"), ("tender.confirm_cancellation", "clerk"),
                         ("tender.request_failure_notice", "agency"), ("tender.publish_failure", "clerk")}
    for key in ("1.2a", "1.2b", "1.7a", "1.7b"):
        assert _plan_of(app, ids[key]).status == "deleted", key
    for key in ("1.3project", "1.3emall", "1.3no_process", "1.3joint"):
        assert _plan_of(app, ids[key]).status == "revoked", key
    for key in ("1.4a", "1.4b", "1.6a", "1.6b"):
        plan = _plan_of(app, ids[key])
        assert plan.status == "terminated", key
        with app.extensions["db"].Session() as s:
            tender = s.scalars(select(Tender).where(Tender.plan_id == plan.id)).one()
            assert (tender.status, tender.termination) == (
                ("cancelled" if key.startswith("1.4") else "failed"), "performed"), key
            project = s.get(Project, ids[key])
            assert project.amount == 0 and project.recovered_amount == Decimal(100000)
    for key in ("1.5opened", "1.5contract_a", "1.5contract_b", "1.3contract"):
        assert _plan_of(app, ids[key]).status == "used", key
        assert _status(app, Project, ids[key]) == "registered"
    with app.extensions["db"].Session() as s:
        assert {r.status for r in s.scalars(select(Requirement))} == {"void"}
        # 二(二)3: the contracts' funds moved to guarantee lines; the original line is released.
        for key in ("1.5contract_a", "1.5contract_b"):
            funds = s.get(Project, ids[key]).funds
            assert len(funds) == 1 and funds[0].budget_line_id != big
        live = sum((f.amount for f in s.scalars(select(ProjectFund).join(Project).where(
            ProjectFund.budget_line_id == big, Project.status == "registered"))), Decimal(0))
        assert s.get(BudgetLine, big).used_amount == live == Decimal(200000)  # 1.3contract and 1.5opened remain
        assert s.get(BudgetLine, big).used_amount == sum(
            (p.amount for p in s.scalars(select(Project).where(Project.status == "registered",
                                                              Project.id.in_([ids["1.3contract"],
                                                                              ids["1.5opened"]])))), Decimal(0))

    _budget_system_acknowledges(budget)
    report = login("finance").ok(login("finance").get("/api/year-end/2026"))
    for row in report["categories"]:
        if row["procedure"]:
            assert row["done"] == row["found"] and row["blocked"] == 0, row
    adjustable = {b["code"] for b in report["budgets"] if b["adjustable"]}
    assert {"2026-350001-002", "2026-350001-003"} <= adjustable and "2026-YE-001" not in adjustable
    assert [t["name"] for t in login("finance").tasks() if t["instance_id"] == campaign_instance["id"]] == []


def _budget_system(app, login):
    """The budget system as an integration client: ``budget(method, path, json=…)`` calls /api/integration/v1."""
    admin = login("admin")
    key = admin.ok(admin.post("/api/integration-clients", {"name": "预算管理一体化系统"}), 201)["api_key"]
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    return lambda method, path, **kw: getattr(client, method)("/api/integration/v1" + path, headers=headers, **kw)


def _budget_system_issues_guarantees(budget):
    """二(二)3: finance approved the guarantee requests; the year-end instances wait until the budget system
    issues the funds (its acknowledgement), then replace the contracts' funds and ask for the reduction."""
    pending = [r for r in budget("get", "/budget-requests?acknowledged=false").json if r["kind"] == "guarantee"]
    assert len(pending) == 2 and {r["status"] for r in pending} == {"approved"}
    for request in pending:
        done = budget("post", f"/budget-requests/{request['id']}/acknowledge", json={"note": "已下达"})
        assert done.status_code == 200 and len(done.json["instances_moved_on"]) == 1, done.json


def _budget_system_acknowledges(budget):
    """二: the budget system reads the adjust/reduce requests through the integration API and acknowledges each;
    the year-end instances waiting for it end."""
    pending = budget("get", "/budget-requests?acknowledged=false").json
    assert {r["kind"] for r in pending} == {"adjust", "reduce"}
    for request in pending:
        done = budget("post", f"/budget-requests/{request['id']}/acknowledge", json={})
        assert done.status_code == 200, done.json
        assert done.json["instances_moved_on"]


def _unapproved_plans_and_project(app, ids, big, clerk, reviewer, finance):
    """一(二) and 二(二)1: the current step's operator returns the record in its own review; the clerk deletes it
    there; only then does the clerk's year-end task go on. Nobody else's pending review is cancelled."""
    early = clerk.complete(clerk.task_named("联系当前环节退回并删除采购计划")["id"], {"confirmed": "yes"})
    message = early["data"]["error_message"]
    assert "尚未删除" in message and "当前环节" in message
    # plan 1.2b waits at 财政部门审核: finance still has it; the unit reviewer has no year-end task to return it.
    assert "财政部门审核" in [t["name"] for t in finance.tasks() if t["instance_id"] == ids["1.2b_instance"]]
    assert [t for t in reviewer.tasks() if "退回" in t["name"]] == []
    for key, who, step in (("1.2a", reviewer, "采购单位审核岗审核"), ("1.2b", finance, "财政部门审核")):
        who.complete(who.task_named(step, ids[f"{key}_instance"])["id"],
                     {"approved": "false", "comment": "年终处理：退回至录入岗"})
        edit = clerk.task_named("编辑采购计划", ids[f"{key}_instance"])
        data = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]
        clerk.complete(edit["id"], {**{k: data[k] for k in ("year", "project_id", "method", "amount")}, "action": "delete"})
        assert _plan_of(app, ids[key]).status == "deleted"
    with app.extensions["db"].Session() as s:
        used = s.get(BudgetLine, big).used_amount
    reviewer.complete(reviewer.task_named("审核岗审核", ids["2.2.1_instance"])["id"],
                      {"approved": "false", "comment": "年终处理：退回至录入岗"})
    clerk.complete(clerk.task_named("修改项目登记", ids["2.2.1_instance"])["id"], {**PROJECT, "action": "delete"})
    assert _status(app, Project, ids["2.2.1"]) == "deleted"
    with app.extensions["db"].Session() as s:
        assert s.get(BudgetLine, big).used_amount == used - Decimal(50000)  # 二(二)1: the budget is unused again
    for key in ("1.2a", "1.2b", "2.2.1"):  # the procedures that held them ended where they were deleted
        assert clerk.ok(clerk.get(f"/api/instances/{ids[key + '_instance']}"))["status"] == "completed", key
    for name in ("联系当前环节退回并删除采购计划", "联系当前环节退回并删除采购项目"):
        for task in [t for t in clerk.tasks() if t["name"] == name]:
            done = clerk.complete(task["id"], {"confirmed": "yes"})
            assert not done["data"].get("error_message"), done["data"]


def _revocations_entered_by_the_clerks(app, ids):
    """000 一(一)(三): every project and plan revocation of the campaign carries the reason its clerk entered."""
    from app.models import HistoryEvent, ProcessInstance
    with app.extensions["db"].Session() as s:
        entries = [e for e in s.scalars(select(HistoryEvent).join(ProcessInstance).where(
            ProcessInstance.business_key.like("ye2026:%") | ProcessInstance.business_key.like("joint%"),
            HistoryEvent.type == "task_completed",
            HistoryEvent.task.like("%:修改撤销申请")))]
        assert len(entries) >= 11
        assert {e.actor for e in entries} == {"clerk", "clerk2"}
        assert all(e.data["data"]["reason"] == f"年终处理：{e.actor}录入的撤销原因" for e in entries)


def test_reminder_fires_once_and_rerun_starts_nothing_twice(app, clock, campaign, login):
    ids, _, instance = campaign
    db = app.extensions["db"]
    pause_start_timers(app)  # 1 December is tested on its own below
    starts.dispatch(db, clock())
    with db.Session() as s:
        requests = s.scalar(select(func.count()).select_from(StartRequest))
    finance = login("finance")
    again = finance.start("year_end_campaign", {"year": 2026, "reminder_days": 7})
    assert again["data"]["items_new"] == 0 and again["data"]["items_found"] == instance["data"]["items_found"]
    assert starts.dispatch(db, clock()) == 0
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(StartRequest)) == requests

    reminder_at = datetime(2026, 12, 24, 9, 0, tzinfo=CHINA)
    clock.now = reminder_at - timedelta(minutes=1)
    assert timers.run_due(db, clock(), "a") == 0
    clock.now = reminder_at + timedelta(seconds=1)
    fired = timers.run_due(db, clock(), "a") + timers.run_due(db, clock(), "b")
    assert fired == 2  # one reminder per campaign instance, each exactly once
    assert timers.run_due(db, clock(), "a") + timers.run_due(db, clock(), "b") == 0
    history = finance.history(instance["id"])
    assert [e["type"] for e in history].count("timer_fired") == 1
    remind = [e for e in history if e["type"] == "service_task" and e["data"]["topic"] == "year_end.remind"]
    assert len(remind) == 1 and remind[0]["data"]["outputs"]["reminded_items"] > 0
    with db.Session() as s:
        reminded = s.scalar(select(func.count()).select_from(YearEndItem).where(YearEndItem.reminded_at.isnot(None)))
    assert reminded == remind[0]["data"]["outputs"]["reminded_items"]
    assert finance.task_named("确认年终处理情况", instance["id"])


def test_yearly_timer_starts_the_campaign_on_1_december(app, clock, login):
    seed(app)
    pause_start_timers(app, keep=("year_end_campaign",))
    db = app.extensions["db"]
    clock.now = datetime(2026, 12, 1, 0, 0, 1, tzinfo=CHINA)
    assert timers.run_due(db, clock(), "a") >= 1
    report = login("finance").ok(login("finance").get("/api/year-end/2026"))
    assert sum(c["found"] for c in report["categories"]) > 20
    assert timers.run_due(db, clock(), "b") == 0


def test_progress_is_scoped_to_the_callers_units(app, campaign, login):
    report = login("clerk2").ok(login("clerk2").get("/api/year-end/2026"))
    assert report["items"] and all(i["unit_id"] == 2 for i in report["items"])
    assert all(b["unit_id"] == 2 for b in report["budgets"])
    assert login("analyst").get("/api/year-end/2026").status_code == 403


def test_year_end_page(app, campaign, login):
    """The same progress as the API, as a page: finance sees every unit; a clerk of the city unit only theirs."""
    response = Web(app, "finance").get("/year-end?year=2026")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "一(一) 已录入采购项目登记的项目" in html and "发起年终清理" in html and "2026-YE-001" in html
    clerk = Web(app, "clerk2")
    html = clerk.get("/year-end?year=2026").get_data(as_text=True)
    assert "2026-YE-002" in html and "2026-YE-001" not in html and "发起年终清理" not in html
    assert clerk.get("/year-end?year=abc").status_code == 200
    assert Web(app).get("/year-end").status_code == 302


def test_batch_starts_are_complete_instances(app, clock, campaign, login, monkeypatch):
    """One dispatcher batch: every instance it starts is whole (history chain, replayed state, task rows, not
    stranded), and starts that fail in the middle of the batch (before and after their instance was written)
    leave nothing behind and lose no other."""
    from app.engine import audit, history, runtime, stranded
    from app.models import DomainError, HumanTask, ProcessInstance
    db = app.extensions["db"]
    with db.Session() as s, s.begin():
        pending = list(s.scalars(select(StartRequest).where(StartRequest.status == "pending")
                                 .order_by(StartRequest.id)))
        pending[2].process_key = "no_such_process"
        late_key, count = pending[4].business_key, len(pending)
        bad_ids = {pending[2].id, pending[4].id}
        instances_before = s.scalar(select(func.count()).select_from(ProcessInstance))
    sync = runtime.sync_task_list

    def failing_sync(step):  # fails once the instance, its first history event and engine steps are written
        if step.instance.business_key == late_key:
            raise DomainError("TEST", "任务列表写入失败")
        sync(step)
    monkeypatch.setattr(runtime, "sync_task_list", failing_sync)
    assert starts.dispatch(db, clock(), batch=count) == count - 2
    with db.Session() as s:
        requests = list(s.scalars(select(StartRequest).where(StartRequest.id.in_([r.id for r in pending]))))
        failed = [r for r in requests if r.status == "failed"]
        assert {r.id for r in failed} == bad_ids and {r.instance_id for r in failed} == {None}
        assert {r.error for r in failed} >= {"任务列表写入失败"}
        assert s.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key == late_key)) == 0
        started = [r.instance_id for r in requests if r.status == "started"]
        assert len(set(started)) == count - 2
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == instances_before + count - 2
        open_tasks = {row.instance_id for row in s.scalars(select(HumanTask).where(
            HumanTask.instance_id.in_(started), HumanTask.status == "open"))}
        assert open_tasks == set(started)  # every cleanup begins with someone's task
        for instance_id in started:
            assert history.verify(s, s.get(ProcessInstance, instance_id))["ok"]
        for instance_id in started[:3]:  # a full replay of a sample: the stored state is what the history gives
            result = audit.verify(s, s.get(ProcessInstance, instance_id))
            assert result["ok"], result
        assert not {f["instance_id"] for f in stranded.find_stranded(s, clock())} & set(started)
