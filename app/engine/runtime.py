"""Load → step → save, in one database transaction per step.

A step is starting an instance, completing a user task, claiming one, or delivering a
message. Everything it causes — engine steps, service-task handlers changing records, the
task list, the history events — is written in the caller's transaction, so it commits
whole or not at all. The instance row is locked first (PostgreSQL ``FOR UPDATE``; SQLite
serialises writers with ``BEGIN IMMEDIATE``) and carries a version column as a backstop.
"""
import logging
import time
from functools import cache
from uuid import UUID

from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from marshmallow import ValidationError
from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.util import identity_key

from .. import handlers
from ..models import (RECORDS, DomainError, HumanTask, InstanceRecord, NotFound, ProcessDefinition, ProcessInstance,
                      User, utcnow)
from ..models.inputs import parse_id
from ..ops.metrics import observe_step
from . import (archive, deployments, expressions, external, forms, history, incidents, limits, serializer, signers,
               timers)
from .access import SYSTEM, admin_holds, can_act, can_see_instance, can_see_task, can_see_unit
from .memo import recall, remember
from .script_engine import SafeScriptEngine
from .task_rows import RECORD_KEYS, ready_user_tasks, sync_task_list
from .specs import error_boundaries
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventSpec

log = logging.getLogger(__name__)
# Set on a session by a batch of starts (starts.py): a started instance's rows are written with the batch's next
# flush (its commit, or a savepoint's), one statement per table for many instances instead of four per start.
BATCHED_STARTS = "runtime.batched_starts"

# Variables the engine sets; callers can never overwrite them through task or start data.
RESERVED = {"initiator", "unit_id", "error_code", "error_message"}


class EngineError(DomainError):
    """The diagram could not run (bad expression at run time, no handler): nothing is saved."""

    def __init__(self, message, code="ENGINE_ERROR", detail=None):
        super().__init__(code, message, status=422)
        self.detail = detail  # the underlying cause, for the administrator's incident only (never the caller)


