"""Migrating a running instance to another deployed version of its diagram (analysts)."""
from flask import jsonify
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from ..engine import migration
from . import schemas
from .common import current_user, login_required, now, read_session, transaction
from .audit import instance_for
from .instances import instance_view
from .schemas import Int

blp = Blueprint("migration", __name__, url_prefix="/api/instances", description="版本迁移")

MIGRATOR = {"analyst"}
PREVIEWERS = {"analyst", "auditor", "admin"}


class MigrationQuery(schemas.Base):
    version = Int(required=True, validate=validate.Range(min=1, error="版本号应为正整数"))


class MigrationElement(schemas.Base):
    process = fields.String()
    element = fields.String()
    name = fields.String()
    state = fields.String()
    attributes = fields.List(fields.String())
    reason = fields.String()


class MigrationPlan(schemas.Base):
    instance_id = Int()
    key = fields.String()
    from_version = Int()
    to_version = Int()
    safe = fields.Boolean(metadata={"description": "no executed or running element changed or removed"})
    blocking = fields.List(fields.Nested(MigrationElement), metadata={"description": "why it is refused"})
    changed = fields.List(fields.Nested(MigrationElement))
    removed = fields.List(fields.Nested(MigrationElement))
    added = fields.List(fields.Nested(MigrationElement))


class MigrationResult(schemas.Base):
    instance = fields.Nested(schemas.Instance)
    migration = fields.Nested(MigrationPlan)


def _require(roles, message):
    if not (current_user().groups & roles):
        abort(403, message=message)


@blp.route("/<int:instance_id>/migration", methods=["GET"])
@login_required
@blp.arguments(MigrationQuery, location="query", error_status_code=400)
@blp.response(200, MigrationPlan)
def preview(args, instance_id):
    """What migrating to ``version`` would change, and whether it is safe (nothing is written)."""
    _require(PREVIEWERS, "只有业务分析、审计或系统管理员可以查看版本迁移")
    session = read_session()
    try:
        return migration.preview(session, instance_for(session, instance_id), args["version"])
    finally:
        session.rollback()


@blp.route("/<int:instance_id>/migrate", methods=["POST"])
@login_required
@blp.arguments(MigrationQuery, error_status_code=400)
@blp.response(200, MigrationResult)
@blp.alt_response(409, schema=schemas.ApiError)
def migrate(args, instance_id):
    """Move the running instance to ``version``, or 409 listing the elements that make it unsafe."""
    _require(MIGRATOR, "只有业务分析（analyst）可以迁移流程实例")
    instance_for(read_session(), instance_id)
    try:
        with transaction() as (session, user):
            instance, plan = migration.migrate(session, user, instance_id, args["version"], now())
            return {"instance": instance_view(session, instance), "migration": plan}
    except migration.MigrationRefused as err:
        response = jsonify({"code": err.code, "message": err.message, "errors": err.errors,
                            "migration": err.report})
        response.status_code = 409
        return response

