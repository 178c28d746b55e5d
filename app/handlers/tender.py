"""Handlers for the agency's transaction projects (交易执行) and the cancel / failed-bid chains."""
from ..models import Plan, Tender
from . import handler


def _tender(ctx):
    return ctx.record(Tender, ctx.require("tender_id"), "交易项目")


@handler("tender.announce")
def announce(ctx):
    """采购公告发布: create the tender on a filed plan; the plan becomes used."""
    plan = ctx.record(Plan, ctx.require("plan_id"), "采购计划")
    tender = Tender.announce(plan, ctx.get("title"), ctx.now, ctx.get("intent_gap_reason"))
    ctx.session.add(tender)
    ctx.session.flush()
    return {"tender_id": tender.id, "tender_number": tender.number}


@handler("tender.open")
def open_bids(ctx):
    _tender(ctx).open_bids(ctx.now)
    return {}


@handler("tender.award")
def award(ctx):
    _tender(ctx).award(ctx.now)
    return {}


@handler("tender.record_failure")
def record_failure(ctx):
    _tender(ctx).record_failure()
    return {}


@handler("tender.start_cancellation")
def start_cancellation(ctx):
    """取消采购任务; the agency's own tender_execution on this tender ends: this procedure takes over."""
    tender = _tender(ctx)
    tender.start_cancellation(ctx.get("reason"))
    ctx.cancel_instances("tender", tender.id, ["tender_execution"], "取消采购任务已发起")
    return {"plan_id": tender.plan_id}


@handler("tender.confirm_cancellation")
def confirm_cancellation(ctx):
    tender = _tender(ctx)
    tender.confirm_cancellation(ctx.now)
    return {"tender_status": tender.status}


@handler("tender.decline_cancellation")
def decline_cancellation(ctx):
    tender = _tender(ctx)
    tender.decline_cancellation()
    return {"tender_status": tender.status}


@handler("tender.publish_failure")
def publish_failure(ctx):
    tender = _tender(ctx)
    tender.publish_failure(ctx.get("reason"), ctx.now)
    ctx.cancel_instances("tender", tender.id, ["tender_execution"], "废标公告已发布")
    return {"plan_id": tender.plan_id}


@handler("tender.request_termination")
def request_termination(ctx):
    tender = _tender(ctx)
    tender.request_termination()
    plan = ctx.record(Plan, tender.plan_id, "采购计划")
    return {"plan_id": plan.id, "project_id": plan.project_id}
