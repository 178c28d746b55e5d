"""Purchase contracts (采购合同) of the caller's units, with their versions and requests."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import Contract as ContractRecord
from ..models import NotFound, Plan
from ..models.contract import STATUSES
from .common import current_user, login_required, read_session
from . import paging
from .schemas import Base, Int, Money, Paging

blp = Blueprint("contracts", __name__, url_prefix="/api/contracts", description="采购合同")


class ContractSupplier(Base):
    name = fields.String()
    credit_code = fields.String()


class ContractAccount(Base):
    bank = fields.String(metadata={"description": "开户银行"})
    account_name = fields.String(metadata={"description": "账户名称"})
    account_number = fields.String(metadata={"description": "账号"})


class ContractItem(Base):
    item_name = fields.String()
    quantity = fields.Raw(allow_none=True)
    unit_price = Money(allow_none=True)


class ContractPaymentTerm(Base):
    phase = fields.String(metadata={"description": "款项名称（期次）"})
    amount = Money()
    due_date = fields.String(allow_none=True)
    condition = fields.String()


class ContractVersion(Base):
    version = Int()
    kind = fields.String(metadata={"description": "filing/change/account_change/refiling"})
    kind_label = fields.String()
    content = fields.Dict(metadata={"description": "该版本的合同内容"})
    reason = fields.String()
    request_id = Int(allow_none=True)
    created_at = fields.DateTime()


class ContractRequest(Base):
    id = Int()
    kind = fields.String(metadata={"description": "change/termination/account_change/revocation"})
    kind_label = fields.String()
    status = fields.String(metadata={"description": "in_review/returned/approved/cancelled"})
    status_label = fields.String()
    reason = fields.String()
    explanation = fields.String()
    attachment_ref = fields.String(metadata={"description": "较早的申请里键入的附件说明"})
    attachments = fields.List(fields.Dict(), metadata={"description": "上传的附件 [{attachment_id, name, sha256}]"})
    proposed = fields.Dict()
    review_comment = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class Contract(Base):
    id = Int()
    number = fields.String()
    name = fields.String()
    unit_id = Int()
    plan_id = Int()
    project_id = Int()
    source = fields.String(metadata={"description": "manual 手工录入 / award 中标结果"})
    suppliers = fields.List(fields.Nested(ContractSupplier))
    accounts = fields.List(fields.Nested(ContractAccount))
    items = fields.List(fields.Nested(ContractItem))
    payment_schedule = fields.List(fields.Nested(ContractPaymentTerm))
    text_ref = fields.String()
    amount = Money()
    paid_amount = Money()
    unpaid_amount = Money()
    supplement_amount = Money(metadata={"description": "已生效的补充合同金额合计"})
    total_amount = Money(metadata={"description": "合同金额 + 已生效的补充合同"})
    reserved_amount = Money(metadata={"description": "审核中的支付申请占用的金额"})
    payable_amount = Money(metadata={"description": "可发起支付的金额：未支付 − 占用"})
    signed_date = fields.String(allow_none=True)
    is_financing = fields.Boolean()
    is_multi_year = fields.Boolean(metadata={"description": "一签多年（合同续签计划可引用）"})
    status = fields.String()
    status_label = fields.String()
    pending = fields.String(allow_none=True, metadata={"description": "未办结申请的类型"})
    pending_label = fields.String(allow_none=True)
    current_version = Int(metadata={"description": "0 before first filed"})
    review_comment = fields.String()
    announcement_title = fields.String()
    performance_note = fields.String()
    published_at = fields.DateTime(allow_none=True)
    filed_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ContractDetail(Contract):
    versions = fields.List(fields.Nested(ContractVersion))
    requests = fields.List(fields.Nested(ContractRequest))


class ContractQuery(Paging):
    plan_id = Int(metadata={"description": "只列出该采购计划的合同"})
    status = fields.String(validate=validate.OneOf(list(STATUSES), error="合同状态取值不正确"))


def _visible(session, model, ident, what):
    obj = session.get(model, ident)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound(what, ident)
    return obj


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(ContractQuery, location="query", error_status_code=400)
@blp.response(200, Contract(many=True))
def list_contracts(args):
    session = read_session()
    query = select(ContractRecord).order_by(ContractRecord.id)
    if args.get("plan_id") is not None:
        query = query.where(ContractRecord.plan_id == _visible(session, Plan, args["plan_id"], "采购计划").id)
    else:
        query = query.where(ContractRecord.unit_id.in_(current_user().unit_ids(session)))
    if args.get("status"):
        query = query.where(ContractRecord.status == args["status"])
    return paging.of_query(session, query, args, lambda c: c.to_dict())


@blp.route("/<int:contract_id>", methods=["GET"])
@login_required
@blp.response(200, ContractDetail)
def get_contract(contract_id):
    session = read_session()
    return _visible(session, ContractRecord, contract_id, "合同").to_dict(details=True)
