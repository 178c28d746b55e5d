"""委托代理采购 (seed 004 §3(二)(三), PROCEDURES Transaction): the purchaser's 委托单 and what the agency does with it.

The purchaser (采购人): 创建委托单 → 委托单审核 → 采购文件确认 → 评审邀请函回复 (optional) → 采购结果确认.
The agency (代理机构): 受理审核委托单 → 生成采购项目/采购文件 → 发布采购公告 (``Tender.announce``) → 报名登记 →
开标 → 评审 → (the purchaser confirms the result) → 审核、发布采购结果公告 → 发送中标通知书 (``Tender.award``) → a
contract draft for ``contract_filing``.

``Entrustment.status`` follows the steps; the tender (``Tender``) keeps its own states (announced → opened →
awarded / failed / cancelled). A failed tender may be re-tendered after a method change (流标重招-变更采购方式,
``plan_method_change``): the entrustment goes back to ``accepted`` for new documents and a new tender.
"""
import uuid
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from . import threshold as threshold_rules
from .base import (
    Audited, Base, DomainError, Money, UTCDateTime, money, utcnow, invalid as _bad, text_field as _text)

STATUSES = {"draft": "录入中", "in_review": "审核中", "submitted": "待代理机构受理", "accepted": "已受理（编制采购文件）",
            "documents": "采购文件待确认", "confirmed": "采购文件已确认", "announced": "采购公告已发布",
            "evaluated": "评审完成（待采购人确认）", "result_confirmed": "采购结果已确认", "result_published": "结果公告已发布",
            "awarded": "已发送中标通知书", "failed": "招标失败", "terminated": "招标失败，已终止",
            "cancelled": "已取消采购", "abandoned": "已撤回"}
LIVE = ("draft", "in_review", "submitted", "accepted", "documents", "confirmed", "announced", "evaluated",
        "result_confirmed", "result_published", "failed")
# Plans whose procurement goes through the transaction system; the others have their own channels (001 §4.1 注).
ENTRUSTABLE = ("project", "joint", "unified")


def check_self_procurement(session, plan, project=None):
    """自行采购 of a plan is refused at or above its unit's limit (004 §3 / 001 §2.2.1 注①; the thresholds table)."""
    from .org import Unit
    threshold_rules.check_self_procurement(session, plan.category, plan.amount, "采购计划", session.get(Unit, plan.unit_id),
                                           project.region if project is not None else None, field="method")


def entrusted_agency(session, plan, value):
    """The agency a 委托单 names: an active one of the 代理机构库. 集中采购 (a 统招分签 plan, or a project whose
    implementation form is 集中采购机构采购) goes to an agency of kind 集中采购机构."""
    from .agency import active_agency
    from .project import Project
    project = session.get(Project, plan.project_id) if getattr(plan, "project_id", None) else None
    central = plan.plan_type == "unified" or (project is not None and project.implementation_form == "centralized")
    return active_agency(session, value, kind="central" if central else None)


