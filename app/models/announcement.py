"""Announcements of the purchaser (公告管理, seed 001 ch.8): 单一来源公示 (§8.2–8.3) and
面向中小企业预留项目执行情况公告 (§8.4–8.5).

单一来源公示 ``SingleSourcePublicity.status``:
draft 录入中 → in_review 审核中 → reviewed 待发布 → publicizing 公示中 → ended 公示期满;
in_review → draft when the reviewer rejects (with the comment); draft → deleted.
A single-source plan may not be announced or contracted before its publicity has ended
(``Plan.check_single_source_ready``).

The publicity period is at least five working days (《政府采购非招标采购方式管理办法》财政部令第74号 第三十八条:
公示期不得少于5个工作日). It starts the day after publication and ends at 24:00 Beijing time of the last working
day of the working-day calendar (``workdays.py``: weekdays, less the statutory holidays, plus the weekend days
worked instead, as the administrator entered them).

中小企业预留执行情况公告 ``SmeReservationReport.status``: draft → in_review → reviewed → published; rejected →
draft; draft → deleted. The clerk enters the period and the figures (001 §8.4 “填写时间和相关内容”).
"""
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import (
    Audited, BEIJING, Base, DomainError, Drafted, date_field, Money, UTCDateTime, beijing, money, utcnow, invalid as _bad,
    text_field as _text)
from .workdays import overrides, working_days_after

MIN_PUBLICITY_DAYS = 5

PUBLICITY_STATUSES = {"draft": "录入中", "in_review": "审核中", "reviewed": "待发布", "publicizing": "公示中",
                      "ended": "公示期满", "deleted": "已删除"}
PUBLICITY_SOURCES = {"plan": "采购计划选择单一来源", "failed": "采购方式变更（采购失败项目）"}
REPORT_STATUSES = {"draft": "录入中", "in_review": "审核中", "reviewed": "待发布", "published": "已发布",
                   "deleted": "已删除"}


def publicity_end(published_at, days=MIN_PUBLICITY_DAYS, calendar=None):
    """When a publicity published at ``published_at`` ends: 24:00 Beijing time of the ``days``-th working day
    after the day of publication, as a UTC datetime. ``calendar``: the entered days (``workdays.overrides``)."""
    published_day = published_at.astimezone(BEIJING).date()
    last = working_days_after(published_day, days, calendar)
    return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=BEIJING).astimezone(timezone.utc)


