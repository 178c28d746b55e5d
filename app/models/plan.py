"""Purchase plans (采购计划) and the policy checks run when one is submitted."""
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, Money, UTCDateTime, money, utcnow

PLAN_TYPES = {"project": "项目采购", "framework": "框架协议", "joint": "联合采购", "emall": "电子卖场",
              "no_process": "无过程", "renewal": "合同续签", "unified": "统招分签"}
METHODS = {"open_tender": "公开招标", "invited_tender": "邀请招标", "negotiation": "竞争性谈判",
           "consultation": "竞争性磋商", "inquiry": "询价", "single_source": "单一来源",
           "framework": "框架协议采购", "emall": "电子卖场", "self": "自行采购"}
STATUSES = {"draft": "暂存", "in_review": "处理中", "filed": "可使用", "used": "已使用", "terminated": "已终止",
            "revoked": "已撤销", "deleted": "已删除"}
OCCUPYING = ("in_review", "filed", "used")

# SME reservation (面向中小企业预留), seed 001 §4.1.1 note; thresholds per 财库〔2020〕46号,
# required share above the threshold per 财库〔2022〕19号 (40%).
SME_THRESHOLD = {"goods": Decimal("2000000"), "services": Decimal("2000000"), "works": Decimal("4000000")}
SME_REQUIRED_SHARE = Decimal("0.40")


class ImportApproval(Base):
    """进口产品审批: a plan that buys imported products needs an approved one (procedure in a later issue)."""

    __tablename__ = "import_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft / approved / rejected


class JointMember(Base):
    """A unit that responded to a joint plan (联合采购) with a project of its own."""

    __tablename__ = "joint_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))


