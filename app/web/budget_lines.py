"""预算指标管理 page for finance and the administrator: the lines of their units, manual entry and correction,
Excel import (template download; a refused file shows its row report) and each line's history. The page calls
the same functions as /api/budget-lines, so rules and messages are the API's."""
from decimal import Decimal

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..api.budget_lines import line_history, lines, managed_units, run_import, save_line
from ..api.common import read_session, transaction
from ..api.imports import uploaded_xlsx
from ..models import DomainError, Unit
from ..models.budget import FUND_TYPES, SOURCES, STATUSES
from ..models.budget_import import COLUMNS
from ..models.importing import ImportRefused, template
from ..models.inputs import parse_id
from . import bp
from .common import NAV, login_required, refuse, web_user

MANAGERS = {"finance", "admin"}
NAV.append(("web.budget_lines", "预算指标管理", "budget_lines", MANAGERS | {"auditor"}))
FIELDS = {"code": "指标编码", "year": "年度", "unit_id": "预算单位", "name": "指标名称", "fund_type": "资金性质",
          "amount": "指标金额", "status": "状态"}


def _allowed():
    user = web_user()
    if not (user.groups & (MANAGERS | {"auditor"})):
        return None
    return user


def _page(status=200, problems=None, problem_message=None, form=None, form_error=None):
    user, session = web_user(), read_session()
    units = managed_units(session, user)
    unit_rows = list(session.scalars(select(Unit).order_by(Unit.code) if units is None
                                     else select(Unit).where(Unit.id.in_(units)).order_by(Unit.code)))
    year = request.args.get("year", type=int)
    unit_id = request.args.get("unit_id", type=int)
    q = (request.args.get("q") or "").strip()[:64]
    items = lines(session, user, year=year, unit_id=unit_id, q=q)
    totals = {k: sum((getattr(i, k) for i in items), Decimal(0)) for k in ("amount", "used_amount")}
    return render_template("budget_lines.html", active="budget_lines", items=items, units=unit_rows,
                           unit_names={u.id: u.name for u in unit_rows}, fund_types=FUND_TYPES, statuses=STATUSES,
                           f={"year": year, "unit_id": unit_id, "q": q}, totals=totals, columns=COLUMNS,
                           problems=problems, problem_message=problem_message, form=form or {},
                           form_error=form_error, can_write=bool(user.groups & MANAGERS)), status


@bp.route("/budget-lines")
@login_required
def budget_lines():
    if _allowed() is None:
        return refuse(403, "只有财政部门和系统管理员可以管理预算指标")
    return _page()


@bp.route("/budget-lines/template.xlsx")
@login_required
def budget_lines_template():
    if _allowed() is None:
        return refuse(403, "只有财政部门和系统管理员可以管理预算指标")
    return Response(template(COLUMNS, "预算指标"), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=budget-lines-template.xlsx"})


@bp.route("/budget-lines/import", methods=["POST"])
@login_required
def budget_lines_import():
    user = web_user()
    if not user.groups & MANAGERS:
        return refuse(403, "只有财政部门和系统管理员可以导入预算指标")
    try:
        data = uploaded_xlsx()
        with transaction() as (session, actor):
            result = run_import(session, actor, data)
    except ImportRefused as err:
        return _page(400, problems=err.problems, problem_message=err.message)
    flash(f"已导入 {result['rows']} 行：新增 {result['created']} 条，更正 {result['updated']} 条，"
          f"未变化 {result['unchanged']} 条。", "success")
    return redirect(url_for("web.budget_lines"))


@bp.route("/budget-lines", methods=["POST"])
@login_required
def budget_lines_save():
    user = web_user()
    if not user.groups & MANAGERS:
        return refuse(403, "只有财政部门和系统管理员可以录入预算指标")
    form = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    try:
        values = {**form, "year": parse_id(form["year"]) if form["year"].isdigit() else None,
                  "unit_id": parse_id(form["unit_id"]) if form["unit_id"].isdigit() else None}
        with transaction() as (session, actor):
            out, created = save_line(session, actor, values)
    except DomainError as err:
        label = FIELDS.get(err.field, "")
        return _page(err.status if err.status < 500 else 400, form=form,
                     form_error=f"{label}：{err.message}" if label else err.message)
    flash(f"已保存预算指标 {out['code']}（{'新增' if created else ('已更正' if out['changed'] else '未变化')}）。", "success")
    return redirect(url_for("web.budget_line", line_id=out["id"]))


@bp.route("/budget-lines/<int:line_id>")
@login_required
def budget_line(line_id):
    user = _allowed()
    if user is None:
        return refuse(403, "只有财政部门和系统管理员可以管理预算指标")
    session = read_session()
    data = line_history(session, user, line_id)
    unit = session.get(Unit, data["line"]["unit_id"])
    return render_template("budget_line.html", active="budget_lines", data=data, line=data["line"], unit=unit,
                           fund_types=FUND_TYPES, statuses=STATUSES, sources=SOURCES, labels=FIELDS,
                           can_write=bool(user.groups & MANAGERS))
