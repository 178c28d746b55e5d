"""Year-end cleanup (年终处理, seed 000): the classifier and its items, and requests to the budget system."""
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, Money, UTCDateTime, beijing, money, utcnow
from .budget import BudgetLine
from .contract import Contract
from .plan import Plan
from .project import Project, ProjectFund
from .tender import Tender

# seed 000's categories → the procedure that cleans an item up (None: it follows from the others).
CATEGORIES = {
    "1.1": ("一(一) 已录入采购项目登记的项目", "ye_registered_project"),
    "1.2": ("一(二) 已录入未终审的采购计划", "ye_unapproved_plan"),
    "1.3": ("一(三) 已备案或核准但未开展采购活动的采购计划", "ye_filed_plan_no_activity"),
    "1.4": ("一(四) 已开展采购活动且可取消采购的采购计划", "ye_cancel_procurement"),
    "1.5": ("一(五) 已开展采购活动且不可取消项目的采购计划", "ye_continue"),
    "1.6": ("一(六) 招标失败的采购计划", "ye_failed_bid"),
    "1.7": ("一(七) 暂存的采购计划", "ye_draft_plan"),
    "2.1": ("二(一) 未使用的政府采购预算", "ye_budget_surplus"),
    "2.2.1": ("二(二)1 已录入未终审采购项目/计划所占用的预算", None),  # projects in review: UNAPPROVED_PROJECT
    "2.2.2": ("二(二)2 未备案合同的采购计划所占用的预算", None),
    "2.2.3": ("二(二)3 已备案合同的采购计划所占用的预算", "ye_budget_surplus"),
    "unclassified": ("未能归类（需人工处理）", None),
}
# 二(二)1 for a project still in registration review: deleted after its current step returns it (one item per project).
UNAPPROVED_PROJECT = "ye_unapproved_project"
LIVE_PLAN = ("draft", "in_review", "filed", "used")
UNFILED_CONTRACT = ("draft", "in_review", "reviewed", "published")


