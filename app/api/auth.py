"""POST /api/login → bearer token naming a server-side session; POST /api/logout ends it."""
from flask import current_app, jsonify, request
from flask import session as cookie
from flask_smorest import Blueprint, abort

from . import schemas
from .common import current_user, now, transaction
from .sessions import TokenError, end_session, open_session, token_for, token_session_id
from .signin import Throttled, authenticate

blp = Blueprint("auth", __name__, url_prefix="/api", description="登录")


def throttled_response(err):
    response = jsonify({"code": "TOO_MANY_ATTEMPTS", "message": err.message, "retry_after": err.retry_after})
    response.status_code = 429
    response.headers["Retry-After"] = str(err.retry_after)
    return response


@blp.route("/login", methods=["POST"])
@blp.arguments(schemas.Login, error_status_code=400)
@blp.response(200, schemas.Token)
@blp.alt_response(401, schema=schemas.ApiError)
@blp.alt_response(429, schema=schemas.ApiError, description="登录失败次数过多：`Retry-After` 秒后再试")
def login(args):
    try:
        user = authenticate(args["username"], args["password"], "api")
    except Throttled as err:
        return throttled_response(err)
    if user is None:
        abort(401, message="用户名或密码错误")
    with transaction() as (session, _):
        raw = open_session(session, user, "api", now())
    return {"token": token_for(raw), "expires_in": current_app.config["TOKEN_TTL_SECONDS"],
            "user": {**user.to_dict(), "must_change_password": user.must_change_password}}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@blp.alt_response(401, schema=schemas.ApiError)
def logout():
    """End the session of the token sent (or of the web session cookie): every copy of it is refused from now
    on."""
    if current_user() is None:
        abort(401, message="请先登录")
    header = request.headers.get("Authorization", "")
    try:
        raw = token_session_id(header[7:].strip()) if header.startswith("Bearer ") else cookie.get("sid")
    except TokenError:  # unreachable: current_user() accepted the token
        abort(401, message="登录凭证无效")
    with transaction() as (session, _):
        end_session(session, raw)
    if not header.startswith("Bearer "):
        cookie.clear()
    return None
