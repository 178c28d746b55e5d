"""Handlers for 采购意向公开 (seed 001 ch.3); the rules are on ``IntentDisclosure`` (app/models/intent.py)."""
from ..models.intent import IntentDisclosure
from . import handler


def _disclosure(ctx):
    return ctx.record(IntentDisclosure, ctx.require("intent_disclosure_id"), "采购意向")


@handler("intent.save")
def save(ctx):
    """Create the disclosure on the first save, or replace the draft's projects and intents."""
    if ctx.get("intent_disclosure_id"):
        disclosure = _disclosure(ctx)
    else:
        disclosure = IntentDisclosure.create(ctx.session, ctx.instance.unit_id, ctx.user_id, ctx.now)
    disclosure.fill(ctx.session, ctx.get("title"), ctx.get("items"), ctx.now)
    return {"intent_disclosure_id": disclosure.id, "intent_number": disclosure.number,
            "project_ids": [i.project_id for i in disclosure.intents(ctx.session)]}


@handler("intent.submit")
def submit(ctx):
    _disclosure(ctx).submit(ctx.session)
    return {}


@handler("intent.return")
def return_for_edit(ctx):
    _disclosure(ctx).return_for_edit(ctx.session, ctx.get("comment"))
    return {}


@handler("intent.approve")
def approve(ctx):
    _disclosure(ctx).approve(ctx.session)
    return {}


@handler("intent.reopen")
def reopen(ctx):
    """撤销 before publishing: back to editing (the reviewer reviews it again)."""
    _disclosure(ctx).reopen(ctx.session)
    return {"comment": ""}


@handler("intent.publish")
def publish(ctx):
    disclosure = _disclosure(ctx)
    disclosure.publish(ctx.session, ctx.now)
    return {"published_at": disclosure.published_at.isoformat()}


@handler("intent.delete")
def delete(ctx):
    if ctx.get("intent_disclosure_id"):
        _disclosure(ctx).delete(ctx.session)
    return {}