class SingleSourcePublicity(Drafted, Audited, Base):
    """单一来源公示: the proposed sole supplier, the experts' opinions and the reasons, published for at least five
    working days before the single-source procurement may proceed."""

    __tablename__ = "single_source_publicity"
    __audit_fields__ = ("status", "plan_id", "project_id", "tender_id", "supplier", "experts", "reason",
                        "publicity_days", "published_at", "publicity_end", "review_comment")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="plan")
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), index=True)
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tender.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    supplier: Mapped[dict] = mapped_column(JSON, default=dict)  # 拟定供应商 {name, credit_code, address}
    experts: Mapped[list] = mapped_column(JSON, default=list)  # 论证专家 [{name, title, unit, opinion}]
    reason: Mapped[str] = mapped_column(Text, default="")  # 申请理由
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # uploaded files
    publicity_days: Mapped[int] = mapped_column(Integer, default=MIN_PUBLICITY_DAYS)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    published_at = mapped_column(UTCDateTime, nullable=True)
    publicity_end = mapped_column(UTCDateTime, nullable=True)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def new(cls, unit_id, created_by, now):
        return cls(number=uuid.uuid4().hex[:20], unit_id=unit_id, status="draft", supplier={}, experts=[],
                   reason="", attachment_ref="", title="", review_comment="", publicity_days=MIN_PUBLICITY_DAYS,
                   created_by=created_by, created_at=now)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("PUBLICITY_STATE", f"单一来源公示 {self.number} 当前状态为“{PUBLICITY_STATUSES[self.status]}”，"
                                                 f"不能{action}")

    def fill(self, session, values):
        """The clerk's entries (001 §8.2 第二步): the project or the failed project, the proposed supplier, the
        experts and their opinions, the reasons. Checked here; refused with the field named."""
        from .plan import Plan
        from .project import Project
        from .tender import Tender
        self._require("draft", action="修改")
        source = values.get("source") or "plan"
        if source not in PUBLICITY_SOURCES:
            raise _bad("source", "公示来源应为采购计划或采购失败项目")
        plan = tender = None
        if source == "failed":
            tender = session.get(Tender, int(values["tender_id"])) if values.get("tender_id") else None
            if tender is None or tender.unit_id != self.unit_id:
                raise _bad("tender_id", "请选择本单位的采购失败项目")
            if tender.status not in ("failed", "cancelled"):
                raise DomainError("TENDER_NOT_FAILED", f"交易项目 {tender.number} 未采购失败（废标/流标或取消采购），"
                                                       "不能据此申请单一来源", field="tender_id")
            plan = session.get(Plan, tender.plan_id)
            project = session.get(Project, plan.project_id)
        else:
            project = session.get(Project, int(values["project_id"])) if values.get("project_id") else None
            if project is None or project.unit_id != self.unit_id:
                raise _bad("project_id", "请选择本单位的采购项目")
            if values.get("plan_id"):
                plan = session.get(Plan, int(values["plan_id"]))
                if plan is None or plan.project_id != project.id:
                    raise _bad("plan_id", "所选采购计划不属于该采购项目")
                if plan.method != "single_source":
                    raise DomainError("NOT_SINGLE_SOURCE", f"采购计划 {plan.number} 的采购方式不是单一来源", field="plan_id")
        if project.status != "registered":
            raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 未登记完成，不能申请单一来源公示",
                              field="project_id")
        supplier = values.get("supplier") if isinstance(values.get("supplier"), dict) else {}
        supplier = {"name": _text(supplier.get("name"), "supplier", "拟定供应商名称"),
                    "credit_code": _text(supplier.get("credit_code"), "supplier", "拟定供应商统一社会信用代码", 18,
                                         required=False).upper(),
                    "address": _text(supplier.get("address"), "supplier", "拟定供应商地址", required=False)}
        experts = values.get("experts") if isinstance(values.get("experts"), list) else []
        parsed = []
        for i, row in enumerate(e for e in experts if isinstance(e, dict) and any(e.values())):
            parsed.append({"name": _text(row.get("name"), "experts", f"第 {i + 1} 位论证专家的姓名", 50),
                           "title": _text(row.get("title"), "experts", f"第 {i + 1} 位论证专家的职称", 50),
                           "unit": _text(row.get("unit"), "experts", f"第 {i + 1} 位论证专家的工作单位"),
                           "opinion": _text(row.get("opinion"), "experts", f"第 {i + 1} 位论证专家的论证意见", 2000)})
        if not parsed:
            raise _bad("experts", "请至少添加一位论证专家及其论证意见")
        days = values.get("publicity_days") or MIN_PUBLICITY_DAYS
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise _bad("publicity_days", "公示期应为整数个工作日") from None
        if days < MIN_PUBLICITY_DAYS:
            raise _bad("publicity_days", f"公示期不得少于 {MIN_PUBLICITY_DAYS} 个工作日")
        if days > 30:
            raise _bad("publicity_days", "公示期应不超过 30 个工作日")
        self.source, self.project_id = source, project.id
        self.plan_id, self.tender_id = (plan.id if plan else None), (tender.id if tender else None)
        self.title = _text(values.get("title"), "title", "公示标题", required=False) or f"{project.name}单一来源采购公示"
        self.supplier, self.experts = supplier, parsed
        self.reason = _text(values.get("reason"), "reason", "申请理由及论证意见", 4000)
        self.attachment_ref = _text(values.get("attachment_ref"), "attachment_ref", "附件", required=False)
        self.attachments = list(values.get("attachments") or [])
        self.publicity_days = days
        self._check_no_other(session)

    def _check_no_other(self, session):
        query = select(SingleSourcePublicity.number).where(
            SingleSourcePublicity.id != self.id, SingleSourcePublicity.status != "deleted",
            SingleSourcePublicity.project_id == self.project_id)
        if self.plan_id is not None:
            query = query.where((SingleSourcePublicity.plan_id == self.plan_id)
                                | SingleSourcePublicity.plan_id.is_(None))
        other = session.scalar(query.limit(1))
        if other is not None:
            raise DomainError("PUBLICITY_EXISTS", f"该项目已有单一来源公示 {other}，请勿重复申请", field="project_id")

    def approve(self):
        self._require("in_review", action="审核通过")
        self.status = "reviewed"

    def publish(self, session, now):
        """发布 (001 §8.3): the publicity period starts; returns its end (UTC)."""
        self._require("reviewed", action="发布")
        self.status, self.published_at = "publicizing", now
        self.publicity_end = publicity_end(now, self.publicity_days, overrides(session))
        return self.publicity_end

    def end(self, now):
        """公示期满: the timer fired. Refused if it fires early (the period is the rule, not the timer)."""
        self._require("publicizing", action="结束公示")
        if now < self.publicity_end:
            raise DomainError("PUBLICITY_RUNNING", f"单一来源公示 {self.number} 公示期至 "
                                                   f"{beijing(self.publicity_end)}，尚未期满")
        self.status, self.ended_at = "ended", now

    def to_dict(self):
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "source": self.source,
                "source_label": PUBLICITY_SOURCES.get(self.source), "project_id": self.project_id,
                "plan_id": self.plan_id, "tender_id": self.tender_id, "title": self.title,
                "supplier": self.supplier or {}, "experts": self.experts or [], "reason": self.reason,
                "attachment_ref": self.attachment_ref, "attachments": self.attachments or [], "publicity_days": self.publicity_days, "status": self.status,
                "status_label": PUBLICITY_STATUSES[self.status], "review_comment": self.review_comment,
                "published_at": self.published_at, "publicity_end": self.publicity_end, "ended_at": self.ended_at,
                "created_at": self.created_at}


