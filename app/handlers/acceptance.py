"""Handlers for performance acceptance (履约验收), seed 001 ch.7. The rules are on ``Acceptance`` and ``Contract``;
these lock the contract, pass the task data on, and return the ids and the hashes of the 验收材料 used."""
from ..models import Acceptance, Contract, Project
from . import handler
from .common import attachments, lock, outputs, own_on


def _contract(ctx):
    return lock(ctx, Contract, ctx.require("contract_id"), "合同", "contract_id")


def _acceptance(ctx, contract):
    return own_on(ctx, Acceptance, "acceptance_id", "履约验收", contract)


@handler("acceptance.submit")
def submit(ctx):
    contract = _contract(ctx)
    attached = attachments(ctx, "acceptance_attachment_ids", "验收材料")
    acceptance = Acceptance.submit(
        ctx.session, contract, ctx.session.get(Project, contract.project_id),
        {key: ctx.get(key) for key in ("result", "accepted_on", "notes")}, attached, ctx.user_id, ctx.now,
        acceptance=_acceptance(ctx, contract))
    return outputs(acceptance, "acceptance_id", attached, contract_number=contract.number)


@handler("acceptance.approve")
def approve(ctx):
    contract = _contract(ctx)
    _acceptance(ctx, contract).accept(contract, ctx.session.get(Project, contract.project_id), ctx.now)
    return {}


@handler("acceptance.return")
def return_for_edit(ctx):
    contract = _contract(ctx)
    _acceptance(ctx, contract).return_for_edit(ctx.get("comment"))
    return {}


@handler("acceptance.cancel")
def cancel(ctx):
    contract = _contract(ctx)
    _acceptance(ctx, contract).cancel(ctx.now)
    return {}
