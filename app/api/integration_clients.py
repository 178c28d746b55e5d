"""Machine clients of the integration API, managed by the administrator (系统管理员):
GET/POST /api/integration-clients, POST …/<id>/key (a new key; the old one is stale), POST …/<id>/revoke,
(a key is valid for ``valid_days``, default 365, at most five years),
GET /api/integration-calls (the call log). The key is in the answer of create and of a new key only."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models.integration import KEY_DAYS, KEY_MAX_DAYS, MACHINE_ROLES, IntegrationCall, IntegrationClient
from . import schemas
from .common import groups_only, locked, now, read_session, transaction
from .schemas import Int

blp = Blueprint("integration_clients", __name__, url_prefix="/api", description="集成客户端（API 密钥）与调用日志")
ADMIN_ONLY = "只有系统管理员可以管理集成客户端"


class ClientOut(schemas.Base):
    id = Int()
    name = fields.String()
    role = fields.String()
    role_label = fields.String()
    key_id = fields.String(metadata={"description": "密钥的公开部分（日志中以此识别）"})
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()
    key_issued_at = fields.DateTime()
    key_expires_at = fields.DateTime(allow_none=True, metadata={"description": "密钥到期时间：到期后调用为 401"})
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class ClientWithKey(ClientOut):
    api_key = fields.String(metadata={"description": "API 密钥：只显示这一次，请妥善保存（系统只保存其摘要）"})


def _valid_days():
    return Int(load_default=KEY_DAYS, validate=validate.Range(min=1, max=KEY_MAX_DAYS,
                                                                error=f"密钥有效期应为 1 到 {KEY_MAX_DAYS} 天"),
               metadata={"description": f"密钥有效天数，默认 {KEY_DAYS}"})


class KeyInput(schemas.Base):
    valid_days = _valid_days()


class ClientInput(schemas.Base):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100, error="客户端名称应为 1 到 100 个字符"),
                         error_messages={"required": "请填写客户端名称"})
    role = fields.String(load_default="budget_system", validate=validate.OneOf(
        list(MACHINE_ROLES), error="角色应为 " + "、".join(f"{k}（{v}）" for k, v in MACHINE_ROLES.items())))
    valid_days = _valid_days()


class CallQuery(schemas.Base):
    client_id = Int(minimum=1)
    limit = Int(minimum=1, maximum=1000, load_default=200)


class CallOut(schemas.Base):
    id = Int()
    client_id = Int(allow_none=True)
    key_id = fields.String(allow_none=True)
    at = fields.DateTime()
    method = fields.String()
    endpoint = fields.String()
    status = Int()
    outcome = fields.String()
    request_id = fields.String(allow_none=True)


def _client(session, client_id):
    return locked(session, IntegrationClient, client_id, "集成客户端")


@blp.route("/integration-clients", methods=["GET"])
@groups_only("admin", "auditor", message=ADMIN_ONLY)
@blp.response(200, ClientOut(many=True))
def list_clients():
    return [c.to_dict() for c in read_session().scalars(select(IntegrationClient).order_by(IntegrationClient.id))]


@blp.route("/integration-clients", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(ClientInput, error_status_code=400)
@blp.response(201, ClientWithKey)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def add_client(body):
    """新增集成客户端（如预算管理一体化系统）：返回的 API 密钥只显示这一次。"""
    with transaction() as (session, actor):
        client, key = IntegrationClient.create(session, body["name"], body["role"], actor.username, now(),
                                               body["valid_days"])
        return {**client.to_dict(), "api_key": key}


@blp.route("/integration-clients/<int:client_id>/key", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(KeyInput, required=False, error_status_code=400)
@blp.response(200, ClientWithKey)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def new_key(body, client_id):
    """更换密钥：旧密钥立即失效（401）；新密钥有效 valid_days 天。"""
    with transaction() as (session, _):
        client = _client(session, client_id)
        key = client.issue_key(now(), (body or {}).get("valid_days", KEY_DAYS))
        return {**client.to_dict(), "api_key": key}


@blp.route("/integration-clients/<int:client_id>/revoke", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.response(200, ClientOut)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def revoke_client(client_id):
    """吊销：该客户端的任何调用此后均为 401（记入调用日志）。"""
    with transaction() as (session, _):
        client = _client(session, client_id)
        client.revoke(now())
        return client.to_dict()


@blp.route("/integration-calls", methods=["GET"])
@groups_only("admin", "auditor", message=ADMIN_ONLY)
@blp.arguments(CallQuery, location="query", error_status_code=400)
@blp.response(200, CallOut(many=True))
def list_calls(args):
    """调用日志（最新在前）：客户端、时间、接口、状态码、结果；被拒绝的调用（401）也在其中。"""
    query = select(IntegrationCall).order_by(IntegrationCall.id.desc()).limit(args["limit"])
    if args.get("client_id"):
        query = query.where(IntegrationCall.client_id == args["client_id"])
    return [c.to_dict() for c in read_session().scalars(query)]
