"""Handlers for purchase plans (采购计划)."""
import uuid

from sqlalchemy import select

from ..models import DomainError, Plan, Project, Tender, Unit, User, money
from ..models.plan import METHODS, PLAN_TYPES
from ..models.plan_types import set_joint_members
from . import handler

_EDITABLE = ("name", "method", "amount", "sme_reserved_amount", "sme_reason", "is_import", "import_approval_id",
             "budget_line_id", "plan_type", "items", "original_contract_id")


def _values(ctx):
    values = {key: ctx.get(key) for key in _EDITABLE if ctx.get(key) is not None}
    if values.get("method") not in METHODS:
        raise DomainError("INVALID_INPUT", "采购方式取值不正确", field="method", status=400)
    values["is_import"] = bool(values.get("is_import", False))
    values["sme_reason"] = values.get("sme_reason") or ""
    if values.get("plan_type", "project") not in PLAN_TYPES:
        raise DomainError("INVALID_INPUT", "计划类型取值不正确", field="plan_type", status=400)
    if "items" in values:  # the 采购内容清单 rows the plan buys (电子卖场: one)
        values["items"] = [row for row in values["items"] or [] if isinstance(row, dict) and row.get("item_name")]
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
    plan.check_budget_line(ctx.session, ctx.session.get(Project, plan.project_id))  # its unit's, year's, project's
    ctx.session.flush()
    set_joint_members(ctx.session, plan, ctx.get("members"))  # 联合采购: the member units' projects and amounts
    if not plan_id:
        plan.number = f"JH{plan.year}{plan.id:06d}"
    return {"plan_id": plan.id, "plan_number": plan.number, **unit_facts(ctx.session, plan.unit_id)}


def unit_facts(session, unit_id):
    """What a review chain may route on in the diagram (002 §2: the chain differs by unit and region):
    ``unit_level`` (provincial/city/county), ``unit_region`` (e.g. 福州市) and ``unit_code``."""
    unit = session.get(Unit, unit_id)
    return {"unit_level": unit.level, "unit_region": unit.region or "", "unit_code": unit.code}


@handler("plan.submit")
def submit(ctx):
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    project = ctx.record(Project, plan.project_id, "项目")
    plan.submit(ctx.session, project)
    # 下一步审核人: the first review goes to the reviewer the clerk chose, if any.
    return {"next_reviewer": User.chosen_reviewer(ctx.session, ctx.get("next_reviewer"), plan.unit_id)}


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


def _plan(ctx):
    return ctx.record(Plan, ctx.require("plan_id"), "采购计划")


@handler("plan.return_to_supervision")
def return_to_supervision(ctx):
    """计划退回: the agency (project/joint) or the purchaser (framework/e-mall) hands an unused plan back."""
    plan = _plan(ctx)
    plan.return_to_supervision(by_agency="agency" in ctx.user.groups)
    return {"project_id": plan.project_id}


@handler("plan.request_revocation")
def request_revocation(ctx):
    plan = _plan(ctx)
    plan.request_revocation(ctx.get("reason"))
    return {"project_id": plan.project_id}


@handler("plan.revoke")
def revoke(ctx):
    _plan(ctx).revoke()
    return {}


@handler("plan.clear_pending")
def clear_pending(ctx):
    _plan(ctx).clear_pending()
    return {}


def _terminating_tender(ctx, plan):
    tender = ctx.session.scalars(select(Tender).where(Tender.plan_id == plan.id, Tender.termination == "requested")
                                 .limit(1)).first()
    return ctx.record(Tender, tender.id, "交易项目") if tender is not None else None


@handler("plan.check_termination")
def check_termination(ctx):
    """Before the clerk enters the termination: the agency must have applied (流标重招终止申请)."""
    plan = _plan(ctx)
    tender = _terminating_tender(ctx, plan)
    plan.check_termination_allowed(tender)
    return {"tender_id": tender.id, "project_id": plan.project_id}


@handler("plan.request_termination")
def request_termination(ctx):
    plan = _plan(ctx)
    plan.request_termination(_terminating_tender(ctx, plan), ctx.get("explanation"))
    return {}


@handler("plan.terminate")
def terminate(ctx):
    plan = _plan(ctx)
    plan.terminate(ctx.record(Tender, ctx.require("tender_id"), "交易项目"))
    return {}


@handler("plan.year_end_delete")
def year_end_delete(ctx):
    """一(二)/(七): the clerk deletes the plan; an application still open on it ends."""
    plan = _plan(ctx)
    ctx.cancel_instances("plan", plan.id, ["plan_application"], "年终处理：删除采购计划")
    plan.delete()
    return {"project_id": plan.project_id, "plan_type": plan.plan_type}
