"""Handlers for entrustment (委托代理采购, seed 004 §3(二)(三)). The rules are on ``Entrustment`` and ``Tender``; the
cancel and failed-bid chains are the procurement_cancellation / failed_bid_termination call activities, or procedures
of their own that end the entrustment through ``entrustment.close``."""

from sqlalchemy import func, select

from ..models import Contract, DomainError, Plan, Tender, User
from ..models.entrustment import Entrustment
from ..models.supplier import enrol
from . import handler


def _entrustment(ctx):
    return ctx.record(Entrustment, ctx.require("entrustment_id"), "委托单")


def _plan(ctx, entrustment):
    return ctx.record(Plan, entrustment.plan_id, "采购计划")


def _tender(ctx, entrustment):
    if entrustment.tender_id is None:
        raise DomainError("NO_TENDER", f"委托单 {entrustment.number} 尚未发布采购公告")
    return ctx.record(Tender, entrustment.tender_id, "交易项目")


_FIELDS = ("requirements", "contact")


@handler("entrustment.create")
def create(ctx):
    """创建委托单 on a usable plan of the unit; refused at the start when the plan cannot be entrusted."""
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    entrustment = Entrustment.create(ctx.session, plan, ctx.user_id,
                                     {key: ctx.get(key) for key in (*_FIELDS, "agency_id")}, ctx.now)
    assignee = ctx.session.get(User, plan.assignee_id) if plan.assignee_id else None
    # agency_id: the entrusted agency; every later task of the instance carries it (engine rule, 代理机构库).
    return {"entrustment_id": entrustment.id, "entrustment_number": entrustment.number, "plan_id": plan.id,
            "agency_id": entrustment.agency_id,
            "project_id": plan.project_id, "plan_clerk": assignee.username if assignee else ctx.data.get("initiator")}


@handler("entrustment.submit")
def submit(ctx):
    """提交 (or 重新提交 after a return) for the unit's review; the plan is checked again."""
    entrustment = _entrustment(ctx)
    entrustment.edit({key: ctx.get(key) for key in _FIELDS})
    entrustment.submit(ctx.session, _plan(ctx, entrustment))
    return {}


@handler("entrustment.return")
def return_for_edit(ctx):
    """委托单审核不通过 or 代理机构不予受理."""
    _entrustment(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("entrustment.approve")
def approve(ctx):
    _entrustment(ctx).approve()
    return {}


@handler("entrustment.abandon")
def abandon(ctx):
    _entrustment(ctx).abandon()
    return {}


@handler("entrustment.accept")
def accept(ctx):
    _entrustment(ctx).accept(ctx.now)
    return {}


@handler("entrustment.documents")
def documents(ctx):
    _entrustment(ctx).prepare_documents(ctx.get("documents_ref"), ctx.get("documents_note"))
    return {}


@handler("entrustment.confirm_documents")
def confirm_documents(ctx):
    entrustment = _entrustment(ctx)
    if ctx.get("approved") is False:
        entrustment.return_documents(ctx.get("comment"))
    else:
        entrustment.confirm_documents()
    return {"entrustment_status": entrustment.status}


@handler("entrustment.announce")
def announce(ctx):
    """发布采购公告: ``Tender.announce`` (plan used; 单一来源 publicity and the intent rules apply there)."""
    entrustment = _entrustment(ctx)
    plan = _plan(ctx, entrustment)
    tender = Tender.announce(plan, ctx.get("title"), ctx.now, ctx.get("intent_gap_reason"))
    earlier = ctx.session.scalar(select(func.count(Tender.id)).where(Tender.plan_id == plan.id))
    if earlier:  # 流标重招: a new attempt on the same plan gets a number of its own
        tender.number = f"{tender.number}-{earlier + 1}"
    ctx.session.add(tender)
    ctx.session.flush()
    entrustment.announced(tender)
    return {"tender_id": tender.id, "tender_number": tender.number}


@handler("entrustment.register")
def register(ctx):
    _entrustment(ctx).register(ctx.get("registered_count") or 0)
    return {}


@handler("entrustment.reply_invitation")
def reply_invitation(ctx):
    _entrustment(ctx).reply_invitation(ctx.get("attend") is True, ctx.get("representative"))
    return {}


@handler("entrustment.evaluate")
def evaluate(ctx):
    """评审结果: the winner and amount, or 招标失败 (the tender's result becomes failed)."""
    entrustment = _entrustment(ctx)
    tender = _tender(ctx, entrustment)
    result = ctx.get("result")
    winner = {"name": ctx.get("winner_name"), "credit_code": ctx.get("winner_credit_code")}
    entrustment.evaluate(tender, _plan(ctx, entrustment), result, winner, ctx.get("award_amount"), ctx.get("reason"))
    if entrustment.winner:  # 供应商库: a refused supplier cannot be awarded; a new one is proposed for review
        enrol(ctx.session, [entrustment.winner], "winner_credit_code", ctx.actor, ctx.now,
              f"委托单 {entrustment.number} 评审结果")
    if entrustment.status == "failed":
        tender.record_failure()
    return {"result": result}


@handler("entrustment.publish_result")
def publish_result(ctx):
    _entrustment(ctx).publish_result(ctx.get("result_title"))
    return {}


@handler("entrustment.confirm_result")
def confirm_result(ctx):
    entrustment = _entrustment(ctx)
    if ctx.get("approved") is False:
        entrustment.return_result(ctx.get("comment"))
    else:
        entrustment.confirm_result()
    return {"entrustment_status": entrustment.status}


@handler("entrustment.award")
def award(ctx):
    """发送中标通知书: the tender is awarded and a contract draft (source ``award``) waits for contract_filing."""
    entrustment = _entrustment(ctx)
    tender = _tender(ctx, entrustment)
    plan = _plan(ctx, entrustment)
    tender.award(ctx.now)
    contract = Contract.new_draft(ctx.session, plan, plan.unit_id, {
        "name": f"{plan.name}采购合同", "amount": entrustment.award_amount,
        "suppliers": [entrustment.winner]}, created_by=None, now=ctx.now, source="award")
    entrustment.award(contract, ctx.now)
    return {"contract_id": contract.id, "contract_number": contract.number}


@handler("entrustment.cancelled")
def cancelled(ctx):
    """After procurement_cancellation: the entrustment ends with the tender if the purchaser confirmed."""
    entrustment = _entrustment(ctx)
    tender = _tender(ctx, entrustment)
    if tender.status == "cancelled":
        entrustment.cancelled()
    return {"tender_status": tender.status}


@handler("entrustment.close")
def close(ctx):
    """The entrustment ends with its tender: ``outcome`` cancelled (取消采购 confirmed, here or by a cancellation
    procedure of its own) or terminated (废标公告 published, 流标重招终止)."""
    entrustment = _entrustment(ctx)
    entrustment.close(_tender(ctx, entrustment), ctx.require("outcome"))
    return {"entrustment_status": entrustment.status}


@handler("entrustment.retender")
def retender(ctx):
    """流标重招-变更采购方式 approved: the agency prepares new documents for a new tender on the plan."""
    entrustment = _entrustment(ctx)
    plan = _plan(ctx, entrustment)
    if plan.status != "filed":
        raise DomainError("PLAN_NOT_FILED", f"采购计划 {plan.number} 未恢复为可使用，不能重新招标")
    entrustment.retender()
    return {"tender_id": None}
