"""Stranded instances (无人可推进的流程): running instances nobody and nothing can move, for administrators and
auditors. The check is ``app.engine.stranded``; the scheduler also records an incident per finding daily."""
from flask_smorest import Blueprint, abort
from marshmallow import fields

from ..engine import stranded
from . import paging, schemas
from .common import current_user, login_required, now, read_session

blp = Blueprint("stranded", __name__, url_prefix="/api/stranded", description="无人可推进的流程实例")


class StrandedSchema(schemas.Base):
    instance_id = fields.Integer()
    key = fields.String(metadata={"description": "流程定义键"})
    name = fields.String(metadata={"description": "流程名称"})
    business_key = fields.String(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime()
    reason = fields.String(metadata={"description": "为何无人可推进（中文，各原因以“；”分隔）"})
    reasons = fields.List(fields.String())
    tasks = fields.List(fields.String(), metadata={"description": "实例当前的待办名称"})


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(schemas.Paging, location="query", error_status_code=400)
@blp.response(200, StrandedSchema(many=True))
@blp.alt_response(403, schema=schemas.ApiError)
def list_stranded(args):
    """One page at a time (docs/api.md "Paging"), in instance order."""
    if not current_user().groups & {"admin", "auditor"}:
        abort(403, message="只有系统管理员和审计可以查看无人可推进的流程实例")
    return paging.of_list(stranded.find_stranded(read_session(), now()), args)
