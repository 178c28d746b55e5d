"""The caller's task list; claim, release and complete."""
from uuid import UUID

from flask_smorest import Blueprint
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from ..engine import deployments, runtime
from ..engine.runtime import Step
from ..models import HumanTask, NotFound, ProcessInstance
from . import schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required
from .instances import instance_view

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="待办任务")


def visible_tasks(session, user, status="open"):
    """Open tasks the user may act on (auditors: all), narrowed in SQL by unit, then by group/assignee."""
    query = select(HumanTask).where(HumanTask.status == status).order_by(HumanTask.created_at.desc())
    if not user.is_auditor and runtime.UNASSIGNED_GROUP not in user.groups:  # the administrator: any unit's
        # Tasks of instances without a unit (e.g. a campaign started by a timer) go by group alone.
        query = query.where(HumanTask.unit_id.in_(user.unit_ids(session)) | HumanTask.unit_id.is_(None))
    rows = session.scalars(query)
    return [t for t in rows if user.is_auditor or runtime.can_act(session, user, t)]


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(schemas.TaskQuery, location="query", error_status_code=400)
@blp.response(200, schemas.Task(many=True))
def list_tasks(args):
    session = read_session()
    user = current_user()
    tasks = visible_tasks(session, user)
    if args.get("process"):
        tasks = [t for t in tasks if t.process_key == args["process"]]
    if args.get("group"):
        tasks = [t for t in tasks if args["group"] in (t.candidate_groups or [])]
    if args.get("assigned") == "me":
        tasks = [t for t in tasks if user.username in (t.claimed_by, t.assignee)]
    return tasks


def _visible_task(session, task_id):
    user = current_user()
    row = session.get(HumanTask, task_id)
    if row is None or not (user.is_auditor or runtime.can_see_unit(session, user, row.unit_id)
                           or runtime.admin_holds(user, row)):
        raise NotFound("任务", task_id)
    return row


@blp.route("/<task_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.TaskDetail)
def get_task(task_id):
    session = read_session()
    row = _visible_task(session, task_id)
    form = deployments.latest_form(session, row.form_key) if row.form_key else None
    data = {}
    if row.status == "open":
        step = Step(session, current_user(), now())
        workflow = runtime.load(step, session.get(ProcessInstance, row.instance_id))
        task = workflow.get_task_from_id(UUID(row.id))
        if task is not None and task.state == TaskState.READY:
            data = dict(task.data)
    view = {c.key: getattr(row, c.key) for c in HumanTask.__table__.columns}
    return {**view, "form": form.schema if form else None, "data": data}


@blp.route("/<task_id>/claim", methods=["POST"])
@writer_required
@blp.response(200, schemas.Task)
@blp.alt_response(409, schema=schemas.ApiError)
def claim(task_id):
    with transaction() as (session, user):
        return runtime.claim_task(session, user, task_id, now())


@blp.route("/<task_id>/unclaim", methods=["POST"])
@writer_required
@blp.response(200, schemas.Task)
def unclaim(task_id):
    with transaction() as (session, user):
        return runtime.claim_task(session, user, task_id, now(), release=True)


@blp.route("/<task_id>/complete", methods=["POST"])
@writer_required
@blp.arguments(schemas.Complete, error_status_code=400)
@blp.response(200, schemas.Instance)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
@blp.alt_response(409, schema=schemas.ApiError)
def complete(args, task_id):
    with transaction() as (session, user):
        instance = runtime.complete_task(session, user, task_id, args["data"], now())
        return instance_view(session, instance)
