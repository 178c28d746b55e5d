"""External tasks the Camunda 7 way: a service task whose topic has no built-in handler waits for a worker.

The workflow keeps such a task STARTED (``specs.ExternalServiceTask``); ``sync`` keeps one ``external_task`` row
per waiting task, written in the step's transaction. Workers use the row, never the workflow, to fetch and lock
(``fetch_and_lock``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite serialises writers), to extend or give up
a lock and to report failures (retries; an incident at zero). Completing and reporting a BPMN error move the
workflow on: the instance is locked and stepped like any other step, and the history records what the worker
sent (``external_task_completed`` / ``external_task_error``) so a replay feeds the same.

Camunda's rules: only the worker holding the task's most recent lock may complete it, report an error or a
failure, or extend the lock; once the lock expired another worker may fetch it, and from then on the first
worker is refused (400). An expired lock cannot be extended. A task with no retries left is not fetched."""
import re
from datetime import timedelta
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select

from .. import handlers
from ..models import DomainError, ExternalTask, Incident, NotFound, ProcessDefinition
from . import expressions, history
from .specs import ExternalServiceTask, resolve_parameters

INCIDENT_KIND = "failedExternalTask"  # Camunda's incident type
RESERVED = {"initiator", "unit_id", "business_key", "error_code", "error_message"}


class ExternalTaskError(DomainError):
    """Camunda's BadUserRequestException (400): the worker does not hold the lock, bad retries, …"""

    def __init__(self, message, code="BAD_USER_REQUEST", status=400):
        super().__init__(code, message, status=status)


def waits_for_worker(topic):
    """Does a service task with this topic wait for an external worker (no built-in handler)?"""
    return topic not in handlers.topics()  # never looks a handler up: a replay calls none


def waiting_tasks(workflow):
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.STARTED)
            if isinstance(t.task_spec, ExternalServiceTask)}


def sync(step):
    """One open row per task that waits for a worker; rows whose task moved on (completed, cancelled by a boundary
    event or the instance's end) are closed."""
    session, instance = step.session, step.instance
    waiting = waiting_tasks(step.workflow)
    rows = {row.id: row for row in session.scalars(
        select(ExternalTask).where(ExternalTask.instance_id == instance.id, ExternalTask.status == "open"))}
    for task_id, row in rows.items():
        if task_id not in waiting:
            row.status, row.ended_at = "cancelled", step.now
    for task_id, task in waiting.items():
        if task_id in rows:
            continue
        spec = task.task_spec
        local = resolve_parameters(spec.input_parameters, task.data)
        variables = {**task.data, **local}
        properties = {k: v for k, v in (getattr(spec, "extensions", None) or {}).items()
                      if isinstance(k, str) and isinstance(v, str)}
        session.add(ExternalTask(
            id=task_id, instance_id=instance.id, definition_id=instance.definition_id, process_key=instance.key,
            business_key=instance.business_key, activity_id=spec.bpmn_id, activity_name=spec.bpmn_name or "",
            topic=spec.topic, priority=priority(spec, task.data), variables=history.jsonable(variables),
            local_names=sorted(local), extension_properties=properties, status="open", created_at=step.now))


def priority(spec, data):
    """``camunda:taskPriority`` (``parser.ServiceTaskParser._priority``): a number, or an expression over the
    task's variables evaluated when the task is reached (Camunda 7 does the same); it must come out a whole number."""
    value = getattr(spec, "priority", 0)
    if isinstance(value, str):
        value = expressions.template(value, data)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,18}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise expressions.ExpressionError(f"camunda:taskPriority 的结果应为整数 / the priority of "
                                              f"{spec.bpmn_id} must be a whole number, got {value!r}")
    return max(min(value, 2 ** 31 - 1), -(2 ** 31))  # the column is a 32-bit integer


# -- fetch and lock ----------------------------------------------------------------------------------------------
def fetchable(now):
    return [ExternalTask.status == "open",
            or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= now),
            or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0)]


