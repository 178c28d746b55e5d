"""Handlers for contract payments (合同支付) and write-offs (冲销), seed 001 ch.6. The rules are on ``Payment``,
``WriteOff`` and ``Contract``; these lock the contract row first (every payment step of a contract queues on it),
pass the task data on, and return the ids the diagram carries and the hashes of the attachments used."""
from ..models import Contract, DomainError, Payment, Project, WriteOff
from . import handler
from .common import attachments, lock, outputs, own, own_on

PAYMENT_FIELDS = ("amount", "phase", "note", "account_number")


def _contract(ctx, ident=None):
    return lock(ctx, Contract, ident if ident is not None else ctx.require("contract_id"), "合同", "contract_id")


def _project(ctx, contract):
    return ctx.session.get(Project, contract.project_id)


def _payment(ctx, contract):
    return own_on(ctx, Payment, "payment_id", "支付申请", contract)


# -- contract_payment 合同支付 (001 §6.1.1) ---------------------------------------------------------
@handler("payment.submit")
def submit(ctx):
    """提交 or 重新提交: the amount is reserved on the contract."""
    contract = _contract(ctx)
    attached = attachments(ctx, "payment_attachment_ids", "合同支付附件")
    payment = Payment.submit(ctx.session, contract, _project(ctx, contract),
                             {key: ctx.get(key) for key in PAYMENT_FIELDS}, attached, ctx.user_id, ctx.now,
                             payment=_payment(ctx, contract))
    return outputs(payment, "payment_id", attached, contract_number=contract.number)


@handler("payment.pay")
def pay(ctx):
    contract = _contract(ctx)
    _payment(ctx, contract).pay(contract, _project(ctx, contract), ctx.now)
    return {}


@handler("payment.return")
def return_for_edit(ctx):
    """审核不通过: back to the clerk, the reserved amount released."""
    contract = _contract(ctx)
    _payment(ctx, contract).reject(contract, ctx.get("comment"))
    return {}


@handler("payment.cancel")
def cancel(ctx):
    contract = _contract(ctx)
    _payment(ctx, contract).cancel(ctx.now)
    return {}


# -- payment_writeoff 冲销 (001 §6.1.2) -------------------------------------------------------------
def _paid_payment(ctx):
    """The payment being written off, with its contract; the contract is locked first, as payment steps do."""
    ident = ctx.require("payment_id")
    found = ctx.session.get(Payment, int(ident)) if str(ident).isdigit() else None
    if found is None or (ctx.instance.unit_id is not None and found.unit_id != ctx.instance.unit_id):
        lock(ctx, Payment, ident, "支付申请", "payment_id")  # raises the precise refusal
    contract = _contract(ctx, found.contract_id)
    return lock(ctx, Payment, found.id, "支付申请", "payment_id"), contract


def _writeoff(ctx, payment):
    writeoff = own(ctx, WriteOff, "writeoff_id", "冲销申请")
    if writeoff is not None and writeoff.payment_id != payment.id:
        raise DomainError("INVALID_INPUT", f"冲销申请 {writeoff.number} 不属于支付申请 {payment.number}",
                          field="payment_id", status=400)
    return writeoff


@handler("payment.writeoff_submit")
def writeoff_submit(ctx):
    payment, contract = _paid_payment(ctx)
    attached = attachments(ctx, "writeoff_attachment_ids", "冲销说明附件", required=False)
    writeoff = WriteOff.submit(ctx.session, payment, contract, {"amount": ctx.get("amount"), "reason": ctx.get("reason")},
                               attached, ctx.user_id, ctx.now, writeoff=_writeoff(ctx, payment))
    return outputs(writeoff, "writeoff_id", attached, payment_number=payment.number, contract_number=contract.number)


@handler("payment.writeoff_apply")
def writeoff_apply(ctx):
    payment, contract = _paid_payment(ctx)
    _writeoff(ctx, payment).apply(payment, contract, ctx.now)
    return {}


@handler("payment.writeoff_return")
def writeoff_return(ctx):
    payment, _ = _paid_payment(ctx)
    _writeoff(ctx, payment).return_for_edit(ctx.get("comment"))
    return {}


@handler("payment.writeoff_cancel")
def writeoff_cancel(ctx):
    payment, _ = _paid_payment(ctx)
    _writeoff(ctx, payment).cancel(ctx.now)
    return {}
