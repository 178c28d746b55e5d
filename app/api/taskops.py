"""Task operations (issue 17): 转办, 委派/归还, 催办, 抄送 and 抄送我的, 常用意见.

Thin: each route parses, opens one transaction and calls ``app/engine/taskops.py`` (or the saved-comment
model); refusals are the engine's DomainErrors (Chinese 400/403/409)."""
from datetime import timedelta

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..engine import access, going_back, taskops
from ..models import DomainError, HumanTask, InstanceCopy, NotFound, ProcessInstance, SavedComment, User
from ..models.base import text_field
from . import schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required
from .schemas import Int

blp = Blueprint("taskops", __name__, url_prefix="/api", description="任务操作：转办、委派、催办、抄送、常用意见")
ERRORS = (400, 403, 404, 409)


def _errors(fn):
    for status in ERRORS:
        fn = blp.alt_response(status, schema=schemas.ApiError)(fn)
    return fn


class TargetInput(schemas.Base):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=64, error="请选择办理人"),
                             error_messages={"required": "请选择办理人"}, metadata={"description": "用户名"})
    reason = fields.String(validate=validate.Length(max=500, error="说明应不超过 500 个字符"))


class CommentInput(schemas.Base):
    comment = fields.String(validate=validate.Length(max=1000, error="意见应不超过 1000 个字符"))


class UrgeInput(schemas.Base):
    message = fields.String(validate=validate.Length(max=500, error="催办说明应不超过 500 个字符"))


class UrgeResult(schemas.Base):
    task_id = fields.String()
    notified = fields.List(fields.String())
    at = fields.DateTime()


class CopyInput(schemas.Base):
    users = fields.List(fields.String(validate=validate.Length(max=64)), required=True,
                        validate=validate.Length(min=1, max=50, error="请选择 1 到 50 位抄送人"),
                        error_messages={"required": "请选择抄送人"})
    comment = fields.String(validate=validate.Length(max=500, error="抄送说明应不超过 500 个字符"))


class CopyResult(schemas.Base):
    instance_id = Int()
    copied_to = fields.List(fields.String())


class CopySchema(schemas.Base):
    instance_id = Int()
    process = fields.String()
    copied_by = fields.String()
    comment = fields.String()
    created_at = fields.DateTime()
    status = fields.String()


class PersonSchema(schemas.Base):
    username = fields.String()
    display_name = fields.String()


class SavedCommentSchema(schemas.Base):
    id = Int()
    text = fields.String()
    mine = fields.Boolean()
    position = Int()


class SavedCommentInput(schemas.Base):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500, error="常用意见应为 1 到 500 个字符"),
                         error_messages={"required": "请填写常用意见"})
    default = fields.Boolean(metadata={"description": "系统管理员：作为所有人的默认常用意见"})


# -- 转办, 委派, 归还, 催办 -------------------------------------------------------------------
@blp.route("/tasks/<task_id>/reassign", methods=["POST"])
@writer_required
@blp.arguments(TargetInput, error_status_code=400)
@blp.response(200, schemas.Task)
@_errors
def reassign(body, task_id):
    """转办：交给同单位、同岗位（或流程允许）的另一人，此后由其办理。"""
    with transaction() as (session, user):
        return taskops.reassign(session, user, task_id, body["assignee"], body.get("reason"), now())


@blp.route("/tasks/<task_id>/delegate", methods=["POST"])
@writer_required
@blp.arguments(TargetInput, error_status_code=400)
@blp.response(200, schemas.Task)
@_errors
def delegate(body, task_id):
    """委派：被委派人办理后归还，由委派人决定（Camunda 7 delegate/resolve）。"""
    with transaction() as (session, user):
        return taskops.delegate(session, user, task_id, body["assignee"], body.get("reason"), now())


@blp.route("/tasks/<task_id>/resolve", methods=["POST"])
@writer_required
@blp.arguments(CommentInput, error_status_code=400)
@blp.response(200, schemas.Task)
@_errors
def resolve(body, task_id):
    """归还：被委派人写下意见，任务回到委派人。"""
    with transaction() as (session, user):
        return taskops.resolve(session, user, task_id, body.get("comment"), now())


@blp.route("/tasks/<task_id>/urge", methods=["POST"])
@writer_required
@blp.arguments(UrgeInput, error_status_code=400)
@blp.response(200, UrgeResult)
@_errors
def urge(body, task_id):
    """催办：发起人、财政部门或系统管理员提醒办理人；每个任务在间隔内只能催办一次。"""
    interval = timedelta(minutes=int(current_app.config.get("URGE_INTERVAL_MINUTES", 30)))
    with transaction() as (session, user):
        return taskops.urge(session, user, task_id, body.get("message"), now(), interval)


@blp.route("/tasks/<task_id>/candidates", methods=["GET"])
@login_required
@blp.response(200, PersonSchema(many=True))
@_errors
def candidates(task_id):
    """转办可选的人员：同单位、可办理该任务的其他人。"""
    session, user = read_session(), current_user()
    row = session.get(HumanTask, task_id)
    if row is None or not access.can_see_task(session, user, row):
        raise NotFound("任务", task_id)
    users = session.scalars(select(User).where(User.active.is_(True), User.id != user.id).order_by(User.username))
    return [{"username": u.username, "display_name": u.display_name} for u in users
            if taskops.may_hold(session, u, row, user)]


