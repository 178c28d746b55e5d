"""批量审批: several open tasks of the same form completed with the same values (one comment), each in its own
transaction; the answer lists every task's outcome, and one refusal does not stop the others."""
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException

from ..engine import access, runtime
from ..models import DomainError, HumanTask
from . import schemas
from .common import current_user, now, read_session, transaction, writer_required

blp = Blueprint("batch", __name__, url_prefix="/api/tasks", description="批量审批")
MAX_TASKS = 100


class BatchInput(schemas.Base):
    task_ids = fields.List(fields.String(validate=validate.Length(max=36)), required=True,
                           validate=validate.Length(min=1, max=MAX_TASKS, error=f"请选择 1 到 {MAX_TASKS} 个任务"),
                           error_messages={"required": "请选择要审批的任务"})
    data = fields.Dict(load_default=dict, metadata={"description": "每个任务提交的表单数据，如 {approved: true, comment: …}"})


class Outcome(schemas.Base):
    task_id = fields.String()
    instance_id = schemas.Int(allow_none=True)
    name = fields.String(allow_none=True)
    ok = fields.Boolean()
    code = fields.String(allow_none=True)
    message = fields.String()


class BatchResult(schemas.Base):
    form_key = fields.String(allow_none=True)
    succeeded = schemas.Int()
    failed = schemas.Int()
    outcomes = fields.List(fields.Nested(Outcome))


def _check_same_form(task_ids):
    """All the tasks the caller can see share one form; a mix is refused before anything is done."""
    session, user = read_session(), current_user()
    rows = {r.id: r for r in (session.get(HumanTask, t) for t in task_ids) if r is not None
            and access.can_see_task(session, user, r)}
    forms = sorted({r.form_key or "（无表单）" for r in rows.values()})
    if len(forms) > 1:
        abort(409, message=f"所选任务使用不同的表单（{'、'.join(forms)}），不能一起批量审批，请按表单分别选择")
    return rows, (forms[0] if forms else None)


@blp.route("/batch-complete", methods=["POST"])
@writer_required
@blp.arguments(BatchInput, error_status_code=400)
@blp.response(200, BatchResult)
@blp.alt_response(409, schema=schemas.ApiError)
def batch_complete(body):
    """批量审批：同一表单的多个待办，以相同的结论和意见逐个办理（各自一个事务）。"""
    task_ids = list(dict.fromkeys(body["task_ids"]))
    rows, form_key = _check_same_form(task_ids)
    outcomes = []
    for task_id in task_ids:
        row = rows.get(task_id)
        outcome = {"task_id": task_id, "instance_id": row.instance_id if row else None,
                   "name": row.name if row else None}
        if row is None:
            outcomes.append({**outcome, "ok": False, "code": "NOT_FOUND", "message": f"任务 {task_id} 不存在"})
            continue
        try:
            with transaction() as (session, user):
                runtime.complete_task(session, user, task_id, body["data"], now())
            outcomes.append({**outcome, "ok": True, "code": None, "message": "已办理"})
        except DomainError as err:
            errors = getattr(err, "errors", None)
            detail = "；".join(f"{k}：{'、'.join(map(str, v))}" for k, v in errors.items()) if errors else ""
            outcomes.append({**outcome, "ok": False, "code": err.code,
                             "message": err.message + (f"（{detail}）" if detail else "")})
        except HTTPException as exc:  # 409 from a concurrent change (transaction())
            message = (getattr(exc, "data", None) or {}).get("message") or "数据已被他人修改，请刷新后重试"
            outcomes.append({**outcome, "ok": False, "code": "CONFLICT", "message": message})
    succeeded = sum(1 for o in outcomes if o["ok"])
    return {"form_key": form_key, "succeeded": succeeded, "failed": len(outcomes) - succeeded, "outcomes": outcomes}
