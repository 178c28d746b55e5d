"""供应商库: GET/POST /api/suppliers, POST /api/suppliers/<id>/review.

Everyone signed in reads the library (contracts and awards pick suppliers from it); clerks, agencies, finance
and administrators propose a supplier (待审核); finance or the administrator approves (已入库) or refuses it
(不予入库, with the reason). 统一社会信用代码 are checked against GB 32100 (check digit)."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models.supplier import STATUSES, Supplier
from . import paging, schemas
from .common import groups_only, locked, login_required, now, read_session, transaction
from .schemas import Int

blp = Blueprint("suppliers", __name__, url_prefix="/api/suppliers", description="供应商库")
PROPOSERS = ("clerk", "agency", "finance", "admin")
REVIEWERS = ("finance", "admin")


class SupplierQuery(schemas.Paging):
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "名称或统一社会信用代码包含"})
    status = fields.String(validate=validate.OneOf(list(STATUSES), error="状态应为 pending、active 或 rejected"))


class SupplierInput(schemas.Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="供应商名称应为 1 到 200 个字符"))
    credit_code = fields.String(required=True, metadata={"description": "统一社会信用代码（GB 32100，18 位，含校验位）"})
    contact_name = fields.String(validate=validate.Length(max=100, error="联系人应不超过 100 个字符"))
    contact_phone = fields.String(validate=validate.Length(max=40, error="联系电话应不超过 40 个字符"))
    address = fields.String(validate=validate.Length(max=200, error="地址应不超过 200 个字符"))
    is_sme = fields.Boolean(load_default=False, metadata={"description": "中小企业"})


class ReviewInput(schemas.Base):
    approved = fields.Boolean(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=500, error="意见应不超过 500 个字符"))


class SupplierOut(schemas.Base):
    id = Int()
    name = fields.String()
    credit_code = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()
    address = fields.String()
    is_sme = fields.Boolean()
    status = fields.String()
    status_label = fields.String()
    proposed_by = fields.String()
    proposed_at = fields.DateTime()
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    review_comment = fields.String()
    note = fields.String(metadata={"description": "来源：由哪份合同或评审结果提交入库（空为直接申请）"})


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(SupplierQuery, location="query", error_status_code=400)
@blp.response(200, SupplierOut(many=True))
def list_suppliers(args):
    query = select(Supplier).order_by(Supplier.name, Supplier.id)
    if args.get("status"):
        query = query.where(Supplier.status == args["status"])
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        query = query.where(Supplier.name.like(like) | Supplier.credit_code.like(like.upper()))
    return paging.of_query(read_session(), query, args, lambda s: s.to_dict())


@blp.route("", methods=["POST"])
@groups_only(*PROPOSERS, message="只有经办岗、代理机构、财政部门和系统管理员可以申请供应商入库")
@blp.arguments(SupplierInput, error_status_code=400)
@blp.response(201, SupplierOut)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def propose(body):
    """申请入库：待审核，财政部门或系统管理员审核后入库。"""
    with transaction() as (session, user):
        return Supplier.propose(session, body, user.username, now()).to_dict()


@blp.route("/<int:supplier_id>/review", methods=["POST"])
@groups_only(*REVIEWERS, message="只有财政部门和系统管理员可以审核供应商入库")
@blp.arguments(ReviewInput, error_status_code=400)
@blp.response(200, SupplierOut)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def review(body, supplier_id):
    """入库审核：approved true 入库；false 不予入库（须填写原因，此后合同和中标不能选该供应商）。"""
    with transaction() as (session, user):
        supplier = locked(session, Supplier, supplier_id, "供应商")
        supplier.review(body["approved"], body["comment"], user.username, now())
        return supplier.to_dict()
