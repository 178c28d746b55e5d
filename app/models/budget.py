"""Budget lines (采购预算/指标) from the budget system (预算管理一体化系统). 无预算不采购.

A line comes in by the integration API (the budget system's upsert), an Excel import or finance's manual entry;
all three go through ``BudgetLine.upsert``, which checks the values, refuses to take the amount below what is
occupied, and writes every change of the line's own fields into ``budget_line_change`` (who, when, how, what).
Occupation (``used_amount``) moves with projects and is in their instances' history."""
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, object_session

from .base import Audited, Base, DomainError, Money, UTCDateTime, invalid, money, text_field, utcnow

FUND_TYPES = {"general": "一般公共预算", "fund": "政府性基金", "state_capital": "国有资本经营预算", "own": "单位自有资金"}
# 有效: may be occupied; 冻结 / 收回 by the budget system: no new occupation, existing ones stay until released.
STATUSES = {"active": "有效", "frozen": "冻结", "recalled": "收回"}
EDITABLE = ("name", "unit_id", "fund_type", "amount", "status")
YEARS = (2000, 2100)


class BudgetLine(Audited, Base):
    __tablename__ = "budget_line"
    __table_args__ = (UniqueConstraint("code", "year"),)
    __audit_fields__ = ("used_amount", "status", "amount")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    fund_type: Mapped[str] = mapped_column(String(32), default="general")
    amount: Mapped[Decimal] = mapped_column(Money)
    used_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # Any change of the row, occupation included: the budget system reads lines changed since a moment.
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    @property
    def free_amount(self):
        return self.amount - self.used_amount

    def check_owner(self, unit_id, year, what="项目"):
        """A record (project, plan, …) may name only a line of its own unit and year (issue 13)."""
        if self.unit_id != unit_id:
            raise DomainError("BUDGET_NOT_FOUND", "预算指标不存在或不属于本单位", field="budget_line_id", status=400)
        if self.year != year:
            raise DomainError("BUDGET_YEAR", f"预算指标 {self.code} 属于 {self.year} 年度，与{what}年度 {year} 不符",
                              field="budget_line_id", status=400)

    @classmethod
    def owned(cls, session, budget_line_id, unit_id, year, what="项目", lock=True):
        """The line ``budget_line_id`` of ``unit_id`` and ``year`` (row-locked), or a 400 in Chinese."""
        from .inputs import parse_id
        ident = parse_id(budget_line_id)
        line = session.get(cls, ident, with_for_update=lock) if ident is not None else None
        if line is None:
            raise DomainError("BUDGET_NOT_FOUND", "预算指标不存在或不属于本单位", field="budget_line_id", status=400)
        line.check_owner(unit_id, year, what)
        return line

    def shortage(self, amount):
        """Why ``amount`` cannot be newly occupied on this line (None when it can): the message and the figures."""
        if self.status != "active":
            message = f"预算指标 {self.code} 已被预算管理一体化系统{STATUSES[self.status]}，不能再被占用"
        elif amount > self.free_amount:
            message = f"预算指标 {self.code} 可用余额 {self.free_amount:,.2f} 元，不足 {amount:,.2f} 元（无预算不采购）"
        else:
            return None
        return message, {"budget_line_id": self.id, "code": self.code, "status": self.status or "active",
                         "status_label": STATUSES.get(self.status or "active"), "amount": f"{self.amount:.2f}",
                         "used_amount": f"{self.used_amount:.2f}", "free_amount": f"{self.free_amount:.2f}",
                         "requested_amount": f"{amount:.2f}"}

    def check_free(self, amount):
        """A new occupation of ``amount``: the line is 有效 and has that much free."""
        found = self.shortage(amount)
        if found is not None:
            raise FundsRefused([found])

    @staticmethod
    def check_all(wanted):
        """Every (line, amount) of a fund composition at once: one refusal naming each line that cannot take its
        amount, with the figures of each (``details.lines``)."""
        found = [f for f in (line.shortage(amount) for line, amount in wanted) if f is not None]
        if found:
            raise FundsRefused(found)

    def occupy(self, amount, project=None, reason=""):
        self.check_free(amount)
        self.used_amount += amount
        self._move("occupy", amount, project, reason)

    def release(self, amount, project=None, reason=""):
        if amount > self.used_amount:
            raise DomainError("RELEASE_EXCEEDS", f"预算指标 {self.code} 释放金额超过已占用金额")
        self.used_amount -= amount
        self._move("release", amount, project, reason)

    def _move(self, kind, amount, project, reason):
        """The line's ledger (台账): every occupation and release, by which project and why."""
        session = object_session(self)
        if session is not None and amount:
            session.add(BudgetLineMovement(budget_line_id=self.id, project_id=getattr(project, "id", None),
                                           kind=kind, amount=amount, used_after=self.used_amount,
                                           reason=reason or "", at=utcnow()))

    def movements(self, session, limit=500):
        """The line's ledger, newest first, each row with its project's number."""
        from .project import Project
        rows = session.execute(select(BudgetLineMovement, Project.number)
                               .outerjoin(Project, Project.id == BudgetLineMovement.project_id)
                               .where(BudgetLineMovement.budget_line_id == self.id)
                               .order_by(BudgetLineMovement.id.desc()).limit(limit))
        return [{**m.to_dict(), "project_number": number} for m, number in rows]

    def occupations(self, session):
        """The projects holding part of this line now: [{project_id, number, name, unit_id, status, amount}]."""
        from .project import LIVE, Project, ProjectFund
        rows = session.execute(select(ProjectFund.amount, Project).join(Project, Project.id == ProjectFund.project_id)
                               .where(ProjectFund.budget_line_id == self.id, Project.status.in_(LIVE + ("closed",)))
                               .order_by(Project.id))
        return [{"project_id": p.id, "number": p.number, "name": p.name, "unit_id": p.unit_id,
                 "status": p.status, "amount": amount} for amount, p in rows]

    # -- maintenance: the budget system's upsert, Excel import, finance's entry -----------------------------
    @classmethod
    def clean(cls, session, values):
        """Checked values for ``upsert``: code, year, unit_id, name, fund_type, amount, status (Chinese messages)."""
        out = {"code": text_field(values.get("code"), "code", "指标编码", 64)}
        year = values.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not YEARS[0] <= year <= YEARS[1]:
            raise invalid("year", f"年度应为 {YEARS[0]} 到 {YEARS[1]} 之间的整数")
        out["year"] = year
        from .org import Unit
        if session.get(Unit, values.get("unit_id") or 0) is None:
            raise invalid("unit_id", "预算单位不存在")
        out["unit_id"] = values["unit_id"]
        out["name"] = text_field(values.get("name"), "name", "指标名称", 200)
        fund_type = values.get("fund_type") or "general"
        if fund_type not in FUND_TYPES:
            raise invalid("fund_type", "资金性质应为 " + "、".join(f"{k}（{v}）" for k, v in FUND_TYPES.items()))
        out["fund_type"] = fund_type
        if values.get("amount") in (None, ""):
            raise invalid("amount", "请填写指标金额")
        out["amount"] = money(values["amount"])
        status = values.get("status") or "active"
        if status not in STATUSES:
            raise invalid("status", "指标状态应为 " + "、".join(f"{k}（{v}）" for k, v in STATUSES.items()))
        out["status"] = status
        return out

    @classmethod
    def upsert(cls, session, values, actor, source, now=None):
        """Create the line ``code``/``year`` or bring it to ``values``; returns (line, created, changes).

        The same values again change nothing and write no history (the budget system may resend)."""
        values = cls.clean(session, values)
        line = session.scalars(select(cls).where(cls.code == values["code"], cls.year == values["year"])
                               .with_for_update()).first()
        created = line is None
        if created:
            line = cls(code=values["code"], year=values["year"], used_amount=Decimal("0"))
            session.add(line)
        elif values["amount"] < line.used_amount:
            raise BelowUsed(line, values["amount"], session)
        elif values["unit_id"] != line.unit_id and line.used_amount > 0:
            raise DomainError("BUDGET_UNIT_IN_USE", f"预算指标 {line.code} 已被占用 {line.used_amount:,.2f} 元，"
                                                    "不能改为其他单位的指标", field="unit_id")
        changes = {}
        for key in EDITABLE:
            old = None if created else getattr(line, key)
            if old != values[key]:
                changes[key] = [_plain(old), _plain(values[key])]
                setattr(line, key, values[key])
        if changes:
            session.flush()
            session.add(BudgetLineChange(budget_line_id=line.id, at=now or utcnow(), actor=actor, source=source,
                                         action="create" if created else "update", changes=changes))
        return line, created, changes

    def to_dict(self):
        return {"id": self.id, "code": self.code, "name": self.name, "unit_id": self.unit_id, "year": self.year,
                "fund_type": self.fund_type, "amount": self.amount, "used_amount": self.used_amount,
                "free_amount": self.free_amount, "status": self.status or "active",
                "status_label": STATUSES.get(self.status or "active"), "updated_at": self.updated_at}