class Step:
    """One transaction's worth of engine work on one instance, with its history."""

    def __init__(self, session, user, now):
        self.session, self.user, self.now = session, user, now
        self.began = time.perf_counter()  # engine step duration metric (observe_step in save)
        self.instance = None
        self.workflow = None
        self.definition = None
        self.definitions = []  # the definitions this step runs (held so the session's identity map keeps them)
        self.events = []  # history events not yet written (``event``; ``save`` writes them)
        self.taken_over = []  # other instances this step ended or moved on (recorded with the service task)
        self.started = False  # this step starts the instance: rolled back, it leaves no instance behind
        self.spec_changed = False  # a migration moved the instance to other specs: sync every table in full

    @property
    def actor(self):
        return self.user.username if self.user is not None else SYSTEM

    # -- called back by the script engine during engine steps ------------------
    def call_handler(self, task, topic, inputs):
        fn = handlers.get(topic)
        if fn is None:
            raise EngineError(f"服务任务 {task.task_spec.bpmn_id} 的 Topic “{topic}” 没有处理程序", "NO_HANDLER")
        ctx = handlers.Context(self.session, self.instance, inputs, dict(task.data), self.user, self.now, engine=self)
        # A savepoint undoes the handler's changes when an error boundary event catches its error and the step
        # goes on; with no such event drawn the error fails the whole step, so none is needed (two statements and
        # a flush fewer per service task).
        savepoint = self.session.begin_nested() if any(error_boundaries(task)) else None
        outer = self.session.info.get("changes")  # a step this one runs inside (another instance's handler)
        self.session.info["changes"] = []
        self.taken_over = []
        try:
            outputs = fn(ctx) or {}
            self.session.flush()
        except DomainError:
            if savepoint is not None:
                savepoint.rollback()
            raise
        finally:
            changes = self.session.info.pop("changes", [])
            if outer is not None:
                self.session.info["changes"] = outer
        if savepoint is not None:
            savepoint.commit()
        self.link_records(changes)
        data = {"topic": topic, "inputs": inputs, "outputs": outputs}
        if self.taken_over:
            data["taken_over"] = self.taken_over
        self.event("service_task", task, data, changes)
        return outputs

    def link_records(self, changes):
        for change in changes:
            record_type, _, record_id = change["record"].partition(":")
            key = (self.instance.id, record_type, int(record_id))
            if not _linked(self.session, key):
                self.session.add(InstanceRecord(instance_id=key[0], record_type=key[1], record_id=key[2]))

    def cancel_instances(self, record_type, record_id, processes, reason):
        """Cancel other running instances of ``processes`` linked to the record; returns their ids."""
        ids = self.session.scalars(
            select(ProcessInstance.id).join(InstanceRecord, InstanceRecord.instance_id == ProcessInstance.id)
            .where(InstanceRecord.record_type == record_type, InstanceRecord.record_id == int(record_id),
                   ProcessInstance.status == "running", ProcessInstance.key.in_(processes),
                   ProcessInstance.id != self.instance.id)).all()
        for instance_id in ids:
            cancel_instance(self.session, self.user, instance_id, reason, self.now, by_instance=self.instance.id)
            self.taken_over.append({"instance_id": instance_id, "cancelled": reason})
        return list(ids)

    def notify_instances(self, record_type, record_id, name, data=None):
        """Deliver BPMN message ``name`` to the other running instances working on the record that wait for it
        (e.g. 取消采购 confirmed: the 委托代理采购 that ran the tender ends through its own path). Both histories
        say so: the receiver's ``message_received`` names this instance, this step's service task the receivers."""
        self.session.flush()  # this handler's changes are recorded before another instance's step begins
        ids = self.session.scalars(
            select(ProcessInstance.id).join(InstanceRecord, InstanceRecord.instance_id == ProcessInstance.id)
            .where(InstanceRecord.record_type == record_type, InstanceRecord.record_id == int(record_id),
                   ProcessInstance.status == "running", ProcessInstance.id != self.instance.id)
            .order_by(ProcessInstance.id)).all()
        delivered = []
        for instance_id in ids:
            if deliver_message(self.session, self.user, instance_id, name, data or {}, self.now,
                               by_instance=self.instance.id) is not None:
                delivered.append(instance_id)
                self.taken_over.append({"instance_id": instance_id, "message": name})
        return delivered

    def record_error(self, task, err):
        self.event("error_caught", task, {"code": err.code, "message": err.message})

    def record_uncaught_error(self, task, err):
        """A BPMN error nothing catches: Camunda 7 ends the task's path (``bpmn_errors.end_path``)."""
        self.event("error_uncaught", task, {"code": err.code, "message": err.message})

    def evaluate_decision(self, task, spec):
        """A business rule task: the decision its binding names, evaluated and recorded (dmn_task.py)."""
        from . import dmn_task
        with self.session.no_autoflush:  # reads decision tables only: the step's changes are flushed once, later
            row = dmn_task.find(self.session, spec, self.instance.definition_id)
        record = dmn_task.evaluate(row, spec, task.data)
        self.event("decision_evaluated", task, record)
        return record["result"]

    def event(self, type_, task=None, data=None, changes=None):
        label = None
        if task is not None:
            spec = task.task_spec
            label = f"{spec.bpmn_id}:{spec.bpmn_name or spec.bpmn_id}"
        # Kept until ``save`` writes them, in order: the instance's chain head then changes once per step, not at
        # every flush a handler's query causes. The values are copied now (they are what happened at this point).
        self.events.append((type_, label, history.jsonable(data or {}), history.jsonable(changes or [])))

    def write_events(self):
        history.append_stored(self.session, self.instance, self.events, self.actor, self.now)
        self.events = []

    # -- running ---------------------------------------------------------------
    def engine(self):
        return SafeScriptEngine(self)

    def run(self, action):
        """Run ``action`` then the engine at the step's time, within the step's budget (``limits``). Errors
        inside SpiffWorkflow surface as our own; a step stopped by a limit also leaves an incident."""
        with limits.running(self) as budget:
            try:
                with timers.step_clock(self.now):
                    action()
                    self.workflow.do_engine_steps()
                if budget.exceeded is not None:  # raised inside SpiffWorkflow and swallowed there
                    raise budget.exceeded
            except Exception as exc:  # noqa: BLE001 - every failure becomes a 4xx error, rolled back by the caller
                _reraise(self.failed(exc, budget), exc)

    def save(self):
        try:
            self._save()
        except (expressions.ExpressionError, limits.StepAborted) as exc:
            _reraise(self.failed(exc), exc)

    def _save(self):
        wf = self.workflow
        self.instance.data = history.jsonable(_snapshot(wf))
        if wf.is_completed() and self.instance.status == "running":
            self.instance.status = "completed"
            self.instance.ended_at = self.now
            self.event("instance_completed")
        uses = _spec_uses(wf)
        if uses["timer"] or self.spec_changed:  # a diagram without timers has no timer rows to keep in step
            timers.sync(self)
        with timers.step_clock(self.now):  # due dates written as dateTime().plusDays(…) count from the step
            sync_task_list(self)
        if uses["external"] or self.spec_changed:
            external.sync(self)
        self.write_events()
        # Last, once the tables above have seen every task this step finished: what a long-lived instance no
        # longer needs leaves the live state for the archive (compaction.py), then the state is saved.
        archive.write(self.session, self.instance, serializer.compact(wf), self.now)
        self.instance.workflow = serializer.dumps(wf)
        if not (self.started and self.session.info.get(BATCHED_STARTS)):
            self.session.flush()
        observe_step(self.instance.key, time.perf_counter() - self.began)

    def failed(self, exc, budget=None):
        """The error the caller gets for ``exc``; one from a limit is recorded as an incident as well."""
        cause = _cause(exc)
        if budget is not None and budget.exceeded is not None:
            err = budget.exceeded
        elif isinstance(cause, expressions.ExpressionLimit):
            element = limits.current_element()
            where = f"元素 {element} 的" if element else ""
            err = limits.StepAborted("EXPRESSION_LIMIT", f"{where}{cause}；已回滚 / rolled back", element,
                                     kind="expression_limit")
        elif isinstance(cause, expressions.ExpressionError):
            err = EngineError(str(cause), "EXPRESSION_ERROR")
        elif isinstance(cause, (DomainError, SQLAlchemyError)):
            err = cause  # a database failure is the service's (503/500), and its SQL is never a user's message
        elif isinstance(exc, SpiffWorkflowException):
            err = EngineError(f"流程执行出错：{exc}")
        else:  # a bug, not the diagram's fault: the detail goes to the log only
            log.exception("engine step failed on instance %s", self.instance.id if self.instance else None)
            err = EngineError(f"流程执行出错，已回滚（{type(exc).__name__}），请联系系统管理员",
                              detail=f"{type(exc).__name__}: {exc}"[:500])
        if isinstance(err, limits.StepAborted) and not err.incident_deferred:
            self.record_incident(err)
        return err

    def record_incident(self, err):
        """The incident of a step stopped by a limit, written once the caller's transaction has ended."""
        step = err.step or self
        log.warning("step stopped on instance %s: %s", step.instance.id if step.instance else None, err.message)
        incidents.defer(self.session, err, kind=err.kind, task=err.element, error=err.message,
                        instance_id=None if step.started or step.instance is None else step.instance.id,
                        definition_id=step.definition.id if step.definition is not None else None,
                        created_at=self.now or utcnow())


