"""Handlers for plan_dispatch (计划分派/收回), plan_method_change (采购方式变更) and import_product_approval
(进口产品审批/公示). The rules are on the records (Plan, MethodChange, ImportApproval); these load records of the
instance's unit, pass the task data on and return the ids the diagrams carry."""
from sqlalchemy import select

from ..models import DomainError, ImportApproval, MethodChange, Plan, ProcessDefinition, Tender, User
from ..models.entrustment import live_entrustment
from . import handler
from .common import uploaded
from .plan import unit_facts
from ..models.attachment import hashes


def _plan(ctx, ident=None):
    return ctx.record(Plan, ident if ident is not None else ctx.require("plan_id"), "采购计划")


# -- plan_dispatch 计划分派/收回 (002 §3–4) --------------------------------------------------------------------------
@handler("plan.dispatch")
def dispatch(ctx):
    """分派 to another clerk of the plan's unit, or 收回 while the plan is 可使用."""
    plan = _plan(ctx)
    running = live_entrustment(ctx.session, plan.id)
    if running is not None:
        raise DomainError("PLAN_IN_TRANSACTION", f"采购计划 {plan.number} 已发起委托代理采购（委托单 {running.number}），"
                                                 "不能变更分派或收回")
    action = ctx.get("action") or "dispatch"
    if action == "recall":
        plan.recall()
    elif action == "dispatch":
        username = (ctx.get("assignee") or "").strip()
        if not username:
            raise DomainError("MISSING_INPUT", "请选择分派的经办人", field="assignee", status=400)
        target = ctx.session.scalar(select(User).where(User.username == username))
        if target is None or not target.active or "clerk" not in target.groups or target.unit_id != plan.unit_id:
            raise DomainError("NOT_A_CLERK_OF_UNIT", f"“{username}”不是本单位的采购单位经办岗，不能分派", field="assignee")
        plan.dispatch_to(target.id)
    else:
        raise DomainError("INVALID_INPUT", "操作应为分派或收回", field="action", status=400)
    assignee = ctx.session.get(User, plan.assignee_id) if plan.assignee_id else None
    return {"plan_id": plan.id, "plan_number": plan.number,
            "assignee_id": plan.assignee_id, "assignee_name": assignee.display_name if assignee else None}


# -- plan_method_change 采购方式变更 (001 §4.4, 002 §5) ------------------------------------------------------------------
def _change(ctx):
    return ctx.record(MethodChange, ctx.require("method_change_id"), "采购方式变更")


_CHANGE_FIELDS = ("new_method", "reason", "attachment_ref", "supplier")


@handler("method_change.open")
def method_change_open(ctx):
    """The agency's 流标重招-变更采购方式 request (with ``tender_id``) or the purchaser's own request (``plan_id``)."""
    by_agency = ctx.user is not None and "agency" in ctx.user.groups
    if by_agency:
        tender = ctx.record(Tender, ctx.require("tender_id"), "交易项目")
        plan = _plan(ctx, tender.plan_id)
        change = MethodChange.request_by_agency(ctx.session, tender, plan, ctx.get("reason"), ctx.user_id, ctx.now)
        assignee = ctx.session.get(User, plan.assignee_id) if plan.assignee_id else None
        entry_clerk = assignee.username if assignee is not None else None
    else:
        plan = _plan(ctx)
        change = MethodChange.request_by_purchaser(ctx.session, plan, ctx.user_id, ctx.now)
        entry_clerk = ctx.data.get("initiator")
    return {"method_change_id": change.id, "method_change_number": change.number, "plan_id": plan.id,
            "tender_id": change.tender_id, "origin": change.origin, "entry_clerk": entry_clerk,
            "old_method": change.old_method, "agency_reason": change.agency_reason,
            **unit_facts(ctx.session, plan.unit_id)}


