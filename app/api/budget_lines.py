"""Budget lines kept by finance and the administrator (预算指标管理): list, manual entry and correction, Excel
import with its template, and each line's audited history. The budget system pushes through
/api/integration/v1/ instead; all three ways go through ``BudgetLine.upsert``.

Finance manages the lines of its granted units, the administrator every unit's; auditors read."""
from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import BudgetLine, DomainError, NotFound
from ..models.budget import FUND_TYPES, STATUSES, BudgetLineChange
from ..models.budget_import import COLUMNS, import_lines
from ..models.importing import template
from . import schemas
from .common import current_user, groups_only, now, read_session, transaction
from .imports import UPLOAD_DOC, uploaded_xlsx
from .schemas import Int, Money

blp = Blueprint("budget_lines", __name__, url_prefix="/api/budget-lines", description="预算指标管理（财政、系统管理员）")
MANAGERS = ("finance", "admin")
ONLY = "只有财政部门和系统管理员可以管理预算指标"


def managed_units(session, user):
    """The units whose lines ``user`` may manage (None: all)."""
    return None if user.groups & {"admin", "auditor"} else user.unit_ids(session)


def check_unit(session, user, unit_id):
    units = managed_units(session, user)
    if units is not None and unit_id not in units:
        raise DomainError("FORBIDDEN", "不能管理未授权单位的预算指标", field="unit_id", status=403)


class ManagedLineQuery(schemas.Base):
    year = Int(minimum=2000, maximum=2100)
    unit_id = Int(minimum=1)
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "指标编码或名称包含"})


class ManagedLineInput(schemas.Base):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64, error="指标编码应为 1 到 64 个字符"))
    year = Int(required=True, minimum=2000, maximum=2100)
    unit_id = Int(required=True, minimum=1)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="指标名称应为 1 到 200 个字符"))
    fund_type = fields.String(load_default="general", validate=validate.OneOf(list(FUND_TYPES), error="资金性质不正确"))
    amount = Money(required=True, validate=validate.Range(min=0, error="指标金额不能为负数"))
    status = fields.String(load_default="active", validate=validate.OneOf(list(STATUSES), error="指标状态应为有效、冻结或收回"))


class ManagedLine(schemas.Budget):
    status = fields.String()
    status_label = fields.String()
    updated_at = fields.DateTime()
    changed = fields.Boolean()


class ChangeOut(schemas.Base):
    id = Int()
    at = fields.DateTime()
    actor = fields.String()
    source = fields.String(metadata={"description": "api / import / manual"})
    source_label = fields.String()
    action = fields.String()
    changes = fields.Dict(metadata={"description": "{字段: [原值, 新值]}"})


class LineOccupation(schemas.Base):
    project_id = Int()
    number = fields.String()
    name = fields.String()
    status = fields.String()
    amount = Money()


class LineMovement(schemas.Base):
    id = Int()
    project_id = Int(allow_none=True)
    project_number = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "occupy（占用）/ release（释放）"})
    kind_label = fields.String()
    amount = Money()
    used_after = Money(metadata={"description": "该笔变动后指标的已占用金额"})
    reason = fields.String()
    at = fields.DateTime()


class HistoryOut(schemas.Base):
    line = fields.Nested(ManagedLine)
    changes = fields.List(fields.Nested(ChangeOut))
    occupations = fields.List(fields.Nested(LineOccupation))
    movements = fields.List(fields.Nested(LineMovement), metadata={"description": "占用与释放台账，新的在前"})


class ImportOut(schemas.Base):
    rows = Int()
    created = Int()
    updated = Int()
    unchanged = Int()


def lines(session, user, year=None, unit_id=None, q=None):
    query = select(BudgetLine).order_by(BudgetLine.year.desc(), BudgetLine.code)
    units = managed_units(session, user)
    if units is not None:
        query = query.where(BudgetLine.unit_id.in_(units))
    if year:
        query = query.where(BudgetLine.year == year)
    if unit_id:
        query = query.where(BudgetLine.unit_id == unit_id)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(BudgetLine.code.like(like) | BudgetLine.name.like(like))
    return list(session.scalars(query))


