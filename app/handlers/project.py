"""Handlers for project records (采购项目)."""
import uuid

from ..models import DomainError, Project, money
from ..models.project import CATEGORIES, IMPLEMENTATION_FORMS
from . import handler

_FIELDS = ("name", "region", "justification")


def _funds(ctx):
    """资金构成: the ``funds`` list [{budget_line_id, amount}] (rows left blank in the form dropped; a single row
    without an amount funds the whole ``amount``); without one, the single ``budget_line_id`` funding the whole
    ``amount`` (API callers of before: one row)."""
    rows = [row for row in ctx.get("funds") or [] if isinstance(row, dict)
            and (row.get("budget_line_id") not in (None, "") or row.get("amount") not in (None, ""))]
    for number, row in enumerate(rows, 1):
        if row.get("budget_line_id") in (None, ""):
            raise DomainError("INVALID_INPUT", f"资金构成第 {number} 行：请选择预算指标", field="budget_line_id",
                              status=400)
        if row.get("amount") in (None, "") and len(rows) > 1:
            raise DomainError("INVALID_INPUT", f"资金构成第 {number} 行：请填写金额（多条预算指标时每行都要填写）",
                              field="amount", status=400)
    if len(rows) == 1 and rows[0].get("amount") in (None, ""):  # one line funds the whole amount
        return [{"budget_line_id": rows[0]["budget_line_id"], "amount": ctx.require("amount")}]
    if rows:
        return rows
    if ctx.get("budget_line_id") in (None, ""):
        raise DomainError("NO_FUNDS", "请在资金构成中至少选择一条预算指标", field="budget_line_id", status=400)
    return [{"budget_line_id": ctx.get("budget_line_id"), "amount": ctx.require("amount")}]


def _choice(ctx, name, choices, default=None):
    value = ctx.get(name, default)
    if value not in choices:
        raise DomainError("INVALID_INPUT", f"{name} 取值不正确", field=name, status=400)
    return value


@handler("project.save")
def save(ctx):
    """Create the draft project (登记) or apply the clerk's edits to it."""
    project_id = ctx.get("project_id")
    if project_id:
        project = ctx.record(Project, project_id, "项目")
        project._require("draft", action="修改")
    else:
        project = Project(number=uuid.uuid4().hex[:20], unit_id=ctx.instance.unit_id, created_by=ctx.user_id,
                          status="draft")
        ctx.session.add(project)
    project.name = ctx.require("name")
    project.year = int(ctx.require("year"))
    project.category = _choice(ctx, "category", CATEGORIES)
    project.implementation_form = _choice(ctx, "implementation_form", IMPLEMENTATION_FORMS, "agency")
    project.amount = money(ctx.require("amount"))
    project.is_government_procurement = bool(ctx.get("is_government_procurement", True))
    for name in _FIELDS:
        setattr(project, name, ctx.get(name) or "")
    project.items = ctx.get("items") or []
    ctx.session.flush()
    project.set_funds(ctx.session, _funds(ctx))
    if not project_id:
        project.number = f"XM{project.year}{project.id:06d}"
    return {"project_id": project.id, "project_number": project.number}


@handler("project.submit")
def submit(ctx):
    ctx.record(Project, ctx.require("project_id"), "项目").submit(ctx.session)
    return {}


@handler("project.return")
def return_for_edit(ctx):
    ctx.record(Project, ctx.require("project_id"), "项目").return_for_edit(ctx.session, ctx.get("comment"))
    return {}


@handler("project.register")
def register(ctx):
    ctx.record(Project, ctx.require("project_id"), "项目").register()
    return {}


@handler("project.delete")
def delete(ctx):
    project_id = ctx.get("project_id")
    if project_id:
        ctx.record(Project, project_id, "项目").delete(ctx.session)
    return {}


def _adjustment(ctx):
    return {"kind": ctx.require("kind"), "amount": ctx.require("amount"),
            "budget_line_id": ctx.get("budget_line_id"), "to_budget_line_id": ctx.get("to_budget_line_id")}


@handler("project.check_fund_adjustment")
def check_fund_adjustment(ctx):
    """资金替换/追加/回收 submitted: refuse at once what the project cannot take."""
    project = ctx.record(Project, ctx.require("project_id"), "项目")
    project.check_fund_adjustment(ctx.session, **_adjustment(ctx))
    return {}


@handler("project.adjust_funds")
def adjust_funds(ctx):
    """Approved by the leader (需求领导): apply it to the funds and the budget lines."""
    ctx.record(Project, ctx.require("project_id"), "项目").adjust_funds(ctx.session, **_adjustment(ctx))
    return {}


@handler("project.recoverable_amount")
def recoverable_amount(ctx):
    """资金回收 proposal: what no live plan occupies any more."""
    free = ctx.record(Project, ctx.require("project_id"), "项目").free_amount(ctx.session)
    return {"kind": "recover", "amount": int(free) if free == free.to_integral_value() else float(free)}


@handler("project.request_revocation")
def request_revocation(ctx):
    """撤销申请: only a project no live plan uses (001 §2.2.2)."""
    ctx.record(Project, ctx.require("project_id"), "项目").request_revocation(ctx.session, ctx.get("reason"))
    return {}


@handler("project.revoke")
def revoke(ctx):
    ctx.record(Project, ctx.require("project_id"), "项目").revoke(ctx.session)
    return {}


@handler("project.clear_pending")
def clear_pending(ctx):
    """The leader rejected, or the clerk withdrew (撤回), the revocation request."""
    ctx.record(Project, ctx.require("project_id"), "项目").clear_pending()
    return {}
