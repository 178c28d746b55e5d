"""Contract payments (合同支付) and write-offs (冲销), seed 001 ch.6.

* 无合同不支付: a payment is always for a contract, and only a filed contract that is not terminating,
  terminated, revoked or fulfilled may be paid (``Contract.check_payable``; 001 §6.1 注, §5.1.7 注).
* 已结项的采购项目，未完成资金支付部分不允许发起支付 (001 §2.2.5 注): nothing is paid on a closed project.
* The amount is at most what is unpaid: contract amount + approved supplementary contracts − paid − what other
  requests in review hold. Submitting a request holds (reserves) its amount on the contract under a row lock
  (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two requests submitted at once can
  never together exceed it; 审核不通过 or 取消 releases the hold, 审核通过 turns it into ``paid_amount``.
* A write-off (冲销, 001 §6.1.2) reverses part or all of one paid payment: at most what that payment paid less
  earlier and pending write-offs of it, and only while the contract may still take money operations
  (not once its termination has been requested, 001 §6.1 注). Approved, the contract's ``paid_amount`` goes down.

States: see ``reviewed.py``; a payment ends ``paid`` 已支付, a write-off ``reversed`` 已冲销.
"""
import re
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Base, DomainError, Money, UTCDateTime
from .contract import STATUSES as CONTRACT_STATUSES
from .reviewed import ReviewedRecord, check_project_open, text


def _amount_given(value, label):
    if value in (None, ""):
        raise DomainError("INVALID_INPUT", f"请填写{label}", field="amount", status=400)
    return value


class Payment(ReviewedRecord, Audited, Base):
    __tablename__ = "payment"
    __audit_fields__ = ("status", "amount", "phase", "account", "note", "attachments", "review_comment",
                        "written_off_amount")
    LABEL = "支付申请"
    PREFIX = "ZF"
    DONE = "paid"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "paid": "已支付", "cancelled": "已取消"}

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    phase: Mapped[str] = mapped_column(String(100), default="")  # 款项名称（支付计划期次）
    account: Mapped[dict] = mapped_column(JSON, default=dict)  # 收款账户 {bank, account_name, account_number}
    note: Mapped[str] = mapped_column(Text, default="")  # 支付说明
    written_off_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid_at = mapped_column(UTCDateTime, nullable=True)

    writeoffs = relationship("WriteOff", order_by="WriteOff.id", back_populates="payment")

    @staticmethod
    def _account(contract, number):
        """The payee account: one of the contract's (收款账户), the first if none is named."""
        accounts = list(contract.accounts or [])
        if not accounts:
            raise DomainError("NO_ACCOUNT", f"合同 {contract.number} 没有收款账户，请先办理账户变更")
        if number in (None, ""):
            return dict(accounts[0])
        wanted = re.sub(r"[\s-]", "", str(number))
        for account in accounts:
            if account.get("account_number") == wanted:
                return dict(account)
        raise DomainError("INVALID_INPUT", f"收款账号 {number} 不是合同 {contract.number} 的收款账户",
                          field="account_number", status=400)

    @classmethod
    def submit(cls, session, contract, project, values, attachments, user_id, now, payment=None):
        """提交支付申请 (001 §6.1.1); ``contract`` must be locked by the caller. Returns the payment, in review."""
        if payment is not None:
            payment.check_contract(contract)
            payment.require("returned", action="重新提交")
        amount = _amount_given(values.get("amount"), "本次支付金额")
        phase = text(values.get("phase"), "phase", "款项名称", 100, required=False)
        note = text(values.get("note"), "note", "支付说明", 2000, required=False)
        if contract.status == "filed":
            check_project_open(project, "未完成支付的部分不允许发起支付")
        amount = contract.reserve_payment(amount)  # filed, not terminating/terminated/revoked/fulfilled; ≤ payable
        account = cls._account(contract, values.get("account_number"))
        fields = {"amount": amount, "phase": phase, "note": note, "account": account, "attachments": attachments}
        if payment is None:
            return cls._new(session, contract, user_id, now, project_id=contract.project_id,
                            written_off_amount=Decimal("0"), **fields)
        payment.resubmit()
        for key, value in fields.items():
            setattr(payment, key, value)
        return payment

    def reject(self, contract, comment):
        """审核不通过: back to the clerk; the held amount is released."""
        self.check_contract(contract)
        self.return_for_edit(comment)
        contract.release_payment(self.amount)

    def pay(self, contract, project, now):
        """审核通过: paid; the contract's paid amount goes up by the held amount."""
        self.check_contract(contract)
        self.require("in_review", action="支付")
        hint = "；请审核不通过，退回经办岗取消该支付申请"
        if contract.status != "filed":
            raise DomainError("NOT_PAYABLE", f"合同 {contract.number} 当前状态为“{CONTRACT_STATUSES[contract.status]}”，"
                                             f"不能支付{hint}")
        check_project_open(project, f"未完成支付的部分不允许支付{hint}")
        contract.record_payment(self.amount)
        self.approve(now)
        self.paid_at = now

    @property
    def net_amount(self):
        return self.amount - (self.written_off_amount or Decimal("0"))

    def to_dict(self, details=False):
        d = {**self.base_dict(), "project_id": self.project_id, "amount": self.amount, "phase": self.phase,
             "account": self.account or {}, "note": self.note,
             "written_off_amount": self.written_off_amount or Decimal("0"), "net_amount": self.net_amount,
             "paid_at": self.paid_at}
        if details:
            d["writeoffs"] = [w.to_dict() for w in self.writeoffs]
        return d