def line_history(session, user, line_id):
    line = session.get(BudgetLine, line_id)
    units = managed_units(session, user)
    if line is None or (units is not None and line.unit_id not in units):
        raise NotFound("预算指标", line_id)
    changes = session.scalars(select(BudgetLineChange).where(BudgetLineChange.budget_line_id == line.id)
                              .order_by(BudgetLineChange.id.desc()))
    return {"line": line.to_dict(), "changes": [c.to_dict() for c in changes], "occupations": line.occupations(session),
            "movements": line.movements(session)}


def save_line(session, user, values):
    """Manual entry or correction: (line dict with ``changed``, created)."""
    check_unit(session, user, values["unit_id"])
    existing = session.scalars(select(BudgetLine).where(BudgetLine.code == values["code"].strip(),
                                                        BudgetLine.year == values["year"])).first()
    if existing is not None:
        check_unit(session, user, existing.unit_id)
    line, created, changes = BudgetLine.upsert(session, values, user.username, "manual", now())
    return {**line.to_dict(), "changed": bool(changes)}, created


def run_import(session, user, data):
    return import_lines(session, data, user.username, now(), managed_units(session, user))


@blp.route("", methods=["GET"])
@groups_only(*MANAGERS, "auditor", message=ONLY)
@blp.arguments(ManagedLineQuery, location="query", error_status_code=400)
@blp.response(200, ManagedLine(many=True))
def list_lines(args):
    return [line.to_dict() for line in lines(read_session(), current_user(), **args)]


@blp.route("", methods=["PUT"])
@groups_only(*MANAGERS, message=ONLY)
@blp.arguments(ManagedLineInput, error_status_code=400)
@blp.response(200, ManagedLine, description="已更正（或未变化）")
@blp.alt_response(201, schema=ManagedLine, description="已新增")
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError, description="低于已占用金额：`details` 给出金额与占用项目")
def put_line(body):
    """手工录入或更正一条指标（按指标编码+年度）。"""
    with transaction() as (session, user):
        out, created = save_line(session, user, body)
        return out, 201 if created else 200


@blp.route("/<int:line_id>/history", methods=["GET"])
@groups_only(*MANAGERS, "auditor", message=ONLY)
@blp.response(200, HistoryOut)
@blp.alt_response(404, schema=schemas.ApiError)
def history(line_id):
    """指标的变更记录（谁、何时、经何途径、改了什么）和当前占用它的项目。"""
    return line_history(read_session(), current_user(), line_id)


@blp.route("/import-template", methods=["GET"])
@groups_only(*MANAGERS, message=ONLY)
@blp.doc(**schemas.file_response("预算指标导入模板（.xlsx）"))
def import_template():
    return Response(template(COLUMNS, "预算指标"), mimetype=schemas.XLSX,
                    headers={"Content-Disposition": "attachment; filename=budget-lines-template.xlsx; "
                                                    "filename*=UTF-8''%E9%A2%84%E7%AE%97%E6%8C%87%E6%A0%87%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"})


@blp.route("/import", methods=["POST"])
@groups_only(*MANAGERS, message=ONLY)
@blp.doc(**UPLOAD_DOC)
@blp.response(200, ImportOut)
@blp.alt_response(400, schema=schemas.ApiError, description="`details.problems`: [{row, column, message}]，整个文件未导入")
@blp.alt_response(403, schema=schemas.ApiError)
def import_file():
    """Excel 导入（全部成功或全部不导入）：有问题时 400，`details.problems` 逐行列出（行、列、问题）。"""
    data = uploaded_xlsx()
    with transaction() as (session, user):
        return run_import(session, user, data)
