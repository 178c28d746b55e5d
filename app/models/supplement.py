"""Supplementary contracts (补充合同, 001 §5.2) and subcontracts (分包合同, 001 §5.3) on a filed contract.

补充合同: the clerk picks a filed contract (已备案; not terminating, terminated, revoked or fulfilled) of a project
that is not closed (001 §2.2.5 注: 已结项的采购项目，不允许…签订补充合同), fills the supplement (name, amount,
signing date, content) and uploads its text; the reviewer approves or rejects. The supplements of a contract
together may not exceed 10% of the original contract's amount (政府采购法第四十九条: 补充合同的采购金额不得超过原合同
采购金额的百分之十; the "original" is the contract as filed or last changed, ``Contract.amount``). Supplements in
review count against the limit from submission (under a row lock on the contract) until returned or cancelled.
An approved supplement adds its amount to what may be paid on the contract (``Contract.supplement_amount``).

分包合同: on a filed contract; subcontractor (分包供应商), amount, signing date, content (分包内容) and text; the
reviewer approves or rejects. The seed sets no amount rule; this service adds the obvious one: the subcontracts
of a contract together may not exceed the contract's amount (with approved supplements).
"""
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, Money, date_field, money
from .contract import STATUSES as CONTRACT_STATUSES
from .reviewed import ReviewedRecord, beijing_today, check_project_open, credit_code, text

SUPPLEMENT_LIMIT = Decimal("0.10")


def _positive(value, label):
    if value in (None, ""):
        raise DomainError("INVALID_INPUT", f"请填写{label}", field="amount", status=400)
    amount = money(value)
    if amount <= 0:
        raise DomainError("INVALID_AMOUNT", f"{label}必须大于 0", field="amount", status=400)
    return amount


def _filed(contract, what):
    if contract.status != "filed":
        raise DomainError("CONTRACT_STATE", f"合同 {contract.number} 当前状态为“{CONTRACT_STATUSES[contract.status]}”，"
                                            f"只有已备案的合同才能{what}")


class _OnContract(ReviewedRecord):
    """Name, amount, signing date, content and text of a contract entered on a filed contract."""

    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    signed_date = mapped_column(Date, nullable=True)
    content: Mapped[str] = mapped_column(Text, default="")

    WHAT = "签订"

    @classmethod
    def _fields(cls, values, attachments, now):
        return {"name": text(values.get("name"), "name", f"{cls.LABEL}名称"),
                "amount": _positive(values.get("amount"), f"{cls.LABEL}金额"),
                "signed_date": date_field(values.get("signed_date"), "signed_date", f"{cls.LABEL}签订日期",
                                          latest=beijing_today(now)),
                "attachments": attachments}

    def _apply(self, record_fields):
        self.resubmit()
        for key, value in record_fields.items():
            setattr(self, key, value)
        return self

    def base_contract_dict(self):
        return {**self.base_dict(), "name": self.name, "amount": self.amount,
                "signed_date": self.signed_date.isoformat() if self.signed_date else None, "content": self.content}