def _plain(value):
    return f"{value:.2f}" if isinstance(value, Decimal) else value


class BelowUsed(DomainError):
    """409: the new amount is below what projects occupy; the body carries the figures and the occupations."""

    def __init__(self, line, amount, session):
        super().__init__("BUDGET_BELOW_USED", f"预算指标 {line.code} 已被占用 {line.used_amount:,.2f} 元，"
                                              f"指标金额不能调减至 {amount:,.2f} 元", field="amount")
        self.details = {"code": line.code, "year": line.year, "amount": f"{amount:.2f}",
                        "used_amount": f"{line.used_amount:.2f}", "current_amount": f"{line.amount:.2f}",
                        "occupations": [{**o, "amount": f"{o['amount']:.2f}"} for o in line.occupations(session)]}


class FundsRefused(DomainError):
    """409: budget lines that cannot take their share; ``details.lines`` carries each line's figures."""

    def __init__(self, found):
        first = found[0][1]
        code = "BUDGET_NOT_ACTIVE" if first["status"] != "active" else "BUDGET_SHORT"
        super().__init__(code, "；".join(message for message, _ in found), field="budget_line_id")
        self.details = {"lines": [figures for _, figures in found]}


SOURCES = {"api": "预算管理一体化系统接口", "import": "Excel 导入", "manual": "手工录入"}


