"""资金构成 (001 §2.2.1, issue 13): a project funded by several budget lines. Each line is checked (有效, the
project's unit and year, enough free), occupied and released separately, with a ledger per line; a refusal names
every line that cannot take its share, with the figures. The single ``budget_line_id`` of API callers is one row."""
from decimal import Decimal

from sqlalchemy import func, select, text

from app.db import Database
from app.manage import main as manage
from app.models import BudgetLine, BudgetLineMovement, Project
from app.ops import migrate
from helpers import PLAN, PROJECT, Web, apply_plan, approve, money

TWO_LINES = [{"budget_line_id": 1, "amount": 600000}, {"budget_line_id": 2, "amount": 300000}]


def _start(clerk, **values):
    data = {k: v for k, v in PROJECT.items() if k != "budget_line_id"}
    return clerk.post("/api/processes/project_registration/instances", {"data": {**data, **values}})


def _used(app):
    with app.extensions["db"].Session() as s:
        return {line.id: line.used_amount for line in s.scalars(select(BudgetLine))}


def _counts(app):
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count(Project.id))), s.scalar(select(func.count(BudgetLineMovement.id)))


def _ledger(finance, line_id):
    return finance.ok(finance.get(f"/api/budget-lines/{line_id}/history"))["movements"]


def test_several_lines_are_occupied_and_released_each_with_a_ledger_per_line(app, login):
    clerk, reviewer, leader, finance = login("clerk"), login("reviewer"), login("leader"), login("finance")
    instance = clerk.ok(_start(clerk, amount=900000, funds=TWO_LINES), 201)
    project_id = instance["data"]["project_id"]
    # Occupied from submission on (in review), each line its own share.
    assert (_used(app)[1], _used(app)[2]) == (money(600000), money(300000))
    approve(reviewer, "审核岗审核", instance["id"])
    project = clerk.ok(clerk.get(f"/api/projects/{project_id}"))
    assert project["funds"] == [{"budget_line_id": 1, "amount": "600000.00"},
                                {"budget_line_id": 2, "amount": "300000.00"}]
    assert money(clerk.budget(1)["used_amount"]) == money(600000)
    assert money(clerk.budget(2)["used_amount"]) == money(300000)

    # 资金回收 of part of one line: only that line is released.
    plan = apply_plan(clerk, project_id, amount=500000, sme_reserved_amount=500000, budget_line_id=1)
    assert plan["data"]["plan_id"]
    recover = clerk.start("project_fund_adjustment", {"project_id": project_id, "kind": "recover"})
    clerk.complete(clerk.task_named("录入资金调整", recover["id"])["id"],
                   {"kind": "recover", "budget_line_id": 2, "amount": 100000})
    approve(leader, "需求领导审核", recover["id"])
    assert money(clerk.budget(1)["used_amount"]) == money(600000)
    assert money(clerk.budget(2)["used_amount"]) == money(200000)
    project = clerk.ok(clerk.get(f"/api/projects/{project_id}"))
    assert project["funds"][1] == {"budget_line_id": 2, "amount": "200000.00"} and money(project["amount"]) == 800000

    # 追加资金 from another year's line of the unit is refused (a line belongs to the record's unit and year).
    with app.extensions["db"].Session() as s, s.begin():
        s.add(BudgetLine(code="2025-350001-009", name="上年度指标", unit_id=1, year=2025, amount=100000,
                         used_amount=0))
    with app.extensions["db"].Session() as s:
        last_year = s.scalars(select(BudgetLine.id).where(BudgetLine.code == "2025-350001-009")).one()
    add = clerk.start("project_fund_adjustment", {"project_id": project_id, "kind": "add"})
    clerk.complete(clerk.task_named("录入资金调整", add["id"])["id"],
                   {"kind": "add", "budget_line_id": last_year, "amount": 1000})
    detail = clerk.ok(clerk.get(f"/api/instances/{add['id']}"))
    assert "预算指标 2025-350001-009 属于 2025 年度，与项目年度 2026 不符" in detail["data"]["error_message"]
    # … and one of this year's lines not yet in the composition becomes a new row.
    clerk.complete(clerk.task_named("录入资金调整", add["id"])["id"], {"kind": "add", "budget_line_id": 3, "amount": 1000})
    approve(leader, "需求领导审核", add["id"])
    project = clerk.ok(clerk.get(f"/api/projects/{project_id}"))
    assert project["funds"][2] == {"budget_line_id": 3, "amount": "1000.00"} and money(project["amount"]) == 801000
    assert money(clerk.budget(3)["used_amount"]) == money(1000)

    # The ledger of each line: what this project occupied and released on it, and why.
    number = project["number"]
    assert [(m["project_number"], m["kind"], m["amount"], m["used_after"], m["reason"]) for m in _ledger(finance, 2)] \
        == [(number, "release", "100000.00", "200000.00", "资金回收"),
            (number, "occupy", "300000.00", "300000.00", "提交审核")]
    assert [(m["kind"], m["amount"]) for m in _ledger(finance, 1)] == [("occupy", "600000.00")]
    web = Web(app, "finance")
    page = web.client.get("/budget-lines/2").data.decode()
    assert "占用与释放台账" in page and number in page and "资金回收" in page


