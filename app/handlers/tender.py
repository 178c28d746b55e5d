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
    # 代理机构库: the tender is the agency's whose staff announce it; its later tasks carry the agency (engine rule).
    tender.agency_id = ctx.user.agency_id if ctx.user is not None else None
    ctx.session.add(tender)
    ctx.session.flush()
    out = {"tender_id": tender.id, "tender_number": tender.number}
    if tender.agency_id is not None:
        out["agency_id"] = tender.agency_id
    return out


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
    """取消采购任务 (agency). The procedure running the tender (交易执行 or 委托代理采购) goes on until the
    purchaser confirms: it ends then (``confirm_cancellation``), or carries on if the purchaser declines."""
    tender = _tender(ctx)
    tender.start_cancellation(ctx.get("reason"))
    return {"plan_id": tender.plan_id}


@handler("tender.confirm_cancellation")
def confirm_cancellation(ctx):
    """采购人确认取消采购任务: the tender is cancelled; the procedure that ran it ends through its own
    取消 path (message ``tender_cancelled``), recorded in both histories."""
    tender = _tender(ctx)
    tender.confirm_cancellation(ctx.now)
    ctx.notify_instances("tender", tender.id, "tender_cancelled")
    return {"tender_status": tender.status}


@handler("tender.decline_cancellation")
def decline_cancellation(ctx):
    """采购人不确认 (with a reason): the request is withdrawn and the tender's procedure continues."""
    tender = _tender(ctx)
    tender.decline_cancellation(ctx.get("comment"))
    return {"tender_status": tender.status}


@handler("tender.request_failure_notice")
def request_failure_notice(ctx):
    """废标公告 drafted by the agency, sent to the purchaser for confirmation (not yet published)."""
    tender = _tender(ctx)
    tender.request_failure_notice(ctx.get("reason"))
    return {"plan_id": tender.plan_id}


@handler("tender.decline_failure_notice")
def decline_failure_notice(ctx):
    _tender(ctx).decline_failure_notice(ctx.get("comment"))
    return {}


@handler("tender.publish_failure")
def publish_failure(ctx):
    """废标公告发布: the tender has failed; a procedure still waiting on it (委托代理采购's 流标重招处理) ends
    through its own path (message ``tender_failed``)."""
    tender = _tender(ctx)
    tender.publish_failure(ctx.get("reason"), ctx.now, confirmed=ctx.get("confirmed") is True)
    ctx.notify_instances("tender", tender.id, "tender_failed")
    return {"plan_id": tender.plan_id, "tender_status": tender.status}


@handler("tender.check_ended")
def check_ended(ctx):
    """The path a procedure takes when another one ended its tender: only if the tender really ended so."""
    tender = _tender(ctx)
    tender.check_ended(ctx.require("expected_status"))
    return {"tender_status": tender.status}


@handler("tender.request_termination")
def request_termination(ctx):
    tender = _tender(ctx)
    tender.request_termination()
    plan = ctx.record(Plan, tender.plan_id, "采购计划")
    return {"plan_id": plan.id, "project_id": plan.project_id}