def single_source_publicity_for(session, plan):
    """The latest live publicity that covers ``plan`` (named on it, or on its project without a plan)."""
    return session.scalars(select(SingleSourcePublicity).where(
        SingleSourcePublicity.status != "deleted", SingleSourcePublicity.project_id == plan.project_id,
        (SingleSourcePublicity.plan_id == plan.id) | SingleSourcePublicity.plan_id.is_(None))
        .order_by(SingleSourcePublicity.id.desc()).limit(1)).first()


def check_single_source_ready(session, plan):
    """A single-source plan proceeds (announcement, contract) only after its publicity period has ended."""
    if plan.method != "single_source":
        return
    publicity = single_source_publicity_for(session, plan)
    if publicity is None:
        raise DomainError("SINGLE_SOURCE_NOT_PUBLICIZED",
                          f"采购计划 {plan.number} 为单一来源采购，须先完成单一来源公示（公示期不少于 "
                          f"{MIN_PUBLICITY_DAYS} 个工作日）", field="plan_id")
    if publicity.status != "ended":
        if publicity.status == "publicizing":
            detail = f"公示期至 {beijing(publicity.publicity_end)}（北京时间）"
        else:
            detail = f"公示当前为“{PUBLICITY_STATUSES[publicity.status]}”"
        raise DomainError("SINGLE_SOURCE_PUBLICITY_RUNNING",
                          f"采购计划 {plan.number} 的单一来源公示 {publicity.number} 尚未期满（{detail}），"
                          "公示期满前不能继续采购", field="plan_id")


# -- 面向中小企业预留项目执行情况公告 -----------------------------------------------------------------
_FIGURES = {"total_amount": "政府采购项目总金额", "reserved_amount": "面向中小企业预留项目金额",
            "sme_contract_amount": "中小企业合同金额", "small_micro_contract_amount": "其中小微企业合同金额"}


