"""Supervision rules (监督预警, seed 001 §11.1) as handlers, one topic per rule, thresholds from ``supervision_rule``;
and the 巡检处理 of each warning in its own ``warning_resolution`` instance.

Every rule handler returns ``{"<rule>": {"checked": n, "raised": [warning ids], "skipped": reason or None}}``;
a disabled rule, or one whose records do not exist yet, is skipped with the reason. The scan's last step asks
the engine to start one ``warning_resolution`` per open warning that has none (``ctx.request_start``, idempotent
by the business key ``warning:<id>``).
"""
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ..models import Contract, DomainError, Plan, Project, Tender, Unit
from ..models.threshold import decentralized_limit
from ..models.supervision import SupervisionRule, SupervisionWarning, ensure_rules
from . import handler
from .common import uploaded
from ..models.attachment import hashes
from ..models.base import BEIJING

FILED = ("filed", "terminating", "terminated", "fulfilled")
UNFILED = ("draft", "in_review", "reviewed", "published")


def _yuan(amount):
    return f"{amount:,.2f} 元"


def _rule(ctx, code):
    """The rule row, locked: two scans at once take their turns rule by rule."""
    ensure_rules(ctx.session)
    return ctx.session.get(SupervisionRule, code, with_for_update=True)


def _scope(ctx, query, unit_column):
    """The daily timer checks every unit; a scan a person starts checks the units that person may see."""
    if ctx.user is None:
        return query
    return query.where(unit_column.in_(ctx.user.unit_ids(ctx.session)))


def _run(ctx, code, check):
    rule = _rule(ctx, code)
    if not rule.enabled:
        return {code: {"checked": 0, "raised": [], "skipped": "规则已停用"}}
    checked, findings, skipped = check(ctx, rule)
    raised = []
    for record_type, record_id, key, unit_id, message, details in findings:
        warning = SupervisionWarning.raise_once(ctx.session, code, record_type, record_id, key, unit_id, message,
                                                details, ctx.now, ctx.instance.id)
        if warning is not None:
            raised.append(warning.id)
    return {code: {"checked": checked, "raised": raised, "skipped": skipped}}


# -- the rules ----------------------------------------------------------------------------------------
def _intent_30_days(ctx, rule):
    """Announcements less than ``min_days`` (Beijing calendar days) after the project's published intent, or
    without one; 自行采购 needs no intent (001 §3.1 注②). The reason the agency gave (意向未满30天的理由) is quoted."""
    from .. import models
    intent = getattr(models, "Intent", None)
    if intent is None or not all(hasattr(intent, a) for a in ("project_id", "published_at", "status")):
        return 0, [], "采购意向记录尚未建立（intent_disclosure 未实现），本规则暂不检查"
    min_days = rule.param("min_days")
    rows = list(ctx.session.execute(_scope(ctx, select(Tender, Plan, Project).join(Plan, Plan.id == Tender.plan_id)
                                                  .join(Project, Project.id == Plan.project_id), Tender.unit_id)
                                    .order_by(Tender.id)))
    findings = []
    for tender, plan, project in rows:
        if project.implementation_form == "self" or plan.method == "self":
            continue
        published = ctx.session.scalar(select(func.min(intent.published_at)).where(
            intent.project_id == project.id, intent.status == "published"))
        days = (_local(tender.announced_at) - _local(published)).days if published is not None else None
        if days is not None and days >= min_days:
            continue
        gap = f"距采购意向公开（{_day(published)}）仅 {days} 日" if published is not None else "项目未公开采购意向"
        reason = (getattr(tender, "intent_gap_reason", "") or "").strip()
        findings.append(("tender", tender.id, str(tender.id), tender.unit_id,
                         f"交易项目 {tender.number} 于 {_day(tender.announced_at)} 发布采购公告，{gap}"
                         f"（应不少于 {min_days} 日）" + (f"；所述理由：{reason}" if reason else ""),
                         {"announced_at": tender.announced_at.isoformat(), "days": days, "reason": reason,
                          "intent_published_at": published.isoformat() if published else None}))
    return len(rows), findings, None


