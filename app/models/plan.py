"""Purchase plans (采购计划) and the policy checks run when one is submitted."""
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import (
    Audited, Base, DomainError, Drafted, Money, UTCDateTime, money, utcnow, invalid as _bad, text_field as _text)

PLAN_TYPES = {"project": "项目采购", "framework": "框架协议", "joint": "联合采购", "emall": "电子卖场",
              "no_process": "无过程", "renewal": "合同续签", "unified": "统招分签"}
METHODS = {"open_tender": "公开招标", "invited_tender": "邀请招标", "negotiation": "竞争性谈判",
           "consultation": "竞争性磋商", "inquiry": "询价", "single_source": "单一来源",
           "framework": "框架协议采购", "emall": "电子卖场", "self": "自行采购"}
STATUSES = {"draft": "暂存", "in_review": "处理中", "filed": "可使用", "used": "已使用", "terminated": "已终止",
            "revoked": "已撤销", "deleted": "已删除"}
OCCUPYING = ("in_review", "filed", "used")



IMPORT_STATUSES = {"draft": "录入中", "in_review": "审核中", "finance_review": "财政审批中", "to_publish": "待公示",
                   "approved": "已公示（核准）", "rejected": "未核准", "deleted": "已删除"}


class ImportApproval(Drafted, Audited, Base):
    """进口产品审批/公示 (001 ch.9, 002 §7): the project, which of its items import, the experts' opinions and the
    application; reviewer → finance → the clerk publishes (公示) and the approval is ``approved``. A plan that buys
    imported products needs an approved one of its project (``Plan.check_import``)."""

    __tablename__ = "import_approval"
    __audit_fields__ = ("status", "project_id", "items", "experts", "reason", "review_comment")

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # IMPORT_STATUSES
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{item_name, is_import, policy_direction, scenario}]
    experts: Mapped[list] = mapped_column(JSON, default=list)  # 论证专家 [{name, title, unit, opinion}]
    reason: Mapped[str] = mapped_column(Text, default="")  # 申请内容（申请理由）
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # uploaded files
    review_comment: Mapped[str] = mapped_column(Text, default="")
    published_at = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("IMPORT_STATE", f"进口产品审批 {self.number} 当前状态为“{IMPORT_STATUSES[self.status]}”，"
                                              f"不能{action}")

    def fill(self, session, values):
        """The clerk's entries (001 §9.1 第二步): project, items and whether each imports, experts, application."""
        from .project import Project
        self._require("draft", action="修改")
        ident = values.get("project_id")
        project = session.get(Project, int(ident)) if str(ident or "").isdigit() else None
        if project is None or project.unit_id != self.unit_id:
            raise _bad("project_id", "请选择本单位的采购项目")
        if project.status != "registered":
            raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 未登记完成，不能申请进口产品审批",
                              field="project_id")
        known = {(row or {}).get("item_name") for row in project.items or []}
        items = []
        for i, row in enumerate(r for r in values.get("items") or [] if isinstance(r, dict) and r.get("item_name")):
            name = _text(row.get("item_name"), "items", f"第 {i + 1} 项采购内容", 200)
            if name not in known:
                raise _bad("items", f"采购内容“{name}”不在项目 {project.number} 的采购内容清单中")
            items.append({"item_name": name, "is_import": bool(row.get("is_import")),
                          "policy_direction": _text(row.get("policy_direction"), "items", "政策指导方向", 200,
                                                    required=False),
                          "scenario": _text(row.get("scenario"), "items", "功能或应用场景", 500, required=False)})
        if not any(item["is_import"] for item in items):
            raise _bad("items", "请至少选择一项涉及进口的采购内容")
        experts = []
        for i, row in enumerate(r for r in values.get("experts") or [] if isinstance(r, dict) and any(r.values())):
            experts.append({"name": _text(row.get("name"), "experts", f"第 {i + 1} 位论证专家的姓名", 50),
                            "title": _text(row.get("title"), "experts", f"第 {i + 1} 位论证专家的职称", 50),
                            "unit": _text(row.get("unit"), "experts", f"第 {i + 1} 位论证专家的工作单位", 200),
                            "opinion": _text(row.get("opinion"), "experts", f"第 {i + 1} 位论证专家的论证意见", 2000)})
        if not experts:
            raise _bad("experts", "请至少添加一位进口产品采购论证专家及其论证意见")
        self.project_id, self.items, self.experts = project.id, items, experts
        self.reason = _text(values.get("reason"), "reason", "申请理由", 4000)
        self.title = _text(values.get("title"), "title", "公示标题", 200, required=False) or f"{project.name}进口产品采购公示"
        self.attachment_ref = _text(values.get("attachment_ref"), "attachment_ref", "附件", 200, required=False)
        self.attachments = list(values.get("attachments") or [])

    def return_for_edit(self, comment):
        """审核不通过 (reviewer or finance): back to the entry post with the comment."""
        self._require("in_review", "finance_review", action="退回")
        self.status, self.review_comment = "draft", comment or ""

    def approve(self):
        """审核岗通过 → 财政审批; 财政审批通过 → 待公示."""
        self._require("in_review", "finance_review", action="审核通过")
        self.status = "finance_review" if self.status == "in_review" else "to_publish"

    def publish(self, now):
        """进口产品公示 (001 §9.2): the approval is in force; plans of the project may buy imported products."""
        self._require("to_publish", action="公示")
        self.status, self.published_at = "approved", now

    def to_dict(self):
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "project_id": self.project_id,
                "title": self.title, "items": self.items or [], "experts": self.experts or [], "reason": self.reason,
                "attachment_ref": self.attachment_ref, "attachments": self.attachments or [], "status": self.status,
                "status_label": IMPORT_STATUSES.get(self.status, self.status), "review_comment": self.review_comment,
                "published_at": self.published_at, "created_at": self.created_at}


