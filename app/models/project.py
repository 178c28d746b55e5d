"""Procurement projects (采购项目): registration, funds from budget lines, items."""
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import trigram
from .base import Audited, Base, DomainError, Money, UTCDateTime, money, utcnow
from .budget import BudgetLine
from .project_lifecycle import ProjectLifecycle

CATEGORIES = {"goods": "货物", "services": "服务", "works": "工程"}
IMPLEMENTATION_FORMS = {"self": "自行采购", "agency": "委托代理机构采购", "centralized": "集中采购机构采购"}
STATUSES = {"draft": "录入中", "in_review": "审核中", "registered": "已登记", "closed": "已结项",
            "revoked": "已撤销", "deleted": "已删除"}
LIVE = ("in_review", "registered")


class Project(ProjectLifecycle, Audited, Base):
    __tablename__ = "project"
    # The task list's text search (q=) looks in the number and name: trigram indexes, PostgreSQL with pg_trgm only.
    __table_args__ = (trigram.index("project", "number"), trigram.index("project", "name"))
    __audit_fields__ = ("status", "amount", "name", "category", "pending_action")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    region: Mapped[str] = mapped_column(String(64), default="")
    implementation_form: Mapped[str] = mapped_column(String(32), default="agency")
    is_government_procurement: Mapped[bool] = mapped_column(Boolean, default=True)
    justification: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    recovered_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    pending_action: Mapped[str | None] = mapped_column(String(16))  # revocation awaiting the leader
    closing_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    funds = relationship("ProjectFund", cascade="all, delete-orphan", lazy="selectin", order_by="ProjectFund.id")

    # -- rules -------------------------------------------------------------
    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("PROJECT_STATE",
                              f"项目 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    def planned_amount(self, session):
        """What live plans take of this project (and joint plans it takes part in, and — 统招分签 — the aggregated
        result's share of a member's project; a 统招分签 plan on the lead's project is funded by the members')."""
        from .plan import OCCUPYING, Plan
        from .unified_funds import funds_unified, member_share
        query = select(Plan.amount).where(Plan.project_id == self.id, Plan.status.in_(OCCUPYING))
        if funds_unified(session, self):
            query = query.where(Plan.plan_type != "unified")
        rows = session.scalars(query)
        from .plan_types import joint_amount  # 联合采购: a member unit's share counts against its own project
        return sum(rows, Decimal("0")) + joint_amount(session, self.id, OCCUPYING) + member_share(session, self)

    def free_amount(self, session):
        return self.amount - self.planned_amount(session)

    @property
    def registered_amount(self):
        """项目金额 as registered (plus 追加资金): ``amount`` is what the project still holds of its budget lines,
        which 资金回收 lowers — down to 0 when everything went back — so pages show this one and the rest apart."""
        return self.amount + (self.recovered_amount or Decimal("0"))

    def set_funds(self, session, funds):
        """Replace the fund composition of a draft (nothing occupied yet): lines of the project's unit and year,
        no line twice, adding up to the amount. Whether each line is 有效 with its share free is checked, all lines
        at once, when the draft is submitted (the diagram sends a refusal back to the clerk with the figures)."""
        self._require("draft", action="修改资金构成")
        self.funds = self._parse_funds(session, funds, self.amount)

    def _parse_funds(self, session, funds, project_amount):
        """Fund rows (not yet attached) for [{budget_line_id, amount}] adding up to ``project_amount``."""
        total = Decimal("0")
        new = []
        for fund in funds:
            line = BudgetLine.owned(session, fund.get("budget_line_id"), self.unit_id, self.year)
            if any(f.budget_line_id == line.id for f in new):
                raise DomainError("BUDGET_DUPLICATE", f"资金构成中预算指标 {line.code} 重复，请合并为一行",
                                  field="budget_line_id", status=400)
            if fund.get("amount") in (None, ""):
                raise DomainError("INVALID_AMOUNT", f"请填写预算指标 {line.code} 的资金金额", field="amount", status=400)
            amount = money(fund["amount"])
            if amount <= 0:
                raise DomainError("INVALID_AMOUNT", "资金金额必须大于 0", field="amount", status=400)
            total += amount
            new.append(ProjectFund(budget_line_id=line.id, amount=amount))
        if not new:
            raise DomainError("NO_FUNDS", "请至少选择一条预算指标", field="budget_line_id", status=400)
        if total != project_amount:
            raise DomainError("FUNDS_MISMATCH", f"资金构成合计 {total:,.2f} 元与项目金额 {project_amount:,.2f} 元不一致",
                              field="amount", status=400)
        return new

    def submit(self, session):
        """Send for review. Budget lines are occupied from submission on (while in review or registered),
        so two projects can never be approved against the same yuan."""
        self._require("draft", action="提交")
        self.check_thresholds(session)  # 分散采购限额 (001 §2.2.1 注①), 自行采购 below 004 §3's threshold
        self._occupy_funds(session)
        self.status = "in_review"

    def _occupy_funds(self, session, reason="提交审核"):
        """Each line separately; all are checked first, so a refusal names every line that is short."""
        wanted = [(self._line(session, f.budget_line_id), f.amount) for f in self.funds]
        BudgetLine.check_all(wanted)
        for line, amount in wanted:
            line.occupy(amount, self, reason)

    def return_for_edit(self, session, comment):
        """Reject (审核不通过): back to the entry post with the comment; the occupation is released."""
        self._require("in_review", action="退回")
        self._release_funds(session, "审核退回")
        self.status = "draft"
        self.review_comment = comment or ""

    def _release_funds(self, session, reason):
        for fund in self.funds:
            session.get(BudgetLine, fund.budget_line_id, with_for_update=True).release(fund.amount, self, reason)

    # -- 资金替换 / 追加 / 回收 (001 §2.2.4) ---------------------------------------------------
    FUND_KINDS = {"replace": "资金替换", "add": "追加资金", "recover": "资金回收"}

    def check_fund_adjustment(self, session, kind, amount, budget_line_id=None, to_budget_line_id=None):
        """Refuse an adjustment the project cannot take; returns the parsed amount."""
        if self.status == "closed":
            raise DomainError("PROJECT_CLOSED", f"项目 {self.number} 已结项，不能再进行资金追加、替换、回收")
        self._require("registered", action=self.FUND_KINDS.get(kind, "调整资金"))
        if kind not in self.FUND_KINDS:
            raise DomainError("INVALID_INPUT", "调整类型应为资金替换、追加资金或资金回收", field="kind", status=400)
        if not self.is_used(session):
            raise DomainError("PROJECT_UNUSED", f"项目 {self.number} 尚未被采购计划使用，请通过项目变更调整资金")
        amount = money(amount)
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "金额必须大于 0", field="amount", status=400)
        # 追加资金 may come from a line not yet in the composition; replace/recover name one of its rows.
        fund = self._fund(budget_line_id) if budget_line_id and kind != "add" else None
        if kind == "replace":
            if fund is None or not to_budget_line_id:
                raise DomainError("INVALID_INPUT", "请选择被替换的指标和替换后的指标", field="to_budget_line_id", status=400)
            if amount > fund.amount:
                raise DomainError("REPLACE_EXCEEDS", f"替换金额 {amount:,.2f} 元超过该指标在项目中的金额 {fund.amount:,.2f} 元",
                                  field="amount")
            self._line(session, to_budget_line_id).check_free(amount)
        elif kind == "add":
            if not budget_line_id:
                raise DomainError("INVALID_INPUT", "请选择追加资金的预算指标", field="budget_line_id", status=400)
            self._line(session, budget_line_id).check_free(amount)
        else:
            free = self.free_amount(session)
            if amount > free:
                raise DomainError("RECOVER_EXCEEDS",
                                  f"回收金额 {amount:,.2f} 元超过项目未被计划占用的金额 {free:,.2f} 元", field="amount")
            if fund is not None and amount > fund.amount:
                raise DomainError("RECOVER_EXCEEDS", f"回收金额超过该指标在项目中的金额 {fund.amount:,.2f} 元", field="amount")
        return amount

    def adjust_funds(self, session, kind, amount, budget_line_id=None, to_budget_line_id=None):
        """Apply an approved adjustment to the fund composition and the budget lines' occupation."""
        amount = self.check_fund_adjustment(session, kind, amount, budget_line_id, to_budget_line_id)
        reason = self.FUND_KINDS[kind]
        if kind == "replace":
            self._take(session, self._fund(budget_line_id), amount, reason)
            self._give(session, to_budget_line_id, amount, reason)
        elif kind == "add":
            self._give(session, budget_line_id, amount, reason)
            self.amount += amount
        else:
            remaining = amount
            funds = [self._fund(budget_line_id)] if budget_line_id else list(self.funds)
            for fund in funds:
                part = min(fund.amount, remaining)
                self._take(session, fund, part, reason)
                remaining -= part
            self.amount -= amount
            self.recovered_amount = (self.recovered_amount or Decimal("0")) + amount

    def is_used(self, session):
        from .plan import Plan
        from .unified_funds import member_plans
        return session.scalar(select(Plan.id).where(
            Plan.project_id == self.id, Plan.status.not_in(("draft", "deleted"))).limit(1)) is not None \
            or bool(member_plans(session, self, ("in_review", "filed", "used")))

    def _fund(self, budget_line_id):
        fund = next((f for f in self.funds if f.budget_line_id == int(budget_line_id)), None)
        if fund is None:
            raise DomainError("FUND_NOT_FOUND", "该预算指标不在项目的资金构成中", field="budget_line_id", status=400)
        return fund

    def _line(self, session, budget_line_id):
        """A line of the project's unit and year, row-locked (追加/替换 take no other unit's or year's line)."""
        return BudgetLine.owned(session, budget_line_id, self.unit_id, self.year)

    def _take(self, session, fund, amount, reason):
        session.get(BudgetLine, fund.budget_line_id, with_for_update=True).release(amount, self, reason)
        fund.amount -= amount
        if fund.amount == 0:
            self.funds.remove(fund)

    def _give(self, session, budget_line_id, amount, reason):
        self._line(session, budget_line_id).occupy(amount, self, reason)
        fund = next((f for f in self.funds if f.budget_line_id == int(budget_line_id)), None)
        if fund is None:
            self.funds.append(ProjectFund(budget_line_id=int(budget_line_id), amount=amount))
        else:
            fund.amount += amount

    # -- 撤销 (001 §2.2.2, 000 一(一)) -------------------------------------------------------
    def live_plans(self, session):
        """Plans on this project, or joint plans (联合采购) it responded to, that are not finished."""
        from .plan import JointMember, Plan
        from .unified_funds import member_plans  # 统招分签: the lead's plans on the aggregate a member responded to
        joint = select(JointMember.plan_id).where(JointMember.project_id == self.id)
        return list(session.scalars(select(Plan).where(
            (Plan.project_id == self.id) | Plan.id.in_(joint), Plan.status.in_(("draft", "in_review", "filed", "used"))))) \
            + member_plans(session, self)

    def check_revocable(self, session):
        if self.status == "revoked":
            raise DomainError("PROJECT_REVOKED", f"项目 {self.number} 已撤销")
        self._require("registered", action="撤销")
        plans = self.live_plans(session)
        if plans:
            raise DomainError("PROJECT_IN_USE", f"项目 {self.number} 仍被采购计划 {'、'.join(p.number for p in plans)} "
                                                "使用，须先删除、撤销或终止计划")

    def request_revocation(self, session, reason):
        self.check_revocable(session)
        self._check_no_pending("撤销")  # 撤销、变更、结项: one request at a time
        if not (reason or "").strip():
            raise DomainError("REASON_REQUIRED", "请填写撤销原因", field="reason", status=400)
        self.pending_action, self.closing_reason = "revocation", reason

    def revoke(self, session):
        """撤销 approved: the project ends and every budget line it occupied is released."""
        self.check_revocable(session)
        if self.pending_action != "revocation":
            raise DomainError("NO_REVOCATION", f"项目 {self.number} 没有待审核的撤销申请")
        for fund in list(self.funds):
            self._take(session, fund, fund.amount, "项目撤销")
        self.status, self.pending_action = "revoked", None

    def withdraw(self, session, reason):
        """A project that ends with what it was made for (a 统招分签 member's project when its response no longer
        counts: 未响应 at the deadline, 取消归集, 终止): every line it occupies is released; a draft or one in review
        is deleted, a registered one revoked. Refused while a live plan uses it."""
        if self.status not in ("draft",) + LIVE:  # already ended (deleted, revoked) or closed: nothing to give back
            return
        self._check_unused(session, "撤销")
        for fund in list(self.funds) if self.status in LIVE else ():
            self._take(session, fund, fund.amount, reason[:64])
        self.status = "revoked" if self.status == "registered" else "deleted"
        self.pending_action, self.closing_reason = None, reason

    def clear_pending(self):
        self.pending_action = None

    def register(self):
        self._require("in_review", action="登记")
        self.status = "registered"
        self.review_comment = ""

    def delete(self, session):
        self._require("draft", action="删除")
        self.status = "deleted"

    def to_dict(self, session=None):
        d = {"id": self.id, "number": self.number, "name": self.name, "unit_id": self.unit_id, "year": self.year,
             "category": self.category, "amount": self.amount, "region": self.region,
             "implementation_form": self.implementation_form,
             "is_government_procurement": self.is_government_procurement, "justification": self.justification,
             "items": self.items or [], "status": self.status, "status_label": STATUSES[self.status],
             "review_comment": self.review_comment, "recovered_amount": self.recovered_amount or Decimal("0"),
             "pending_action": self.pending_action, "closing_reason": self.closing_reason,
             "funds": [{"budget_line_id": f.budget_line_id, "amount": f.amount} for f in self.funds]}
        if session is not None:
            d["planned_amount"] = self.planned_amount(session)
            d["free_amount"] = self.amount - d["planned_amount"]
        return d


class ProjectFund(Base):
    """One budget line's share of a project (资金构成)."""

    __tablename__ = "project_fund"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("budget_line.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
