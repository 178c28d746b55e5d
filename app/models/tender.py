"""Transaction-side projects (交易执行项目) run by the agency for a filed plan."""
from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, UTCDateTime, text_field, utcnow

STATUSES = {"announced": "公告已发布", "opened": "已开标", "awarded": "已中标", "failed": "废标/流标",
            "cancelled": "已取消采购"}
# 流标重招终止: none → requested (agency's application) → performed (after the purchaser's plan termination).
TERMINATION = {"none": "无", "requested": "已申请终止", "performed": "已终止"}


def _required(text, label, field="reason"):
    return text_field(text, field, label, 1000)


class Tender(Audited, Base):
    __tablename__ = "tender"
    __audit_fields__ = ("status", "termination", "cancel_requested", "failure_requested", "result", "reason")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # 代理机构库: the agency running it (from the 委托单, or the agency whose staff started 交易执行); None = legacy.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="announced", index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # 废标公告 drafted by the agency, waiting for the purchaser's confirmation before it is published (000 一(六)).
    failure_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    termination: Mapped[str] = mapped_column(String(16), default="none")
    result: Mapped[str] = mapped_column(String(16), default="none")  # 评标结果: none / awarded / failed
    reason: Mapped[str] = mapped_column(Text, default="")
    intent_gap_reason: Mapped[str] = mapped_column(Text, default="")  # 意向未满30天的理由 (001 §3.1 注①)
    announced_at = mapped_column(UTCDateTime, default=utcnow)
    opened_at = mapped_column(UTCDateTime, nullable=True)
    closed_at = mapped_column(UTCDateTime, nullable=True)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("TENDER_STATE", f"交易项目 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    @classmethod
    def announce(cls, plan, title, now, intent_gap_reason=None):
        """采购公告发布: the plan becomes used (已使用). Less than 30 days after the project's 采购意向 (or with none)
        the announcement carries the reason (``Intent.check_announcement``)."""
        if plan.status != "filed":
            raise DomainError("PLAN_NOT_FILED", f"采购计划 {plan.number} 不是可使用状态，不能发布采购公告", field="plan_id")
        plan.check_single_source_ready()
        from sqlalchemy.orm import object_session
        from .intent import Intent
        gap = Intent.check_announcement(object_session(plan), plan, intent_gap_reason, now)
        plan.mark_used()
        return cls(number=f"JY{plan.number[2:]}-{plan.id}", title=title or plan.name, plan_id=plan.id,
                   unit_id=plan.unit_id, status="announced", cancel_requested=False, failure_requested=False,
                   termination="none", result="none",
                   reason="", intent_gap_reason=gap["reason"], announced_at=now)

    def open_bids(self, now):
        self._require("announced", action="开标")
        if self.cancel_requested:
            raise DomainError("CANCEL_PENDING", f"交易项目 {self.number} 已发起取消采购任务，不能开标")
        self.status, self.opened_at = "opened", now

    def award(self, now):
        self._require("opened", action="发送中标通知")
        self.status, self.result, self.closed_at = "awarded", "awarded", now

    def record_failure(self):
        """评标结果：招标失败 — the 废标公告 (publish_failure) follows."""
        self._require("opened", action="登记招标失败")
        self.result = "failed"

    def start_cancellation(self, reason):
        """取消采购任务: only after the announcement and before bid opening (000 一(四))."""
        if self.status == "opened":
            raise DomainError("TENDER_OPENED", f"交易项目 {self.number} 已开标，不能取消采购（应按招标失败处理）")
        self._require("announced", action="取消采购")
        if self.cancel_requested:
            raise DomainError("CANCEL_PENDING", f"交易项目 {self.number} 已发起取消采购任务，等待采购人确认，不能重复发起")
        self.cancel_requested, self.reason = True, _required(reason, "取消原因")

    def confirm_cancellation(self, now):
        """采购人确认取消采购任务."""
        self._require("announced", action="确认取消采购")
        if not self.cancel_requested:
            raise DomainError("NO_CANCEL_REQUEST", f"交易项目 {self.number} 没有待确认的取消采购任务")
        self.status, self.cancel_requested, self.closed_at = "cancelled", False, now

    def decline_cancellation(self, comment):
        """采购人不确认: the request is withdrawn with the purchaser's reason; the tender goes on."""
        self._require("announced", action="驳回取消采购")
        if not self.cancel_requested:
            raise DomainError("NO_CANCEL_REQUEST", f"交易项目 {self.number} 没有待确认的取消采购任务")
        _required(comment, "不确认的理由", field="comment")  # kept in the task's history, beside the agency's reason
        self.cancel_requested = False

    def request_failure_notice(self, reason):
        """废标公告 drafted by the agency: the purchaser confirms it before it is published (000 一(六) 步骤一)."""
        self._require("opened", action="发起废标公告")
        if self.result != "failed":
            raise DomainError("NOT_FAILED", f"交易项目 {self.number} 的评标结果不是招标失败，不能发起废标公告")
        if self.failure_requested:
            raise DomainError("FAILURE_PENDING", f"交易项目 {self.number} 的废标公告已提交，等待采购人确认")
        self.failure_requested, self.reason = True, _required(reason, "废标原因")

    def decline_failure_notice(self, comment):
        """采购人不确认废标公告: back to the agency with the purchaser's reason; nothing is published."""
        self._require("opened", action="退回废标公告")
        if not self.failure_requested:
            raise DomainError("NO_FAILURE_NOTICE", f"交易项目 {self.number} 没有待确认的废标公告")
        _required(comment, "不确认的理由", field="comment")
        self.failure_requested = False

    def publish_failure(self, reason, now, confirmed=False):
        """废标公告发布 (000 一(六)): ``confirmed`` — the notice the purchaser confirmed; otherwise the agency's own
        notice on the way to 流标重招-变更采购方式, refused while another notice waits for the purchaser."""
        self._require("opened", action="发布废标公告")
        if confirmed and not self.failure_requested:
            raise DomainError("NO_FAILURE_NOTICE", f"交易项目 {self.number} 没有待确认的废标公告")
        if not confirmed and self.failure_requested:
            raise DomainError("FAILURE_PENDING", f"交易项目 {self.number} 已有待采购人确认的废标公告，请等待采购人确认")
        self.status, self.failure_requested, self.closed_at = "failed", False, now
        self.reason = reason or self.reason or ""

    def check_ended(self, status):
        """Another procedure ended this tender (取消采购 / 废标): refused unless it really did."""
        if self.status != status:
            raise DomainError("TENDER_STATE", f"交易项目 {self.number} 当前状态为“{STATUSES[self.status]}”，"
                                              f"不是“{STATUSES[status]}”")

    def request_termination(self):
        """流标重招终止申请 (agency): the tender was cancelled or failed."""
        self._require("cancelled", "failed", action="申请流标重招终止")
        if self.termination != "none":
            raise DomainError("TERMINATION_EXISTS", f"交易项目 {self.number} 已申请过流标重招终止")
        self.termination = "requested"

    def perform_termination(self):
        """流标重招终止操作 (agency), after the purchaser's plan termination was approved."""
        if self.termination != "requested":
            raise DomainError("NO_TERMINATION_REQUEST", f"交易项目 {self.number} 未申请流标重招终止")
        self.termination = "performed"

    def to_dict(self):
        return {"id": self.id, "number": self.number, "title": self.title, "plan_id": self.plan_id,
                "unit_id": self.unit_id, "agency_id": self.agency_id, "status": self.status,
                "status_label": STATUSES[self.status],
                "cancel_requested": self.cancel_requested, "failure_requested": bool(self.failure_requested),
                "termination": self.termination,
                "termination_label": TERMINATION[self.termination], "reason": self.reason, "result": self.result,
                "intent_gap_reason": self.intent_gap_reason or "",
                "announced_at": self.announced_at, "opened_at": self.opened_at, "closed_at": self.closed_at}
