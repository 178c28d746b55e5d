"""Handlers for the purchaser's announcements (公告管理, seed 001 ch.8): 单一来源公示/发布 and
面向中小企业预留项目执行情况公告/发布. The rules are on the records (app/models/announcement.py)."""

from ..models.announcement import SingleSourcePublicity, SmeReservationReport
from . import handler
from .common import bind, uploaded
from ..models.attachment import hashes
from ..models.base import BEIJING

_PUBLICITY_FIELDS = ("source", "project_id", "plan_id", "tender_id", "title", "supplier", "experts", "reason",
                     "attachment_ref", "publicity_days")
_REPORT_FIELDS = ("title", "period_start", "period_end", "total_amount", "reserved_amount", "sme_contract_amount",
                  "small_micro_contract_amount", "reserved_project_count", "content", "attachment_ref")


def _publicity(ctx):
    return ctx.record(SingleSourcePublicity, ctx.require("publicity_id"), "单一来源公示")


# -- single_source_publicity 单一来源公示/发布 (001 §8.2–8.3) ---------------------------------------
@handler("single_source.submit")
def publicity_submit(ctx):
    """保存→提交: a new publicity, or the returned one edited; checked, then into review."""
    attached = uploaded(ctx, "附件")
    values = {**{key: ctx.get(key) for key in _PUBLICITY_FIELDS}, "attachments": attached}
    if ctx.get("publicity_id") not in (None, ""):
        publicity = _publicity(ctx)
        publicity.fill(ctx.session, values)
    else:
        publicity = SingleSourcePublicity.new(ctx.instance.unit_id, ctx.user_id, ctx.now)
        publicity.fill(ctx.session, values)
        ctx.session.add(publicity)
        ctx.session.flush()
        publicity.number = f"DY{ctx.now.year}{publicity.id:06d}"
    publicity.submit()
    bind(ctx, attached, "project", publicity.project_id)
    return {"publicity_id": publicity.id, "publicity_number": publicity.number, "project_id": publicity.project_id,
            "plan_id": publicity.plan_id, "attachments": hashes(attached)}


@handler("single_source.return")
def publicity_return(ctx):
    _publicity(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("single_source.approve")
def publicity_approve(ctx):
    _publicity(ctx).approve()
    return {}


@handler("single_source.delete")
def publicity_delete(ctx):
    if ctx.get("publicity_id") not in (None, ""):
        _publicity(ctx).delete()
    return {}


@handler("single_source.publish")
def publicity_publish(ctx):
    """发布: the publicity period starts; ``publicity_end`` (ISO-8601, UTC) drives the diagram's timeDate timer."""
    end = _publicity(ctx).publish(ctx.session, ctx.now)
    return {"publicity_end": end.isoformat(),
            "publicity_end_local": end.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")}


@handler("single_source.end")
def publicity_end(ctx):
    _publicity(ctx).end(ctx.now)
    return {}


# -- sme_reservation_report 面向中小企业预留项目执行情况公告/发布 (001 §8.4–8.5) -------------------------
def _report(ctx):
    return ctx.record(SmeReservationReport, ctx.require("report_id"), "执行情况公告")


@handler("sme_report.submit")
def report_submit(ctx):
    today = ctx.now.astimezone(BEIJING).date()
    attached = uploaded(ctx, "附件")
    values = {**{key: ctx.get(key) for key in _REPORT_FIELDS}, "attachments": attached}
    if ctx.get("report_id") not in (None, ""):
        report = _report(ctx)
        report.fill(ctx.session, values, today)
    else:
        report = SmeReservationReport.new(ctx.instance.unit_id, ctx.user_id, ctx.now)
        report.fill(ctx.session, values, today)
        ctx.session.add(report)
        ctx.session.flush()
        report.number = f"ZXQY{ctx.now.year}{report.id:06d}"
    report.submit()
    share = report.sme_share
    return {"report_id": report.id, "report_number": report.number,
            "sme_share": f"{share:.2%}" if share is not None else "—", "attachments": hashes(attached)}


@handler("sme_report.return")
def report_return(ctx):
    _report(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("sme_report.approve")
def report_approve(ctx):
    _report(ctx).approve()
    return {}


@handler("sme_report.delete")
def report_delete(ctx):
    if ctx.get("report_id") not in (None, ""):
        _report(ctx).delete()
    return {}


@handler("sme_report.publish")
def report_publish(ctx):
    _report(ctx).publish(ctx.now)
    return {}