@handler("method_change.submit")
def method_change_submit(ctx):
    change = _change(ctx)
    plan = _plan(ctx, change.plan_id)
    attached = uploaded(ctx, "附件", "plan", plan.id)
    change.fill(ctx.session, plan, {**{key: ctx.get(key) for key in _CHANGE_FIELDS}, "attachments": attached})
    change.submit(plan)
    return {"new_method": change.new_method, "attachments": hashes(attached)}


@handler("method_change.return")
def method_change_return(ctx):
    change = _change(ctx)
    change.return_for_edit(_plan(ctx, change.plan_id), ctx.get("comment"))
    return {}


@handler("method_change.approve")
def method_change_approve(ctx):
    _change(ctx).approve()
    return {}


@handler("method_change.apply")
def method_change_apply(ctx):
    change = _change(ctx)
    change.apply(_plan(ctx, change.plan_id), ctx.now)
    return {"new_method": change.new_method, "method_change_status": change.status}


@handler("method_change.abandon")
def method_change_abandon(ctx):
    change = _change(ctx)
    change.abandon(_plan(ctx, change.plan_id), ctx.now)
    return {"method_change_status": change.status}


@handler("method_change.request_publicity")
def method_change_request_publicity(ctx):
    """变更为单一来源: ask for the 单一来源公示 (started after this step commits) with what is known; the clerk completes
    the experts and opinions there. Nothing is asked while that procedure is not deployed."""
    change = _change(ctx)
    plan = _plan(ctx, change.plan_id)
    deployed = ctx.session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.key == "single_source_publicity").limit(1)) is not None
    if not deployed or change.new_method != "single_source":
        return {"publicity_requested": False}
    data = {"source": "failed" if change.tender_id else "plan", "project_id": plan.project_id, "plan_id": plan.id,
            "reason": change.reason, "supplier": {"name": change.supplier.get("name", ""),
                                                  "credit_code": change.supplier.get("credit_code", "")}}
    if change.tender_id:
        data["tender_id"] = change.tender_id
    request, _ = ctx.request_start("single_source_publicity", f"method_change:{change.id}", plan.unit_id, data)
    return {"publicity_requested": True}


# -- import_product_approval 进口产品审批/公示 (001 ch.9, 002 §7) --------------------------------------------------------
_IMPORT_FIELDS = ("project_id", "title", "items", "experts", "reason", "attachment_ref")


def _approval(ctx):
    return ctx.record(ImportApproval, ctx.require("import_approval_id"), "进口产品审批")


@handler("import_approval.submit")
def import_submit(ctx):
    """保存→提交: a new application, or the returned one edited; checked, then into review."""
    project_id = ctx.get("project_id")
    attached = uploaded(ctx, "附件", "project", int(project_id) if str(project_id or "").isdigit() else None)
    values = {**{key: ctx.get(key) for key in _IMPORT_FIELDS}, "attachments": attached}
    if ctx.get("import_approval_id") not in (None, ""):
        approval = _approval(ctx)
        approval.fill(ctx.session, values)
    else:
        approval = ImportApproval(unit_id=ctx.instance.unit_id, status="draft", items=[], experts=[], reason="",
                                  title="", attachment_ref="", review_comment="", created_by=ctx.user_id,
                                  created_at=ctx.now)
        approval.fill(ctx.session, values)
        ctx.session.add(approval)
        ctx.session.flush()
        approval.number = f"JK{ctx.now.year}{approval.id:06d}"
    approval.submit()
    return {"import_approval_id": approval.id, "import_approval_number": approval.number,
            "project_id": approval.project_id, "attachments": hashes(attached)}


@handler("import_approval.return")
def import_return(ctx):
    _approval(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("import_approval.approve")
def import_approve(ctx):
    approval = _approval(ctx)
    approval.approve()
    return {"import_status": approval.status}


@handler("import_approval.publish")
def import_publish(ctx):
    _approval(ctx).publish(ctx.now)
    return {}


@handler("import_approval.delete")
def import_delete(ctx):
    if ctx.get("import_approval_id") not in (None, ""):
        _approval(ctx).delete()
    return {}
