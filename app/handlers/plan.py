"""Handlers for purchase plans (采购计划)."""
import uuid

from ..models import DomainError, Plan, Project, Unit, money
from ..models.plan import METHODS, PLAN_TYPES
from . import handler

_EDITABLE = ("name", "method", "amount", "sme_reserved_amount", "sme_reason", "is_import", "import_approval_id",
             "budget_line_id")


def _values(ctx):
    values = {key: ctx.get(key) for key in _EDITABLE if ctx.get(key) is not None}
    if values.get("method") not in METHODS:
        raise DomainError("INVALID_INPUT", "采购方式取值不正确", field="method", status=400)
    values["is_import"] = bool(values.get("is_import", False))
    values["sme_reason"] = values.get("sme_reason") or ""
    return values


@handler("plan.save")
def save(ctx):
    """暂存 or save before submitting: create the draft plan on its project, or update it."""
    plan_id = ctx.get("plan_id")
    if plan_id:
        plan = ctx.record(Plan, plan_id, "采购计划")
    else:
        project = ctx.record(Project, ctx.require("project_id"), "项目")
        plan_type = ctx.get("plan_type") or "project"
        if plan_type not in PLAN_TYPES:
            raise DomainError("INVALID_INPUT", "计划类型取值不正确", field="plan_type", status=400)
        plan = Plan(number=uuid.uuid4().hex[:20], unit_id=ctx.instance.unit_id, project_id=project.id,
                    year=int(ctx.get("year") or project.year), plan_type=plan_type, category=project.category,
                    name=ctx.get("name") or project.name, method="open_tender", amount=money(0),
                    created_by=ctx.user_id, assignee_id=ctx.user_id, status="draft",
                    sme_reserved_amount=money(0), sme_reason="", is_import=False)
        ctx.session.add(plan)
    plan.update(_values(ctx))
    ctx.session.flush()
    if not plan_id:
        plan.number = f"JH{plan.year}{plan.id:06d}"
    unit = ctx.session.get(Unit, plan.unit_id)
    return {"plan_id": plan.id, "plan_number": plan.number, "unit_level": unit.level}


@handler("plan.submit")
def submit(ctx):
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    project = ctx.record(Project, plan.project_id, "项目")
    plan.submit(ctx.session, project)
    return {}


@handler("plan.withdraw")
def withdraw(ctx):
    ctx.record(Plan, ctx.require("plan_id"), "采购计划").withdraw()
    return {}


@handler("plan.return")
def return_for_edit(ctx):
    ctx.record(Plan, ctx.require("plan_id"), "采购计划").return_for_edit(ctx.get("comment"))
    return {}


@handler("plan.file")
def file(ctx):
    ctx.record(Plan, ctx.require("plan_id"), "采购计划").file()
    return {}


@handler("plan.delete")
def delete(ctx):
    if ctx.get("plan_id"):
        ctx.record(Plan, ctx.get("plan_id"), "采购计划").delete()
    return {}