class SmeReservationReport(Drafted, Audited, Base):
    """面向中小企业预留项目执行情况公告 of one purchasing unit for one period."""

    __tablename__ = "sme_reservation_report"
    __audit_fields__ = ("status", "period_start", "period_end", "total_amount", "reserved_amount",
                        "sme_contract_amount", "small_micro_contract_amount", "reserved_project_count",
                        "review_comment", "published_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reserved_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    sme_contract_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    small_micro_contract_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reserved_project_count: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text, default="")  # 执行情况说明
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # uploaded files
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    published_at = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def new(cls, unit_id, created_by, now):
        return cls(number=uuid.uuid4().hex[:20], unit_id=unit_id, status="draft", title="", content="",
                   attachment_ref="", review_comment="", total_amount=Decimal("0"), reserved_amount=Decimal("0"),
                   sme_contract_amount=Decimal("0"), small_micro_contract_amount=Decimal("0"),
                   reserved_project_count=0, created_by=created_by, created_at=now)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("REPORT_STATE", f"执行情况公告 {self.number} 当前状态为“{REPORT_STATUSES[self.status]}”，"
                                              f"不能{action}")

    def fill(self, session, values, today):
        self._require("draft", action="修改")
        start = date_field(values.get("period_start"), "period_start", "统计期间起始日期")
        end = date_field(values.get("period_end"), "period_end", "统计期间截止日期")
        if end < start:
            raise _bad("period_end", "统计期间截止日期不能早于起始日期")
        if end > today:
            raise _bad("period_end", "统计期间截止日期不能晚于今天")
        figures = {}
        for key, label in _FIGURES.items():
            if values.get(key) in (None, ""):
                raise _bad(key, f"请填写{label}")
            figures[key] = money(values[key], key)
        count = values.get("reserved_project_count")
        try:
            count = int(count or 0)
        except (TypeError, ValueError):
            raise _bad("reserved_project_count", "预留项目数应为整数") from None
        if count < 0:
            raise _bad("reserved_project_count", "预留项目数不能为负数")
        if figures["reserved_amount"] > figures["total_amount"]:
            raise DomainError("FIGURES_INCONSISTENT", "预留项目金额不能超过政府采购项目总金额", field="reserved_amount")
        if figures["sme_contract_amount"] > figures["total_amount"]:
            raise DomainError("FIGURES_INCONSISTENT", "中小企业合同金额不能超过政府采购项目总金额",
                              field="sme_contract_amount")
        if figures["small_micro_contract_amount"] > figures["sme_contract_amount"]:
            raise DomainError("FIGURES_INCONSISTENT", "小微企业合同金额不能超过中小企业合同金额",
                              field="small_micro_contract_amount")
        if count == 0 and figures["reserved_amount"] > 0:
            raise DomainError("FIGURES_INCONSISTENT", "有预留金额时请填写预留项目数", field="reserved_project_count")
        self.period_start, self.period_end = start, end
        for key, value in figures.items():
            setattr(self, key, value)
        self.reserved_project_count = count
        self.title = _text(values.get("title"), "title", "公告标题", required=False) or \
            f"面向中小企业预留项目执行情况公告（{start.isoformat()} 至 {end.isoformat()}）"
        self.content = _text(values.get("content"), "content", "执行情况说明", 4000, required=False)
        self.attachment_ref = _text(values.get("attachment_ref"), "attachment_ref", "附件", required=False)
        self.attachments = list(values.get("attachments") or [])
        other = session.scalar(select(SmeReservationReport.number).where(
            SmeReservationReport.unit_id == self.unit_id, SmeReservationReport.id != self.id,
            SmeReservationReport.status.not_in(("draft", "deleted")),
            SmeReservationReport.period_start <= end, SmeReservationReport.period_end >= start).limit(1))
        if other is not None:
            raise DomainError("PERIOD_OVERLAP", f"本单位该统计期间已有执行情况公告 {other}", field="period_start")

    @property
    def sme_share(self):
        """中小企业合同金额占比 (of the total), four decimals; None when the total is 0."""
        if not self.total_amount:
            return None
        return (self.sme_contract_amount / self.total_amount).quantize(Decimal("0.0001"))

    def approve(self):
        self._require("in_review", action="审核通过")
        self.status = "reviewed"

    def publish(self, now):
        self._require("reviewed", action="发布")
        self.status, self.published_at = "published", now

    def to_dict(self):
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "title": self.title,
                "period_start": self.period_start.isoformat() if self.period_start else None,
                "period_end": self.period_end.isoformat() if self.period_end else None,
                "total_amount": self.total_amount, "reserved_amount": self.reserved_amount,
                "sme_contract_amount": self.sme_contract_amount,
                "small_micro_contract_amount": self.small_micro_contract_amount,
                "reserved_project_count": self.reserved_project_count,
                "sme_share": str(self.sme_share) if self.sme_share is not None else None, "content": self.content,
                "attachment_ref": self.attachment_ref, "attachments": self.attachments or [], "status": self.status,
                "status_label": REPORT_STATUSES[self.status], "review_comment": self.review_comment,
                "published_at": self.published_at, "created_at": self.created_at}
