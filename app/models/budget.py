"""Budget lines (采购预算/指标) synced from the budget system. 无预算不采购."""
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, Money

FUND_TYPES = {"general": "一般公共预算", "fund": "政府性基金", "state_capital": "国有资本经营预算", "own": "单位自有资金"}


class BudgetLine(Audited, Base):
    __tablename__ = "budget_line"
    __table_args__ = (UniqueConstraint("code", "year"),)
    __audit_fields__ = ("used_amount",)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    fund_type: Mapped[str] = mapped_column(String(32), default="general")
    amount: Mapped[Decimal] = mapped_column(Money)
    used_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))

    @property
    def free_amount(self):
        return self.amount - self.used_amount

    def check_free(self, amount):
        if amount > self.free_amount:
            raise DomainError("BUDGET_SHORT",
                              f"预算指标 {self.code} 可用余额 {self.free_amount:,.2f} 元，不足 {amount:,.2f} 元（无预算不采购）",
                              field="budget_line_id")

    def occupy(self, amount):
        self.check_free(amount)
        self.used_amount += amount

    def release(self, amount):
        if amount > self.used_amount:
            raise DomainError("RELEASE_EXCEEDS", f"预算指标 {self.code} 释放金额超过已占用金额")
        self.used_amount -= amount

    def to_dict(self):
        return {"id": self.id, "code": self.code, "name": self.name, "unit_id": self.unit_id, "year": self.year,
                "fund_type": self.fund_type, "amount": self.amount, "used_amount": self.used_amount,
                "free_amount": self.free_amount}
