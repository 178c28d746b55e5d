"""Users, roles and units (系统管理员): GET/POST /api/users, PATCH /api/users/<id>, GET/POST /api/units,
PATCH /api/units/<id>; and POST /api/me/password for everyone's own password.

Only administrators manage; auditors read (they read everything). Passwords are checked against the policy and
stored hashed; a password change or deactivation ends the user's tokens and sessions at once.
"""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import Unit, User
from ..models.org import LEVELS, ROLES
from . import schemas
from .common import current_user, groups_only, locked, login_required, read_session, transaction
from .schemas import Int

blp = Blueprint("users", __name__, url_prefix="/api", description="用户、岗位与单位")
ADMIN_ONLY = "只有系统管理员可以管理用户和单位"


class GrantSchema(schemas.Base):
    unit_id = Int(required=True, error_messages={"required": "请选择授权单位", "invalid": "单位编号应为整数"})
    include_children = fields.Boolean(load_default=False, metadata={"description": "含下级单位"})


class UserAccount(schemas.Base):
    id = Int()
    username = fields.String()
    display_name = fields.String()
    unit_id = Int(allow_none=True)
    agency_id = Int(allow_none=True, metadata={"description": "所属代理机构（代理机构库）"})
    groups = fields.List(fields.String(), metadata={"description": "岗位: " + "、".join(ROLES)})
    active = fields.Boolean()
    grants = fields.List(fields.Nested(GrantSchema))


class UserAccountInput(schemas.Base):
    username = fields.String(required=True, error_messages={"required": "请填写用户名"})
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=100, error="姓名应为 1 到 100 个字符"),
                                 error_messages={"required": "请填写姓名"})
    password = fields.String(required=True, load_only=True, error_messages={"required": "请设置初始密码"})
    unit_id = Int(allow_none=True, error_messages={"invalid": "单位编号应为整数"})
    agency_id = Int(allow_none=True, error_messages={"invalid": "代理机构编号应为整数"},
                    metadata={"description": "代理机构岗位的用户所属的代理机构（代理机构库）；此时可不授权单位"})
    roles = fields.List(fields.String(validate=validate.OneOf(
        list(ROLES), error="岗位应为 " + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))), required=True,
        error_messages={"required": "请选择岗位"})
    grants = fields.List(fields.Nested(GrantSchema), metadata={"description": "授权单位；不填为所属单位"})
    active = fields.Boolean()


class UserAccountChange(UserAccountInput):
    """修改 (any field but username; ``password`` resets it)."""


class PasswordInput(schemas.Base):
    old_password = fields.String(required=True, load_only=True, error_messages={"required": "请填写原密码"})
    new_password = fields.String(required=True, load_only=True, error_messages={"required": "请填写新密码"})


class UnitSchema(schemas.Base):
    id = Int()
    code = fields.String()
    name = fields.String()
    level = fields.String()
    level_label = fields.String()
    region = fields.String()
    parent_id = Int(allow_none=True)


class UnitInput(schemas.Base):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32, error="单位编码应为 1 到 32 个字符"),
                         error_messages={"required": "请填写单位编码"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="单位名称应为 1 到 200 个字符"),
                         error_messages={"required": "请填写单位名称"})
    level = fields.String(required=True, validate=validate.OneOf(list(LEVELS), error="级次应为 provincial（省级）、"
                                                                                    "city（市级）或 county（县级）"),
                          error_messages={"required": "请选择级次"})
    region = fields.String(validate=validate.Length(max=64, error="区划应不超过 64 个字符"))
    parent_id = Int(allow_none=True, error_messages={"invalid": "上级单位编号应为整数"})


class UnitChange(UnitInput):
    """修改 (any field)."""


def _user(session, user_id):
    return locked(session, User, user_id, "用户")


@blp.route("/users", methods=["GET"])
@groups_only("admin", "auditor", message=ADMIN_ONLY)
@blp.response(200, UserAccount(many=True))
def list_users():
    return [u.admin_dict() for u in read_session().scalars(select(User).order_by(User.id))]


@blp.route("/users", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(UserAccountInput, error_status_code=400)
@blp.response(201, UserAccount)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def add_user(body):
    """新增用户: unique user name, initial password (≥ 8, letters and digits), roles, home unit, granted units."""
    with transaction() as (session, _):
        return User.add(session, body).admin_dict()


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(UserAccountChange(partial=True, exclude=("username",)), error_status_code=400)
@blp.response(200, UserAccount)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def edit_user(body, user_id):
    """修改用户: name, unit, roles, grants; ``active`` false 停用 (sessions end); ``password`` 重置密码."""
    with transaction() as (session, actor):
        user = _user(session, user_id)
        password = body.pop("password", None)
        user.edit(session, body, actor=actor if actor.id == user.id else None)
        if password is not None:
            user.change_password(password)
            user.must_change_password = actor.id != user.id  # a password the administrator chose is changed first
        return user.admin_dict()


@blp.route("/me/password", methods=["POST"])
@login_required
@blp.arguments(PasswordInput, error_status_code=400)
@blp.response(204)
@blp.alt_response(400, schema=schemas.ApiError)
def change_own_password(body):
    """修改密码: the old one, then a new one that meets the policy; sign in again afterwards."""
    from ..models import DomainError
    with transaction() as (session, actor):
        user = _user(session, actor.id)
        if not user.check_password(body["old_password"]):
            raise DomainError("INVALID_INPUT", "原密码不正确", field="old_password", status=400)
        user.change_password(body["new_password"])
        user.must_change_password = False


@blp.route("/units", methods=["GET"])
@login_required
@blp.response(200, UnitSchema(many=True))
def list_units():
    """Every unit for administrators and auditors; otherwise the units granted to you."""
    session, user = read_session(), current_user()
    query = select(Unit).order_by(Unit.id)
    if not (user.groups & {"admin", "auditor"}):
        query = query.where(Unit.id.in_(user.unit_ids(session)))
    return [u.to_dict() for u in session.scalars(query)]


@blp.route("/units", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(UnitInput, error_status_code=400)
@blp.response(201, UnitSchema)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def add_unit(body):
    with transaction() as (session, _):
        return Unit.add(session, body).to_dict()


@blp.route("/units/<int:unit_id>", methods=["PATCH"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(UnitChange(partial=True), error_status_code=400)
@blp.response(200, UnitSchema)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(404, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def edit_unit(body, unit_id):
    with transaction() as (session, _):
        unit = locked(session, Unit, unit_id, "单位")
        unit.edit(session, body)
        return unit.to_dict()
