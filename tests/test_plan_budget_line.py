"""A plan's budget line is its unit's, of its year, and one of its project's funds (issue 13: a plan used to accept
another unit's line)."""
from sqlalchemy import func, select

from app.models import BudgetLine, Plan
from helpers import PLAN, apply_plan, register_project


def _plans(app):
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count(Plan.id)))


def test_plan_refuses_a_budget_line_of_another_unit_year_or_project(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer, amount=300000, budget_line_id=1)
    with app.extensions["db"].Session() as s, s.begin():
        s.add(BudgetLine(code="2025-350001-001", name="上年度指标", unit_id=1, year=2025, fund_type="general",
                         amount=100000, used_amount=0))
        s.flush()
        last_year = s.scalars(select(BudgetLine.id).where(BudgetLine.code == "2025-350001-001")).one()
    before = _plans(app)
    for line_id, message in ((4, "预算指标不存在或不属于本单位"),  # 福州市教育局's line
                             (last_year, "预算指标 2025-350001-001 属于 2025 年度，与计划年度 2026 不符"),
                             (2, "预算指标 2026-350001-002 不在项目")):
        response = clerk.post("/api/processes/plan_application/instances",
                              {"data": {**PLAN, "project_id": project["id"], "budget_line_id": line_id}})
        assert response.status_code == 400, response.json
        assert message in response.json["errors"]["budget_line_id"][0]
    assert _plans(app) == before
    ok = apply_plan(clerk, project["id"], budget_line_id=1, amount=200000, sme_reserved_amount=200000)
    assert ok["data"]["plan_id"]
