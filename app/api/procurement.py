"""Records of the plan procedures and the entrustment (issue 7): 进口产品审批, 采购方式变更, 委托单."""
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from ..models import Entrustment, ImportApproval, MethodChange, NotFound
from .common import current_user, login_required, read_session
from .schemas import Base

blp = Blueprint("procurement", __name__, url_prefix="/api", description="进口产品审批、采购方式变更、委托单")


class ListQuery(Base):
    plan_id = fields.Integer(metadata={"description": "采购计划"})
    project_id = fields.Integer(metadata={"description": "采购项目（进口产品审批）"})
    status = fields.String()


def _json(record):
    """Dates as ISO-8601, like the schema-backed endpoints."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.to_dict().items()}


def _visible(session, model, ident, what):
    obj = session.get(model, ident)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound(what, ident)
    return _json(obj)


def _list(model, args, *filters):
    session = read_session()
    query = select(model).where(model.unit_id.in_(current_user().unit_ids(session)))
    for name in filters:
        if args.get(name) is not None:
            query = query.where(getattr(model, name) == args[name])
    return [_json(row) for row in session.scalars(query.order_by(model.id))]


@blp.route("/import-approvals", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200)
def import_approvals(args):
    return _list(ImportApproval, args, "project_id", "status")


@blp.route("/import-approvals/<int:ident>", methods=["GET"])
@login_required
@blp.response(200)
def import_approval(ident):
    return _visible(read_session(), ImportApproval, ident, "进口产品审批")


@blp.route("/method-changes", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200)
def method_changes(args):
    return _list(MethodChange, args, "plan_id", "status")


@blp.route("/method-changes/<int:ident>", methods=["GET"])
@login_required
@blp.response(200)
def method_change(ident):
    return _visible(read_session(), MethodChange, ident, "采购方式变更")


@blp.route("/entrustments", methods=["GET"])
@login_required
@blp.arguments(ListQuery, location="query")
@blp.response(200)
def entrustments(args):
    return _list(Entrustment, args, "plan_id", "status")


@blp.route("/entrustments/<int:ident>", methods=["GET"])
@login_required
@blp.response(200)
def entrustment(ident):
    return _visible(read_session(), Entrustment, ident, "委托单")
