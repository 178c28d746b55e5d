"""采购方式变更 (001 §4.4, 002 §5): a plan's procurement method changed after review.

Two ways in: the agency's 流标重招-变更采购方式 request on a failed tender of the plan (the purchaser then enters the
change, 001 §4.4), or the purchaser's own request on a usable plan (002 §5). The purchaser enters the new method, the
reason and attachments → reviewer (→ finance for provincial units) → the plan's method is updated; a plan a failed
tender had used becomes usable again for the new attempt. A change to 单一来源 then needs its publicity
(``single_source_publicity``) before the plan may proceed (``Plan.check_single_source_ready``).
"""
import uuid

from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, UTCDateTime, utcnow, invalid as _bad

STATUSES = {"requested": "代理机构已申请", "draft": "录入中", "in_review": "审核中", "reviewed": "审核通过待财政审核",
            "approved": "已变更", "abandoned": "已放弃"}
ORIGINS = {"agency": "代理机构流标重招申请", "purchaser": "采购人申请"}
LIVE = ("requested", "draft", "in_review", "reviewed")
# Methods that belong to a plan type (框架协议/电子卖场): chosen by applying that type of plan, never by a change.
TYPE_ONLY_METHODS = ("framework", "emall")


class MethodChange(Audited, Base):
    __tablename__ = "plan_method_change"
    __audit_fields__ = ("status", "new_method", "reason", "review_comment")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tender.id"))
    origin: Mapped[str] = mapped_column(String(16), default="purchaser")
    old_method: Mapped[str] = mapped_column(String(32))
    new_method: Mapped[str | None] = mapped_column(String(32))
    agency_reason: Mapped[str] = mapped_column(Text, default="")  # 流标重招申请理由
    reason: Mapped[str] = mapped_column(Text, default="")  # 变更原因
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # uploaded files
    supplier: Mapped[dict] = mapped_column(JSON, default=dict)  # 单一来源: 拟定供应商 {name, credit_code}
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    decided_at = mapped_column(UTCDateTime, nullable=True)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("METHOD_CHANGE_STATE",
                              f"采购方式变更 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    @classmethod
    def _new(cls, session, plan, origin, user_id, now, tender=None, agency_reason=""):
        other = session.scalar(select(MethodChange.number).where(
            MethodChange.plan_id == plan.id, MethodChange.status.in_(LIVE)).limit(1))
        if other is not None:
            raise DomainError("METHOD_CHANGE_EXISTS", f"采购计划 {plan.number} 已有进行中的采购方式变更 {other}",
                              field="plan_id")
        change = cls(number=uuid.uuid4().hex[:20], unit_id=plan.unit_id, plan_id=plan.id,
                     tender_id=tender.id if tender is not None else None, origin=origin, old_method=plan.method,
                     agency_reason=agency_reason, reason="", attachment_ref="", attachments=[], supplier={},
                     status="requested" if origin == "agency" else "draft", review_comment="", created_by=user_id,
                     created_at=now)
        session.add(change)
        session.flush()
        change.number = f"BG{plan.year}{change.id:06d}"
        return change

    @classmethod
    def request_by_agency(cls, session, tender, plan, reason, user_id, now):
        """流标重招-变更采购方式 (001 §4.4): only on the plan's tender that failed (or was cancelled) and has no
        流标重招终止 application."""
        if tender.plan_id != plan.id:
            raise _bad("tender_id", "交易项目与采购计划不符")
        failed = tender.status in ("failed", "cancelled") or (tender.status == "opened" and tender.result == "failed")
        if not failed:
            raise DomainError("TENDER_NOT_FAILED", f"交易项目 {tender.number} 未废标、流标或取消采购，"
                                                   "不能申请流标重招-变更采购方式", field="tender_id")
        if tender.termination != "none":
            raise DomainError("TERMINATION_EXISTS", f"交易项目 {tender.number} 已申请流标重招终止，不能再变更采购方式",
                              field="tender_id")
        if not (reason or "").strip():
            raise _bad("reason", "请填写流标重招-变更采购方式的申请理由")
        plan._require("used", "filed", action="变更采购方式")
        return cls._new(session, plan, "agency", user_id, now, tender=tender, agency_reason=reason.strip())

    @classmethod
    def request_by_purchaser(cls, session, plan, user_id, now):
        """The purchaser's own change (002 §5): a usable plan not yet used by a tender or an order."""
        if plan.status == "used":
            raise DomainError("PLAN_USED", f"采购计划 {plan.number} 已使用（已发布采购公告或已下单），采购方式变更须由代理机构"
                                           "在流标重招中发起", field="plan_id")
        plan._require("filed", action="变更采购方式")
        return cls._new(session, plan, "purchaser", user_id, now)

    def fill(self, session, plan, values):
        """The purchaser's entries: new method, reason, attachments (and for 单一来源 the proposed supplier)."""
        from .contract import parse_suppliers
        from .plan import METHODS, PLAN_TYPES
        from .plan_types import TYPE_METHODS
        self._require("requested", "draft", action="修改")
        method = values.get("new_method")
        if method not in METHODS:
            raise _bad("new_method", "请选择变更后的采购方式")
        if plan.plan_type in TYPE_METHODS:
            raise DomainError("METHOD_FIXED", f"{PLAN_TYPES[plan.plan_type]}计划的采购方式由计划类型决定，不能变更",
                              field="new_method")
        if method == plan.method:
            raise DomainError("SAME_METHOD", f"变更后的采购方式与原采购方式（{METHODS[plan.method]}）相同",
                              field="new_method")
        if method in TYPE_ONLY_METHODS:
            raise DomainError("METHOD_FIXED", f"“{METHODS[method]}”须按对应计划类型申报，不能通过采购方式变更选择",
                              field="new_method")
        if method == "self":
            from .entrustment import check_self_procurement
            from .project import Project
            check_self_procurement(session, plan, session.get(Project, plan.project_id) if plan.project_id else None)
        reason = (values.get("reason") or "").strip()
        if not reason:
            raise _bad("reason", "请填写变更原因")
        supplier = {}
        if method == "single_source":
            given = values.get("supplier") if isinstance(values.get("supplier"), dict) else {}
            if not (given.get("name") or "").strip():
                raise _bad("supplier", "变更为单一来源采购须填写拟定供应商")
            supplier = parse_suppliers([given])[0]
        self.new_method, self.reason, self.supplier = method, reason[:4000], supplier
        self.attachment_ref = (values.get("attachment_ref") or "").strip()[:200]
        self.attachments = list(values.get("attachments") or [])
        self.status = "draft"

    def submit(self, plan):
        self._require("draft", action="提交")
        if plan.pending_action not in (None, "method_change"):
            raise DomainError("PLAN_PENDING", f"采购计划 {plan.number} 已有待审核的申请")
        plan._require("filed", "used", action="变更采购方式")
        plan.pending_action = "method_change"
        self.status, self.review_comment = "in_review", ""

    def return_for_edit(self, plan, comment):
        self._require("in_review", "reviewed", action="退回")
        self.status, self.review_comment = "draft", comment or ""
        if plan.pending_action == "method_change":
            plan.pending_action = None

    def approve(self):
        """审核岗通过 (the finance review follows for provincial units)."""
        self._require("in_review", action="审核通过")
        self.status = "reviewed"

    def apply(self, plan, now):
        """All reviews passed: the plan's method is the new one."""
        self._require("reviewed", action="变更")
        plan.change_method(self.new_method)
        self.status, self.decided_at = "approved", now

    def abandon(self, plan, now):
        self._require("requested", "draft", action="放弃")
        self.status, self.decided_at = "abandoned", now
        if plan.pending_action == "method_change":
            plan.pending_action = None

    def to_dict(self):
        from .plan import METHODS
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "plan_id": self.plan_id,
                "tender_id": self.tender_id, "origin": self.origin, "origin_label": ORIGINS[self.origin],
                "old_method": self.old_method, "old_method_label": METHODS.get(self.old_method),
                "new_method": self.new_method, "new_method_label": METHODS.get(self.new_method),
                "agency_reason": self.agency_reason, "reason": self.reason, "attachment_ref": self.attachment_ref,
                "attachments": self.attachments or [],
                "supplier": self.supplier or {}, "status": self.status, "status_label": STATUSES[self.status],
                "review_comment": self.review_comment, "created_at": self.created_at, "decided_at": self.decided_at}