class Entrustment(Audited, Base):
    __tablename__ = "entrustment"
    __audit_fields__ = ("status", "tender_id", "requirements", "documents_ref", "winner", "award_amount",
                        "invitation_reply", "contract_id", "attempt", "review_comment")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    tender_id: Mapped[int | None] = mapped_column(ForeignKey("tender.id"))
    # 代理机构库: the agency the purchaser entrusts (an active agency when created); its staff do the agency's steps.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    requirements: Mapped[str] = mapped_column(Text, default="")  # 委托事项及采购需求
    contact: Mapped[str] = mapped_column(String(100), default="")  # 项目联系人及电话
    review_comment: Mapped[str] = mapped_column(Text, default="")  # the last reviewer's / agency's / purchaser's note
    documents_ref: Mapped[str] = mapped_column(String(200), default="")  # 采购文件
    documents_note: Mapped[str] = mapped_column(Text, default="")
    registered_count: Mapped[int] = mapped_column(Integer, default=0)  # 报名登记的供应商数
    invitation_reply: Mapped[str] = mapped_column(String(16), default="")  # ""/attend/decline (评审邀请函回复)
    representative: Mapped[str] = mapped_column(String(100), default="")  # 采购人代表
    winner: Mapped[dict] = mapped_column(JSON, default=dict)  # 中标供应商 {name, credit_code}
    award_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    result_title: Mapped[str] = mapped_column(String(200), default="")
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # 第几次招标（流标重招后加一）
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    accepted_at = mapped_column(UTCDateTime, nullable=True)
    awarded_at = mapped_column(UTCDateTime, nullable=True)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("ENTRUSTMENT_STATE", f"委托单 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    # -- the purchaser's 委托单 ------------------------------------------------------------------------
    @classmethod
    def create(cls, session, plan, user_id, values, now):
        """创建委托单 on a usable plan of the unit (checked by ``check_plan``)."""
        entrustment = cls(number=uuid.uuid4().hex[:20], unit_id=plan.unit_id, plan_id=plan.id, status="draft",
                          requirements="", contact="", review_comment="", documents_ref="", documents_note="",
                          registered_count=0, invitation_reply="", representative="", winner={},
                          award_amount=Decimal("0"), result_title="", failure_reason="", attempt=1,
                          created_by=user_id, created_at=now)
        entrustment.check_plan(session, plan, user_id)
        entrustment.agency_id = entrusted_agency(session, plan, values.get("agency_id")).id
        entrustment.edit(values)
        session.add(entrustment)
        session.flush()
        entrustment.number = f"WT{plan.year}{entrustment.id:06d}"
        return entrustment

    def check_plan(self, session, plan, user_id=None):
        from .plan import METHODS, PLAN_TYPES
        from .plan import STATUSES as PLAN_STATUSES
        if plan.unit_id != self.unit_id:
            raise DomainError("WRONG_UNIT", f"采购计划 {plan.number} 不属于本单位", field="plan_id", status=403)
        if plan.status != "filed":
            raise DomainError("PLAN_NOT_FILED", f"采购计划 {plan.number} 当前状态为“{PLAN_STATUSES[plan.status]}”，"
                                                "只有可使用的采购计划才能委托代理机构采购", field="plan_id")
        if plan.plan_type not in ENTRUSTABLE:
            raise DomainError("NOT_ENTRUSTABLE", f"{PLAN_TYPES[plan.plan_type]}计划不通过委托代理机构采购，"
                                                 "请在对应系统中办理", field="plan_id")
        if plan.method == "self":
            raise DomainError("NOT_ENTRUSTABLE", f"采购计划 {plan.number} 的采购方式为{METHODS['self']}，无需委托代理机构",
                              field="plan_id")
        if plan.pending_action:
            raise DomainError("PLAN_PENDING", f"采购计划 {plan.number} 有待审核的申请，暂不能委托", field="plan_id")
        if user_id is not None and plan.assignee_id not in (None, user_id):
            raise DomainError("PLAN_ASSIGNED_TO_OTHER", f"采购计划 {plan.number} 已分派给其他经办人，由其发起采购（002 §3）",
                              field="plan_id", status=403)
        other = session.scalar(select(Entrustment.number).where(
            Entrustment.plan_id == plan.id, Entrustment.status.in_(LIVE), Entrustment.id != self.id).limit(1))
        if other is not None:
            raise DomainError("ENTRUSTMENT_EXISTS", f"采购计划 {plan.number} 已有进行中的委托单 {other}", field="plan_id")

    def edit(self, values):
        self._require("draft", action="修改")
        self.requirements = _text(values.get("requirements"), "requirements", "委托事项及采购需求", 4000)
        self.contact = _text(values.get("contact"), "contact", "项目联系人", 100, required=False)

    def submit(self, session, plan):
        self._require("draft", action="提交")
        self.check_plan(session, plan)
        self.status, self.review_comment = "in_review", ""

    def return_for_edit(self, comment):
        """委托单审核不通过 or 代理机构不予受理: back to the purchaser's entry post with the comment."""
        self._require("in_review", "submitted", action="退回")
        self.status, self.review_comment = "draft", comment or ""

    def approve(self):
        """委托单审核通过: sent to the agency (待受理)."""
        self._require("in_review", action="审核通过")
        self.status = "submitted"

    def abandon(self):
        self._require("draft", action="撤回")
        self.status = "abandoned"

    # -- the agency ------------------------------------------------------------------------------------
    def accept(self, now):
        """受理审核委托单: accepted; the agency prepares the procurement documents."""
        self._require("submitted", action="受理")
        self.status, self.accepted_at, self.review_comment = "accepted", now, ""

    def prepare_documents(self, documents_ref, note):
        """生成采购项目/采购文件 → sent to the purchaser for confirmation."""
        self._require("accepted", action="提交采购文件")
        self.documents_ref = _text(documents_ref, "documents_ref", "采购文件", 200)
        self.documents_note = _text(note, "documents_note", "采购文件说明", 2000, required=False)
        self.status = "documents"

    def return_documents(self, comment):
        """采购人对采购文件有意见: back to the agency."""
        self._require("documents", action="退回采购文件")
        if not (comment or "").strip():
            raise _bad("comment", "退回采购文件时必须填写意见")
        self.status, self.review_comment = "accepted", comment

    def confirm_documents(self):
        self._require("documents", action="确认采购文件")
        self.status, self.review_comment = "confirmed", ""

    def announced(self, tender):
        """发布采购公告: the tender exists (``Tender.announce`` made the plan used); it is the entrusted agency's."""
        self._require("confirmed", action="发布采购公告")
        self.tender_id, self.status = tender.id, "announced"
        tender.agency_id = self.agency_id

    def register(self, count):
        """报名登记: how many suppliers registered."""
        self._require("announced", action="登记报名")
        try:
            count = int(count)
        except (TypeError, ValueError):
            raise _bad("registered_count", "报名供应商数量应为整数") from None
        if count < 0:
            raise _bad("registered_count", "报名供应商数量不能为负数")
        self.registered_count = count

    def reply_invitation(self, attend, representative):
        """评审邀请函回复: whether the purchaser sends a representative to the evaluation committee."""
        self._require("announced", action="回复评审邀请函")
        self.invitation_reply = "attend" if attend else "decline"
        self.representative = _text(representative, "representative", "采购人代表", 100, required=bool(attend))

    def evaluate(self, tender, plan, result, winner, amount, reason):
        """评审 (after 开标): the winning supplier and amount, or a failure (招标失败)."""
        self._require("announced", "evaluated", action="登记评审结果")
        if tender.status != "opened":
            raise DomainError("TENDER_NOT_OPENED", "尚未开标，不能登记评审结果")
        if result == "failed":
            self.failure_reason = _text(reason, "reason", "招标失败原因", 1000)
            self.status = "failed"
            return
        if result != "awarded":
            raise _bad("result", "评审结果应为中标或招标失败")
        winner = winner if isinstance(winner, dict) else {}
        from .contract import parse_suppliers
        self.winner = parse_suppliers([{"name": winner.get("name"), "credit_code": winner.get("credit_code")}])[0]
        amount = money(amount if amount not in (None, "") else 0, "award_amount")
        if amount <= 0:
            raise _bad("award_amount", "请填写中标金额")
        if amount > plan.amount:
            raise DomainError("OVER_PLAN_AMOUNT", f"中标金额 {amount:,.2f} 元超过采购计划 {plan.number} 金额 "
                                                  f"{plan.amount:,.2f} 元", field="award_amount")
        self.award_amount, self.status, self.failure_reason = amount, "evaluated", ""

    def return_result(self, comment):
        """采购人对采购结果有异议: back to the agency's evaluation, before anything is published."""
        self._require("evaluated", action="退回采购结果")
        if not (comment or "").strip():
            raise _bad("comment", "不确认采购结果时必须填写意见")
        self.review_comment = comment

    def confirm_result(self):
        """采购结果确认 (004 §三(二)): the purchaser confirms the evaluation before the result is announced."""
        self._require("evaluated", action="确认采购结果")
        self.status, self.review_comment = "result_confirmed", ""

    def publish_result(self, title):
        """审核、发布采购结果公告 — after the purchaser confirmed the result."""
        self._require("result_confirmed", action="发布结果公告")
        self.result_title = _text(title, "result_title", "结果公告标题", 200, required=False) or \
            f"{self.winner.get('name', '')}中标（成交）结果公告"
        self.status = "result_published"

    def award(self, contract, now):
        """发送中标通知书: the award is final; ``contract`` is the draft ``contract_filing`` picks up."""
        self._require("result_published", action="发送中标通知书")
        self.status, self.contract_id, self.awarded_at = "awarded", contract.id, now

    def cancelled(self):
        self._require("announced", action="取消采购")
        self.status = "cancelled"

    def close(self, tender, outcome):
        """The entrustment ends with its tender: ``cancelled`` (取消采购 confirmed) or ``terminated`` (废标公告
        published, 流标重招终止). Refused unless the tender really ended so."""
        if outcome == "cancelled":
            tender.check_ended("cancelled")
            self.cancelled()
        elif outcome == "terminated":
            tender.check_ended("failed")
            self._require("announced", "failed", action="终止")
            self.status = "terminated"
        else:
            raise _bad("outcome", "结束方式应为 cancelled 或 terminated")

    def retender(self):
        """流标重招-变更采购方式 approved: new documents for a new tender on the same plan."""
        self._require("failed", action="重新招标")
        self.status, self.tender_id, self.attempt = "accepted", None, (self.attempt or 1) + 1
        self.documents_ref, self.documents_note, self.registered_count = "", "", 0
        self.invitation_reply, self.representative = "", ""

    def to_dict(self):
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "plan_id": self.plan_id,
                "agency_id": self.agency_id,
                "tender_id": self.tender_id, "status": self.status, "status_label": STATUSES[self.status],
                "requirements": self.requirements, "contact": self.contact, "review_comment": self.review_comment,
                "documents_ref": self.documents_ref, "documents_note": self.documents_note,
                "registered_count": self.registered_count, "invitation_reply": self.invitation_reply,
                "representative": self.representative, "winner": self.winner or {},
                "award_amount": f"{self.award_amount or 0:.2f}", "result_title": self.result_title,
                "failure_reason": self.failure_reason, "contract_id": self.contract_id, "attempt": self.attempt,
                "created_at": self.created_at, "accepted_at": self.accepted_at, "awarded_at": self.awarded_at}


def live_entrustment(session, plan_id):
    return session.scalars(select(Entrustment).where(Entrustment.plan_id == plan_id, Entrustment.status.in_(LIVE))
                           .limit(1)).first()
