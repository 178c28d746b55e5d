"""Announcements of the caller's units (公告管理, 001 ch.8): 单一来源公示 and 中小企业预留执行情况公告."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import NotFound
from ..models.announcement import PUBLICITY_STATUSES, REPORT_STATUSES, SingleSourcePublicity, SmeReservationReport
from .common import current_user, login_required, read_session
from . import paging
from .schemas import Base, Int, Money, Paging

blp = Blueprint("announcements", __name__, url_prefix="/api/announcements", description="公告管理")


class Supplier(Base):
    name = fields.String()
    credit_code = fields.String()
    address = fields.String()


class PublicityExpert(Base):
    name = fields.String()
    title = fields.String(metadata={"description": "职称"})
    unit = fields.String(metadata={"description": "工作单位"})
    opinion = fields.String(metadata={"description": "论证意见"})


class Publicity(Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    source = fields.String(metadata={"description": "plan 采购计划选择单一来源 / failed 采购失败项目"})
    source_label = fields.String()
    project_id = Int()
    plan_id = Int(allow_none=True)
    tender_id = Int(allow_none=True)
    title = fields.String()
    supplier = fields.Nested(Supplier)
    experts = fields.List(fields.Nested(PublicityExpert))
    reason = fields.String()
    attachment_ref = fields.String(metadata={"description": "较早的申请里键入的附件说明"})
    attachments = fields.List(fields.Dict(), metadata={"description": "上传的附件 [{attachment_id, name, sha256}]"})
    publicity_days = Int(metadata={"description": "公示期（工作日），不少于 5"})
    status = fields.String(metadata={"description": "/".join(PUBLICITY_STATUSES)})
    status_label = fields.String()
    review_comment = fields.String()
    published_at = fields.DateTime(allow_none=True)
    publicity_end = fields.DateTime(allow_none=True, metadata={"description": "公示期满时间（UTC）"})
    ended_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class Report(Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    title = fields.String()
    period_start = fields.String()
    period_end = fields.String()
    total_amount = Money()
    reserved_amount = Money()
    sme_contract_amount = Money()
    small_micro_contract_amount = Money()
    reserved_project_count = Int()
    sme_share = fields.String(allow_none=True, metadata={"description": "中小企业合同金额占比，四位小数"})
    content = fields.String()
    attachment_ref = fields.String(metadata={"description": "较早的申请里键入的附件说明"})
    attachments = fields.List(fields.Dict(), metadata={"description": "上传的附件 [{attachment_id, name, sha256}]"})
    status = fields.String(metadata={"description": "/".join(REPORT_STATUSES)})
    status_label = fields.String()
    review_comment = fields.String()
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class PublicityQuery(Paging):
    plan_id = Int()
    project_id = Int()
    status = fields.String(validate=validate.OneOf(list(PUBLICITY_STATUSES), error="状态取值不正确"))


class ReportQuery(Paging):
    status = fields.String(validate=validate.OneOf(list(REPORT_STATUSES), error="状态取值不正确"))


def _visible(session, model, ident, what):
    obj = session.get(model, ident)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound(what, ident)
    return obj


@blp.route("/single-source", methods=["GET"])
@login_required
@blp.arguments(PublicityQuery, location="query", error_status_code=400)
@blp.response(200, Publicity(many=True))
def list_publicities(args):
    session = read_session()
    query = select(SingleSourcePublicity).where(
        SingleSourcePublicity.unit_id.in_(current_user().unit_ids(session))).order_by(SingleSourcePublicity.id)
    for key in ("plan_id", "project_id", "status"):
        if args.get(key) is not None:
            query = query.where(getattr(SingleSourcePublicity, key) == args[key])
    return paging.of_query(session, query, args, lambda p: p.to_dict())


@blp.route("/single-source/<int:publicity_id>", methods=["GET"])
@login_required
@blp.response(200, Publicity)
def get_publicity(publicity_id):
    return _visible(read_session(), SingleSourcePublicity, publicity_id, "单一来源公示").to_dict()


@blp.route("/sme-reservation", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.response(200, Report(many=True))
def list_reports(args):
    session = read_session()
    query = select(SmeReservationReport).where(
        SmeReservationReport.unit_id.in_(current_user().unit_ids(session))).order_by(SmeReservationReport.id)
    if args.get("status"):
        query = query.where(SmeReservationReport.status == args["status"])
    return paging.of_query(session, query, args, lambda r: r.to_dict())


@blp.route("/sme-reservation/<int:report_id>", methods=["GET"])
@login_required
@blp.response(200, Report)
def get_report(report_id):
    return _visible(read_session(), SmeReservationReport, report_id, "执行情况公告").to_dict()