def test_a_frozen_line_refuses_the_whole_composition_with_the_figures(app, login):
    """Submission checks every line at once: the clerk's task comes back naming each line that cannot take its
    share, with the figures; no line is occupied (not even the one that could have taken its share)."""
    clerk, reviewer = login("clerk"), login("reviewer")
    with app.extensions["db"].Session() as s, s.begin():
        s.get(BudgetLine, 2).status = "frozen"
    instance = clerk.ok(_start(clerk, amount=5600000, funds=[{"budget_line_id": 1, "amount": 5200000},
                                                             {"budget_line_id": 2, "amount": 300000},
                                                             {"budget_line_id": 3, "amount": 100000}]), 201)
    message = instance["data"]["error_message"]
    assert message == ("预算指标 2026-350001-001 可用余额 5,000,000.00 元，不足 5,200,000.00 元（无预算不采购）；"
                       "预算指标 2026-350001-002 已被预算管理一体化系统冻结，不能再被占用")
    assert [t["name"] for t in instance["tasks"]] == ["修改项目登记"] and reviewer.tasks() == []
    assert clerk.ok(clerk.get(f"/api/projects/{instance['data']['project_id']}"))["status"] == "draft"
    assert _used(app)[1] == _used(app)[2] == _used(app)[3] == 0
    assert _counts(app)[1] == 0  # no ledger row: nothing moved

    # Fixed (the frozen line left out), resubmitted: each line occupied with its share, into review.
    edit = clerk.task_named("修改项目登记", instance["id"])
    clerk.complete(edit["id"], {**{k: v for k, v in PROJECT.items() if k != "budget_line_id"}, "amount": 4000000,
                                "funds": [{"budget_line_id": 1, "amount": 3500000},
                                          {"budget_line_id": 3, "amount": 500000}], "action": "submit"})
    assert [t["name"] for t in reviewer.tasks()] == ["审核岗审核"]
    assert (_used(app)[1], _used(app)[2], _used(app)[3]) == (money(3500000), 0, money(500000))


def test_the_refusal_carries_each_lines_figures(app):
    """The model's refusal (a 409 where it reaches a caller directly) lists each line with its figures."""
    import pytest
    from app.models.budget import FundsRefused
    with app.extensions["db"].Session() as s:
        one, two = s.get(BudgetLine, 1), s.get(BudgetLine, 2)
        two.status = "recalled"
        with pytest.raises(FundsRefused) as refused:
            BudgetLine.check_all([(one, Decimal("100")), (two, Decimal("300000"))])
        assert refused.value.status == 409 and refused.value.code == "BUDGET_NOT_ACTIVE"
        assert refused.value.message == "预算指标 2026-350001-002 已被预算管理一体化系统收回，不能再被占用"
        assert refused.value.details == {"lines": [
            {"budget_line_id": 2, "code": "2026-350001-002", "status": "recalled", "status_label": "收回",
             "amount": "1200000.00", "used_amount": "0.00", "free_amount": "1200000.00",
             "requested_amount": "300000.00"}]}
        s.rollback()


def test_another_units_or_years_line_and_bad_compositions_are_refused(app, login):
    clerk = login("clerk")
    with app.extensions["db"].Session() as s, s.begin():
        s.add(BudgetLine(code="2027-350001-001", name="下年度指标", unit_id=1, year=2027, amount=100000,
                         used_amount=0))
    with app.extensions["db"].Session() as s:
        next_year = s.scalars(select(BudgetLine.id).where(BudgetLine.code == "2027-350001-001")).one()
    before = _counts(app), _used(app)
    cases = [
        ([{"budget_line_id": 1, "amount": 500000}, {"budget_line_id": 4, "amount": 400000}], 900000,
         "budget_line_id", "预算指标不存在或不属于本单位"),  # 福州市教育局's line
        ([{"budget_line_id": 1, "amount": 800000}, {"budget_line_id": next_year, "amount": 100000}], 900000,
         "budget_line_id", "预算指标 2027-350001-001 属于 2027 年度，与项目年度 2026 不符"),
        (TWO_LINES, 1000000, "amount", "资金构成合计 900,000.00 元与项目金额 1,000,000.00 元不一致"),
        ([{"budget_line_id": 1, "amount": 500000}, {"budget_line_id": 1, "amount": 400000}], 900000,
         "budget_line_id", "资金构成中预算指标 2026-350001-001 重复"),
        ([{"budget_line_id": None, "amount": 500000}], 500000, "budget_line_id", "资金构成第 1 行：请选择预算指标"),
        ([], 500000, "budget_line_id", "请在资金构成中至少选择一条预算指标"),
        ([{"budget_line_id": 1, "amount": 500000}, {"budget_line_id": 2}], 900000, "amount",
         "资金构成第 2 行：请填写金额（多条预算指标时每行都要填写）"),
    ]
    for funds, amount, field, message in cases:
        response = _start(clerk, amount=amount, funds=funds)
        assert response.status_code == 400, (funds, response.json)
        assert message in str(response.json["errors"][field] if field in response.json["errors"]
                              else response.json["errors"]), (funds, response.json)
    assert (_counts(app), _used(app)) == before


