"""The ``human_task`` rows of an instance, kept in step with its workflow's READY user tasks (``sync_task_list``),
and how a task row is named, routed and dated from its diagram element and data."""
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..models import HumanTask, User
from . import expressions, forms_ref, notices
from .access import SYSTEM, unassigned_fallback
from .memo import recall, remember
from .specs import HumanUserTask

# The record a task concerns, by data convention (`<record>_id`), most specific first.
RECORD_KEYS = ("contract_id", "tender_id", "plan_id", "requirement_id", "project_id", "budget_line_id")


def task_name(task):
    """A generic task inside a call activity (review's 审核) takes the call's more specific name (财政部门审核);
    tasks with names of their own keep them (they are the seeds' step names)."""
    name = task.task_spec.bpmn_name or spec_bpmn_id(task)
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return name
    parent = task.workflow.top_workflow.get_task_from_id(parent_id)
    outer = expressions.display_name(parent.task_spec.bpmn_name, parent.data) if parent is not None else None
    if not outer:
        return name
    return outer if name in outer else name


def spec_bpmn_id(task):
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def ready_user_tasks(workflow):
    """BPMN ids of the READY user tasks (sorted): recorded with each step so a replay can compare."""
    return sorted(spec_bpmn_id(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def _record_ref(data):
    for key in RECORD_KEYS:
        value = data.get(key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return key[:-3], int(value)
    return None, None


def _due(spec, data, now):
    text = expressions.template(spec.due_date, data) if spec.due_date else None
    if not text:
        return None
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    text = str(text)
    if text.upper().startswith("P"):
        return now + TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(text), now)
    return TimerEventDefinition.get_datetime(text)


def listify(values, data):
    out = []
    for value in values:
        resolved = expressions.template(value, data)
        if isinstance(resolved, (list, tuple, set)):
            out.extend(str(v) for v in resolved)
        elif resolved:
            out.extend(v.strip() for v in str(resolved).split(",") if v.strip())
    return out


def sync_task_list(step):
    """Keep ``human_task`` rows in step with the workflow's READY user tasks."""
    session, instance = step.session, step.instance
    ready = {str(t.id): t for t in step.workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_rows = _open_rows(session, instance, step.started)
    for task_id, row in open_rows.items():
        if task_id not in ready:
            row.status = "cancelled"
            row.completed_at = step.now
    for task_id, task in ready.items():
        if task_id in open_rows:
            continue
        spec = task.task_spec
        data = task.data
        groups = candidates = []
        assignee = form_key = None
        if isinstance(spec, HumanUserTask):
            groups = listify(spec.candidate_groups, data)
            candidates = listify(spec.candidate_users, data)
            assignee = expressions.template(spec.assignee, data) if spec.assignee else None
            if assignee == SYSTEM:  # an instance a timer or another instance started: the groups decide
                assignee = None
            if assignee and not _is_user(session, str(assignee)):
                # Camunda 7 diagrams name their own users (demo, john): a task assigned to nobody known here goes
                # to the fallback holders, who see whom it was meant for in the history.
                assignee = None
            groups, candidates = unassigned_fallback(spec, step.definition, data, groups, candidates, assignee)
            form_key = forms_ref.resolve(spec, data, step.definition, session)
        record_type, record_id = _record_ref(data)
        values = dict(agency_id=_agency_of(session, data),
            instance_id=instance.id, process_key=instance.key, bpmn_id=spec_bpmn_id(task),
            name=task_name(task), candidate_groups=groups, candidate_users=candidates,
            assignee=str(assignee) if assignee else None, unit_id=instance.unit_id, form_key=form_key,
            record_type=record_type, record_id=record_id, status="open", created_at=step.now,
            due_at=_due(spec, data, step.now) if isinstance(spec, HumanUserTask) else None)
        # A new instance's tasks have new ids and none was completed before: no row to find, never a return.
        row = None if step.started else session.get(HumanTask, task_id)
        if row is None:
            row = HumanTask(id=task_id, **values)
            session.add(row)
            notices.task_arrived(session, row, step.now, actor=step.actor, new=step.started)  # 站内通知 to its holders
        else:  # a task reset to (退回, 撤回: engine/going_back.py, which sends its own notice) is READY again
            for key, value in dict(values, claimed_by=None, completed_at=None, completed_by=None, owner=None,
                                   delegation_state=None).items():
                setattr(row, key, value)
        open_rows[task_id] = row
    # The instance's open tasks now, for the reply (api/instances.py: instance_view) without reading them again.
    remember(session, ("reply_tasks", instance.id), [row for row in open_rows.values() if row.status == "open"])


def _open_rows(session, instance, started=False):
    """{id: row} of the instance's open tasks as this step left them, without flushing the step first (its changes
    are written once, by ``save``): the rows open in the database, then this step's unflushed rows and changes.
    An instance this step ``started`` has none: only ``sync_task_list`` adds rows, once per step (and skipping the
    scan of the session's pending objects keeps a batch of starts linear)."""
    if started:
        return {}
    stored = recall(session, ("open_tasks", instance.id))  # read under the lock by _open_task
    if stored is None:
        with session.no_autoflush:
            stored = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                             HumanTask.status == "open")).all()
    pending = [o for o in (*session.new, *session.dirty) if isinstance(o, HumanTask) and o.instance_id == instance.id]
    return {row.id: row for row in (*stored, *pending) if row.status == "open" and row not in session.deleted}


def _agency_of(session, data):
    """The agency a task belongs to: the ``agency_id`` its data names (代理机构库; every diagram, no per-diagram code).
    An id naming no agency is ignored (the handlers validated it where it entered)."""
    from ..models.agency import Agency, agency_id_of
    ident = agency_id_of(data.get("agency_id"))
    return ident if ident is not None and session.get(Agency, ident) is not None else None


def _is_user(session, username):
    return session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is not None