class WriteOff(ReviewedRecord, Audited, Base):
    __tablename__ = "payment_writeoff"
    __audit_fields__ = ("status", "amount", "reason", "attachments", "review_comment")
    LABEL = "冲销申请"
    PREFIX = "CX"
    DONE = "reversed"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "reversed": "已冲销", "cancelled": "已取消"}

    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text, default="")  # 冲销原因

    payment = relationship(Payment, back_populates="writeoffs")

    @classmethod
    def pending_for(cls, session, payment_id, exclude_id=None):
        from sqlalchemy import func, select
        query = select(func.coalesce(func.sum(cls.amount), 0)).where(cls.payment_id == payment_id,
                                                                      cls.status == "in_review")
        if exclude_id is not None:
            query = query.where(cls.id != exclude_id)
        return Decimal(str(session.scalar(query))).quantize(Decimal("0.01"))

    @classmethod
    def submit(cls, session, payment, contract, values, attachments, user_id, now, writeoff=None):
        """提交冲销 (001 §6.1.2): a paid payment of a contract that may still take write-offs; ``contract`` locked."""
        payment.check_contract(contract)
        if writeoff is not None:
            if writeoff.payment_id != payment.id:
                raise DomainError("INVALID_INPUT", f"冲销申请 {writeoff.number} 不属于支付申请 {payment.number}",
                                  field="payment_id", status=400)
            writeoff.require("returned", action="重新提交")
        amount = _amount_given(values.get("amount"), "本次冲销金额")
        reason = text(values.get("reason"), "reason", "冲销原因", 500)
        if payment.status != "paid":
            raise DomainError("PAYMENT_STATE", f"支付申请 {payment.number} 当前状态为“{payment.status_label}”，"
                                               "只有已支付的记录才能冲销")
        amount = contract.check_writeoff(amount)  # filed (not terminating …), ≤ the contract's paid amount
        pending = cls.pending_for(session, payment.id, exclude_id=writeoff.id if writeoff else None)
        available = payment.net_amount - pending
        if amount > available:
            detail = f"，审核中的冲销 {pending:,.2f} 元" if pending else ""
            raise DomainError("OVER_PAID", f"冲销金额 {amount:,.2f} 元超过该笔支付可冲销金额 {available:,.2f} 元"
                                           f"（支付金额 {payment.amount:,.2f} 元，已冲销 {payment.written_off_amount:,.2f} 元"
                                           f"{detail}）", field="amount")
        fields = {"amount": amount, "reason": reason, "attachments": attachments}
        if writeoff is None:
            return cls._new(session, contract, user_id, now, payment_id=payment.id, **fields)
        writeoff.resubmit()
        for key, value in fields.items():
            setattr(writeoff, key, value)
        return writeoff

    def apply(self, payment, contract, now):
        """审核通过: the payment and the contract's paid amount go down by the write-off."""
        payment.check_contract(contract)
        self.require("in_review", action="冲销")
        if self.payment_id != payment.id or self.amount > payment.net_amount:
            raise DomainError("OVER_PAID", f"冲销金额 {self.amount:,.2f} 元超过支付申请 {payment.number} "
                                           f"未冲销的金额 {payment.net_amount:,.2f} 元")
        contract.reverse_payment(self.amount)
        payment.written_off_amount = (payment.written_off_amount or Decimal("0")) + self.amount
        self.approve(now)

    def to_dict(self):
        return {**self.base_dict(), "payment_id": self.payment_id, "amount": self.amount, "reason": self.reason}
