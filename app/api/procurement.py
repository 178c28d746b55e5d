"""Records of the plan procedures and the entrustment (issue 7): 进口产品审批, 采购方式变更, 委托单."""
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from ..models import Entrustment, ImportApproval, MethodChange, NotFound
from ..models.agency import sees_record, visible_clause
from .common import current_user, login_required, read_session
from .schemas import Base, Int, Money

blp = Blueprint("procurement", __name__, url_prefix="/api", description="进口产品审批、采购方式变更、委托单")


class ListQuery(Base):
    plan_id = Int(metadata={"description": "采购计划"})
    project_id = Int(metadata={"description": "采购项目（进口产品审批）"})
    status = fields.String()


class ImportApprovalOut(Base):
    id = Int()
    number = fields.String(allow_none=True, metadata={"description": "JK…（提交审核时编号）"})
    unit_id = Int()
    project_id = Int(allow_none=True)
    title = fields.String()
    items = fields.List(fields.Dict(), metadata={"description": "[{item_name, is_import, policy_direction, scenario}]"})
    experts = fields.List(fields.Dict(), metadata={"description": "论证专家 [{name, title, unit, opinion}]"})
    reason = fields.String()
    attachment_ref = fields.String(metadata={"description": "较早的申请里键入的附件说明"})
    attachments = fields.List(fields.Dict(), metadata={"description": "上传的附件 [{attachment_id, name, sha256}]"})
    status = fields.String(metadata={"description": "draft/in_review/finance_review/to_publish/approved/deleted"})
    status_label = fields.String()
    review_comment = fields.String()
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(allow_none=True)


class MethodChangeOut(Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    plan_id = Int()
    tender_id = Int(allow_none=True)
    origin = fields.String(metadata={"description": "agency 流标重招 / purchaser 采购人申请"})
    origin_label = fields.String()
    old_method = fields.String()
    old_method_label = fields.String(allow_none=True)
    new_method = fields.String(allow_none=True)
    new_method_label = fields.String(allow_none=True)
    agency_reason = fields.String()
    reason = fields.String()
    attachment_ref = fields.String(metadata={"description": "较早的申请里键入的附件说明"})
    attachments = fields.List(fields.Dict(), metadata={"description": "上传的附件 [{attachment_id, name, sha256}]"})
    supplier = fields.Dict(metadata={"description": "单一来源的拟定供应商 {name, credit_code}"})
    status = fields.String(metadata={"description": "requested/draft/in_review/reviewed/approved/abandoned"})
    status_label = fields.String()
    review_comment = fields.String()
    created_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class EntrustmentOut(Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    plan_id = Int()
    agency_id = Int(allow_none=True, metadata={"description": "受委托的代理机构（代理机构库）"})
    tender_id = Int(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    requirements = fields.String()
    contact = fields.String()
    review_comment = fields.String()
    documents_ref = fields.String()
    documents_note = fields.String()
    registered_count = Int()
    invitation_reply = fields.String(metadata={"description": "\"\"/attend/decline"})
    representative = fields.String()
    winner = fields.Dict(metadata={"description": "中标供应商 {name, credit_code}"})
    award_amount = Money()
    result_title = fields.String()
    failure_reason = fields.String()
    contract_id = Int(allow_none=True)
    attempt = Int()
    created_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    awarded_at = fields.DateTime(allow_none=True)


def _visible(session, model, ident, what):
    obj = session.get(model, ident)
    if obj is None or not sees_record(session, current_user(), obj):  # 代理机构库: not another agency's
        raise NotFound(what, ident)
    return obj.to_dict()


def _list(model, args, *filters):
    session = read_session()
    query = select(model).where(visible_clause(session, current_user(), model))
    for name in filters:
        if args.get(name) is not None:
            query = query.where(getattr(model, name) == args[name])
    return [row.to_dict() for row in session.scalars(query.order_by(model.id))]


@blp.route("/import-approvals", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200, ImportApprovalOut(many=True))
def import_approvals(args):
    return _list(ImportApproval, args, "project_id", "status")


@blp.route("/import-approvals/<int:ident>", methods=["GET"])
@login_required
@blp.response(200, ImportApprovalOut)
def import_approval(ident):
    return _visible(read_session(), ImportApproval, ident, "进口产品审批")


@blp.route("/method-changes", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200, MethodChangeOut(many=True))
def method_changes(args):
    return _list(MethodChange, args, "plan_id", "status")


@blp.route("/method-changes/<int:ident>", methods=["GET"])
@login_required
@blp.response(200, MethodChangeOut)
def method_change(ident):
    return _visible(read_session(), MethodChange, ident, "采购方式变更")


@blp.route("/entrustments", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200, EntrustmentOut(many=True))
def entrustments(args):
    return _list(Entrustment, args, "plan_id", "status")


@blp.route("/entrustments/<int:ident>", methods=["GET"])
@login_required
@blp.response(200, EntrustmentOut)
def entrustment(ident):
    return _visible(read_session(), Entrustment, ident, "委托单")