class YearEndItem(Base):
    """One unfinished project, plan or budget share found by the year's campaign."""

    __tablename__ = "year_end_item"
    __table_args__ = (UniqueConstraint("year", "record_type", "record_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer, default=0)  # the project concerned (0: none)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    process_key: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    found_at = mapped_column(UTCDateTime, default=utcnow)
    reminded_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def label(self):
        return CATEGORIES[self.category][0]

    @property
    def business_key(self):
        suffix = f":{self.project_id}" if self.record_type == "budget_line" and self.project_id else ""
        return f"ye{self.year}:{self.record_type}:{self.record_id}{suffix}"


def _item(year, category, record_type, record, unit_id, note="", project_id=None, process_key=None, **data):
    key = {"plan": "plan_id", "project": "project_id", "budget_line": "budget_line_id"}[record_type]
    payload = {key: record.id, "year": year, "year_end_category": category, **data}
    if project_id is not None:
        payload["project_id"] = project_id
    return YearEndItem(year=year, category=category, record_type=record_type, record_id=record.id,
                       project_id=project_id or 0, unit_id=unit_id,
                       process_key=process_key or CATEGORIES[category][1], data=payload, note=note)


class _Facts:
    """What the classifier asks of every record, fetched in a few queries for the whole year rather than a few
    per record (10,000 records: seconds, not minutes, of the campaign's one write transaction)."""

    def __init__(self, session, year):
        from .plan import JointMember
        plans = list(session.scalars(select(Plan).where(Plan.status.in_(LIVE_PLAN)).order_by(Plan.id)))
        self.plans = [p for p in plans if p.year == year]
        members = session.execute(select(JointMember.plan_id, JointMember.project_id)).all()
        by_id = {p.id: p for p in plans}
        self.plans_of = {}  # project id → its live plans, joint plans it responded to included
        for plan in plans:
            self.plans_of.setdefault(plan.project_id, []).append(plan)
        for plan_id, project_id in members:
            if plan_id in by_id:
                self.plans_of.setdefault(project_id, []).append(by_id[plan_id])
        ids = [p.id for p in self.plans]
        self.tender = {}  # plan id → its latest tender
        for tender in session.scalars(select(Tender).where(Tender.plan_id.in_(ids)).order_by(Tender.id)):
            self.tender[tender.plan_id] = tender
        self.unfiled = {}  # plan id → its first contract not yet filed
        for contract in session.scalars(select(Contract).where(Contract.plan_id.in_(ids),
                                                               Contract.status.in_(UNFILED_CONTRACT))
                                        .order_by(Contract.id.desc())):
            self.unfiled[contract.plan_id] = contract
        self.filed = {}  # project id → its first filed contract
        for contract, project_id in session.execute(
                select(Contract, Plan.project_id).join(Plan, Plan.id == Contract.plan_id)
                .where(Contract.status == "filed").order_by(Contract.id.desc())):
            self.filed[project_id] = contract


def classify_plan(plan, facts):
    """Seed 000 一(二)–(七) for one plan; returns (category, note, extra data)."""
    if plan.status == "draft":
        return "1.7", "", {}
    if plan.status == "in_review":
        return "1.2", "", {}
    if plan.status == "filed":
        unfiled = facts.unfiled.get(plan.id)
        if plan.plan_type == "no_process" and unfiled is not None:
            return "1.3", "已签订合同尚未备案：12月31日前完成合同备案", {"contract_id": unfiled.id}
        return "1.3", "", {"plan_type": plan.plan_type}
    # used: an announcement was published, an order placed or a contract filed.
    tender = facts.tender.get(plan.id)
    if tender is None:
        if plan.plan_type in ("emall", "framework", "no_process", "renewal", "unified"):
            return "1.5", "已下单或已开展采购活动", {}
        return "unclassified", "计划已使用但没有交易项目记录", {}
    if tender.status == "announced" and not tender.cancel_requested:
        return "1.4", "已发布公告未开标", {"tender_id": tender.id, "reason": "财政性资金年终收回，取消采购"}
    if tender.status == "opened" and tender.result == "failed":
        return "1.6", "已开标，招标失败", {"tender_id": tender.id, "reason": "招标失败，本年度不再重新采购"}
    if tender.status in ("opened", "awarded"):
        return "1.5", "已开标，须继续采购", {"tender_id": tender.id}
    return "unclassified", f"交易项目处于“{tender.status}”，取消或终止流程进行中", {"tender_id": tender.id}


def classify(session, year):
    """All unfinished projects, plans and used budgets of ``year`` as new (unsaved) items."""
    facts = _Facts(session, year)
    items = []
    for plan in facts.plans:
        category, note, data = classify_plan(plan, facts)
        items.append(_item(year, category, "plan", plan, plan.unit_id, note, project_id=plan.project_id, **data))
    for project in session.scalars(select(Project).where(Project.year == year, Project.status == "registered")
                                   .order_by(Project.id)):
        if not facts.plans_of.get(project.id):
            items.append(_item(year, "1.1", "project", project, project.unit_id, project_id=project.id))
    for project in session.scalars(select(Project).where(Project.year == year, Project.status == "in_review")
                                   .order_by(Project.id)):
        items.append(_item(year, "2.2.1", "project", project, project.unit_id, "项目登记尚未终审：退回后删除，释放预算",
                           project_id=project.id, process_key=UNAPPROVED_PROJECT))
    items.extend(_classify_budgets(session, year, facts))
    return items


def _classify_budgets(session, year, facts):
    items = []
    shares = {}
    for fund, project in session.execute(
            select(ProjectFund, Project).join(Project, Project.id == ProjectFund.project_id)
            .join(BudgetLine, BudgetLine.id == ProjectFund.budget_line_id)
            .where(BudgetLine.year == year, Project.status == "registered")
            .order_by(ProjectFund.id)):
        shares.setdefault(fund.budget_line_id, []).append((fund, project))
    for line in session.scalars(select(BudgetLine).where(BudgetLine.year == year).order_by(BudgetLine.id)):
        if line.used_amount == 0:
            items.append(_item(year, "2.1", "budget_line", line, line.unit_id, case="adjust",
                               amount=float(line.amount)))
            continue
        for fund, project in shares.get(line.id, []):
            filed = facts.filed.get(project.id)
            if filed is not None:
                category, extra = "2.2.3", {"case": "guarantee", "amount": float(fund.amount),
                                            "contract_id": filed.id}
            elif any(p.status in ("filed", "used") for p in facts.plans_of.get(project.id, [])):
                category, extra = "2.2.2", {}
            else:
                category, extra = "2.2.1", {}
            items.append(_item(year, category, "budget_line", line, line.unit_id, project_id=project.id, **extra))
    return items


class BudgetSystemRequest(Audited, Base):
    """What the purchaser asks of the budget system (预算管理一体化系统): adjust, reduce, guarantee funds."""

    __tablename__ = "budget_system_request"
    __audit_fields__ = ("status",)
    KINDS = {"adjust": "调整采购预算", "reduce": "调减采购预算", "guarantee": "申请政府采购保障性资金"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("budget_line.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    fund_type: Mapped[str] = mapped_column(String(32), default="general")
    code: Mapped[str] = mapped_column(String(64), default="")  # the guarantee line's code in the budget system
    status: Mapped[str] = mapped_column(String(16), default="requested")  # requested / approved / rejected
    note: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    # The budget system's receipt (integration API): when, by which client, and what it said.
    acknowledged_at = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledgement: Mapped[str] = mapped_column(Text, default="", server_default="")

    def acknowledge(self, by, note, now):
        """The budget system's receipt. A guarantee request is acknowledged once finance approved it (the funds
        are issued then); a rejected one is void."""
        if self.acknowledged_at is not None:
            raise DomainError("ALREADY_ACKNOWLEDGED", f"预算系统申请 {self.id} 已于 {beijing(self.acknowledged_at)} 确认")
        if self.kind == "guarantee" and self.status != "approved":
            raise DomainError("REQUEST_STATE", f"保障性资金申请 {self.id} " + (
                "未通过财政业务处室审核，已作废" if self.status == "rejected" else "尚待财政业务处室审核，审核通过后再下达"))
        self.acknowledged_at, self.acknowledged_by, self.acknowledgement = now, by, note or ""

    def to_dict(self, session):
        line = session.get(BudgetLine, self.budget_line_id)
        from .org import Unit
        unit = session.get(Unit, self.unit_id)
        return {"id": self.id, "kind": self.kind, "kind_label": self.KINDS[self.kind], "unit_code": unit.code,
                "unit_name": unit.name, "budget_line_code": line.code, "year": line.year, "amount": self.amount,
                "fund_type": self.fund_type, "code": self.code, "status": self.status, "note": self.note,
                "created_at": self.created_at, "acknowledged_at": self.acknowledged_at,
                "acknowledgement": self.acknowledgement or ""}

    @classmethod
    def create(cls, kind, line, amount, note="", fund_type=None, code=""):
        if kind not in cls.KINDS:
            raise DomainError("INVALID_INPUT", "预算系统申请类型不正确", status=400)
        amount = money(amount)
        if kind != "guarantee" and amount > line.free_amount:
            raise DomainError("BUDGET_IN_USE", f"预算指标 {line.code} 仍有 {line.used_amount:,.2f} 元被占用，"
                                               f"只能调整未使用的 {line.free_amount:,.2f} 元")
        return cls(kind=kind, unit_id=line.unit_id, budget_line_id=line.id, amount=amount,
                   fund_type=fund_type or line.fund_type, code=code or "", status="requested", note=note or "")

    def record_review(self, approved):
        """财政业务处室's decision on a guarantee request: approved ones wait for the budget system to issue the
        funds; rejected ones are void (the clerk applies again)."""
        if self.kind != "guarantee" or self.status != "requested":
            raise DomainError("REQUEST_STATE", "该申请不是待审核的保障性资金申请")
        self.status = "approved" if approved else "rejected"

    def register_guarantee(self, session):
        """The budget system issued the approved guarantee funds: the line it pushed (by the request's code), or
        a new budget line of the unit. (Instances of ye_budget_surplus before version 2 reach here straight from
        finance's approval, with no recorded review: their request is approved now.)"""
        if self.kind == "guarantee" and self.status == "requested":
            self.status = "approved"
        if self.kind != "guarantee" or self.status != "approved":
            raise DomainError("REQUEST_STATE", "该申请不是已审核通过的保障性资金申请")
        original = session.get(BudgetLine, self.budget_line_id)
        if not self.code.strip():
            raise DomainError("CODE_REQUIRED", "请填写保障性资金的指标编码", field="code", status=400)
        pushed = session.scalars(select(BudgetLine).where(BudgetLine.code == self.code,
                                                          BudgetLine.year == original.year)).first()
        if pushed is not None:  # the budget system already pushed the line (integration API): use it
            if pushed.unit_id != self.unit_id or pushed.free_amount < self.amount:
                raise DomainError("GUARANTEE_LINE", f"指标 {self.code} 已存在，但不属于本单位或可用余额不足 {self.amount:,.2f} 元")
            return pushed
        line = BudgetLine(code=self.code, name=f"政府采购保障性资金（{original.name}）", unit_id=self.unit_id,
                          year=original.year, fund_type=self.fund_type, amount=self.amount, used_amount=Decimal("0"))
        session.add(line)
        return line


def progress(session, year, units=None):
    """Per category: found / not started / in progress / done / blocked, the unclassified items, and the
    budget report; ``units`` limits it to those units (None: all)."""
    from .engine import ProcessInstance, StartRequest
    requests = {r.business_key: r for r in session.scalars(
        select(StartRequest).where(StartRequest.business_key.like(f"ye{year}:%")))}
    instances = {i.id: i for i in session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_([r.instance_id for r in requests.values() if r.instance_id])))}
    categories = {code: {"category": code, "label": label, "procedure": key, "found": 0, "not_started": 0,
                         "in_progress": 0, "done": 0, "blocked": 0} for code, (label, key) in CATEGORIES.items()}
    items = []
    query = select(YearEndItem).where(YearEndItem.year == year).order_by(YearEndItem.id)
    if units is not None:
        query = query.where(YearEndItem.unit_id.in_(units))
    for item in session.scalars(query):
        state, instance_id = _state(session, item, requests.get(item.business_key), instances)
        row = categories[item.category]
        row["found"] += 1
        row[state] += 1
        items.append({"id": item.id, "category": item.category, "label": item.label, "record_type": item.record_type,
                      "record_id": item.record_id, "project_id": item.project_id or None, "unit_id": item.unit_id,
                      "procedure": item.process_key, "instance_id": instance_id, "state": state, "note": item.note,
                      "reminded_at": item.reminded_at})
    lines = select(BudgetLine).where(BudgetLine.year == year).order_by(BudgetLine.code)
    lines = session.scalars(lines if units is None else lines.where(BudgetLine.unit_id.in_(units)))
    budgets = [{"id": b.id, "code": b.code, "name": b.name, "unit_id": b.unit_id, "amount": b.amount,
                "used_amount": b.used_amount, "free_amount": b.free_amount,
                "adjustable": b.used_amount == 0} for b in lines]
    return {"year": year, "categories": list(categories.values()), "items": items,
            "unclassified": [i for i in items if i["category"] == "unclassified"], "budgets": budgets}


def _state(session, item, request, instances):
    if item.category == "unclassified":
        return "blocked", None
    if item.process_key is None:  # 二(二)1/2: done when the project no longer occupies the line
        share = session.scalars(select(ProjectFund).join(Project, Project.id == ProjectFund.project_id).where(
            ProjectFund.budget_line_id == item.record_id, ProjectFund.project_id == item.project_id,
            Project.status.in_(("in_review", "registered")))).first()
        return ("in_progress" if share is not None else "done"), None
    if request is None or request.status == "pending":
        return "not_started", None
    if request.status == "failed":
        return "blocked", None
    instance = instances.get(request.instance_id)
    status = instance.status if instance is not None else "error"
    return {"running": "in_progress", "completed": "done"}.get(status, "blocked"), request.instance_id
