"""Handlers for purchase contracts (采购合同, seed 001 ch.5). The rules are on ``Contract``; these only load
records of the instance's unit, pass the task data on, and return the ids the diagram carries."""

from sqlalchemy import select

from ..models import Contract, ContractRequest, DomainError, InstanceRecord, Plan, ProcessInstance
from ..models import unified_funds
from ..models.contract import CHANGEABLE, EDITABLE
from . import handler
from ..models.base import BEIJING

# Dates people write (签订日期) are Beijing dates; the clock is UTC.


def _present(ctx, keys):
    """The entries the clerk gave (keys absent or null are left as they are)."""
    return {key: ctx.get(key) for key in keys if ctx.get(key) is not None}


def _contract(ctx):
    return ctx.record(Contract, ctx.require("contract_id"), "合同")


def _plan(ctx, contract):
    return _plan_for(ctx, contract.plan_id)


def _plan_for(ctx, ident):
    """The unit's own plan, or — 统招分签 — the lead unit's plan on the aggregated result this unit responded to
    (each member signs its own contract on it; ``Contract.check_plan_usable`` holds the rule)."""
    try:
        return ctx.record(Plan, ident, "采购计划")
    except DomainError as err:
        if err.code != "WRONG_UNIT":
            raise
        plan = ctx.session.get(Plan, int(ident), with_for_update=True)
        if unified_funds.member_of_plan(ctx.session, plan, ctx.instance.unit_id) is None:
            raise
        return plan


def _request(ctx, contract):
    """The contract's request this instance works on (set once it is first submitted), locked."""
    ident = ctx.get("contract_request_id")
    if ident in (None, ""):
        return None
    try:
        request = ctx.session.get(ContractRequest, int(ident), with_for_update=True)
    except (TypeError, ValueError):
        request = None
    if request is None or request.contract_id != contract.id:
        raise DomainError("INVALID_INPUT", f"合同 {contract.number} 没有申请 {ident}", field="contract_request_id",
                          status=400)
    return request


def _check_not_in_other_entry(ctx, contract):
    """A contract picked up by id must not be in another running entry (its clerk would be left stuck)."""
    other = ctx.session.scalar(
        select(ProcessInstance.id).join(InstanceRecord, InstanceRecord.instance_id == ProcessInstance.id).where(
            InstanceRecord.record_type == "contract", InstanceRecord.record_id == contract.id,
            ProcessInstance.key == ctx.instance.key, ProcessInstance.status == "running",
            ProcessInstance.id != ctx.instance.id).limit(1))
    if other is not None:
        raise DomainError("CONTRACT_IN_PROCESS",
                          f"合同 {contract.number} 正在流程 {other} 中录入，请在该流程的待办中继续办理")


def _today(ctx):
    return ctx.now.astimezone(BEIJING).date()


# -- contract_filing 合同录入/发布/备案 ------------------------------------------------------------
@handler("contract.save")
def save(ctx):
    """录入 or 暂存: a new draft on a usable plan of the unit; or, given ``contract_id``, a draft created
    elsewhere (e.g. from an award) or a revoked contract being published again (撤销后可以重新公示合同)."""
    values = _present(ctx, EDITABLE)
    if ctx.get("contract_id") not in (None, ""):
        contract = _contract(ctx)
        _check_not_in_other_entry(ctx, contract)
        if contract.status == "revoked":
            contract.reopen()
        if ctx.get("plan_id") not in (None, ""):
            plan = _plan_for(ctx, ctx.get("plan_id"))
            if plan.id != contract.plan_id:
                contract.set_plan(plan)
        contract.edit(values)
        ctx.session.flush()
    else:
        plan = _plan_for(ctx, ctx.require("plan_id"))
        contract = Contract.new_draft(ctx.session, plan, ctx.instance.unit_id, values, created_by=ctx.user_id,
                                      now=ctx.now)
    return {"contract_id": contract.id, "contract_number": contract.number, "plan_id": contract.plan_id,
            "action": ctx.get("action") or "draft"}