class SupplementaryContract(_OnContract, Audited, Base):
    __tablename__ = "supplementary_contract"
    __audit_fields__ = ("status", "name", "amount", "signed_date", "content", "attachments", "review_comment")
    LABEL = "补充合同"
    PREFIX = "BC"
    DONE = "approved"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "approved": "已生效", "cancelled": "已取消"}

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)

    @classmethod
    def check_limit(cls, session, contract, amount, exclude_id=None):
        """补充合同累计金额 ≤ 原合同金额的 10%: approved ones and those in review, with this one."""
        limit = (contract.amount * SUPPLEMENT_LIMIT).quantize(Decimal("0.01"))
        approved = cls.total(session, contract.id, ("approved",), exclude_id)
        pending = cls.total(session, contract.id, ("in_review",), exclude_id)
        if approved + pending + amount > limit:
            left = max(limit - approved - pending, Decimal("0"))
            raise DomainError(
                "SUPPLEMENT_LIMIT",
                f"补充合同金额合计不能超过原合同金额的 10%：原合同金额 {contract.amount:,.2f} 元，上限 {limit:,.2f} 元；"
                f"已生效的补充合同 {approved:,.2f} 元，审核中 {pending:,.2f} 元，本次 {amount:,.2f} 元，"
                f"最多还可签订 {left:,.2f} 元", field="amount")

    @classmethod
    def submit(cls, session, contract, project, values, attachments, user_id, now, record=None):
        """提交补充合同 (001 §5.2); ``contract`` locked by the caller."""
        if record is not None:
            record.check_contract(contract)
            record.require("returned", action="重新提交")
        fields = cls._fields(values, attachments, now)
        fields["content"] = text(values.get("content"), "content", "补充内容及原因", 2000)
        _filed(contract, "签订补充合同")
        check_project_open(project, "不允许签订补充合同")
        cls.check_limit(session, contract, fields["amount"], exclude_id=record.id if record else None)
        if record is None:
            return cls._new(session, contract, user_id, now, project_id=contract.project_id, **fields)
        return record._apply(fields)

    def take_effect(self, session, contract, project, now):
        """审核通过: the supplement takes effect; the contract may be paid up to its amount plus supplements."""
        self.check_contract(contract)
        self.require("in_review", action="审核通过")
        hint = "；请审核不通过，退回经办岗取消该补充合同"
        try:
            _filed(contract, "签订补充合同")
            check_project_open(project, "不允许签订补充合同")
            self.check_limit(session, contract, self.amount, exclude_id=self.id)
        except DomainError as err:
            raise DomainError(err.code, err.message + hint) from None
        contract.add_supplement(self.amount)
        self.approve(now)

    def to_dict(self):
        return {**self.base_contract_dict(), "project_id": self.project_id}


class Subcontract(_OnContract, Audited, Base):
    __tablename__ = "subcontract"
    __audit_fields__ = ("status", "name", "subcontractor_name", "subcontractor_credit_code", "amount", "signed_date",
                        "content", "attachments", "review_comment")
    LABEL = "分包合同"
    PREFIX = "FB"
    DONE = "approved"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "approved": "已生效", "cancelled": "已取消"}

    subcontractor_name: Mapped[str] = mapped_column(String(200))
    subcontractor_credit_code: Mapped[str] = mapped_column(String(18), default="")

    @classmethod
    def check_total(cls, session, contract, amount, exclude_id=None):
        taken = cls.total(session, contract.id, ("approved", "in_review"), exclude_id)
        if taken + amount > contract.total_amount:
            raise DomainError("SUBCONTRACT_LIMIT",
                              f"分包合同金额合计 {taken + amount:,.2f} 元超过合同金额 {contract.total_amount:,.2f} 元"
                              f"（其他分包合同 {taken:,.2f} 元，本次 {amount:,.2f} 元）", field="amount")

    @classmethod
    def submit(cls, session, contract, values, attachments, user_id, now, record=None):
        """提交分包合同 (001 §5.3); ``contract`` locked by the caller."""
        if record is not None:
            record.check_contract(contract)
            record.require("returned", action="重新提交")
        fields = cls._fields(values, attachments, now)
        fields["subcontractor_name"] = text(values.get("subcontractor_name"), "subcontractor_name", "分包供应商名称")
        fields["subcontractor_credit_code"] = credit_code(values.get("subcontractor_credit_code"),
                                                          "subcontractor_credit_code", "分包供应商统一社会信用代码")
        fields["content"] = text(values.get("content"), "content", "分包内容", 2000)
        _filed(contract, "签订分包合同")
        cls.check_total(session, contract, fields["amount"], exclude_id=record.id if record else None)
        if record is None:
            return cls._new(session, contract, user_id, now, **fields)
        return record._apply(fields)

    def take_effect(self, session, contract, now):
        self.check_contract(contract)
        self.require("in_review", action="审核通过")
        try:
            _filed(contract, "签订分包合同")
            self.check_total(session, contract, self.amount, exclude_id=self.id)
        except DomainError as err:
            raise DomainError(err.code, err.message + "；请审核不通过，退回经办岗取消该分包合同") from None
        self.approve(now)

    def to_dict(self):
        return {**self.base_contract_dict(), "subcontractor_name": self.subcontractor_name,
                "subcontractor_credit_code": self.subcontractor_credit_code}
