"""GET/PUT /api/calendar: the working-day calendar (法定节假日 and 调休上班) the working-day periods count with.

Everyone signed in reads it (a clerk wants to know when a publicity ends); only administrators set a year.
"""
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..models.workdays import KINDS, set_year, year_days
from . import schemas
from .common import groups_only, login_required, now, read_session, transaction
from .schemas import Int

blp = Blueprint("calendar", __name__, url_prefix="/api/calendar", description="工作日历（法定节假日与调休）")


class DaySchema(schemas.Base):
    date = fields.String(metadata={"description": "YYYY-MM-DD"})
    kind = fields.String(metadata={"description": "holiday 法定节假日 / workday 调休上班"})
    kind_label = fields.String()
    name = fields.String()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class YearSchema(schemas.Base):
    year = Int()
    days = fields.List(fields.Nested(DaySchema))


class YearQuery(schemas.Base):
    year = Int(required=True, validate=validate.Range(min=2000, max=2100, error="年度应在 2000 到 2100 之间"),
                          error_messages={"required": "请指定年度", "invalid": "年度应为整数"})


class DayInput(schemas.Base):
    date = fields.Date(required=True, error_messages={"required": "请填写日期", "invalid": "日期格式应为 YYYY-MM-DD"})
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS), error="类型应为 holiday（法定节假日）或 "
                                                                                  "workday（调休上班）"))
    name = fields.String(validate=validate.Length(max=50, error="名称应不超过 50 个字符"))


class YearInput(YearQuery):
    days = fields.List(fields.Nested(DayInput), required=True, error_messages={"required": "请提交该年度的日期（可为空列表）"})


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(YearQuery, location="query", error_status_code=400)
@blp.response(200, YearSchema)
def get_year(args):
    return {"year": args["year"], "days": [d.to_dict() for d in year_days(read_session(), args["year"])]}


@blp.route("", methods=["PUT"])
@groups_only("admin", message="只有系统管理员可以设置工作日历")
@blp.arguments(YearInput, error_status_code=400)
@blp.response(200, YearSchema)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
def put_year(body):
    """Replace a year's 法定节假日 and 调休上班 days (from the State Council's notice); periods already running keep
    the end they were given when they started."""
    with transaction() as (session, user):
        days = set_year(session, body["year"], body["days"], user, now())
        return {"year": body["year"], "days": [d.to_dict() for d in days]}
