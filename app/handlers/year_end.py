"""Handlers for the year-end cleanup campaign (年终处理, seed 000)."""
from datetime import datetime, timedelta

from sqlalchemy import select

from ..models import (BudgetLine, BudgetSystemRequest, Contract, DomainError, HumanTask, JointMember, Plan, Project,
                      StartRequest, money)
from ..models.org import ROLES
from ..models.year_end import YearEndItem, classify as classify_records
from . import handler
from ..models.base import BEIJING



@handler("year_end.classify")
def classify(ctx):
    """Classify the year's unfinished records into seed 000's categories and ask for one instance per item.

    Items already found for the year are kept as they are, so running the campaign again starts
    nothing twice; each item's instance is started later, in batches, by the engine."""
    year = int(ctx.get("year") or ctx.now.astimezone(BEIJING).year)
    days = int(ctx.get("reminder_days") or 7)
    existing = {(i.record_type, i.record_id, i.project_id) for i in ctx.session.scalars(
        select(YearEndItem).where(YearEndItem.year == year))}
    # The year's start requests in one look-up: one per item flushed the growing step before each query, which
    # made the step quadratic (2,000 items overran the 10 s step budget on a loaded machine).
    requested = {tuple(row) for row in ctx.session.execute(select(
        StartRequest.process_key, StartRequest.business_key).where(StartRequest.business_key.like(f"ye{year}:%")))}
    found = new = 0
    for item in classify_records(ctx.session, year):
        found += 1
        if (item.record_type, item.record_id, item.project_id) in existing:
            continue
        ctx.session.add(item)
        new += 1
        if item.process_key:
            ctx.request_start(item.process_key, item.business_key, item.unit_id, item.data,
                              new=(item.process_key, item.business_key) not in requested)
    reminder_at = datetime(year, 12, 31, 9, 0, tzinfo=BEIJING) - timedelta(days=days)
    return {"year": year, "items_found": found, "items_new": new, "reminder_at": reminder_at.isoformat()}


@handler("year_end.remind")
def remind(ctx):
    """催办: mark every item of the year whose cleanup is not finished; the task list shows them."""
    from ..models import ProcessInstance
    year = int(ctx.require("year"))
    # Each item's instance status, in one query for the year rather than two per item.
    status = dict(tuple(row) for row in ctx.session.execute(
        select(StartRequest.business_key, ProcessInstance.status)
        .outerjoin(ProcessInstance, ProcessInstance.id == StartRequest.instance_id)
        .where(StartRequest.business_key.like(f"ye{year}:%")).order_by(StartRequest.id.desc())))
    open_items = 0
    for item in ctx.session.scalars(select(YearEndItem).where(YearEndItem.year == year)):
        if item.process_key and status.get(item.business_key) in (None, "running"):
            item.reminded_at = ctx.now
            open_items += 1
    return {"reminded_items": open_items}


@handler("year_end.project_revocable")
def project_revocable(ctx):
    """Revoke the project at the end of a cleanup only if no other live plan still uses it."""
    project = ctx.record(Project, ctx.require("project_id"), "项目")
    return {"project_revocable": project.status == "registered" and not project.live_plans(ctx.session),
            "requirement_id": _requirement_id(ctx, project.id)}


def _requirement_id(ctx, project_id):
    from ..models import Requirement
    requirement = ctx.session.scalars(select(Requirement).where(
        Requirement.project_id == project_id, Requirement.status != "void")).first()
    return requirement.id if requirement else None


def _current_steps(ctx, record_type, record_id):
    """Who holds the record now (the open tasks on it): 当前流程环节 and its operators, for the clerk to contact."""
    rows = ctx.session.scalars(select(HumanTask).where(
        HumanTask.record_type == record_type, HumanTask.record_id == record_id, HumanTask.status == "open")
        .order_by(HumanTask.created_at))
    steps = [f"“{row.name}”（{row.assignee or '、'.join(ROLES.get(g, g) for g in row.candidate_groups or [])}）"
             for row in rows]
    return "、".join(steps) or "（没有正在办理的环节）"


