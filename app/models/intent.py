"""采购意向公开 (seed 001 ch.3): a disclosure lists the unit's projects with what the public sees (项目名称、采购需求概况、
预算金额、预计采购时间、备注); the reviewer reviews it; the clerk publishes it or takes it back (撤销) to edit.

    draft 编辑中 → in_review 审核中 → reviewed 待发布 → published 已发布 (immutable)
    in_review → draft on 审核不通过; reviewed → draft on 撤销 (re-edit before publishing); draft → deleted

One ``Intent`` row per project of a disclosure (``project_id``, ``published_at``, ``status``), so rules that look
up a project's intent (the 30-day rule here, the supervision scan) read one table.

- 自行采购不需要意向公开 (001 §3.1 注②): a 自行采购 project cannot be added, and needs none at announcement.
- 意向公开发布后无法撤销也无法更正 (001 §3.2 注①): a published intent never changes; a project has at most one
  published intent (a new one only after the project is revoked and registered again).
- 30 日 (001 §3.1 注①): an announcement less than 30 days after the intent's publication, or without one, must
  carry a reason (意向未满30天的理由): ``Intent.check_announcement``, called by ``Tender.announce``.
"""
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, BEIJING, Base, DomainError, Money, UTCDateTime, invalid as _bad, text_field as _text

STATUSES = {"draft": "编辑中", "in_review": "审核中", "reviewed": "待发布", "published": "已发布", "deleted": "已删除"}
LIVE = ("draft", "in_review", "reviewed", "published")
MIN_DAYS = 30
_MONTH = "%Y-%m"


def _month(value, label):
    """预计采购时间: a month (2026-12) or a date (2026-12-15, kept as its month)."""
    text = str(value or "").strip()
    try:
        day = date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(f"{text[:7]}-01")
    except ValueError:
        raise _bad("items", f"{label}格式不正确（应为 YYYY-MM）") from None
    return day.strftime(_MONTH)


class IntentDisclosure(Audited, Base):
    """One 采购意向公开 as the clerk submits it: the intents of one or more projects."""

    __tablename__ = "intent_disclosure"
    __audit_fields__ = ("status", "review_comment", "published_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    published_at = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime)

    def _require(self, *statuses, action):
        if self.status == "published" and "published" not in statuses:
            raise DomainError("INTENT_PUBLISHED", f"采购意向 {self.number} 已发布，发布后无法撤销也无法更正"
                                                  f"（001 §3.2 注①），不能{action}")
        if self.status not in statuses:
            raise DomainError("INTENT_STATE", f"采购意向 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    @classmethod
    def create(cls, session, unit_id, user_id, now):
        disclosure = cls(number=uuid.uuid4().hex[:20], unit_id=unit_id, status="draft", review_comment="",
                         created_by=user_id, created_at=now)
        session.add(disclosure)
        session.flush()
        disclosure.number = f"YX{now.astimezone(BEIJING).year}{disclosure.id:06d}"
        return disclosure

    def intents(self, session):
        return list(session.scalars(select(Intent).where(Intent.disclosure_id == self.id).order_by(Intent.id)))

    def fill(self, session, title, items, now):
        """The clerk picks projects (选择采购项目) and fills each one's intent; replaces the draft's list."""
        from .project import STATUSES as PROJECT_STATUSES, Project
        self._require("draft", action="修改")
        rows = [row for row in items or [] if isinstance(row, dict) and row.get("project_id") not in (None, "")]
        if not rows:
            raise _bad("items", "请至少选择一个采购项目")
        for old in self.intents(session):
            session.delete(old)
        session.flush()
        seen = set()
        for i, row in enumerate(rows, 1):
            label = f"第 {i} 个项目"
            ident = str(row.get("project_id"))
            project = session.get(Project, int(ident), with_for_update=True) if ident.isdigit() else None
            if project is None or project.unit_id != self.unit_id:
                raise _bad("items", f"{label}：项目 {ident} 不存在或不属于本单位")
            if project.id in seen:
                raise _bad("items", f"项目 {project.number} 重复选择")
            seen.add(project.id)
            if project.status != "registered":
                raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 未登记完成（当前状态："
                                                            f"{PROJECT_STATUSES[project.status]}），不能公开采购意向", field="items")
            if project.implementation_form == "self":
                raise DomainError("SELF_NO_INTENT", f"项目 {project.number} 为自行采购，不需要公开采购意向（001 §3.1 注②）",
                                  field="items")
            other = session.scalars(select(Intent).where(
                Intent.project_id == project.id, Intent.status.in_(LIVE), Intent.disclosure_id != self.id)).first()
            if other is not None:
                what = "已发布过采购意向，发布后无法撤销也无法更正（001 §3.2 注①）" if other.status == "published" \
                    else "已在另一份采购意向中"
                raise DomainError("INTENT_EXISTS", f"项目 {project.number} {what}", field="items")
            session.add(Intent(
                disclosure_id=self.id, unit_id=self.unit_id, project_id=project.id, project_name=project.name,
                summary=_text(row.get("summary"), "items", f"{label}的采购需求概况", 1000),
                budget_amount=project.amount, expected_month=_month(row.get("expected_month"), f"{label}的预计采购时间"),
                remark=_text(row.get("remark"), "items", f"{label}的备注", 500, required=False), status="draft"))
        self.title = _text(title, "title", "标题", 200, required=False) or f"{self.number}采购意向公开"
        session.flush()

    def _set(self, session, status, **values):
        self.status = status
        for key, value in values.items():
            setattr(self, key, value)
        for intent in self.intents(session):
            intent.status = status
            if status == "published":
                intent.published_at = self.published_at

    def submit(self, session):
        self._require("draft", action="提交")
        if not self.intents(session):
            raise _bad("items", "请至少选择一个采购项目")
        self._set(session, "in_review", review_comment="")

    def return_for_edit(self, session, comment):
        """审核不通过: back to the entry post with the comment."""
        self._require("in_review", action="退回")
        self._set(session, "draft", review_comment=comment or "")

    def approve(self, session):
        self._require("in_review", action="审核通过")
        self._set(session, "reviewed")

    def reopen(self, session):
        """撤销 (001 §3.2): before publishing the clerk takes the reviewed intent back to edit it."""
        self._require("reviewed", action="撤销")
        self._set(session, "draft", review_comment="")

    def publish(self, session, now):
        """发布: published intents never change; their date starts the 30 days (001 §3.1 注①)."""
        self._require("reviewed", action="发布")
        from .project import STATUSES as PROJECT_STATUSES, Project
        for intent in self.intents(session):
            project = session.get(Project, intent.project_id)
            if project.status != "registered":
                raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 当前状态为“"
                                                            f"{PROJECT_STATUSES[project.status]}”，不能发布采购意向")
        self.published_at = now
        self._set(session, "published")

    def delete(self, session):
        self._require("draft", action="删除")
        self._set(session, "deleted")

    def to_dict(self, session):
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "title": self.title,
                "status": self.status, "status_label": STATUSES[self.status], "review_comment": self.review_comment,
                "published_at": self.published_at, "created_at": self.created_at,
                "intents": [i.to_dict() for i in self.intents(session)]}