class BudgetLineChange(Base):
    """The audited history of a budget line's own fields: one row per change, never updated."""

    __tablename__ = "budget_line_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_line_id: Mapped[int] = mapped_column(ForeignKey("budget_line.id", name="fk_budget_line_change_budget_line_id"),
                                                index=True)
    at = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # a user name, or client:<name> for a machine client
    source: Mapped[str] = mapped_column(String(16))  # api / import / manual
    action: Mapped[str] = mapped_column(String(16))  # create / update
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [old, new]}

    def to_dict(self):
        return {"id": self.id, "budget_line_id": self.budget_line_id, "at": self.at, "actor": self.actor,
                "source": self.source, "source_label": SOURCES.get(self.source, self.source), "action": self.action,
                "changes": self.changes}


MOVEMENTS = {"occupy": "占用", "release": "释放"}


class BudgetLineMovement(Base):
    """The ledger of a budget line (占用/释放台账): one row per occupation or release, never updated."""

    __tablename__ = "budget_line_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_line_id: Mapped[int] = mapped_column(
        ForeignKey("budget_line.id", name="fk_budget_line_movement_budget_line_id"), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", name="fk_budget_line_movement_project_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # occupy / release
    amount: Mapped[Decimal] = mapped_column(Money)
    used_after: Mapped[Decimal] = mapped_column(Money)  # the line's occupied amount after this movement
    reason: Mapped[str] = mapped_column(String(64), default="")
    at = mapped_column(UTCDateTime, default=utcnow)

    def to_dict(self):
        return {"id": self.id, "budget_line_id": self.budget_line_id, "project_id": self.project_id,
                "kind": self.kind, "kind_label": MOVEMENTS[self.kind], "amount": self.amount,
                "used_after": self.used_after, "reason": self.reason, "at": self.at}