class JointMember(Base):
    """A unit that responded to a joint plan (联合采购) with a project of its own."""

    __tablename__ = "joint_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # counts against the member's own project


class Plan(Drafted, Audited, Base):
    __tablename__ = "plan"
    __audit_fields__ = ("status", "amount", "method", "returned", "pending_action", "assignee_id", "plan_type")

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
    # Plan types (plan_types.py): the project items the plan buys (电子卖场: exactly one), and for 合同续签 the
    # original multi-year contract (no FK: contract already points at plan).
    items: Mapped[list] = mapped_column(JSON, default=list)
    original_contract_id: Mapped[int | None] = mapped_column(Integer, index=True)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("PLAN_STATE", f"采购计划 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    def update(self, values):
        """Edit while 暂存 (draft)."""
        self._require("draft", action="修改")
        for key in ("name", "method", "sme_reason", "is_import", "import_approval_id", "budget_line_id", "plan_type",
                    "items", "original_contract_id"):
            if key in values:
                setattr(self, key, values[key])
        if "amount" in values:
            self.amount = money(values["amount"])
        if "sme_reserved_amount" in values:
            self.sme_reserved_amount = money(values["sme_reserved_amount"] or 0, "sme_reserved_amount")

    def check_budget_line(self, session, project):
        """The plan's budget line (if it names one) is its unit's, of its year, and one of the project's funds."""
        if not self.budget_line_id:
            return
        from .budget import BudgetLine
        line = BudgetLine.owned(session, self.budget_line_id, self.unit_id, self.year, what="计划", lock=False)
        if project is not None and line.id not in {f.budget_line_id for f in project.funds}:
            raise DomainError("BUDGET_NOT_IN_PROJECT", f"预算指标 {line.code} 不在项目 {project.number} 的资金构成中",
                              field="budget_line_id", status=400)

    def submit(self, session, project):
        """提交: the policy checks of seed 001 §4.1 / 002 §1, then into review."""
        from .project import Project  # noqa: F401 - type only
        self._require("draft", action="提交")
        if project.status != "registered":
            raise DomainError("PROJECT_NOT_REGISTERED", f"项目 {project.number} 未登记完成，不能申报采购计划",
                              field="project_id")
        if self.amount <= 0:
            raise DomainError("INVALID_AMOUNT", "计划金额必须大于 0", field="amount")
        from .unified_funds import check_unified_plan, funds_unified
        if self.plan_type == "unified" and funds_unified(session, project):
            check_unified_plan(session, self)  # 统招分签: the aggregated amount, funded by each member's project
        else:
            free = project.free_amount(session)
            if self.amount > free:
                raise DomainError("PROJECT_FREE_SHORT",
                                  f"计划金额 {self.amount:,.2f} 元超过项目 {project.number} 可用金额 {free:,.2f} 元",
                                  field="amount")
        self.check_budget_line(session, project)
        self.check_sme(session)
        self.check_import(session)
        from .plan_types import check_plan_type
        check_plan_type(session, self, project)  # 框架协议/联合/电子卖场/无过程/合同续签, 自行采购 limit (004 §3)
        self.status = "in_review"
        self.review_comment = ""

    def check_sme(self, session):
        """面向中小企业预留 (001 §4.1.1 注): at most the category's boundary ("200万以下", 200万 itself included) the plan
        is reserved whole, above it at least the category's share; both are rows of the thresholds table."""
        if self.sme_reserved_amount > self.amount:
            raise DomainError("SME_RULE", "预留中小企业金额不能超过计划金额", field="sme_reserved_amount")
        if self.sme_reason.strip():
            return
        from .threshold import CATEGORIES, sme_rule, wan
        whole, required = sme_rule(session, self.category)
        share, label = self.sme_reserved_amount / self.amount, CATEGORIES.get(self.category, self.category)
        if self.amount <= whole and share < 1:
            raise DomainError(
                "SME_RULE",
                f"{label}类计划金额 {self.amount:,.2f} 元，在 {wan(whole)}（含）以下，应全部预留给中小企业"
                f"（当前预留 {share:.0%}），否则须填写“未按政策预留的原因”（001 §4.1.1）", field="sme_reason")
        if self.amount > whole and share < required:
            raise DomainError(
                "SME_RULE",
                f"{label}类计划金额 {self.amount:,.2f} 元，超过 {wan(whole)}，预留比例应不低于 {required:.0%}"
                f"（当前 {share:.0%}），否则须填写“未按政策预留的原因”（001 §4.1.1）", field="sme_reason")

    def check_import(self, session):
        if not self.is_import:
            return
        approval = session.get(ImportApproval, self.import_approval_id) if self.import_approval_id else None
        if approval is None or approval.status != "approved" or approval.unit_id != self.unit_id:
            raise DomainError("IMPORT_NOT_APPROVED", "采购进口产品须先通过进口产品审批", field="import_approval_id")
        if approval.project_id != self.project_id:
            raise DomainError("IMPORT_OTHER_PROJECT", f"进口产品审批 {approval.number or approval.id} 不是本计划所属项目的审批",
                              field="import_approval_id")

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

    def mark_used(self):
        """已使用: an announcement was published, an order placed, or a contract filed directly on the plan."""
        self._require("filed", "used", action="使用")
        self.status = "used"

    def check_single_source_ready(self, session=None):
        """单一来源: the plan may not proceed (announcement, contract) before its publicity period has ended."""
        from sqlalchemy.orm import object_session
        from .announcement import check_single_source_ready
        check_single_source_ready(session or object_session(self), self)

    # -- 分派 / 收回 (002 §3–4), 采购方式变更 (001 §4.4, 002 §5) -------------------------------------
    def dispatch_to(self, user_id):
        """分派 / 变更分派: the clerk who will run the procurement on this plan (checked by the caller)."""
        self._require("filed", action="分派")
        if user_id == self.assignee_id:
            raise DomainError("ALREADY_ASSIGNED", f"采购计划 {self.number} 已分派给该经办人", field="assignee")
        self.assignee_id = user_id

    def recall(self):
        """收回: only while 可使用 (filed, not used); the plan goes back to its applicant."""
        self._require("filed", action="收回")
        if self.assignee_id in (None, self.created_by):
            raise DomainError("NOT_DISPATCHED", f"采购计划 {self.number} 未分派给其他经办人，无需收回")
        self.assignee_id = self.created_by

    def change_method(self, method):
        """采购方式变更审核通过: the new method; a plan used by a failed tender is usable again (流标重招)."""
        self._require("filed", "used", action="变更采购方式")
        self.method, self.pending_action = method, None
        if self.status == "used":
            self.status = "filed"

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
                "closing_reason": self.closing_reason, "items": self.items or [],
                "original_contract_id": self.original_contract_id, "members": self.members()}

    def members(self):
        """联合采购: the member units' projects and amounts (empty for other plan types)."""
        from sqlalchemy.orm import object_session
        session = object_session(self)
        if session is None or self.plan_type != "joint":
            return []
        rows = session.scalars(select(JointMember).where(JointMember.plan_id == self.id).order_by(JointMember.id))
        return [{"unit_id": m.unit_id, "project_id": m.project_id, "amount": f"{m.amount:.2f}"} for m in rows]