def _topic_filters(session, topic):
    filters = [ExternalTask.topic == topic["topicName"]]
    if topic.get("businessKey") is not None:
        filters.append(ExternalTask.business_key == topic["businessKey"])
    if topic.get("processDefinitionKey"):
        filters.append(ExternalTask.process_key == topic["processDefinitionKey"])
    if topic.get("processDefinitionKeyIn"):
        filters.append(ExternalTask.process_key.in_(topic["processDefinitionKeyIn"]))
    ids = list(topic.get("processDefinitionIdIn") or []) + ([topic["processDefinitionId"]]
                                                          if topic.get("processDefinitionId") else [])
    if ids:
        filters.append(ExternalTask.definition_id.in_(topic["definition_ids"]))
    if topic.get("tenantIdIn"):
        # This service has no tenants (every task's tenantId is null): a tenant filter matches nothing, as it
        # matches no task without a tenant in Camunda 7; ``withoutTenantId`` keeps every task.
        filters.append(ExternalTask.id.is_(None))
    return filters


def _matches_process_variables(row, wanted):
    """Camunda's ``processVariables``: every named process variable equals the value given (the task's own input
    parameters are local variables, not process variables)."""
    local = set(row.local_names or [])
    values = {k: v for k, v in (row.variables or {}).items() if k not in local}
    return all(name in values and _same(values[name], value) for name, value in wanted.items())


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(have, want):
    if _number(have) and _number(want):
        return have == want  # 5 and 5.0 are the same number, as a Long and an Integer are in Camunda
    return type(have) is type(want) and have == want


def _candidates(session, topic, now, use_priority, limit, lock):
    order = [ExternalTask.priority.desc()] if use_priority else []
    query = select(ExternalTask).where(*fetchable(now), *_topic_filters(session, topic)) \
        .order_by(*order, ExternalTask.created_at, ExternalTask.id)
    wanted = topic.get("processVariables")
    if wanted:
        # Variables are JSON: filter them here, then lock the ids that match (skipping those locked meanwhile).
        ids = [row.id for row in session.scalars(query) if _matches_process_variables(row, wanted)][:limit]
        if not ids:
            return []
        query = select(ExternalTask).where(ExternalTask.id.in_(ids), *fetchable(now)) \
            .order_by(*order, ExternalTask.created_at, ExternalTask.id)
    query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def any_fetchable(session, topics, now):
    """A cheap read first, so long polling does not take the write lock every round."""
    return any(_candidates(session, topic, now, False, 1, lock=False) for topic in topics)


def fetch_and_lock(session, worker_id, max_tasks, topics, now, use_priority=False):
    """Lock up to ``max_tasks`` fetchable tasks of the topics for ``worker_id``; returns [(row, topic)]. With
    ``use_priority`` the highest ``camunda:taskPriority`` first (over all topics, as Camunda orders one query),
    else the oldest first."""
    found = []
    for topic in topics:
        for row in _candidates(session, topic, now, use_priority, max_tasks, lock=True):
            if all(row is not other for other, _ in found):
                found.append((row, topic))
    if use_priority:
        found.sort(key=lambda pair: -pair[0].priority)  # stable: creation order within a priority
    locked = found[:max_tasks] if max_tasks > 0 else []
    for row, topic in locked:
        row.worker_id = worker_id
        row.lock_expires_at = now + timedelta(milliseconds=topic["lockDuration"])
    session.flush()
    return locked


# -- a worker's answers ------------------------------------------------------------------------------------------
def _row(session, task_id, lock=True):
    row = session.get(ExternalTask, task_id, with_for_update=lock, populate_existing=True)
    if row is None or row.status != "open":
        raise NotFound("外部任务", task_id)
    return row


def _holder(row, worker_id, verb):
    """Camunda: the worker must hold the task's most recent lock."""
    if row.worker_id != worker_id:
        raise ExternalTaskError(f"External Task {row.id} cannot be {verb} by worker '{worker_id}'. It is locked by "
                                f"worker '{row.worker_id}'. / 外部任务已由其他执行程序锁定或未被锁定")


def extend_lock(session, task_id, worker_id, duration_ms, now):
    row = _row(session, task_id)
    _holder(row, worker_id, "extended")
    if row.lock_expires_at is None or row.lock_expires_at <= now:
        raise ExternalTaskError(f"Cannot extend a lock that expired / 外部任务 {row.id} 的锁已过期，不能延长")
    row.lock_expires_at = now + timedelta(milliseconds=duration_ms)
    return row


