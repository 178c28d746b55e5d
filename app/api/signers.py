"""加签 / 减签 (issue 17): add signers before or after the holder (会签/或签), their answers, removal, 待我加签."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..engine import access, signers
from ..models import HumanTask, NotFound, TaskSigner
from . import schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required
from .schemas import Int

blp = Blueprint("signers", __name__, url_prefix="/api", description="加签、减签")


def _errors(fn):
    for status in (400, 403, 404, 409):
        fn = blp.alt_response(status, schema=schemas.ApiError)(fn)
    return fn


class SignerSchema(schemas.Base):
    id = Int()
    task_id = fields.String()
    instance_id = Int()
    round = Int()
    username = fields.String()
    mode = fields.String(metadata={"description": "before 前加签 / after 后加签"})
    kind = fields.String(metadata={"description": "all 会签 / any 或签"})
    status = fields.String(metadata={"description": "pending/approved/rejected/removed/skipped"})
    comment = fields.String()
    added_by = fields.String()
    added_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


class AddInput(schemas.Base):
    users = fields.List(fields.String(validate=validate.Length(max=64)), required=True,
                        validate=validate.Length(min=1, max=20, error="请选择 1 到 20 位加签人"),
                        error_messages={"required": "请选择加签人"})
    mode = fields.String(required=True, validate=validate.OneOf(["before", "after"], error="加签方式应为 before（前加签）或 "
                                                                                          "after（后加签）"),
                         error_messages={"required": "请选择前加签或后加签"})
    kind = fields.String(load_default="all", validate=validate.OneOf(["all", "any"], error="签署方式应为 all（会签）或 "
                                                                                          "any（或签）"))
    reason = fields.String(validate=validate.Length(max=500, error="加签说明应不超过 500 个字符"))
    data = fields.Dict(metadata={"description": "后加签：办理人的审批结论（表单数据），加签人同意后按此办理"})


class AnswerInput(schemas.Base):
    approved = fields.Boolean(required=True, error_messages={"required": "请选择同意或不同意",
                                                             "invalid": "approved 应为 true 或 false"})
    comment = fields.String(validate=validate.Length(max=1000, error="意见应不超过 1000 个字符"))


class RemoveInput(schemas.Base):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64), error_messages={"required": "请选择要减签的人"})


class SignOutcome(schemas.Base):
    round = Int()
    outcome = fields.String(metadata={"description": "waiting / answered（前加签完成）/ approved（后加签通过，任务已办理）"
                                                     " / refused（后加签未通过，退回办理人）"})


@blp.route("/tasks/<task_id>/signers", methods=["GET"])
@login_required
@blp.response(200, SignerSchema(many=True))
@_errors
def list_signers(task_id):
    session, user = read_session(), current_user()
    row = session.get(HumanTask, task_id)
    if row is None or not (user.is_auditor or access.can_see_task(session, user, row)):
        raise NotFound("任务", task_id)
    return signers.for_task(session, row)


@blp.route("/tasks/<task_id>/signers", methods=["POST"])
@writer_required
@blp.arguments(AddInput, error_status_code=400)
@blp.response(201, SignerSchema(many=True))
@_errors
def add_signers(body, task_id):
    """加签：前加签（加签人先提意见，办理人再决定）或后加签（办理人的结论经加签人同意后才流转）；会签或或签。"""
    with transaction() as (session, user):
        return signers.add(session, user, task_id, body["users"], body["mode"], body["kind"], body.get("reason"), now(),
                           decision=body.get("data"))


@blp.route("/tasks/<task_id>/signers/answer", methods=["POST"])
@writer_required
@blp.arguments(AnswerInput, error_status_code=400)
@blp.response(200, SignOutcome)
@_errors
def answer(body, task_id):
    """加签人签署意见（不同意须填写意见）。"""
    with transaction() as (session, user):
        return signers.answer(session, user, task_id, body["approved"], body.get("comment"), now())


@blp.route("/tasks/<task_id>/signers/remove", methods=["POST"])
@writer_required
@blp.arguments(RemoveInput, error_status_code=400)
@blp.response(200, SignOutcome)
@_errors
def remove(body, task_id):
    """减签：办理人取消尚未签署的加签人。"""
    with transaction() as (session, user):
        return signers.remove(session, user, task_id, body["username"], now())


@blp.route("/signs", methods=["GET"])
@login_required
@blp.response(200, SignerSchema(many=True))
def my_signs():
    """待我加签：我尚未签署的加签。"""
    session, user = read_session(), current_user()
    rows = session.scalars(select(TaskSigner).where(TaskSigner.username == user.username,
                                                    TaskSigner.status == "pending").order_by(TaskSigner.id))
    return [r.to_dict() for r in rows]