_LINKED = select(InstanceRecord.instance_id).where(
    InstanceRecord.instance_id == bindparam("instance_id"), InstanceRecord.record_type == bindparam("record_type"),
    InstanceRecord.record_id == bindparam("record_id"))


def _linked(session, key):
    """Whether the instance is already linked to the record (``key``: instance id, record type, record id): the
    identity map, else one prebuilt statement without loading an object (``session.get`` built a query each time).
    As ``session.get`` it autoflushes: a link added for an earlier change of the same record is then found."""
    if session.identity_map.get(identity_key(InstanceRecord, key)) is not None:
        return True
    return session.execute(_LINKED, dict(zip(("instance_id", "record_type", "record_id"), key))).first() is not None


def _spec_uses(workflow):
    """{"timer": any timer event, "external": any service task that waits for an external worker} in the
    workflow's specs (top and called). What a spec holds is found once per parsed spec (specs are cached by content
    hash: deployments.parsed); whether a topic has a handler is asked on every step."""
    timer, topics = False, set()
    for spec in (workflow.spec, *workflow.subprocess_specs.values()):
        found = getattr(spec, "_step_uses", None)
        if found is None:
            found = spec._step_uses = (
                any(isinstance(getattr(ts, "event_definition", None), timers.TimerEventDefinition)
                    or any(isinstance(d, timers.TimerEventDefinition) for d in getattr(
                        getattr(ts, "event_definition", None), "event_definitions", None) or ())
                    for ts in spec.task_specs.values()),
                frozenset(ts.topic for ts in spec.task_specs.values() if isinstance(ts, external.ExternalServiceTask)))
        timer, topics = timer or found[0], topics | found[1]
    return {"timer": timer, "external": any(external.waits_for_worker(t) for t in topics)}