def _contract_not_filed(ctx, rule):
    days = rule.param("days")
    tenders = list(ctx.session.scalars(_scope(ctx, select(Tender).where(Tender.status == "awarded",
                                                                        Tender.closed_at.is_not(None)),
                                              Tender.unit_id)))
    findings = []
    for tender in tenders:
        deadline = tender.closed_at + timedelta(days=days)
        filed = ctx.session.scalar(select(func.min(Contract.filed_at)).where(
            Contract.plan_id == tender.plan_id, Contract.status.in_(FILED)))
        if filed is not None and filed <= deadline:
            continue
        if filed is None and ctx.now <= deadline:
            continue
        late = (_local(filed or ctx.now) - _local(tender.closed_at)).days  # calendar days, Beijing time
        message = (f"交易项目 {tender.number} 于 {_day(tender.closed_at)} 发出中标通知，"
                   + (f"合同于 {_day(filed)} 备案，超过 {days} 日时限" if filed else
                      f"至今 {late} 日仍无备案合同（时限 {days} 日）"))
        findings.append(("tender", tender.id, str(tender.id), tender.unit_id, message,
                         {"awarded_at": tender.closed_at.isoformat(), "filed_at": filed.isoformat() if filed else None,
                          "days": days}))
    return len(tenders), findings, None


def _payment_over_amount(ctx, rule):
    contracts = list(ctx.session.scalars(_scope(ctx, select(Contract).where(Contract.paid_amount > 0),
                                                Contract.unit_id)))
    findings = []
    for c in contracts:
        total = c.amount + (getattr(c, "supplement_amount", None) or Decimal("0"))
        if c.paid_amount <= total:
            continue
        findings.append(("contract", c.id, f"{c.id}:paid:{c.paid_amount:.2f}", c.unit_id,
                         f"合同 {c.number} 已支付 {_yuan(c.paid_amount)}，超过合同金额 {_yuan(total)}"
                         f" {_yuan(c.paid_amount - total)}",
                         {"paid_amount": f"{c.paid_amount:.2f}", "contract_amount": f"{total:.2f}"}))
    return len(contracts), findings, None


def _limit(ctx, rule, unit, category):
    """The limit a split purchase evades: the unit's 分散采购限额 from the threshold table where there is one
    (app/models/threshold.py), else the rule's ``limit_amount``. Returns (amount, source)."""
    region, amount = decentralized_limit(ctx.session, unit, category)
    if amount is not None:
        return amount, f"threshold:{region}"
    return rule.param("limit_amount", Decimal), "rule"


def _split_purchase(ctx, rule):
    min_count = rule.param("min_count")
    query = _scope(ctx, select(Project).where(Project.status.in_(("in_review", "registered", "closed"))),
                   Project.unit_id)
    groups = {}
    projects = list(ctx.session.scalars(query.order_by(Project.id)))
    for p in projects:
        groups.setdefault((p.unit_id, p.year, p.category), []).append(p)
    findings = []
    from ..models.project import CATEGORIES
    for (unit_id, year, category), registered in sorted(groups.items()):
        unit = ctx.session.get(Unit, unit_id)
        limit, source = _limit(ctx, rule, unit, category)
        members = [p for p in registered if p.amount < limit]
        total = sum((p.amount for p in members), Decimal("0"))
        if len(members) < min_count or total < limit:
            continue
        numbers = "、".join(p.number for p in members)
        findings.append(("unit", unit_id, f"{unit_id}:{year}:{category}:{len(members)}", unit_id,
                         f"{unit.name} {year} 年度登记 {len(members)} 个{CATEGORIES.get(category, category)}类采购项目"
                         f"（{numbers}），每个均低于 {_yuan(limit)}，合计 {_yuan(total)}，疑似化整为零规避政府采购",
                         {"year": year, "category": category, "project_ids": [p.id for p in members],
                          "total_amount": f"{total:.2f}", "limit_amount": f"{limit:.2f}", "limit_source": source}))
    return len(projects), findings, None


