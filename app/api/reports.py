"""Report tables (报表服务, 001 §11.2) as JSON and as Excel downloads, over the caller's units (auditor: all)."""
from urllib.parse import quote

from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from .. import reports
from ..models import NotFound, Unit
from .common import current_user, login_required, now, read_session, to_json
from .schemas import Base, Int, XLSX, file_response

blp = Blueprint("reports", __name__, url_prefix="/api/reports", description="报表服务")


class ReportQuery(Base):
    year = Int(validate=validate.Range(min=2000, max=2100, error="年度应在 2000 到 2100 之间"),
                          metadata={"description": "年度，默认今年"})
    unit_id = Int(metadata={"description": "只统计该单位（须在可见范围内）"})


class Column(Base):
    key = fields.String()
    label = fields.String()


class Table(Base):
    title = fields.String()
    year = Int()
    unit_id = Int(allow_none=True)
    columns = fields.List(fields.Nested(Column))
    rows = fields.List(fields.Dict(), metadata={"description": "金额为两位小数的字符串"})
    total = fields.Dict(metadata={"description": "合计行"})


class Series(Base):
    method = fields.String()
    method_label = fields.String()
    amounts = fields.List(fields.String(), metadata={"description": "1–12 月合同金额"})


class Monthly(Base):
    title = fields.String()
    year = Int()
    unit_id = Int(allow_none=True)
    months = fields.List(Int())
    series = fields.List(fields.Nested(Series))
    totals = fields.List(fields.String())


def scope(args):
    """(year, unit ids, scope label) for the caller; an invisible unit is 404 like any record of another unit."""
    session = read_session()
    visible = current_user().unit_ids(session)
    year = args.get("year") or now().year
    unit_id = args.get("unit_id")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None or unit_id not in visible:
            raise NotFound("单位", unit_id)
        return year, {unit_id}, unit.name
    return year, visible, "全部可见单位" if not current_user().is_auditor else "全部单位"


def _json(builder, args):
    year, units, _ = scope(args)
    return to_json({**builder(read_session(), year, units), "unit_id": args.get("unit_id")})


def _xlsx(builder, args):
    year, units, label = scope(args)
    table = builder(read_session(), year, units)
    filename = f"{table['title']}-{year}.xlsx"
    return Response(reports.to_xlsx(table, label), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename=report-{year}.xlsx; filename*=UTF-8''{quote(filename)}"})


@blp.route("/funds", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.response(200, Table)
def funds(args):
    """政府采购资金情况表: plans of the year by unit, category and method, with contract, savings and paid amounts."""
    return _json(reports.funds, args)


@blp.route("/funds.xlsx", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.doc(**file_response("政府采购资金情况表（Excel）"))
def funds_xlsx(args):
    return _xlsx(reports.funds, args)


@blp.route("/contracts", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.response(200, Table)
def contracts(args):
    """单位采购合同信息统计: filed contracts signed in the year, per unit."""
    return _json(reports.contracts, args)


@blp.route("/contracts.xlsx", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.doc(**file_response("单位采购合同信息统计（Excel）"))
def contracts_xlsx(args):
    return _xlsx(reports.contracts, args)


@blp.route("/monthly", methods=["GET"])
@login_required
@blp.arguments(ReportQuery, location="query", error_status_code=400)
@blp.response(200, Monthly)
def monthly(args):
    """Filed contracts' amounts by signing month and procurement method (the chart on the reports page)."""
    return _json(reports.monthly, args)
