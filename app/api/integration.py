"""Integration API v1 for the budget system (预算管理一体化系统), under /api/integration/v1/.

Callers are machine clients (``IntegrationClient``) sending ``Authorization: Bearer <API key>``; a missing,
unknown, stale (replaced) or revoked key is 401. Every call — refused ones too — is written to
``integration_call`` after the response is made (who, when, endpoint, status, outcome).

- PUT  budget-lines/<year>/<code>        idempotent upsert of a budget line (unit by unit code)
- GET  budget-lines/<year>/<code>        one line with its occupied/free amounts and the projects occupying it
- GET  budget-lines?since=…&year=…       lines changed since a moment (occupation changes included)
- GET  budget-requests?acknowledged=…     the year-end requests (调整/调减/保障性资金) for the budget system
- POST budget-requests/<id>/acknowledge   the budget system's receipt: the waiting year-end instance moves on
"""
import logging
from datetime import datetime, timezone

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import BudgetLine, BudgetSystemRequest, DomainError, InstanceRecord, NotFound, ProcessInstance, Unit
from ..models.budget import FUND_TYPES, STATUSES
from ..models.integration import IntegrationCall, IntegrationClient, MachineActor
from . import paging, schemas
from .common import db, locked, now, read_session, transaction
from .errors import request_id
from .schemas import Int, Money

PREFIX = "/api/integration/v1"
blp = Blueprint("integration", __name__, url_prefix=PREFIX,
                description="集成接口 v1（预算管理一体化系统，机器客户端以 API 密钥调用）")
log = logging.getLogger("app.integration")
ACK_MESSAGE = "budget_acknowledged"


# -- authentication and the call log -----------------------------------------------------------------------
def authenticate():
    """Every /api/integration/v1/ request: the client of the key, or 401 (logged after the response)."""
    if not request.path.startswith(PREFIX + "/") or request.routing_exception is not None:
        return  # not ours, or no such endpoint: the 404/405 comes first (and is logged)
    header = request.headers.get("Authorization", "")
    key = header[7:].strip() if header.startswith("Bearer ") else ""
    client, key_id, refused = IntegrationClient.authenticate(read_session(), key, now())
    g.integration_key_id = key_id
    if client is None:
        abort(401, message=refused if key else "请在 Authorization 头中提供 API 密钥（Bearer）")
    g.integration_client = client


def log_call(response):
    if not request.path.startswith(PREFIX + "/"):
        return response
    client = g.get("integration_client")
    outcome = "ok"
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True) or {}
        outcome = f"{body.get('code', '')}: {body.get('message', '')}"[:300]
    try:
        with db().Session() as session, session.begin():
            session.add(IntegrationCall(client_id=client.id if client else None, key_id=g.get("integration_key_id"),
                                        at=now(), method=request.method, endpoint=request.full_path.rstrip("?")[:300],
                                        status=response.status_code, outcome=outcome, request_id=request_id()))
            if client is not None:
                session.get(IntegrationClient, client.id).last_used_at = now()
    except Exception:  # noqa: BLE001 - the caller's answer stands; the operator reads why in the log
        log.exception("integration call log not written (%s %s)", request.method, request.path)
    return response


def init_integration(app):
    app.before_request(authenticate)
    app.after_request(log_call)


def _client(role="budget_system"):
    client = g.integration_client
    if role not in client.groups:
        abort(403, message="该客户端无权调用此接口")
    return client