class Plan(Audited, Base):
    __tablename__ = "plan"
    __audit_fields__ = ("status", "amount", "method", "returned", "pending_action")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    plan_type: Mapped[str] = mapped_column(String(16), default="project")
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    budget_line_id: Mapped[int | None] = mapped_column(ForeignKey("budget_line.id"))
    category: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    sme_reserved_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    sme_reason: Mapped[str] = mapped_column(Text, default="")
    is_import: Mapped[bool] = mapped_column(Boolean, default=False)
    import_approval_id: Mapped[int | None] = mapped_column(ForeignKey("import_approval.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    # 退回: the transaction/framework/e-mall system handed the unused plan back so it can be revoked.
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    # A revocation or termination awaiting review; the plan keeps its status until it is approved.
    pending_action: Mapped[str | None] = mapped_column(String(16))
    closing_reason: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("PLAN_STATE", f"采购计划 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    def update(self, values):
        """Edit while 暂存 (draft)."""
        self._require("draft", action="修改")
        for key in ("name", "method", "sme_reason", "is_import", "import_approval_id", "budget_line_id"):
            if key in values:
                setattr(self, key, values[key])
        if "amount" in values:
            self.amount = money(values["amount"])
        if "sme_reserved_amount" in values:
            self.sme_reserved_amount = money(values["sme_reserved_amount"] or 0, "sme_reserved_amount")

    def submit(self, session, project):
        """提交: the policy checks of seed 001 §4.1 / 002 §1, then into review."""
        from .project import Project  # noqa: F401 - type only
        self._require("draft", action="提交")
        if project.status != "registered":
            raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 未登记完成，不能申报采购计划",
                              field="project_id")
        if self.amount <= 0:
            raise DomainError("INVALID_AMOUNT", "计划金额必须大于 0", field="amount")
        free = project.free_amount(session)
        if self.amount > free:
            raise DomainError("PROJECT_FREE_SHORT",
                              f"计划金额 {self.amount:,.2f} 元超过项目 {project.number} 可用金额 {free:,.2f} 元",
                              field="amount")
        self.check_sme()
        self.check_import(session)
        self.status = "in_review"
        self.review_comment = ""

    def check_sme(self):
        if self.sme_reserved_amount > self.amount:
            raise DomainError("SME_RULE", "预留中小企业金额不能超过计划金额", field="sme_reserved_amount")
        if self.sme_reason.strip():
            return
        threshold = SME_THRESHOLD[self.category]
        share = self.sme_reserved_amount / self.amount
        if self.amount < threshold and share < 1:
            raise DomainError(
                "SME_RULE",
                f"{threshold / 10000:,.0f}万元以下的项目应全部预留给中小企业（当前预留 {share:.0%}），"
                "否则须填写“未按政策预留的原因”", field="sme_reason")
        if self.amount >= threshold and share < SME_REQUIRED_SHARE:
            raise DomainError(
                "SME_RULE",
                f"{threshold / 10000:,.0f}万元以上的项目预留比例应不低于 {SME_REQUIRED_SHARE:.0%}（当前 {share:.0%}），"
                "否则须填写“未按政策预留的原因”", field="sme_reason")

    def check_import(self, session):
        if not self.is_import:
            return
        approval = session.get(ImportApproval, self.import_approval_id) if self.import_approval_id else None
        if approval is None or approval.status != "approved" or approval.unit_id != self.unit_id:
            raise DomainError("IMPORT_NOT_APPROVED", "采购进口产品须先通过进口产品审批", field="import_approval_id")

    def withdraw(self):
        """撤回: only while no reviewer has acted."""
        self._require("in_review", action="撤回")
        self.status = "draft"

    def return_for_edit(self, comment):
        self._require("in_review", action="退回")
        self.status = "draft"
        self.review_comment = comment or ""

    def file(self):
        """备案/核准: the plan becomes usable (可使用)."""
        self._require("in_review", action="备案")
        self.status = "filed"

    def delete(self):
        self._require("draft", action="删除")
        self.status = "deleted"

    def mark_used(self):
        """已使用: an announcement was published, an order placed, or a contract filed directly on the plan."""
        self._require("filed", "used", action="使用")
        self.status = "used"

    # -- 计划退回 / 撤销 / 终止 (seed 000 一(三)(四)(六), 001 §4.2–4.3) -------------------------
    RETURN_BY_AGENCY = ("project", "joint")
    RETURN_BY_PURCHASER = ("framework", "emall")

    def return_to_supervision(self, by_agency):
        """退回: project/joint plans come back from the agency, framework/e-mall plans from the purchaser."""
        self._require("filed", action="退回")
        if self.returned:
            raise DomainError("PLAN_RETURNED", f"采购计划 {self.number} 已退回")
        if self.plan_type in self.RETURN_BY_AGENCY and not by_agency:
            raise DomainError("RETURN_BY_AGENCY", f"{PLAN_TYPES[self.plan_type]}计划须由代理机构在交易执行子系统退回",
                              status=403)
        if self.plan_type in self.RETURN_BY_PURCHASER and by_agency:
            raise DomainError("RETURN_BY_PURCHASER", f"{PLAN_TYPES[self.plan_type]}计划由采购人在对应系统中退回",
                              status=403)
        if self.plan_type not in self.RETURN_BY_AGENCY + self.RETURN_BY_PURCHASER:
            raise DomainError("NO_RETURN_NEEDED", f"{PLAN_TYPES[self.plan_type]}计划无需退回，可直接撤销")
        self.returned = True

    def request_revocation(self, reason):
        """撤销申请: a filed plan not used; plans handled in another subsystem must be returned first."""
        if self.status == "used":
            raise DomainError("PLAN_USED", f"采购计划 {self.number} 已使用（已发布公告或已下单），不能撤销")
        self._require("filed", action="撤销")
        if self.pending_action:
            raise DomainError("PLAN_PENDING", f"采购计划 {self.number} 已有待审核的申请")
        needs_return = self.plan_type in self.RETURN_BY_AGENCY + self.RETURN_BY_PURCHASER
        if needs_return and not self.returned:
            raise DomainError("PLAN_NOT_RETURNED", f"采购计划 {self.number} 尚未退回至采购监管子系统，不能撤销")
        if not (reason or "").strip():
            raise DomainError("REASON_REQUIRED", "请填写撤销原因", field="reason", status=400)
        self.pending_action, self.closing_reason = "revocation", reason

    def revoke(self):
        """计划撤销审核通过: the plan no longer occupies its project (项目可用金额恢复)."""
        self._require("filed", action="撤销")
        if self.pending_action != "revocation":
            raise DomainError("NO_REVOCATION", f"采购计划 {self.number} 没有待审核的撤销申请")
        self.status, self.pending_action = "revoked", None

    def check_termination_allowed(self, tender):
        """终止 needs the agency's 流标重招终止申请 on this plan's tender first (001 §4.3)."""
        if tender is None or tender.plan_id != self.id or tender.termination != "requested":
            raise DomainError("NO_AGENCY_TERMINATION",
                              f"代理机构尚未对采购计划 {self.number} 发起流标重招终止申请，不能录入终止")
        self._require("used", "filed", action="终止")

    def request_termination(self, tender, explanation):
        self.check_termination_allowed(tender)
        if self.pending_action not in (None, "termination"):
            raise DomainError("PLAN_PENDING", f"采购计划 {self.number} 已有待审核的申请")
        self.pending_action, self.closing_reason = "termination", explanation or ""

    def terminate(self, tender):
        """流标重招终止操作 performed by the agency after the purchaser's termination was approved."""
        if self.pending_action != "termination":
            raise DomainError("NO_TERMINATION", f"采购计划 {self.number} 没有审核通过的终止申请")
        tender.perform_termination()
        self.status, self.pending_action = "terminated", None

    def clear_pending(self):
        """The reviewer rejected the revocation/termination: the plan stays as it was."""
        self.pending_action = None

    def to_dict(self):
        return {"id": self.id, "number": self.number, "name": self.name, "unit_id": self.unit_id,
                "year": self.year, "plan_type": self.plan_type, "project_id": self.project_id,
                "budget_line_id": self.budget_line_id, "category": self.category, "method": self.method,
                "amount": self.amount, "sme_reserved_amount": self.sme_reserved_amount,
                "sme_reason": self.sme_reason, "is_import": self.is_import,
                "import_approval_id": self.import_approval_id, "status": self.status,
                "status_label": STATUSES[self.status], "review_comment": self.review_comment,
                "assignee_id": self.assignee_id, "returned": self.returned, "pending_action": self.pending_action,
                "closing_reason": self.closing_reason}