def _year_end_unfiled(ctx, rule):
    days = rule.param("days_before_year_end")
    today = ctx.now.astimezone(BEIJING).date()
    year_end = date(today.year, 12, 31)
    if (year_end - today).days > days:
        return 0, [], f"距年末超过 {days} 日，暂不检查"
    query = _scope(ctx, select(Contract, Plan).join(Plan, Plan.id == Contract.plan_id).where(
        Plan.plan_type == "no_process", Plan.year == today.year, Contract.status.in_(UNFILED),
        Contract.signed_date.is_not(None)), Contract.unit_id)
    rows = list(ctx.session.execute(query))
    findings = [("contract", c.id, f"{c.id}:{today.year}", c.unit_id,
                 f"无过程采购计划 {p.number} 的合同 {c.number} 已于 {c.signed_date.isoformat()} 签订，至今未备案；"
                 f"应在 {year_end.isoformat()} 前备案",
                 {"plan_id": p.id, "signed_date": c.signed_date.isoformat(), "status": c.status})
                for c, p in rows]
    return len(rows), findings, None


def _local(moment):
    return moment.astimezone(BEIJING).date()


def _day(moment):
    return _local(moment).isoformat()


RULES = {"intent_30_days": _intent_30_days, "contract_not_filed": _contract_not_filed,
         "payment_over_amount": _payment_over_amount, "split_purchase": _split_purchase,
         "year_end_unfiled": _year_end_unfiled}


def _register(code, check):
    handler(f"supervision.{code}")(lambda ctx: _run(ctx, code, check))


for _code, _check in RULES.items():
    _register(_code, _check)


@handler("supervision.start_resolutions")
def start_resolutions(ctx):
    """One 巡检处理 instance per open warning that has none yet (started after this step commits)."""
    query = select(SupervisionWarning).where(SupervisionWarning.status == "open",
                                             SupervisionWarning.resolution_instance.is_(None))
    requested = []
    for warning in ctx.session.scalars(_scope(ctx, query, SupervisionWarning.unit_id).order_by(SupervisionWarning.id)):
        _, created = ctx.request_start("warning_resolution", f"warning:{warning.id}", warning.unit_id,
                                       {"warning_id": warning.id})
        if created:
            requested.append(warning.id)
    open_count = ctx.session.scalar(select(func.count()).select_from(SupervisionWarning)
                                    .where(SupervisionWarning.status == "open"))
    return {"resolutions_requested": requested, "open_warnings": open_count}


# -- warning_resolution 巡检处理 --------------------------------------------------------------------------
def _warning(ctx):
    ident = ctx.require("warning_id")
    warning = ctx.session.get(SupervisionWarning, int(ident), with_for_update=True)
    if warning is None:
        raise DomainError("NOT_FOUND", f"预警 {ident} 不存在", status=404)
    if ctx.instance.unit_id is not None and warning.unit_id != ctx.instance.unit_id:
        raise DomainError("WRONG_UNIT", f"预警 {ident} 不属于本单位", status=403)
    return warning


@handler("warning.load")
def load(ctx):
    """The warning this instance handles: linked to it, its text for the 巡检处理 form."""
    warning = _warning(ctx)
    if warning.resolution_instance not in (None, ctx.instance.id):
        raise DomainError("WARNING_IN_PROCESS", f"预警 {warning.id} 已在流程 {warning.resolution_instance} 中处理")
    warning.resolution_instance = ctx.instance.id
    rule = ctx.session.get(SupervisionRule, warning.rule)
    return {"warning_rule": rule.name if rule else warning.rule, "warning_message": warning.message,
            "warning_record": f"{warning.record_type}:{warning.record_id}"}


@handler("warning.resolve")
def resolve(ctx):
    warning = _warning(ctx)
    documented = warning.record_type if warning.record_type in ("plan", "project", "tender", "contract") else None
    attached = uploaded(ctx, "附件", documented, warning.record_id)
    warning.resolve(ctx.get("outcome"), ctx.get("resolution"), ctx.user_id, ctx.now)
    return {"warning_status": warning.status, "attachments": hashes(attached)}