def _reraise(err, exc):
    if err is exc:
        raise err
    raise err from exc


def _cause(exc):
    """Our own error that SpiffWorkflow wrapped (a DomainError, an ExpressionError, a database failure), if any."""
    seen, hops = exc, 0
    while seen is not None and hops < 50:
        if isinstance(seen, (DomainError, expressions.ExpressionError, SQLAlchemyError)):
            return seen
        seen, hops = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__, hops + 1
    return None


def _snapshot(workflow):
    """The instance's current data: that of its most recently changed active task (or the last one run); a
    refusal inside a called process (``error_code``/``error_message`` of its latest task) shows there too."""
    if workflow.is_completed():
        return workflow.data
    states = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    active, inner = [], []
    for t in workflow.get_tasks(state=states):  # one walk (of a tree compaction keeps bounded)
        (active if t.workflow is workflow else inner).append(t)
    task = max(active, key=lambda t: t.last_state_change) if active else workflow.last_task
    data = dict(task.data) if task is not None else {}
    if inner:
        latest = max(inner, key=lambda t: t.last_state_change)
        for key in ("error_code", "error_message"):
            data.pop(key, None)
            if latest.data.get(key):
                data[key] = latest.data[key]
    return data


def _lock_instance(session, instance_id):
    instance = session.get(ProcessInstance, instance_id, with_for_update=True, populate_existing=True)
    if instance is None:
        raise NotFound("流程实例", instance_id)
    return instance


def load(step, instance):
    step.instance = instance
    pinned = instance.subprocess_definitions or {}
    step.definitions = deployments.preload(step.session, [instance.definition_id, *pinned.values()])  # one query
    step.definition = step.session.get(ProcessDefinition, instance.definition_id)
    spec, subspecs = deployments.specs_for(step.session, step.definition, pinned)
    step.workflow = serializer.loads(instance.workflow, spec, subspecs, step.engine())
    return step.workflow


def _start_event(spec):
    """The none start event of ``spec`` (found once per parsed spec: specs are cached by content hash)."""
    if "_none_start" not in spec.__dict__:
        spec._none_start = next((ts for ts in spec.task_specs.values() if type(ts).__name__ == "StartEvent"
                                 and type(getattr(ts, "event_definition", None)).__name__ == "NoneEventDefinition"),
                                None)
    return spec._none_start


def _validate(session, form_key, data, context=None):
    if not form_key:
        return {k: v for k, v in (data or {}).items() if k not in RESERVED}
    form = deployments.latest_form(session, form_key)
    if form is None:
        raise EngineError(f"表单 {form_key} 未部署", "FORM_MISSING")
    try:
        return forms.validate_data(form.schema, data or {}, cache_key=form.content_hash, context=context)
    except ValidationError as exc:
        raise InputError(exc.messages) from exc


class InputError(DomainError):
    """Task or start data refused by its form: {field: [中文 message]}."""

    def __init__(self, errors):
        super().__init__("INVALID_INPUT", "提交的数据有误，请检查标红的字段", status=400)
        self.errors = errors


def _unit_of_record(session, data):
    """Users without a home unit (agencies) act for the unit of the record they start on."""
    for key in RECORD_KEYS:
        model = RECORDS.get(key[:-3])
        value = parse_id((data or {}).get(key) if isinstance(data, dict) else None)
        if model is not None and value is not None:
            record = session.get(model, value)
            return record.unit_id if record is not None else None
    return None