def test_the_single_budget_line_field_of_api_callers_is_one_row(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {**PROJECT, "amount": 300000, "budget_line_id": 2})
    approve(reviewer, "审核岗审核", instance["id"])
    project = clerk.ok(clerk.get(f"/api/projects/{instance['data']['project_id']}"))
    assert project["funds"] == [{"budget_line_id": 2, "amount": "300000.00"}]
    assert money(clerk.budget(2)["used_amount"]) == money(300000)
    # The form's list with one line and no amount: that line funds the whole amount.
    one = clerk.start("project_registration", {**{k: v for k, v in PROJECT.items() if k != "budget_line_id"},
                                               "amount": 200000, "funds": [{"budget_line_id": 3, "amount": None}]})
    approve(reviewer, "审核岗审核", one["id"])
    assert clerk.ok(clerk.get(f"/api/projects/{one['data']['project_id']}"))["funds"] == [
        {"budget_line_id": 3, "amount": "200000.00"}]
    # A plan still takes its line from the project's funds.
    assert apply_plan(clerk, project["id"], **{**PLAN, "amount": 200000, "sme_reserved_amount": 200000,
                                               "budget_line_id": 2})["data"]["plan_id"]


def test_the_reviewer_sees_the_funding_rows_and_the_form_offers_a_funding_list(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.ok(_start(clerk, amount=900000, funds=TWO_LINES), 201)
    task = reviewer.task_named("审核岗审核", instance["id"])
    page = Web(app, "reviewer").client.get(f"/tasks/{task['id']}").data.decode()
    assert page.count('data-testid="fund-row"') == 2
    assert "2026-350001-001" in page and "2026-350001-002" in page
    assert "600,000.00" in page and "300,000.00" in page
    start = Web(app, "clerk").client.get("/start/project_registration").data.decode()
    assert '"path": "funds"' in start and "_choices_budget_line" in start  # the list, with the line picker


def test_the_ledger_opens_with_the_occupations_of_an_upgraded_database(scratch_url, monkeypatch):
    """Revision 0910 on a database of revision 0920 (the one before it) with projects: each line's ledger starts
    with what the projects holding it occupy, and adds up to the line's occupied amount."""
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    assert manage(["db", "upgrade", "0920"]) == 0
    db = Database(scratch_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO unit (id, code, name, level, region) "
                              "VALUES (1, '350001', '福建省教育厅', 'provincial', '福建省本级')"))
            for ident, used in ((1, "700000.00"), (2, "300000.00"), (3, "0.00")):
                conn.execute(text("INSERT INTO budget_line (id, code, name, unit_id, year, fund_type, amount, "
                                  "used_amount, status) VALUES (:id, :code, '指标', 1, 2026, 'general', 5000000, "
                                  ":used, 'active')"), {"id": ident, "code": f"2026-350001-00{ident}", "used": used})
            projects = ((1, "registered", ((1, "500000.00"), (2, "300000.00"))), (2, "in_review", ((1, "200000.00"),)),
                        (3, "draft", ((3, "100000.00"),)), (4, "revoked", ()))
            for ident, status, funds in projects:
                conn.execute(text("INSERT INTO project (id, number, name, unit_id, year, category, amount, region, "
                                  "implementation_form, is_government_procurement, justification, items, status, "
                                  "review_comment, recovered_amount, closing_reason, created_at) VALUES (:id, :number, "
                                  "'项目', 1, 2026, 'goods', 1, '', 'agency', true, '', '[]', :status, '', 0, '', "
                                  "'2026-03-01 08:00:00')"), {"id": ident, "number": f"XM2026{ident:06d}",
                                                              "status": status})
                for line_id, amount in funds:
                    conn.execute(text("INSERT INTO project_fund (project_id, budget_line_id, amount) "
                                      "VALUES (:p, :l, :a)"), {"p": ident, "l": line_id, "a": amount})
        assert manage(["db", "upgrade"]) == 0
        assert migrate.current(db) == migrate.head()
        with db.Session() as s:
            rows = list(s.scalars(select(BudgetLineMovement).order_by(BudgetLineMovement.id)))
            assert [(m.budget_line_id, m.project_id, m.kind, m.amount, m.used_after) for m in rows] == [
                (1, 1, "occupy", Decimal("500000.00"), Decimal("500000.00")),
                (2, 1, "occupy", Decimal("300000.00"), Decimal("300000.00")),
                (1, 2, "occupy", Decimal("200000.00"), Decimal("700000.00"))]
            for line in s.scalars(select(BudgetLine)):
                assert sum((m.amount for m in rows if m.budget_line_id == line.id), Decimal("0")) == line.used_amount
            assert {m.reason for m in rows} == {"期初占用（升级迁移）"}
    finally:
        db.dispose()
