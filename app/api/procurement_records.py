"""Records of issue 7's procedures, read-only (they change only through their procedures): 采购意向公开
(``/api/intents``) and 统招分签项目 (``/api/unified-plans``: the lead unit sees every member's response, a member unit
its own). Auditors read all."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import or_, select

from ..models import NotFound
from ..models.intent import STATUSES as INTENT_STATUSES, IntentDisclosure
from ..models.unified import STATUSES as UNIFIED_STATUSES, UnifiedPlan, UnifiedResponse
from . import schemas
from .common import current_user, login_required, read_session
from .schemas import Int

blp = Blueprint("procurement_records", __name__, url_prefix="/api", description="采购意向、统招分签项目")


class IntentSchema(schemas.Base):
    id = Int()
    disclosure_id = Int()
    project_id = Int()
    project_name = fields.String()
    summary = fields.String(metadata={"description": "采购需求概况"})
    budget_amount = schemas.Money()
    expected_month = fields.String(metadata={"description": "预计采购时间 YYYY-MM"})
    remark = fields.String()
    status = fields.String()
    status_label = fields.String()
    published_at = fields.DateTime(allow_none=True)


class DisclosureSchema(schemas.Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    title = fields.String()
    status = fields.String(metadata={"description": "draft / in_review / reviewed / published / deleted"})
    status_label = fields.String()
    review_comment = fields.String()
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    intents = fields.List(fields.Nested(IntentSchema))


class ResponseSchema(schemas.Base):
    id = Int()
    unified_plan_id = Int()
    unit_id = Int()
    round = Int()
    status = fields.String(metadata={"description": "pending / in_review / responded / declined / expired"})
    status_label = fields.String()
    quantities = fields.List(fields.Dict())
    amount = schemas.Money()
    reason = fields.String()
    review_comment = fields.String()
    answered_at = fields.DateTime(allow_none=True)
    instance_id = Int(allow_none=True)
    project_id = Int(allow_none=True, metadata={"description": "分签单位以响应登记的本单位采购项目（立项）"})


class UnifiedPlanSchema(schemas.Base):
    id = Int()
    number = fields.String()
    unit_id = Int(metadata={"description": "牵头单位"})
    name = fields.String()
    year = Int()
    category = fields.String()
    items = fields.List(fields.Dict())
    execution_plan = fields.String()
    member_unit_ids = fields.List(Int())
    project_id = Int(allow_none=True)
    response_deadline = fields.DateTime()
    round = Int()
    status = fields.String(metadata={"description": "draft / in_review / responding / aggregated / not_aggregated / "
                                                   "terminated / deleted"})
    status_label = fields.String()
    review_comment = fields.String()
    total_amount = schemas.Money()
    totals = fields.List(fields.Dict())
    aggregated_at = fields.DateTime(allow_none=True)
    termination_reason = fields.String()
    attachments = fields.List(fields.Dict())
    responses = fields.List(fields.Nested(ResponseSchema))


class IntentQuery(schemas.Base):
    status = fields.String(validate=validate.OneOf(list(INTENT_STATUSES), error="状态取值不正确"))


class UnifiedQuery(schemas.Base):
    status = fields.String(validate=validate.OneOf(list(UNIFIED_STATUSES), error="状态取值不正确"))


@blp.route("/intents", methods=["GET"])
@login_required
@blp.arguments(IntentQuery, location="query", error_status_code=400)
@blp.response(200, DisclosureSchema(many=True))
def intents(args):
    """Your units' 采购意向公开, newest first."""
    session = read_session()
    query = select(IntentDisclosure).where(IntentDisclosure.unit_id.in_(current_user().unit_ids(session)))
    if args.get("status"):
        query = query.where(IntentDisclosure.status == args["status"])
    return [d.to_dict(session) for d in session.scalars(query.order_by(IntentDisclosure.id.desc()))]


@blp.route("/unified-plans", methods=["GET"])
@login_required
@blp.arguments(UnifiedQuery, location="query", error_status_code=400)
@blp.response(200, UnifiedPlanSchema(many=True))
def unified_plans(args):
    """统招分签项目 your units lead or were asked to respond to, newest first."""
    session = read_session()
    user = current_user()
    units = user.unit_ids(session)
    asked = select(UnifiedResponse.unified_plan_id).where(UnifiedResponse.unit_id.in_(units))
    query = select(UnifiedPlan).where(or_(UnifiedPlan.unit_id.in_(units), UnifiedPlan.id.in_(asked)))
    if args.get("status"):
        query = query.where(UnifiedPlan.status == args["status"])
    return [p.to_dict(session, None if user.is_auditor else units)
            for p in session.scalars(query.order_by(UnifiedPlan.id.desc()))]


@blp.route("/intents/<int:disclosure_id>", methods=["GET"])
@login_required
@blp.response(200, DisclosureSchema)
def intent(disclosure_id):
    session = read_session()
    disclosure = session.get(IntentDisclosure, disclosure_id)
    if disclosure is None or disclosure.unit_id not in current_user().unit_ids(session):
        raise NotFound("采购意向", disclosure_id)
    return disclosure.to_dict(session)


@blp.route("/unified-plans/<int:plan_id>", methods=["GET"])
@login_required
@blp.response(200, UnifiedPlanSchema)
def unified_plan(plan_id):
    session = read_session()
    user = current_user()
    units = user.unit_ids(session)
    plan = session.get(UnifiedPlan, plan_id)
    member = plan is not None and session.scalar(select(UnifiedResponse.id).where(
        UnifiedResponse.unified_plan_id == plan.id, UnifiedResponse.unit_id.in_(units)).limit(1)) is not None
    if plan is None or not (plan.unit_id in units or member):
        raise NotFound("统招分签项目", plan_id)
    return plan.to_dict(session, None if user.is_auditor else units)
