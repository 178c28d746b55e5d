"""The caller's task list; claim, release and complete."""
from uuid import UUID

from flask_smorest import Blueprint
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from ..engine import access, deployments, runtime, tasklist
from ..engine.runtime import Step
from ..models import HumanTask, NotFound, ProcessInstance
from . import paging, schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required
from .instances import instance_view

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="待办任务")


def visible_tasks(session, user, status="open"):
    """Every open task the user may act on (auditors: all), newest first. Unbounded: for small sets only
    (one instance's tasks, tests); lists go through ``tasklist.page``."""
    return list(session.scalars(select(HumanTask).where(*tasklist.visible(session, user, status))
                                .order_by(*tasklist.newest_first())))


paging_headers, per_page = paging.headers, paging.per_page  # shared with every list endpoint (api/paging.py)


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(schemas.TaskQuery, location="query", error_status_code=400)
@blp.response(200, schemas.Task(many=True))
def list_tasks(args):
    """Open tasks you can act on, newest first, one page at a time (X-Total-Count, Link: rel="next")."""
    session = read_session()
    user = current_user()
    f = tasklist.Filters(process=args.get("process", ""), group=args.get("group", ""),
                         assignee=args.get("assignee", ""), unit_id=args.get("unit_id"),
                         mine=args.get("assigned") == "me", date_from=args.get("created_from"),
                         date_to=args.get("created_to"), q=(args.get("q") or "").strip())
    clauses = tasklist.filtered(session, user, f, tasklist.visible(session, user))
    rows, info = tasklist.page(session, clauses, tasklist.newest_first(), args["page"], per_page(args), clamp=False)
    return rows, paging_headers(info, len(rows))


def _visible_task(session, task_id):
    user = current_user()
    row = session.get(HumanTask, task_id)
    if row is None or not (user.is_auditor or access.can_see_task(session, user, row)
                           or access.admin_holds(user, row)):
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