def _check_deleted(ctx, record, what, record_type):
    """000 一(二)、二(二)1: done once the clerk has deleted the record after its current step returned it."""
    if record.status != "deleted":
        raise DomainError("NOT_DELETED", f"{what} {record.number} 尚未删除。当前环节：{_current_steps(ctx, record_type, record.id)}。"
                                         f"请联系该环节操作人在审核时“退回”至录入岗，再在待办中删除后确认")


@handler("plan.check_deleted")
def check_plan_deleted(ctx):
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    _check_deleted(ctx, plan, "采购计划", "plan")
    return {"project_id": plan.project_id, "plan_type": plan.plan_type}


@handler("project.check_deleted")
def check_project_deleted(ctx):
    _check_deleted(ctx, ctx.record(Project, ctx.require("project_id"), "采购项目"), "采购项目", "project")
    return {}


@handler("year_end.check_contract_filed")
def check_contract_filed(ctx):
    contract = ctx.record(Contract, ctx.require("contract_id"), "合同")
    if contract.status != "filed":
        raise DomainError("CONTRACT_NOT_FILED", "合同尚未备案：请通过“合同录入/发布/备案”完成备案后再确认")
    return {}


@handler("year_end.request_member_revocations")
def request_member_revocations(ctx):
    """联合采购: every responding unit revokes its own project (000 一(三)3 步骤二)."""
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    members = list(ctx.session.scalars(select(JointMember).where(JointMember.plan_id == plan.id)))
    for member in members:
        # The member unit's own cleanup: its clerk enters the revocation reason (修改撤销申请), its leader reviews.
        ctx.request_start("ye_close_project", f"joint{plan.id}:project:{member.project_id}", member.unit_id,
                          {"project_id": member.project_id})
    return {"member_projects": [m.project_id for m in members]}


# -- budget system (预算管理一体化系统) -----------------------------------------------------
def _line(ctx, key="budget_line_id"):
    return ctx.record(BudgetLine, ctx.require(key), "预算指标")


@handler("budget.request_adjustment")
def request_adjustment(ctx):
    """二(一): the unused budget is adjusted in the budget system; the request is recorded here."""
    line = _line(ctx)
    request = BudgetSystemRequest.create("adjust", line, line.free_amount, ctx.get("note"))
    ctx.session.add(request)
    ctx.session.flush()
    return {"budget_request_id": request.id}


@handler("budget.apply_guarantee")
def apply_guarantee(ctx):
    """二(二)3 步骤一: apply for 政府采购保障性资金 of the same fund type and amount."""
    line = _line(ctx)
    request = BudgetSystemRequest.create("guarantee", line, ctx.require("amount"), ctx.get("note"),
                                         fund_type=ctx.get("fund_type"), code=ctx.get("guarantee_code"))
    ctx.session.add(request)
    ctx.session.flush()
    return {"budget_request_id": request.id}


def _request(ctx):
    return ctx.session.get(BudgetSystemRequest, int(ctx.require("budget_request_id")), with_for_update=True)


@handler("budget.review_guarantee")
def review_guarantee(ctx):
    """财政业务处室's decision on the guarantee request (approved: the budget system issues the funds next)."""
    _request(ctx).record_review(ctx.get("approved") is True)
    return {}


@handler("budget.register_guarantee")
def register_guarantee(ctx):
    """The budget system issued the funds: they arrive as a budget line, to replace the old one."""
    request = _request(ctx)
    line = request.register_guarantee(ctx.session)
    ctx.session.flush()
    return {"to_budget_line_id": line.id, "kind": "replace", "amount": float(money(request.amount))}


@handler("budget.request_reduction")
def request_reduction(ctx):
    """二(二)3 步骤三: the now unused budget is reduced in the budget system."""
    line = _line(ctx)
    request = BudgetSystemRequest.create("reduce", line, line.free_amount, "资金替换后调减")
    ctx.session.add(request)
    ctx.session.flush()
    return {"budget_request_id": request.id}
