"""登录安全 for administrators: failed sign-ins and throttled or locked user names and addresses, and unlocking.

GET /api/login-throttles (who is being slowed down or locked), DELETE /api/login-throttles/<id> (解锁: the
counter of that user name or address starts again), GET /api/login-failures (the log of refused sign-ins).
Auditors read them too. The rules are app/api/signin.py's.
"""
import logging

from flask import current_app
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import or_, select

from ..models import LoginFailure, LoginThrottle
from . import schemas
from .common import groups_only, now, read_session, transaction
from .signin import Policy

blp = Blueprint("login_security", __name__, url_prefix="/api", description="登录安全")
log = logging.getLogger(__name__)
ADMIN_ONLY = "只有系统管理员可以查看和解除登录锁定"


class Throttle(schemas.Base):
    id = fields.Integer()
    scope = fields.String(metadata={"description": "user（用户名）或 address（登录地址）"})
    key = fields.String(metadata={"description": "用户名或登录地址"})
    failures = fields.Integer(metadata={"description": "近期连续失败次数"})
    last_failure_at = fields.DateTime(allow_none=True)
    locked_until = fields.DateTime(allow_none=True, metadata={"description": "锁定到何时；未锁定为 null"})
    locked = fields.Boolean()
    retry_after = fields.Integer(metadata={"description": "下一次登录尝试须等待的秒数；0 为无需等待"})


class Failure(schemas.Base):
    id = fields.Integer()
    at = fields.DateTime()
    username = fields.String(metadata={"description": "输入的用户名（小写）"})
    address = fields.String()
    channel = fields.String(metadata={"description": "api、web 或 engine-rest"})
    locked = fields.Boolean(metadata={"description": "这次失败使用户名或地址被锁定"})


class FailureQuery(schemas.Base):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000, error="limit 应为 1 到 1000"))


def throttle_rows(session):
    """Names and addresses with failures or a lock, locked first, the latest failure first."""
    moment, policy = now(), Policy.of(current_app.config)
    rows = session.scalars(select(LoginThrottle).where(or_(LoginThrottle.failures > 0,
                                                           LoginThrottle.locked_until > moment))
                           .order_by(LoginThrottle.last_failure_at.desc()))
    return sorted((row.to_dict(moment, policy) for row in rows), key=lambda r: not r["locked"])


def failure_rows(session, limit=100):
    return [f.to_dict() for f in session.scalars(select(LoginFailure).order_by(LoginFailure.id.desc()).limit(limit))]


@blp.route("/login-throttles", methods=["GET"])
@groups_only("admin", "auditor", message=ADMIN_ONLY)
@blp.response(200, Throttle(many=True))
@blp.alt_response(403, schema=schemas.ApiError)
def list_throttles():
    return throttle_rows(read_session())


@blp.route("/login-throttles/<int:throttle_id>", methods=["DELETE"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.response(204)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
def unlock(throttle_id):
    """解锁: forget the failures of this user name or address (and its lock)."""
    with transaction() as (session, admin):
        row = session.get(LoginThrottle, throttle_id) if throttle_id < 2 ** 31 else None
        if row is None:
            abort(404, message=f"登录限制记录 {throttle_id} 不存在或已解除")
        log.warning("login throttle of %s %r cleared by %s", row.scope, row.key, admin.username)
        session.delete(row)


@blp.route("/login-failures", methods=["GET"])
@groups_only("admin", "auditor", message=ADMIN_ONLY)
@blp.arguments(FailureQuery, location="query", error_status_code=400)
@blp.response(200, Failure(many=True))
@blp.alt_response(403, schema=schemas.ApiError)
def list_failures(args):
    return failure_rows(read_session(), args["limit"])
