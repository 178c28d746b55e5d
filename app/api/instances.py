"""Process instances: state, history, hash-chain verification, and BPMN messages (撤回, agency actions)."""
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from ..engine import access, audit, history, memo, runtime
from ..models import HistoryEvent, HumanTask, NotFound, ProcessDefinition, ProcessInstance, User
from . import paging, schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required

blp = Blueprint("instances", __name__, url_prefix="/api/instances", description="流程实例")


def username(session, user_id):
    """A user's name: from the session when loaded, else the name alone (a whole user would load its roles and
    grants too, two more statements per step)."""
    if user_id is None:
        return None
    known = session.info.get("usernames", {}).get(user_id)  # read with the instance's lock (runtime._open_task)
    if known is not None:
        return known
    loaded = session.identity_map.get(identity_key(User, user_id))
    return loaded.username if loaded is not None else \
        session.scalar(select(User.username).where(User.id == user_id))


def open_tasks(session, instance):
    """The instance's open tasks by creation: as the step of this transaction left them (task_rows.sync_task_list),
    else read."""
    known = memo.recall(session, ("reply_tasks", instance.id))
    if known is not None:
        return sorted((row for row in known if row.status == "open"), key=lambda row: row.created_at)
    return session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                   HumanTask.status == "open").order_by(HumanTask.created_at))


def instance_view(session, instance):
    definition = session.get(ProcessDefinition, instance.definition_id)
    starter = username(session, instance.started_by)
    tasks = open_tasks(session, instance)
    return {"id": instance.id, "key": instance.key, "version": definition.version, "status": instance.status,
            "business_key": instance.business_key, "unit_id": instance.unit_id,
            "started_by": starter, "started_at": instance.started_at,
            "ended_at": instance.ended_at, "data": instance.data, "tasks": list(tasks)}


def visible_instance(session, instance_id):
    user = current_user()
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not (user.is_auditor or access.can_see_instance(session, user, instance)):
        raise NotFound("流程实例", instance_id)
    return instance


@blp.route("/<int:instance_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.Instance)
def get_instance(instance_id):
    session = read_session()
    return instance_view(session, visible_instance(session, instance_id))


@blp.route("/<int:instance_id>/history", methods=["GET"])
@login_required
@blp.arguments(schemas.Paging, location="query", error_status_code=400)
@blp.response(200, schemas.HistoryEvent(many=True))
def get_history(args, instance_id):
    """The instance's history in order, one page at a time (docs/api.md "Paging")."""
    session = read_session()
    visible_instance(session, instance_id)
    return paging.of_query(session, select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                           .order_by(HistoryEvent.seq), args, history.to_dict)


@blp.route("/<int:instance_id>/verify", methods=["GET"])
@login_required
@blp.response(200, schemas.Verify)
def verify(instance_id):
    session = read_session()
    return audit.verify(session, visible_instance(session, instance_id))


@blp.route("/<int:instance_id>/messages/<name>", methods=["POST"])
@writer_required
@blp.arguments(schemas.Message, error_status_code=400)
@blp.response(200, schemas.Instance)
@blp.alt_response(409, schema=schemas.ApiError)
def message(args, instance_id, name):
    with transaction() as (session, user):
        instance = runtime.send_message(session, user, instance_id, name, args["data"], now())
        return instance_view(session, instance)