class Intent(Audited, Base):
    """The intent of one project in a disclosure."""

    __tablename__ = "intent"
    __audit_fields__ = ("status", "published_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("intent_disclosure.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    project_name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")  # 采购需求概况
    budget_amount: Mapped[Decimal] = mapped_column(Money)  # 预算金额
    expected_month: Mapped[str] = mapped_column(String(7))  # 预计采购时间 YYYY-MM
    remark: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    published_at = mapped_column(UTCDateTime, nullable=True)

    def to_dict(self):
        return {"id": self.id, "disclosure_id": self.disclosure_id, "project_id": self.project_id,
                "project_name": self.project_name, "summary": self.summary, "budget_amount": self.budget_amount,
                "expected_month": self.expected_month, "remark": self.remark, "status": self.status,
                "status_label": STATUSES[self.status], "published_at": self.published_at}

    @classmethod
    def published_for(cls, session, project_id):
        """The project's published intent (at most one), or None."""
        return session.scalars(select(cls).where(cls.project_id == project_id, cls.status == "published")
                               .order_by(cls.published_at)).first()

    @classmethod
    def check_announcement(cls, session, plan, reason, now=None):
        """001 §3.1 注①: 意向没满30天或没有意向公开，代理发布公告的时候须选择“意向未满30天的理由”.

        Days count Beijing calendar dates from the publication to the announcement. 自行采购 needs no intent.
        Returns what the announcement records: {intent_id, published_on, days, reason}."""
        from .base import utcnow
        from .project import Project
        now = now or utcnow()
        reason = (reason or "").strip()
        project = session.get(Project, plan.project_id)
        if project is not None and (project.implementation_form == "self" or plan.method == "self"):
            return {"intent_id": None, "published_on": None, "days": None, "reason": reason}
        intent = cls.published_for(session, plan.project_id)
        if intent is not None:
            published_on = intent.published_at.astimezone(BEIJING).date()
            days = (now.astimezone(BEIJING).date() - published_on).days
            if days >= MIN_DAYS:
                return {"intent_id": intent.id, "published_on": published_on.isoformat(), "days": days, "reason": ""}
            gap = f"采购意向于 {published_on.isoformat()} 公开，至今仅 {days} 日（不足 {MIN_DAYS} 日）"
        else:
            published_on, days = None, None
            gap = f"采购计划 {plan.number} 的项目未公开采购意向"
        if not reason:
            raise DomainError("INTENT_GAP_REASON", f"{gap}，发布采购公告须填写“意向未满30天的理由”（001 §3.1 注①）",
                              field="intent_gap_reason", status=400)
        if len(reason) > 1000:
            raise _bad("intent_gap_reason", "意向未满30天的理由长度应不超过 1000 个字符")
        return {"intent_id": intent.id if intent else None,
                "published_on": published_on.isoformat() if published_on else None, "days": days, "reason": reason}