def start_instance(session, user, key, data=None, business_key=None, unit_id=None, now=None, timer_start=None,
                   definition=None):
    """Start the latest version of ``key`` (or ``definition``, one version of it, e.g. from Camunda Modeler).
    ``user`` None with ``timer_start`` = a timer start event fired."""
    definition = definition if definition is not None and definition.key == key else deployments.latest(session, key)
    if definition is None:
        raise NotFound("流程", key)
    if user is not None:
        if not deployments.can_start(definition, user):
            if not deployments.parsed(definition).startable:
                raise DomainError("FORBIDDEN", f"“{definition.name}”只能由其他流程调用（camunda:isStartableInTasklist="
                                               f"false），不能直接发起 / only called by other processes", status=403)
            raise DomainError("FORBIDDEN", f"您的角色不能发起“{definition.name}”", status=403)
        unit_id = unit_id if unit_id is not None else (user.unit_id or _unit_of_record(session, data))
        if unit_id is None or not can_see_unit(session, user, unit_id):
            raise DomainError("FORBIDDEN", "不能以该单位的名义发起流程", status=403)
    start = _start_event(deployments.parsed(definition).spec)
    values = _validate(session, (start.extensions or {}).get("form_key") if start and not timer_start else None, data,
                       context={})
    pinned = deployments.resolve_called(session, definition)
    spec, subspecs = deployments.specs_for(session, definition, pinned)  # by content hash: no called version read

    step = Step(session, user, now)
    step.started = True
    instance = ProcessInstance(definition_id=definition.id, subprocess_definitions=pinned, key=key,
                               business_key=business_key, unit_id=unit_id, status="running",
                               started_by=user.id if user else None, started_at=now, workflow=b"", data={})
    session.add(instance)
    session.flush([instance])  # its id, for its rows; what earlier starts of a batch left pending waits (BATCHED_STARTS)
    step.instance, step.definition = instance, definition
    step.workflow = serializer.new_workflow(spec, subspecs, step.engine())
    initial = {**values, "initiator": user.username if user else SYSTEM, "unit_id": unit_id}
    initial.update(initiator_variable(spec, initial["initiator"]))
    if business_key:
        initial["business_key"] = business_key

    def begin():
        for task in step.workflow.get_tasks(state=TaskState.READY):
            task.data.update(initial)
        _choose_start_event(step.workflow, timer_start, now)
    step.event("instance_started", data={"definition": f"{key}:{definition.version}", "data": values,
                                         "business_key": business_key, "timer_start": timer_start})
    step.run(begin)
    step.save()
    return instance


def initiator_variable(spec, initiator):
    """``camunda:initiator="starter"`` on the none start event: {starter: who started it} (Camunda 7)."""
    start = _start_event(spec)
    name = (start.extensions or {}).get("initiator") if start is not None else None
    return {name: initiator} if name and name.isidentifier() and name not in RESERVED else {}


def _choose_start_event(workflow, timer_start, now):
    """Only one start event starts an instance: the none start (API/UI) or the timer that fired."""
    workflow.task_tree.run()
    starts = workflow.get_tasks(spec_class=StartEventSpec)
    by_person = any(type(t.task_spec.event_definition).__name__ == "NoneEventDefinition" for t in starts)
    message_start = None
    for task in starts:
        definition = task.task_spec.event_definition
        timer = isinstance(definition, timers.TimerEventDefinition)
        if timer and task.task_spec.bpmn_id == timer_start:
            timers.trigger_start_event(task, now)
        elif timer or timer_start:
            task.cancel()
        elif not by_person and isinstance(definition, MessageEventDefinition):
            if message_start is None:  # Camunda 7 starts a message-start-only process over REST by its message
                message_start = definition.name
            else:
                task.cancel()
    if message_start is not None:
        workflow.catch(BpmnEvent(MessageEventDefinition(message_start), {"payload": {}, "result_var": None}))


