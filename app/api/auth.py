"""POST /api/login → bearer token (expiring)."""
from flask import current_app
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from ..models import User
from . import schemas
from .common import issue_token, read_session

blp = Blueprint("auth", __name__, url_prefix="/api", description="登录")


@blp.route("/login", methods=["POST"])
@blp.arguments(schemas.Login, error_status_code=400)
@blp.response(200, schemas.Token)
@blp.alt_response(401, schema=schemas.ApiError)
def login(args):
    session = read_session()
    user = session.scalar(select(User).where(User.username == args["username"]))
    if user is None or not user.active or not user.check_password(args["password"]):
        abort(401, message="用户名或密码错误")
    return {"token": issue_token(user), "expires_in": current_app.config["TOKEN_TTL_SECONDS"],
            "user": user.to_dict()}
