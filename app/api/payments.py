"""Records entered on a contract, read-only: payments (合同支付) and write-offs (冲销), acceptances (履约验收),
supplementary contracts (补充合同) and subcontracts (分包合同). They are created and changed only by their
procedures; here the caller's units' records are read (auditors read all)."""
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from ..models import Acceptance as AcceptanceRecord
from ..models import Contract, NotFound
from ..models import Payment as PaymentRecord
from ..models import Subcontract as SubcontractRecord
from ..models import SupplementaryContract as SupplementRecord
from ..models import WriteOff as WriteOffRecord
from .common import current_user, login_required, read_session
from .schemas import Base, Int, Money

blp = Blueprint("payments", __name__, url_prefix="/api", description="合同支付、冲销、履约验收、补充合同、分包合同")


class AttachmentRef(Base):
    attachment_id = Int()
    name = fields.String()
    sha256 = fields.String()


class Reviewed(Base):
    id = Int()
    number = fields.String()
    contract_id = Int()
    unit_id = Int()
    status = fields.String(metadata={"description": "in_review/returned/<完成状态>/cancelled"})
    status_label = fields.String()
    attachments = fields.List(fields.Nested(AttachmentRef))
    review_comment = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class PayeeAccount(Base):
    bank = fields.String()
    account_name = fields.String()
    account_number = fields.String()


class WriteOff(Reviewed):
    payment_id = Int()
    amount = Money()
    reason = fields.String()


class Payment(Reviewed):
    project_id = Int()
    amount = Money()
    phase = fields.String(metadata={"description": "款项名称（支付计划期次）"})
    account = fields.Nested(PayeeAccount)
    note = fields.String()
    written_off_amount = Money()
    net_amount = Money(metadata={"description": "支付金额 − 已冲销"})
    paid_at = fields.DateTime(allow_none=True)


class PaymentDetail(Payment):
    writeoffs = fields.List(fields.Nested(WriteOff))


class Acceptance(Reviewed):
    project_id = Int()
    result = fields.String(metadata={"description": "pass 验收合格 / fail 验收不合格"})
    result_label = fields.String()
    accepted_on = fields.String(allow_none=True)
    notes = fields.String()


class OnContract(Reviewed):
    name = fields.String()
    amount = Money()
    signed_date = fields.String(allow_none=True)
    content = fields.String()


class SupplementaryContract(OnContract):
    project_id = Int()


class Subcontract(OnContract):
    subcontractor_name = fields.String()
    subcontractor_credit_code = fields.String()


def _visible(session, model, ident, what):
    obj = session.get(model, ident)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound(what, ident)
    return obj


def _of_contract(model, contract_id, **kwargs):
    session = read_session()
    contract = _visible(session, Contract, contract_id, "合同")
    rows = session.scalars(select(model).where(model.contract_id == contract.id).order_by(model.id))
    return [row.to_dict(**kwargs) for row in rows]


@blp.route("/contracts/<int:contract_id>/payments", methods=["GET"])
@login_required
@blp.response(200, Payment(many=True))
def contract_payments(contract_id):
    """合同的支付申请（含审核中、已退回、已取消的）。"""
    return _of_contract(PaymentRecord, contract_id)


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@login_required
@blp.response(200, PaymentDetail)
def payment(payment_id):
    """支付申请及其冲销。"""
    return _visible(read_session(), PaymentRecord, payment_id, "支付申请").to_dict(details=True)


@blp.route("/contracts/<int:contract_id>/writeoffs", methods=["GET"])
@login_required
@blp.response(200, WriteOff(many=True))
def contract_writeoffs(contract_id):
    return _of_contract(WriteOffRecord, contract_id)


@blp.route("/writeoffs/<int:writeoff_id>", methods=["GET"])
@login_required
@blp.response(200, WriteOff)
def writeoff(writeoff_id):
    return _visible(read_session(), WriteOffRecord, writeoff_id, "冲销申请").to_dict()


@blp.route("/contracts/<int:contract_id>/acceptances", methods=["GET"])
@login_required
@blp.response(200, Acceptance(many=True))
def contract_acceptances(contract_id):
    return _of_contract(AcceptanceRecord, contract_id)


@blp.route("/acceptances/<int:acceptance_id>", methods=["GET"])
@login_required
@blp.response(200, Acceptance)
def acceptance(acceptance_id):
    return _visible(read_session(), AcceptanceRecord, acceptance_id, "履约验收").to_dict()


@blp.route("/contracts/<int:contract_id>/supplementary-contracts", methods=["GET"])
@login_required
@blp.response(200, SupplementaryContract(many=True))
def contract_supplements(contract_id):
    return _of_contract(SupplementRecord, contract_id)


@blp.route("/supplementary-contracts/<int:record_id>", methods=["GET"])
@login_required
@blp.response(200, SupplementaryContract)
def supplement(record_id):
    return _visible(read_session(), SupplementRecord, record_id, "补充合同").to_dict()


@blp.route("/contracts/<int:contract_id>/subcontracts", methods=["GET"])
@login_required
@blp.response(200, Subcontract(many=True))
def contract_subcontracts(contract_id):
    return _of_contract(SubcontractRecord, contract_id)


@blp.route("/subcontracts/<int:record_id>", methods=["GET"])
@login_required
@blp.response(200, Subcontract)
def subcontract(record_id):
    return _visible(read_session(), SubcontractRecord, record_id, "分包合同").to_dict()