def _open_task(session, user, task_id):
    """The task row and its instance, locked; 404 if the caller may not see it. SQLite's BEGIN IMMEDIATE kept other
    writers out since the transaction began: one statement locks nothing more and reads it all. On PostgreSQL a
    writer that held the lock may have changed the tasks, so they are read after the lock. Read along: the
    starter's name (for the reply), whether 加签 signers are pending (``_check_actor``) and the instance's open
    tasks (``sync_task_list``)."""
    task_id = str(task_id)
    queries = _open_task_queries()
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(queries["sqlite"], {"task_id": task_id}).all()
        instance, starter = found[0][:2] if found else (None, None)
        tasks = [found_row[2:] for found_row in found]
    else:
        instance, starter = session.execute(queries["lock"], {"task_id": task_id}).first() or (None, None)
        tasks = session.execute(queries["tasks"], {"task_id": task_id, "instance_id": instance.id}).all() \
            if instance is not None else []
    row, pending = next(((task, flag) for task, flag in tasks if task.id == task_id), (None, None))
    if row is None or not (can_see_task(session, user, row) or admin_holds(user, row)):
        raise NotFound("任务", task_id)
    session.info.setdefault("usernames", {})[instance.started_by] = starter  # api/instances.py: username
    remember(session, "no_signers", None if pending else row.id)
    remember(session, ("open_tasks", instance.id), [task for task, _ in tasks if task.status == "open"])
    return row, instance


@cache
def _open_task_queries():
    """``_open_task``'s statements, built once with their parameters bound at execution: a statement object keeps
    its cache key, so a completion skips building them and their keys (the hottest statements of a step).
    "sqlite": instance + starter + task rows in one; "lock" then "tasks" elsewhere."""
    task_id = bindparam("task_id")
    signing = signers.any_pending().label("signing")
    wanted = or_(HumanTask.id == task_id, HumanTask.status == "open")
    lock = (select(ProcessInstance, User.username).outerjoin(User, User.id == ProcessInstance.started_by)
            .where(ProcessInstance.id == select(HumanTask.instance_id).where(HumanTask.id == task_id)
                   .scalar_subquery())
            .with_for_update(of=ProcessInstance).execution_options(populate_existing=True))
    return {"sqlite": lock.add_columns(HumanTask, signing)
            .join(HumanTask, HumanTask.instance_id == ProcessInstance.id).where(wanted),
            "lock": lock,
            "tasks": select(HumanTask, signing).where(HumanTask.instance_id == bindparam("instance_id"), wanted)
            .execution_options(populate_existing=True)}


def _check_actor(session, user, row):
    if row.status != "open":
        raise DomainError("TASK_CLOSED", "该任务已被处理，请刷新待办列表", status=409)
    if not can_act(session, user, row):
        raise DomainError("FORBIDDEN", "您没有处理该任务的权限（角色或单位不符）", status=403)
    if row.claimed_by and row.claimed_by != user.username:
        raise DomainError("TASK_CLAIMED", f"该任务已被 {row.claimed_by} 签收", status=409)
    if row.delegation_state == "pending":  # Camunda 7: a delegated task is resolved, not completed
        raise DomainError("DELEGATED", "该任务为委派办理，请点击“归还”交回委派人，由其决定", status=409)
    # 加签 not yet answered (``_open_task`` found whether any are pending, under the lock)
    waiting = signers.blocking(session, row, known_none=recall(session, "no_signers") == row.id)
    if waiting:
        raise DomainError("SIGNERS_PENDING", waiting, status=409)


def complete_task(session, user, task_id, data, now):
    row, instance = _open_task(session, user, task_id)
    _check_actor(session, user, row)
    values = _validate(session, row.form_key, data, context=dict(instance.data or {}))
    return finish_task(session, user, row, instance, values, now)


def finish_task(session, user, row, instance, values, now):
    """Complete ``row`` (locked, checked) with validated ``values`` as ``user``: also how a 后加签 round that
    approved completes the holder's decision (engine/signers.py)."""
    task_id = row.id
    step = Step(session, user, now)
    workflow = load(step, instance)
    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY:
        raise DomainError("TASK_CLOSED", "该任务已不可处理", status=409)

    def complete():
        task.data.update(values)
        row.status, row.completed_by, row.completed_at = "completed", user.username, now
        step.event("task_completed", task, {"data": values, "task_id": task_id, "ready": ready_user_tasks(workflow)})
        task.run()
    step.run(complete)
    step.save()
    from . import taskops  # 抄送 the diagram asks for (copyToGroups / copyToUsers on the user task)
    taskops.copy_from_diagram(session, user, row, task.task_spec, instance, now)
    return instance