class ReturnInput(schemas.Base):
    target = fields.String(required=True, validate=validate.Length(min=1, max=100, error="请选择退回到的步骤"),
                           error_messages={"required": "请选择退回到的步骤"}, metadata={"description": "用户任务的 BPMN id"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000, error="请填写退回原因（不超过 1000 字）"),
                           error_messages={"required": "请填写退回原因"})


class ReasonInput(schemas.Base):
    reason = fields.String(validate=validate.Length(max=500, error="撤回原因应不超过 500 个字符"))


class ReturnTarget(schemas.Base):
    bpmn_id = fields.String()
    name = fields.String()
    completed_by = fields.String(allow_none=True)
    completed_by_name = fields.String()


# -- 退回, 撤回 -------------------------------------------------------------------------------------
@blp.route("/tasks/<task_id>/return-targets", methods=["GET"])
@login_required
@blp.response(200, ReturnTarget(many=True))
@_errors
def return_targets(task_id):
    """可退回到的步骤：本路径上已办理的用户任务（流程图可用 returnTargets 限制），最近的在前。"""
    session, user = read_session(), current_user()
    row = session.get(HumanTask, task_id)
    if row is None or not access.can_see_task(session, user, row):
        raise NotFound("任务", task_id)
    return going_back.return_targets(session, row)


@blp.route("/tasks/<task_id>/return", methods=["POST"])
@writer_required
@blp.arguments(ReturnInput, error_status_code=400)
@blp.response(200, schemas.Instance)
@_errors
def return_task(body, task_id):
    """退回：回到本路径上已办理的某一步（须填写原因）；其后服务任务已改动业务记录时拒绝并说明。"""
    from .instances import instance_view
    with transaction() as (session, user):
        instance = going_back.return_to(session, user, task_id, body["target"], body["reason"], now())
        return instance_view(session, instance)


@blp.route("/tasks/<task_id>/recall", methods=["POST"])
@writer_required
@blp.arguments(ReasonInput, error_status_code=400)
@blp.response(200, schemas.Instance)
@_errors
def recall(body, task_id):
    """撤回：办理人在下一步尚无人处理时收回自己办理的步骤（task_id 为自己已办理的任务）。"""
    from .instances import instance_view
    with transaction() as (session, user):
        instance = going_back.recall(session, user, task_id, body.get("reason"), now())
        return instance_view(session, instance)


# -- 抄送 -------------------------------------------------------------------------------------------
@blp.route("/instances/<int:instance_id>/copies", methods=["POST"])
@writer_required
@blp.arguments(CopyInput, error_status_code=400)
@blp.response(200, CopyResult)
@_errors
def copy(body, instance_id):
    """抄送：给同单位人员一份只读副本（出现在其“抄送我的”中）。"""
    with transaction() as (session, user):
        added = taskops.copy(session, user, instance_id, body["users"], body.get("comment"), now())
        return {"instance_id": instance_id, "copied_to": added}


@blp.route("/copies", methods=["GET"])
@login_required
@blp.response(200, CopySchema(many=True))
def my_copies():
    """抄送我的。"""
    session, user = read_session(), current_user()
    rows = session.execute(select(InstanceCopy, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == InstanceCopy.instance_id).where(
        InstanceCopy.username == user.username).order_by(InstanceCopy.id.desc()).limit(500)).all()
    return [{"instance_id": c.instance_id, "process": i.key, "copied_by": c.copied_by, "comment": c.comment,
             "created_at": c.created_at, "status": i.status} for c, i in rows]


# -- 常用意见 ---------------------------------------------------------------------------------------
@blp.route("/comments", methods=["GET"])
@login_required
@blp.response(200, SavedCommentSchema(many=True))
def list_comments():
    """常用意见：系统管理员设置的默认意见，然后是自己的。"""
    return [c.to_dict() for c in SavedComment.visible(read_session(), current_user().username)]


@blp.route("/comments", methods=["POST"])
@writer_required
@blp.arguments(SavedCommentInput, error_status_code=400)
@blp.response(201, SavedCommentSchema)
@_errors
def add_comment(body):
    text = text_field(body["text"], "text", "常用意见", 500)
    with transaction() as (session, user):
        default = bool(body.get("default"))
        if default and "admin" not in user.groups:
            raise DomainError("FORBIDDEN", "只有系统管理员可以设置默认常用意见", status=403)
        owner = None if default else user.username
        mine = list(session.scalars(select(SavedComment).where(
            SavedComment.username.is_(None) if owner is None else SavedComment.username == owner)))
        if any(c.text == text for c in mine):
            raise DomainError("DUPLICATE", "该常用意见已存在", field="text", status=409)
        if len(mine) >= 50:
            raise DomainError("TOO_MANY", "常用意见最多 50 条，请先删除不用的", status=409)
        row = SavedComment(username=owner, text=text, position=len(mine), created_at=now())
        session.add(row)
        session.flush()
        return row.to_dict()


@blp.route("/comments/<int:comment_id>", methods=["DELETE"])
@writer_required
@blp.response(204)
@_errors
def delete_comment(comment_id):
    with transaction() as (session, user):
        row = session.get(SavedComment, comment_id)
        if row is None or (row.username is not None and row.username != user.username):
            raise NotFound("常用意见", comment_id)
        if row.username is None and "admin" not in user.groups:
            raise DomainError("FORBIDDEN", "默认常用意见只能由系统管理员删除", status=403)
        session.delete(row)
    return None