def unlock(session, task_id):
    row = _row(session, task_id)
    row.worker_id = row.lock_expires_at = None
    return row


def set_retries(session, user, task_id, retries, now):
    """An operator gives a task with no retries left new ones: its incident is resolved."""
    row = _row(session, task_id)
    row.retries = retries
    if retries > 0:
        _resolve_incidents(session, row, now)
    return row


def _resolve_incidents(session, row, now):
    for incident in session.scalars(select(Incident).where(
            Incident.instance_id == row.instance_id, Incident.kind == INCIDENT_KIND, Incident.status == "open",
            Incident.task == _label(row))):
        incident.status, incident.resolved_at = "resolved", now


def _label(row):
    return f"{row.activity_id}:{row.activity_name or row.activity_id}"


def failure(session, task_id, worker_id, message, details, retries, retry_timeout_ms, now, actor):
    """The worker could not do it: ``retries`` left (Camunda's), fetchable again after ``retry_timeout_ms``; at zero
    an incident for the administrator. The workflow does not move."""
    from ..models import ProcessInstance
    row = _row(session, task_id)
    _holder(row, worker_id, "failed")
    row.retries, row.error_message, row.error_details = retries, message, details
    row.lock_expires_at = now + timedelta(milliseconds=retry_timeout_ms or 0)
    instance = session.get(ProcessInstance, row.instance_id)
    history.append(session, instance, "external_task_failed", actor=actor, at=now, task=_label(row),
                   data={"task_id": row.id, "worker_id": worker_id, "topic": row.topic, "retries": retries,
                         "error_message": message})
    if retries == 0:
        session.add(Incident(instance_id=row.instance_id, task=_label(row), kind=INCIDENT_KIND, status="open",
                             definition_id=row.definition_id, created_at=now,
                             error=f"外部任务 {row.topic} 失败且没有剩余重试次数：{message or ''}"))
    return row


def _check_variables(values):
    bad = sorted(set(values) & RESERVED)
    if bad:
        raise ExternalTaskError(f"变量 {', '.join(bad)} 由引擎设置，外部任务不能修改 / engine variables cannot be set")


def _step_on(session, user, row, now, action):
    """Lock the instance, load it, run ``action(step, task)`` and the engine, save: one step."""
    from . import runtime
    instance = runtime._lock_instance(session, row.instance_id)
    step = runtime.Step(session, user, now)
    workflow = runtime.load(step, instance)
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.STARTED:
        raise NotFound("外部任务", row.id)
    step.run(lambda: action(step, task))
    step.save()
    return instance


def complete(session, user, task_id, worker_id, variables, now):
    row = _row(session, task_id)
    _holder(row, worker_id, "completed")
    _check_variables(variables)

    def act(step, task):
        row.status, row.ended_at = "completed", now
        step.event("external_task_completed", task, {"task_id": row.id, "worker_id": worker_id, "topic": row.topic,
                                                     "variables": variables})
        task.task_spec.complete_external(task, variables)
    return _step_on(session, user, row, now, act)


def bpmn_error(session, user, task_id, worker_id, code, message, variables, now):
    row = _row(session, task_id)
    _holder(row, worker_id, "reported a BPMN error")
    _check_variables(variables)

    def act(step, task):
        row.status, row.ended_at = "completed", now
        step.event("external_task_error", task, {"task_id": row.id, "worker_id": worker_id, "topic": row.topic,
                                                 "code": code, "message": message, "variables": variables})
        task.task_spec.throw_external_error(task, code, message, variables)
    return _step_on(session, user, row, now, act)


def definition_ids(session, idents):
    """Camunda-style definition ids (``key:version:id`` or the bare number) → our definition ids."""
    out = []
    for ident in idents:
        tail = str(ident).rsplit(":", 1)[-1]
        if tail.isdigit() and session.get(ProcessDefinition, int(tail)) is not None:
            out.append(int(tail))
    return out or [-1]