def claim_task(session, user, task_id, now, release=False):
    row, instance = _open_task(session, user, task_id)
    if release:
        if row.claimed_by != user.username:
            raise DomainError("NOT_CLAIMED", "只能释放自己签收的任务", status=409)
        row.claimed_by = None
    else:
        _check_actor(session, user, row)
        row.claimed_by = user.username
    history.append(session, instance, "task_released" if release else "task_claimed", actor=user.username,
                   at=now, task=f"{row.bpmn_id}:{row.name}", data={"task_id": row.id})
    session.flush()
    return row


def cancel_instance(session, user, instance_id, reason, now, by_instance=None):
    """End a running instance: its open tasks and timers are cancelled; the history says why and by whom."""
    instance = _lock_instance(session, instance_id)
    if instance.status != "running":
        raise DomainError("NOT_RUNNING", f"流程实例 {instance_id} 已结束", status=409)
    step = Step(session, user, now)
    workflow = load(step, instance)
    step.run(workflow.cancel)
    instance.status, instance.ended_at = "cancelled", now
    step.event("instance_cancelled", data={"reason": reason, "by_instance": by_instance})
    step.save()
    return instance


def fire_timer(session, row, now):
    """A due timer event of an instance: refresh its timers at ``now``; ``timers.sync`` records the firing."""
    instance = _lock_instance(session, row.instance_id)
    if instance.status != "running":
        row.status = "cancelled"
        return instance
    step = Step(session, None, now)
    workflow = load(step, instance)
    step.run(workflow.refresh_timers)
    step.save()
    if row.status == "pending":  # the workflow did not take it (e.g. its task moved on meanwhile)
        row.status = "cancelled"
    return instance


def send_message(session, user, instance_id, name, data, now):
    """Deliver a BPMN message (e.g. 撤回) to an instance waiting for it."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not (user.is_auditor or can_see_instance(session, user, instance)):
        raise NotFound("流程实例", instance_id)
    if user.is_auditor:
        raise DomainError("FORBIDDEN", "审计角色只能查看", status=403)
    instance = _lock_instance(session, instance_id)
    values = {k: v for k, v in (data or {}).items() if k not in RESERVED}
    delivered = deliver_message(session, user, instance_id, name, values, now, check=_check_sender)
    if delivered is None:
        raise DomainError("NOT_WAITING", f"流程当前不接受“{name}”操作（可能已有人处理）", status=409)
    return delivered


def deliver_message(session, user, instance_id, name, values, now, by_instance=None, check=None):
    """Deliver message ``name`` if the instance waits for it (None if not); ``check`` may refuse the sender."""
    instance = _lock_instance(session, instance_id)
    if instance.status != "running":
        return None
    step = Step(session, user, now)
    workflow = load(step, instance)
    if name not in {message for message, _, _ in waiting_messages(workflow)}:
        return None
    if check is not None:
        check(session, user, instance, workflow, name)
    received = {"name": name, "data": values, "ready": ready_user_tasks(workflow)}
    if by_instance is not None:
        received["by_instance"] = by_instance

    def deliver():
        step.event("message_received", data=received)
        # Camunda message events put the payload under `result_var`: here `<name>_data`, e.g. withdraw_data.
        workflow.catch(BpmnEvent(MessageEventDefinition(name), {"payload": values, "result_var": f"{name}_data"}))
    step.run(deliver)
    step.save()
    return instance


def waiting_messages(workflow):
    """[(message name, candidate groups, initiator)] for each message event the workflow waits for: who may send
    it is a member of the catching event's ``candidateGroups`` property, or the instance's initiator."""
    out = []
    for task in timers.waiting_events(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        # An event-based gateway waits for the message events after it (a MultipleEventDefinition of them).
        for inner in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(inner, MessageEventDefinition):
                groups = {g.strip() for g in (task.task_spec.extensions or {}).get("candidateGroups", "").split(",")
                          if g.strip()}
                out.append((inner.name, groups, task.data.get("initiator")))
    return out


def _check_sender(session, user, instance, workflow, name):
    for message, groups, initiator in waiting_messages(workflow):
        if message == name and (user.username == initiator or (groups & user.groups)):
            return
    raise DomainError("FORBIDDEN", f"您不能执行“{name}”操作", status=403)