# -- shapes ------------------------------------------------------------------------------------------------
class LineInput(schemas.Base):
    unit_code = fields.String(required=True, validate=validate.Length(min=1, max=32, error="单位编码应为 1 到 32 个字符"),
                              metadata={"description": "预算单位编码（单位须已在本系统中）"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="指标名称应为 1 到 200 个字符"))
    fund_type = fields.String(load_default="general", validate=validate.OneOf(
        list(FUND_TYPES), error="资金性质应为 " + "、".join(f"{k}（{v}）" for k, v in FUND_TYPES.items())))
    amount = Money(required=True, validate=validate.Range(min=0, error="指标金额不能为负数"))
    status = fields.String(load_default="active", validate=validate.OneOf(
        list(STATUSES), error="指标状态应为 " + "、".join(f"{k}（{v}）" for k, v in STATUSES.items())),
        metadata={"description": "active 有效 / frozen 冻结 / recalled 收回：冻结、收回的指标不能再被新占用"})


class Occupation(schemas.Base):
    project_id = Int()
    number = fields.String()
    name = fields.String()
    unit_id = Int()
    status = fields.String()
    amount = Money()


class LineOut(schemas.Budget):
    unit_code = fields.String()
    status = fields.String()
    status_label = fields.String()
    updated_at = fields.DateTime()
    occupations = fields.List(fields.Nested(Occupation), metadata={"description": "占用该指标的项目"})
    changed = fields.Boolean(metadata={"description": "本次调用是否改变了指标（重复推送同样的值为 false）"})


class ChangedQuery(schemas.Base):
    since = fields.AwareDateTime(required=True, default_timezone=timezone.utc,
                                 metadata={"description": "ISO-8601 时间；返回此后（含）有变化的指标，含占用变化"})
    year = Int(minimum=2000, maximum=2100)


class ChangedOut(schemas.Base):
    as_of = fields.DateTime(metadata={"description": "本次读取的时间：下次以它作为 since"})
    items = fields.List(fields.Nested(LineOut))


class RequestQuery(schemas.Paging):
    acknowledged = fields.Boolean(metadata={"description": "false：只列出尚未确认的申请"})


class RequestOut(schemas.Base):
    id = Int()
    kind = fields.String(metadata={"description": "adjust 调整 / reduce 调减 / guarantee 保障性资金"})
    kind_label = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    budget_line_code = fields.String()
    year = Int()
    amount = Money()
    fund_type = fields.String()
    code = fields.String(metadata={"description": "保障性资金指标编码"})
    status = fields.String()
    note = fields.String()
    created_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledgement = fields.String()
    instances_moved_on = fields.List(Int(), metadata={"description": "确认后继续办理的年终处理流程实例"})


class AckInput(schemas.Base):
    note = fields.String(load_default="", validate=validate.Length(max=500, error="说明应不超过 500 个字符"),
                         metadata={"description": "预算系统的处理说明或单号"})


# -- budget lines ------------------------------------------------------------------------------------------
def _line_out(session, line, changed=None):
    out = {**line.to_dict(), "unit_code": session.get(Unit, line.unit_id).code,
           "occupations": line.occupations(session)}
    if changed is not None:
        out["changed"] = changed
    return out


@blp.route("/budget-lines/<int(min=2000, max=2100):year>/<string(maxlength=64):code>")
class Line(MethodView):
    """One rule for both methods: a year out of range is a 404 for either (not a 405)."""

    @blp.arguments(LineInput, error_status_code=400)
    @blp.response(200, LineOut, description="已更新（或未变化）")
    @blp.alt_response(201, schema=LineOut, description="已新增")
    @blp.alt_response(400, schema=schemas.ApiError)
    @blp.alt_response(401, schema=schemas.ApiError)
    @blp.alt_response(409, schema=schemas.ApiError, description="调减后低于已占用金额：`details` 给出金额与占用项目")
    def put(self, body, year, code):
        """预算指标推送（按指标编码+年度幂等）。调减至低于已占用金额 → 409 并给出已占用金额和占用项目。"""
        client = _client()
        with transaction() as (session, _):
            unit = session.scalars(select(Unit).where(Unit.code == body["unit_code"].strip())).first()
            if unit is None:
                raise DomainError("INVALID_INPUT", f"单位编码 {body['unit_code']} 在本系统中不存在，请先由系统管理员添加该单位",
                                  field="unit_code", status=400)
            values = {**body, "code": code, "year": year, "unit_id": unit.id}
            line, created, changes = BudgetLine.upsert(session, values, client.username, "api", now())
            return _line_out(session, line, bool(changes)), 201 if created else 200

    @blp.response(200, LineOut)
    @blp.alt_response(401, schema=schemas.ApiError)
    @blp.alt_response(404, schema=schemas.ApiError)
    def get(self, year, code):
        """一条指标：金额、已占用、可用余额、状态和占用它的项目。"""
        _client()
        session = read_session()
        line = session.scalars(select(BudgetLine).where(BudgetLine.code == code, BudgetLine.year == year)).first()
        if line is None:
            raise NotFound("预算指标", f"{year}/{code}")
        return _line_out(session, line)