@handler("contract.submit")
def submit(ctx):
    contract = _contract(ctx)
    proposed = contract.submit(ctx.session, _plan(ctx, contract), _today(ctx), ctx.actor, ctx.now)
    return {"suppliers_proposed": [p.name for p in proposed]}


@handler("contract.return")
def return_for_edit(ctx):
    _contract(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("contract.approve")
def approve(ctx):
    _contract(ctx).approve()
    return {}


@handler("contract.delete")
def delete(ctx):
    if ctx.get("contract_id") not in (None, ""):
        _contract(ctx).delete()
    return {}


@handler("contract.publish")
def publish(ctx):
    _contract(ctx).publish(ctx.get("announcement_title"), ctx.now)
    return {}


@handler("contract.file")
def file(ctx):
    contract = _contract(ctx)
    contract.file(ctx.session, _plan(ctx, contract), ctx.user_id, ctx.now)
    return {"contract_version": contract.current_version}


# -- requests after filing: change, termination, account change, revocation (001 §5.1.3–5.1.6) ----
@handler("contract.change_request")
def change_request(ctx):
    contract = _contract(ctx)
    attached = uploaded(ctx, "变更说明附件", "contract", contract.id)
    request = contract.request_change(ctx.session, _plan(ctx, contract), _present(ctx, CHANGEABLE),
                                      ctx.get("explanation"), ctx.get("attachment_ref"), ctx.user_id, ctx.now,
                                      request=_request(ctx, contract), attachments=attached)
    ctx.session.flush()
    return {"contract_request_id": request.id, "attachments": hashes(attached)}


@handler("contract.change_apply")
def change_apply(ctx):
    contract = _contract(ctx)
    contract.apply_change(ctx.session, _plan(ctx, contract), _request(ctx, contract), ctx.user_id, ctx.now)
    return {"contract_version": contract.current_version}


@handler("contract.termination_request")
def termination_request(ctx):
    contract = _contract(ctx)
    attached = uploaded(ctx, "终止说明附件", "contract", contract.id)
    request = contract.request_termination(ctx.get("reason"), ctx.get("explanation"), ctx.get("attachment_ref"),
                                           ctx.user_id, ctx.now, request=_request(ctx, contract), attachments=attached)
    ctx.session.flush()
    return {"contract_request_id": request.id, "attachments": hashes(attached)}


@handler("contract.terminate")
def terminate(ctx):
    contract = _contract(ctx)
    contract.terminate(_request(ctx, contract), ctx.now)
    return {}


@handler("contract.account_change_request")
def account_change_request(ctx):
    contract = _contract(ctx)
    attached = uploaded(ctx, "账户变更附件", "contract", contract.id)
    request = contract.request_account_change(ctx.get("accounts"), ctx.get("reason"), ctx.get("attachment_ref"),
                                              ctx.user_id, ctx.now, request=_request(ctx, contract),
                                              attachments=attached)
    ctx.session.flush()
    return {"contract_request_id": request.id, "attachments": hashes(attached)}


@handler("contract.account_change_apply")
def account_change_apply(ctx):
    contract = _contract(ctx)
    contract.apply_account_change(_request(ctx, contract), ctx.user_id, ctx.now)
    return {"contract_version": contract.current_version}


@handler("contract.revocation_request")
def revocation_request(ctx):
    contract = _contract(ctx)
    attached = uploaded(ctx, "合同撤销说明附件", "contract", contract.id)
    request = contract.request_revocation(ctx.get("reason"), ctx.get("attachment_ref"), ctx.user_id, ctx.now,
                                          request=_request(ctx, contract), attachments=attached)
    ctx.session.flush()
    return {"contract_request_id": request.id, "attachments": hashes(attached)}


@handler("contract.revoke")
def revoke(ctx):
    contract = _contract(ctx)
    contract.revoke(_request(ctx, contract), ctx.now)
    return {}


@handler("contract.request_return")
def request_return(ctx):
    """审核不通过 on any of the requests: back to the clerk with the comment."""
    contract = _contract(ctx)
    contract.return_request(_request(ctx, contract), ctx.get("comment"))
    return {}


@handler("contract.request_cancel")
def request_cancel(ctx):
    """The clerk withdraws a returned request (取消申请)."""
    contract = _contract(ctx)
    contract.cancel_request(_request(ctx, contract), ctx.now)
    return {}


# -- contract_fulfillment 履约完成 (001 §5.1.7) -----------------------------------------------------
@handler("contract.fulfil")
def fulfil(ctx):
    _contract(ctx).fulfil(ctx.get("performance_note"), ctx.now)
    return {}


# -- supplementary_contract 补充合同 (001 §5.2), subcontract 分包合同 (001 §5.3) -----------------------
from ..models import Project, Subcontract, SupplementaryContract  # noqa: E402
from .common import attachments, lock, outputs, own_on, uploaded  # noqa: E402
from ..models.attachment import hashes  # noqa: E402


def _on_contract(ctx, model, key, what):
    contract = lock(ctx, Contract, ctx.require("contract_id"), "合同", "contract_id")
    return contract, own_on(ctx, model, key, what, contract)


_ON_CONTRACT_FIELDS = ("name", "amount", "signed_date", "content", "subcontractor_name", "subcontractor_credit_code")


@handler("contract.supplement_submit")
def supplement_submit(ctx):
    contract, record = _on_contract(ctx, SupplementaryContract, "supplementary_contract_id", "补充合同")
    attached = attachments(ctx, "text_attachment_ids", "补充合同文本")
    record = SupplementaryContract.submit(ctx.session, contract, ctx.session.get(Project, contract.project_id),
                                          _present(ctx, _ON_CONTRACT_FIELDS), attached, ctx.user_id, ctx.now,
                                          record=record)
    return outputs(record, "supplementary_contract_id", attached, contract_number=contract.number)


@handler("contract.supplement_approve")
def supplement_approve(ctx):
    contract, record = _on_contract(ctx, SupplementaryContract, "supplementary_contract_id", "补充合同")
    record.take_effect(ctx.session, contract, ctx.session.get(Project, contract.project_id), ctx.now)
    return {}


@handler("contract.subcontract_submit")
def subcontract_submit(ctx):
    contract, record = _on_contract(ctx, Subcontract, "subcontract_id", "分包合同")
    attached = attachments(ctx, "text_attachment_ids", "分包合同文本")
    record = Subcontract.submit(ctx.session, contract, _present(ctx, _ON_CONTRACT_FIELDS), attached, ctx.user_id,
                                ctx.now, record=record)
    return outputs(record, "subcontract_id", attached, contract_number=contract.number)


@handler("contract.subcontract_approve")
def subcontract_approve(ctx):
    contract, record = _on_contract(ctx, Subcontract, "subcontract_id", "分包合同")
    record.take_effect(ctx.session, contract, ctx.now)
    return {}


def _on_contract_record(ctx):
    """The supplement or subcontract this instance works on (whichever id it carries)."""
    if ctx.get("supplementary_contract_id") not in (None, ""):
        return _on_contract(ctx, SupplementaryContract, "supplementary_contract_id", "补充合同")[1]
    return _on_contract(ctx, Subcontract, "subcontract_id", "分包合同")[1]


@handler("contract.record_return")
def record_return(ctx):
    """审核不通过 of a supplement or subcontract: back to the clerk with the comment."""
    _on_contract_record(ctx).return_for_edit(ctx.get("comment"))
    return {}


@handler("contract.record_cancel")
def record_cancel(ctx):
    """The clerk withdraws a returned supplement or subcontract (取消)."""
    _on_contract_record(ctx).cancel(ctx.now)
    return {}
