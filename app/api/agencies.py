"""代理机构库 (issue 13): GET/POST /api/agencies, GET/PATCH /api/agencies/<id>.

Everyone signed in reads the library (the purchaser picks the agency on the 委托单); the administrator adds,
corrects and deactivates agencies (``active`` false: no new 委托单 may name it; work already entrusted goes on).
An agency's users are assigned on the user (``PATCH /api/users/<id>`` with ``agency_id``) and listed here.
统一社会信用代码 are checked against GB 32100 (check digit); a code already in the library is 409."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import NotFound
from ..models.agency import KINDS, Agency
from . import schemas
from .common import groups_only, locked, login_required, read_session, transaction
from .schemas import Int

blp = Blueprint("agencies", __name__, url_prefix="/api/agencies", description="代理机构库")
ADMIN_ONLY = "只有系统管理员可以维护代理机构库"
_KIND_ERROR = "机构类型应为 social（社会代理机构）或 central（集中采购机构）"


class AgencyQuery(schemas.Base):
    q = fields.String(validate=validate.Length(max=64, error="查询内容应不超过 64 个字符"),
                      metadata={"description": "名称或统一社会信用代码包含"})
    kind = fields.String(validate=validate.OneOf(list(KINDS), error=_KIND_ERROR))
    active = fields.Boolean(metadata={"description": "true 只列在用的，false 只列已停用的"})


class AgencyInput(schemas.Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="代理机构名称应为 1 到 200 个字符"),
                         error_messages={"required": "请填写代理机构名称"})
    credit_code = fields.String(required=True, error_messages={"required": "请填写统一社会信用代码"},
                                metadata={"description": "统一社会信用代码（GB 32100，18 位，含校验位）"})
    kind = fields.String(load_default="social", validate=validate.OneOf(list(KINDS), error=_KIND_ERROR),
                         metadata={"description": "social 社会代理机构 / central 集中采购机构"})
    region = fields.String(validate=validate.Length(max=64, error="所在地区应不超过 64 个字符"))
    contact_name = fields.String(validate=validate.Length(max=100, error="联系人应不超过 100 个字符"))
    contact_phone = fields.String(validate=validate.Length(max=40, error="联系电话应不超过 40 个字符"))
    active = fields.Boolean(metadata={"description": "false 停用"})


class AgencyChange(AgencyInput):
    """修改 (any field; ``active`` false 停用)."""


class AgencyUser(schemas.Base):
    id = Int()
    username = fields.String()
    display_name = fields.String()
    active = fields.Boolean()


class AgencyOut(schemas.Base):
    id = Int()
    name = fields.String()
    credit_code = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    region = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()
    active = fields.Boolean()
    users = fields.List(fields.Nested(AgencyUser), metadata={"description": "本机构的用户（仅单个查询时）"})


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(AgencyQuery, location="query", error_status_code=400)
@blp.response(200, AgencyOut(many=True))
def list_agencies(args):
    """代理机构列表（在用的在前）。"""
    query = select(Agency).order_by(Agency.active.desc(), Agency.kind, Agency.name)
    if args.get("kind"):
        query = query.where(Agency.kind == args["kind"])
    if args.get("active") is not None:
        query = query.where(Agency.active.is_(args["active"]))
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        query = query.where(Agency.name.like(like) | Agency.credit_code.like(like.upper()))
    return [a.to_dict() for a in read_session().scalars(query)]


@blp.route("", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(AgencyInput, error_status_code=400)
@blp.response(201, AgencyOut)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def add_agency(body):
    """新增代理机构：名称、统一社会信用代码（校验位；重复为 409）、类型、地区、联系人。"""
    with transaction() as (session, _):
        return Agency.add(session, body).to_dict(session)


@blp.route("/<int:agency_id>")
class AgencyItem(MethodView):
    """GET and PATCH are one route: an id past the id range is then 404 for both (two routes of the same path
    make Werkzeug answer PATCH with 405)."""

    @login_required
    @blp.response(200, AgencyOut)
    @blp.alt_response(404, schema=schemas.ApiError)
    def get(self, agency_id):
        session = read_session()
        agency = session.get(Agency, agency_id)
        if agency is None:
            raise NotFound("代理机构", agency_id)
        return agency.to_dict(session)

    @groups_only("admin", message=ADMIN_ONLY)
    @blp.arguments(AgencyChange(partial=True), error_status_code=400)
    @blp.response(200, AgencyOut)
    @blp.alt_response(400, schema=schemas.ApiError)
    @blp.alt_response(403, schema=schemas.ApiError)
    @blp.alt_response(404, schema=schemas.ApiError)
    @blp.alt_response(409, schema=schemas.ApiError)
    def patch(self, body, agency_id):
        """修改代理机构；``active`` false 停用（此后委托单不能再选它，已委托的工作照常进行）。"""
        with transaction() as (session, _):
            agency = locked(session, Agency, agency_id, "代理机构")
            agency.edit(session, body)
            return agency.to_dict(session)
