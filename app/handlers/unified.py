"""Handlers for 统招分签 (seed 001 §2.1): the lead unit's ``unified_procurement`` and each member unit's
``unified_response`` (started per member with ``ctx.request_start``, so the member's clerks and reviewers see the task
in their own unit). The rules are on ``UnifiedPlan`` / ``UnifiedResponse`` (app/models/unified.py).

Locks: the unified plan row first, then its responses — in the lead's steps and in the members' alike."""
from ..models import Attachment, NotFound, Unit
from ..models.attachment import hashes
from ..models.unified import UnifiedPlan, UnifiedResponse, beijing
from ..models import unified_funds
from . import handler
from .project import _funds

RESPONSE_PROCESS = "unified_response"


def _plan(ctx):
    return ctx.record(UnifiedPlan, ctx.require("unified_plan_id"), "统招分签项目")


def _outputs(plan):
    return {"unified_plan_id": plan.id, "unified_plan_number": plan.number, "unified_status": plan.status,
            "response_deadline": plan.response_deadline.isoformat(),
            "response_deadline_text": beijing(plan.response_deadline)}


def _request_responses(ctx, plan, responses):
    """One ``unified_response`` instance per member unit and round, started after this step commits."""
    for response in responses:
        ctx.request_start(RESPONSE_PROCESS, f"{plan.number}-{response.unit_id}-R{plan.round}", response.unit_id,
                          {"unified_plan_id": plan.id, "unified_response_id": response.id})


def _end_member_instances(ctx, plan, reason):
    """Responses no longer awaited (未响应 at the deadline, or the plan terminated): their instances end."""
    for response in plan.responses(ctx.session):
        if response.status == "expired":
            ctx.cancel_instances("unified_response", response.id, [RESPONSE_PROCESS], reason)


# -- the lead unit ----------------------------------------------------------------------------------------------
@handler("unified.save")
def save(ctx):
    if ctx.get("unified_plan_id"):
        plan = _plan(ctx)
    else:
        plan = UnifiedPlan.create(ctx.session, ctx.instance.unit_id, ctx.user_id, ctx.now)
    values = {key: ctx.get(key) for key in ("name", "year", "category", "items", "execution_plan",
                                            "response_deadline", "project_id")}
    values["member_unit_ids"] = ctx.get("member_units") or ctx.get("member_unit_ids") or []
    plan.fill(ctx.session, values, ctx.now)
    return _outputs(plan)


@handler("unified.submit")
def submit(ctx):
    _plan(ctx).submit()
    return {}


@handler("unified.return")
def return_for_edit(ctx):
    _plan(ctx).return_for_edit(ctx.get("comment") or ctx.get("error_message"))
    return {}


@handler("unified.delete")
def delete(ctx):
    if ctx.get("unified_plan_id"):
        _plan(ctx).delete()
    return {}


@handler("unified.open_responses")
def open_responses(ctx):
    """审核通过: every member unit (the lead unit too, by default) is asked to respond by the deadline."""
    plan = _plan(ctx)
    _request_responses(ctx, plan, plan.open_responses(ctx.session, ctx.now))
    return _outputs(plan)


@handler("unified.aggregate")
def aggregate(ctx):
    """归集: early when every member answered; at the deadline (the timer) with whatever answers there are."""
    plan = _plan(ctx)
    status = plan.aggregate(ctx.session, ctx.now)
    _end_member_instances(ctx, plan, "统招分签响应截止，未响应")
    return {**_outputs(plan), "aggregated": status == "aggregated", "total_amount": f"{plan.total_amount:.2f}"}


@handler("unified.cancel_aggregation")
def cancel_aggregation(ctx):
    """取消归集: a new deadline; the members answer again."""
    plan = _plan(ctx)
    _request_responses(ctx, plan, plan.cancel_aggregation(ctx.session, ctx.get("response_deadline"), ctx.now))
    return _outputs(plan)


@handler("unified.terminate")
def terminate(ctx):
    """终止 with a reason and the 项目终止说明附件; whatever still runs on the plan ends."""
    plan = _plan(ctx)
    attached = Attachment.resolve(ctx.session, ctx.get("termination_attachment_ids"), ctx.instance.unit_id,
                                  "termination_attachment_ids", "项目终止说明附件")
    plan.terminate(ctx.session, ctx.get("reason"), attached)
    ctx.cancel_instances("unified_plan", plan.id, ["unified_procurement"], "统招分签项目已终止")
    _end_member_instances(ctx, plan, "统招分签项目已终止")
    return {**_outputs(plan), "attachments": hashes(attached)}


# -- a member unit ----------------------------------------------------------------------------------------------
def _member(ctx):
    """(plan, response), the plan locked first; the response must be this instance's unit's."""
    plan = ctx.session.get(UnifiedPlan, int(ctx.require("unified_plan_id")), with_for_update=True)
    if plan is None:
        raise NotFound("统招分签项目", ctx.get("unified_plan_id"))
    response = ctx.record(UnifiedResponse, ctx.require("unified_response_id"), "统招分签响应")
    if response.unified_plan_id != plan.id:
        raise NotFound("统招分签响应", response.id)
    return plan, response


@handler("unified.open_response")
def open_response(ctx):
    """The member's response task shows the plan: what to buy, by when, for whom."""
    plan, response = _member(ctx)
    response.instance_id = ctx.instance.id
    lead = ctx.session.get(Unit, plan.unit_id)
    previous = {row["item_name"]: row["quantity"] for row in response.quantities or []}
    return {"unified_plan_number": plan.number, "unified_plan_name": plan.name, "lead_unit_name": lead.name,
            "category": plan.category, "response_deadline": plan.response_deadline.isoformat(),
            "response_deadline_text": beijing(plan.response_deadline),
            "quantities": [{"item_name": item["item_name"], "quantity": previous.get(item["item_name"], 0)}
                           for item in plan.items]}


@handler("unified.respond")
def respond(ctx):
    """响应 is the member's 立项: its own project with its own budget lines, submitted with the response."""
    plan, response = _member(ctx)
    response.respond(plan, ctx.get("quantities"), ctx.get("amount"), ctx.now)
    project = unified_funds.register_response(ctx.session, plan, response, _funds(ctx), ctx.user_id)
    return {"response_status": response.status, "project_id": project.id, "project_number": project.number}


@handler("unified.decline")
def decline(ctx):
    plan, response = _member(ctx)
    response.decline(plan, ctx.get("reason"), ctx.now)
    unified_funds.withdraw_response(ctx.session, response, "不响应")  # a draft a return left is deleted
    return {"response_status": response.status}


@handler("unified.accept_response")
def accept_response(ctx):
    plan, response = _member(ctx)
    response.accept(plan, ctx.now)
    unified_funds.accept_response(ctx.session, response)
    return {"response_status": response.status}


@handler("unified.return_response")
def return_response(ctx):
    plan, response = _member(ctx)
    response.return_for_edit(ctx.get("comment"))
    unified_funds.return_response(ctx.session, response, ctx.get("comment"))
    return {"response_status": response.status}