@blp.route("/budget-lines", methods=["GET"])
@blp.arguments(ChangedQuery, location="query", error_status_code=400)
@blp.response(200, ChangedOut)
@blp.alt_response(401, schema=schemas.ApiError)
def changed_lines(args):
    """自某时刻以来有变化的指标（推送、导入、手工修改、项目占用与释放），供预算系统回读执行情况。"""
    _client()
    session = read_session()
    as_of = datetime.now(timezone.utc)
    query = select(BudgetLine).where(BudgetLine.updated_at >= args["since"]).order_by(BudgetLine.updated_at,
                                                                                       BudgetLine.id)
    if args.get("year"):
        query = query.where(BudgetLine.year == args["year"])
    return {"as_of": as_of, "items": [_line_out(session, line) for line in session.scalars(query)]}


# -- year-end requests -------------------------------------------------------------------------------------
@blp.route("/budget-requests", methods=["GET"])
@blp.arguments(RequestQuery, location="query", error_status_code=400)
@blp.response(200, RequestOut(many=True))
@blp.alt_response(401, schema=schemas.ApiError)
def list_requests(args):
    """年终处理二的申请（调整采购预算、调减采购预算、申请政府采购保障性资金）。"""
    _client()
    session = read_session()
    query = select(BudgetSystemRequest).order_by(BudgetSystemRequest.id)
    if args.get("acknowledged") is not None:
        column = BudgetSystemRequest.acknowledged_at
        query = query.where(column.is_not(None) if args["acknowledged"] else column.is_(None))
    return paging.of_query(session, query, args, lambda r: r.to_dict(session))


@blp.route("/budget-requests/<int:request_id>/acknowledge", methods=["POST"])
@blp.arguments(AckInput, error_status_code=400)
@blp.response(200, RequestOut)
@blp.alt_response(401, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError, description="已确认过")
def acknowledge_request(body, request_id):
    """确认已在预算系统中处理该申请；等待确认的年终处理流程随即继续（BPMN 消息 budget_acknowledged）。"""
    from ..engine.runtime import deliver_message
    client = _client()
    with transaction() as (session, _):
        row = locked(session, BudgetSystemRequest, request_id, "预算系统申请")
        row.acknowledge(client.username, body["note"], now())
        session.flush()
        # Correlation (as Camunda's by process variable): the instances whose current request this is — an
        # instance that made a guarantee request earlier and now waits on its reduction is not moved by the former.
        linked = session.scalars(
            select(ProcessInstance).join(InstanceRecord, InstanceRecord.instance_id == ProcessInstance.id)
            .where(InstanceRecord.record_type == "budget_system_request", InstanceRecord.record_id == row.id,
                   ProcessInstance.status == "running").order_by(ProcessInstance.id)).all()
        waiting = [i.id for i in linked if (i.data or {}).get("budget_request_id") == row.id]
        moved = [i for i in waiting if deliver_message(session, MachineActor(client), i, ACK_MESSAGE,
                                                       {"note": body["note"], "budget_request_id": row.id},
                                                       now()) is not None]
        return {**row.to_dict(session), "instances_moved_on": moved}
