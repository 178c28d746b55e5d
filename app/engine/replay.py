"""Replaying an instance from its history alone, in memory, to check that it reaches the stored state.

The replay starts the diagram version the instance was started on and feeds it, in order, what the
history recorded — never anything else:

- ``instance_started``: the validated start data, the initiator (the event's actor) and the unit;
- ``task_completed``: the data the user task was completed with (``data.data``);
- ``service_task`` / ``error_caught``: what each handler returned or which domain error it raised.
  Handlers are never called: the replay's script engine answers every service task with the next
  recorded outputs and refuses when the topic, the task or the inputs differ;
- ``message_received``: the message and its payload;
- ``external_task_completed`` / ``external_task_error``: what an external worker sent (variables; BPMN error code);
- ``timer_fired``: timers fire by SpiffWorkflow's own check, run at the recorded time of the step
  (``timers.step_clock``), so the same timers fire as in the live step; the event confirms it;
- ``migrated``: the same migration to the recorded version (``migration.apply``);
- ``instance_cancelled``: the same cancellation (``runtime.cancel_instance``);
- ``random_seed`` (hook, unused so far): ``data.seed`` seeds ``ReplayStep.rng``; a handler that
  needs randomness must draw from the step's ``rng`` and record the seed with this event.

After every event the replayed workflow is checked against what the history implies (the task a
user completed must be READY; a handler the history shows must be the next the engine calls; a
message must be awaited), and the READY user tasks are reported so a viewer can show where the
token stood. At the end the replayed workflow is compared with the instance's stored one: every
task by position, element, state and data, and the process data. Nothing is written: the caller
passes a read-only session (``audit.readonly_session``) and everything else happens in memory.
"""
import inspect
import json
import random
import zlib

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..models import DecisionDefinition, DomainError, ProcessDefinition
from . import archive, compaction, deployments, expressions, history, limits, runtime, serializer
from .script_engine import SafeScriptEngine
from .timers import step_clock


DRIVERS = {"instance_started", "task_completed", "message_received", "migrated", "instance_cancelled",
           "external_task_completed", "external_task_error", "task_returned", "task_recalled"}
EFFECTS = {"service_task", "error_caught", "error_uncaught", "decision_evaluated"}
# Who holds a task changed, not the token: the task must have been READY (issue 17's 转办, 委派/归还, 催办).
PASSIVE = {"task_claimed", "task_released", "task_reassigned", "task_delegated", "task_resolved", "task_urged",
           "task_signers_added", "task_signer_answered", "task_signer_removed"}
MAX_DIFFERENCES = 20
SAVE_TAIL = ("instance_completed", "timer_fired")  # recorded by the live save itself, after the step's other events


class Divergence(Exception):
    """The replay cannot follow the history any more: ``reason``, what the history expected, what happened."""

    def __init__(self, reason, expected=None, actual=None, seq=None):
        super().__init__(reason)
        self.reason, self.expected, self.actual, self.seq = reason, expected, actual, seq


def bpmn_id_of(label):
    """``review_task:审核`` → ``review_task``."""
    return (label or "").split(":", 1)[0] or None


def _label(task):
    spec = task.task_spec
    return f"{spec.bpmn_id}:{spec.bpmn_name or spec.bpmn_id}"


def ready_user_tasks(workflow):
    return runtime.ready_user_tasks(workflow)


def position(workflow):
    """Where the token stands on the top-level diagram: {completed, active, waiting, ready}: elements that
    ran, that hold the token (a call activity whose sub-process runs included), boundary/catch events
    listening, and the READY user tasks anywhere (inside called processes too)."""
    completed, active, waiting = set(), set(), set()
    for task in workflow.get_tasks(skip_subprocesses=True):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id or task.workflow is not workflow:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None) is not None:
            waiting.add(bpmn_id)
        elif task.state & (TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            active.add(bpmn_id)
    completed |= set(compaction.marks_of(workflow).get("completed", ()))
    return {"completed": sorted(completed), "active": sorted(active), "waiting": sorted(waiting - active),
            "ready": ready_user_tasks(workflow)}


class ReplayStep:
    """What the script engine calls back into during a replay: recorded answers instead of handlers."""

    def __init__(self, events, session=None):
        self.events = events
        self.session = session  # read-only: the recorded decision versions are evaluated again
        self.decisions = {}  # a dry run's changed decisions (key → DecisionDefinition), asked instead (binding latest)
        self.index = 0  # the next event not yet accounted for
        self.rng = random.Random(0)
        self.consumed = {}  # seq -> what the replay did for that effect

    def peek(self):
        return self.events[self.index] if self.index < len(self.events) else None

    def take(self):
        event = self.peek()
        self.index += 1
        return event

    def call_handler(self, task, topic, inputs):
        label = _label(task)
        actual = {"task": label, "topic": topic, "inputs": history.jsonable(inputs)}
        event = self.peek()
        if event is None or event.type not in EFFECTS or event.task != label:
            raise Divergence("重放执行了历史中没有的服务任务 / replay ran a service task the history does not show",
                             expected=_summary(event), actual=actual, seq=event.seq if event else None)
        if event.type == "error_caught":
            # The handler refused: raise the recorded domain error; the task routes it to its boundary event,
            # which calls record_error below and consumes the event.
            data = event.data or {}
            raise DomainError(data.get("code"), data.get("message"))
        data = event.data or {}
        if data.get("topic") != topic:
            raise Divergence("服务任务的 Topic 与历史不符 / topic differs", expected=_summary(event), actual=actual,
                             seq=event.seq)
        if data.get("inputs") != actual["inputs"]:
            raise Divergence("服务任务的输入与历史不符 / handler inputs differ", expected=_summary(event),
                             actual=actual, seq=event.seq)
        self.take()
        self.consumed[event.seq] = actual
        return json.loads(json.dumps(data.get("outputs") or {}))

    def evaluate_decision(self, task, spec):
        """A business rule task: the recorded decision version, evaluated again, must give the recorded result."""
        from . import dmn_task
        label = _label(task)
        event = self.peek()
        if event is None or event.type != "decision_evaluated" or event.task != label:
            raise Divergence("重放执行了历史中没有的决策 / replay evaluated a decision the history does not show",
                             expected=_summary(event), actual={"task": label, "decision": spec.decision_ref},
                             seq=event.seq if event else None)
        data = event.data or {}
        swapped = self.decisions.get(spec.decision_ref) if spec.binding == "latest" else None
        if swapped is not None:  # a dry run: does the new version decide as the recorded one did?
            again = dmn_task.evaluate(swapped, spec, task.data)
            if again["result"] != data.get("result"):
                raise Divergence("新版本的决策结果与历史不同 / the new decision version decides differently",
                                 expected=_summary(event), actual=again, seq=event.seq)
            self.take()
            self.consumed[event.seq] = again
            return again["result"]
        row = None
        if self.session is not None and data.get("decision") == spec.decision_ref:
            row = self.session.scalars(select(DecisionDefinition).where(
                DecisionDefinition.key == spec.decision_ref, DecisionDefinition.version == data.get("version"))).first()
        if row is None:
            raise Divergence("历史记录的决策版本不存在或与任务不符 / the recorded decision version is missing",
                             expected=_summary(event), actual={"task": label, "decision": spec.decision_ref},
                             seq=event.seq)
        again = dmn_task.evaluate(row, spec, task.data)
        if again != data:
            raise Divergence("决策结果与历史不符 / decision result differs", expected=_summary(event),
                             actual=again, seq=event.seq)
        self.take()
        self.consumed[event.seq] = again
        return again["result"]

    def record_uncaught_error(self, task, err):
        self.record_error(task, err, kind="error_uncaught")

    def record_error(self, task, err, kind="error_caught"):
        event = self.peek()
        label = _label(task)
        if event is None or event.type != kind or event.task != label \
                or (event.data or {}).get("code") != err.code:
            raise Divergence("重放中的业务错误与历史不符 / domain error differs", expected=_summary(event),
                             actual={"task": label, "code": err.code}, seq=event.seq if event else None)
        self.take()
        self.consumed[event.seq] = {"task": label, "code": err.code}


def _summary(event):
    if event is None:
        return {"event": "历史已结束 / end of history"}
    out = {"seq": event.seq, "type": event.type, "task": event.task}
    data = event.data or {}
    if event.type == "service_task":
        out.update(topic=data.get("topic"), inputs=data.get("inputs"), outputs=data.get("outputs"))
    elif event.type in ("error_caught", "error_uncaught"):
        out.update(code=data.get("code"))
    elif event.type == "decision_evaluated":
        out.update({k: data.get(k) for k in ("decision", "version", "inputs", "matched", "result")})
    return out


def _unwrap(exc):
    seen = exc
    while seen is not None:
        if isinstance(seen, Divergence):
            return seen
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return None


class Replayer:
    """One replay of one instance; ``run()`` returns the report."""

    def __init__(self, session, instance, events=None):
        self.session, self.instance = session, instance
        self.events = history.events(session, instance.id) if events is None else events
        self.step = ReplayStep(self.events, session)
        self.engine = SafeScriptEngine(self.step)
        self.workflow = None
        self.definition = None
        self.pins = {}
        self.spec = self.subspecs = None
        self.timer_tasks_seen = set()
        self.completed_seen = False
        self.cancelled = False
        self.steps = []
        self.archived = []  # what compaction took out of the replayed workflow, as the live steps archived it
        # Where the live steps compacted (after which history event): the replay compacts there and only there, so
        # thresholds changed since do not matter; the pieces are compared at the end (compare_state).
        self.compacted_at = archive.compacted_at(session, instance.id) if session is not None else set()

    # -- specs -----------------------------------------------------------------------
    def _load_specs(self, definition, pins):
        self.definition, self.pins = definition, dict(pins or {})
        self.spec, self.subspecs = deployments.specs_for(self.session, definition, self.pins)

    def _start_definition(self, event):
        key, _, version = str((event.data or {}).get("definition", "")).rpartition(":")
        definition = self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.key == key, ProcessDefinition.version == int(version))).first() \
            if version.isdigit() else None
        if definition is None:
            raise Divergence("历史记录的流程版本不存在 / the recorded definition does not exist",
                             expected={"definition": (event.data or {}).get("definition")}, seq=event.seq)
        pins = (event.data or {}).get("subprocesses")
        if pins is None:
            migrated = next((e for e in self.events if e.type == "migrated"), None)
            pins = ((migrated.data or {}).get("from") or {}).get("subprocesses") if migrated \
                else self.instance.subprocess_definitions
        return definition, pins or {}

    def _roundtrip(self):
        """What the live service does between steps: compact, save the workflow, load it again."""
        done = self.events[self.step.index - 1].seq if self.step.index else None
        self.archived.extend(serializer.compact(self.workflow, force=done in self.compacted_at))
        self.workflow = serializer.loads(serializer.dumps(self.workflow), self.spec, self.subspecs, self.engine)
        self.workflow.script_engine = self.engine

    def _step_saved(self):
        """Where the live step saved (and compacted): after its last event. The events a save itself records
        (``instance_completed``, then ``timer_fired``) come after the step's other events, and the replay checks
        them on the tree before compacting it."""
        following = self.step.peek()
        if following is None or following.type not in SAVE_TAIL:
            self._roundtrip()

    # -- running -----------------------------------------------------------------------
    def _engine(self, event, action):
        """Run ``action`` and the engine at the step's recorded time, as ``runtime.Step.run`` does, within the same
        budget (a tampered history could steer a gateway into a loop the live step never ran)."""
        try:
            with limits.running(self.step), step_clock(event.at):
                action()
                self.workflow.do_engine_steps()
        except Divergence:
            raise
        except (SpiffWorkflowException, DomainError, expressions.ExpressionError, Exception) as exc:  # noqa: B014
            found = _unwrap(exc)
            if found is not None:
                raise found from exc
            raise Divergence(f"重放执行出错 / replay failed: {exc}", seq=event.seq) from exc

    def _find_ready(self, event):
        bpmn_id = bpmn_id_of(event.task)
        found = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.bpmn_id == bpmn_id]
        if not found:
            raise Divergence("历史中办理的任务在重放中未就绪 / the completed task is not ready in the replay",
                             expected={"ready": [bpmn_id]}, actual={"ready": ready_user_tasks(self.workflow)},
                             seq=event.seq)
        return found[0]

    def _start(self, event):
        definition, pins = self._start_definition(event)
        self._load_specs(definition, pins)
        data = event.data or {}
        self.workflow = serializer.new_workflow(self.spec, self.subspecs, self.engine)
        initial = {**(data.get("data") or {}), "initiator": event.actor or "system",
                   "unit_id": data["unit_id"] if "unit_id" in data else self.instance.unit_id}
        if data.get("business_key"):
            initial["business_key"] = data["business_key"]
        initial.update(getattr(runtime, "initiator_variable", lambda *_: {})(self.spec, initial["initiator"]))
        timer_start = data.get("timer_start")

        def begin():
            for task in self.workflow.get_tasks(state=TaskState.READY):
                task.data.update(initial)
            choose = getattr(runtime, "_choose_start_event", None)  # the same choice the live start made
            if choose is not None:
                args = (self.workflow, timer_start, event.at)
                choose(*args[:len(inspect.signature(choose).parameters)])
        self._engine(event, begin)

    def _complete(self, event):
        task = self._find_ready(event)
        values = (event.data or {}).get("data") or {}

        def complete():
            task.data.update(json.loads(json.dumps(values)))
            task.run()
        self._engine(event, complete)

    def _external(self, event):
        """A worker completed an external task or reported a BPMN error: the same, to the waiting task."""
        from .external import waiting_tasks
        bpmn_id = bpmn_id_of(event.task)
        waiting = [t for t in waiting_tasks(self.workflow).values() if t.task_spec.bpmn_id == bpmn_id]
        if not waiting:
            raise Divergence("历史中的外部任务在重放中不在等待 / the external task is not waiting in the replay",
                             expected={"external_task": bpmn_id}, actual=position(self.workflow), seq=event.seq)
        task, data = waiting[0], event.data or {}
        variables = json.loads(json.dumps(data.get("variables") or {}))
        if event.type == "external_task_completed":
            action = lambda: task.task_spec.complete_external(task, variables)  # noqa: E731
        else:
            action = lambda: task.task_spec.throw_external_error(  # noqa: E731
                task, data.get("code"), data.get("message"), variables)
        self._engine(event, action)

    def _message(self, event):
        data = event.data or {}
        name = data.get("name")
        waiting = [message for message, _, _ in runtime.waiting_messages(self.workflow) if message == name]
        if not waiting:
            raise Divergence("历史中的消息在重放中没有等待者 / nothing waits for the message in the replay",
                             expected={"message": name}, actual={"waiting": sorted(
                                 t.name for t in self.workflow.waiting_events() if t.name)}, seq=event.seq)
        values = json.loads(json.dumps(data.get("data") or {}))
        self._engine(event, lambda: self.workflow.catch(BpmnEvent(
            MessageEventDefinition(name), {"payload": values, "result_var": f"{name}_data"})))

    def _migrate(self, event):
        from . import migration
        data = event.data or {}
        source, target = data.get("from") or {}, data.get("to") or {}
        if source.get("definition_id") not in (None, self.definition.id):
            raise Divergence("迁移前的版本与重放不符 / migration source differs",
                             expected={"definition_id": source.get("definition_id")},
                             actual={"definition_id": self.definition.id}, seq=event.seq)
        definition = self.session.get(ProcessDefinition, target.get("definition_id"))
        if definition is None:
            raise Divergence("迁移目标版本不存在 / migration target missing", expected=target, seq=event.seq)
        pins = target.get("subprocesses") or {}
        spec, subspecs = deployments.specs_for(self.session, definition, pins)
        plan = migration.diff(self.workflow, spec, subspecs)
        if plan["blocking"]:
            raise Divergence("重放中该迁移不安全 / migration unsafe in the replay", expected=target,
                             actual={"blocking": plan["blocking"]}, seq=event.seq)
        self.definition, self.pins, self.spec, self.subspecs = definition, dict(pins), spec, subspecs
        self._engine(event, lambda: migration.apply(self.workflow, plan))

    def _timer_step(self, event):
        """A step that began with timers firing (the scheduler): refresh them at the step's time."""
        self._engine(event, self.workflow.refresh_timers)

    def _fired_timer(self, bpmn_id):
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            if getattr(task.task_spec, "bpmn_id", None) == bpmn_id and task.id not in self.timer_tasks_seen \
                    and _is_timer(task):
                return task
        return None

    def _check_timer(self, event):
        bpmn_id = (event.data or {}).get("bpmn_id") or bpmn_id_of(event.task)
        task = self._fired_timer(bpmn_id)
        if task is None:
            self._timer_step(event)
            task = self._fired_timer(bpmn_id)
        if task is None:
            raise Divergence("历史中触发的定时器在重放中未触发 / the timer did not fire in the replay",
                             expected={"timer": bpmn_id}, actual=position(self.workflow), seq=event.seq)
        self.timer_tasks_seen.add(task.id)

    # -- the report ---------------------------------------------------------------------
    def _record(self, event, ok, expected=None, actual=None, reason=None):
        entry = {"seq": event.seq, "type": event.type, "task": event.task, "actor": event.actor,
                 "at": event.at.isoformat() if event.at else None, "ok": ok,
                 "expected": expected, "actual": actual}
        if reason:
            entry["reason"] = reason
        if self.workflow is not None:
            entry["position"] = position(self.workflow)
        self.steps.append(entry)
        return entry

    def _check_ready_before(self, event):
        """Steps recorded since ``ready`` was added carry the READY user tasks the live step began with: the
        state after the previous event, which the replay must have reached too."""
        before = ready_user_tasks(self.workflow)
        recorded = (event.data or {}).get("ready")
        if recorded is not None and sorted(recorded) != before:
            raise Divergence("该步骤开始时的待办与历史不符 / READY tasks differ from the history",
                             expected={"ready": sorted(recorded)}, actual={"ready": before}, seq=event.seq)
        return before

    def _handle(self, event):
        """Replay one event the engine has not already accounted for; returns (expected, actual)."""
        kind = event.type
        if self.workflow is None and kind != "instance_started":
            raise Divergence("历史不是以发起流程开始 / history does not begin with instance_started",
                             expected={"type": "instance_started"}, actual={"type": kind}, seq=event.seq)
        if kind == "instance_started":
            if self.workflow is not None:
                raise Divergence("流程被重复发起 / started twice", seq=event.seq)
            self._start(event)
            return {"definition": (event.data or {}).get("definition")}, {"ready": ready_user_tasks(self.workflow)}
        if kind == "task_completed":
            before = self._check_ready_before(event)
            recorded = (event.data or {}).get("ready")
            self._complete(event)
            return ({"task": bpmn_id_of(event.task), "ready_before": sorted(recorded) if recorded else None},
                    {"ready_before": before, "ready": ready_user_tasks(self.workflow)})
        if kind == "message_received":
            self._check_ready_before(event)
            self._message(event)
            return {"message": (event.data or {}).get("name")}, {"ready": ready_user_tasks(self.workflow)}
        if kind in ("external_task_completed", "external_task_error"):
            self._external(event)
            return {"external_task": bpmn_id_of(event.task)}, {"ready": ready_user_tasks(self.workflow)}
        if kind == "migrated":
            self._migrate(event)
            return {"to": (event.data or {}).get("to")}, {"definition_id": self.definition.id,
                                                           "ready": ready_user_tasks(self.workflow)}
        if kind == "timer_fired":
            self._check_timer(event)
            return {"timer": (event.data or {}).get("bpmn_id")}, {"ready": ready_user_tasks(self.workflow)}
        if kind == "instance_completed":
            if not self.workflow.is_completed():
                raise Divergence("历史记录流程已结束，重放中未结束 / history says completed, replay is not",
                                 expected={"completed": True}, actual={"completed": False,
                                                                       **position(self.workflow)}, seq=event.seq)
            self.completed_seen = True
            return {"completed": True}, {"completed": True}
        if kind == "instance_cancelled":
            # Ended by a person or by another instance (``runtime.cancel_instance``): the same cancellation.
            self._engine(event, self.workflow.cancel)
            self.cancelled = True
            data = event.data or {}
            return {"reason": data.get("reason"), "by_instance": data.get("by_instance")}, {"cancelled": True}
        if kind in ("task_returned", "task_recalled"):
            # 退回 / 撤回 (engine/going_back.py): the same reset to the same earlier task, found the same way.
            from . import going_back
            before = self._check_ready_before(event)
            target = going_back.replay_target(self.workflow, event)
            if target is None:
                raise Divergence("退回/撤回的目标步骤在重放中不在路径上 / the return target is not on the replayed path",
                                 expected={"target": (event.data or {}).get("target")},
                                 actual={"ready": before}, seq=event.seq)
            self._engine(event, lambda: going_back.reset(self.workflow, target))
            return {"target": (event.data or {}).get("target")}, {"ready": ready_user_tasks(self.workflow)}
        if kind in PASSIVE:
            bpmn_id = bpmn_id_of(event.task)
            ready = ready_user_tasks(self.workflow)
            if bpmn_id not in ready:
                raise Divergence("签收的任务在重放中未就绪 / the claimed task is not ready in the replay",
                                 expected={"ready": [bpmn_id]}, actual={"ready": ready}, seq=event.seq)
            return {"task": bpmn_id}, {"ready": ready}
        if kind == "random_seed":
            self.step.rng.seed((event.data or {}).get("seed"))
            return {"seed": (event.data or {}).get("seed")}, None
        return None, {"note": "该类事件不影响流程 / no engine effect"}

    def _effects_since(self, start):
        for event in self.events[start:self.step.index]:
            if event.type in EFFECTS:
                self._record(event, True, _summary(event), self.step.consumed.get(event.seq))

    def run(self):
        first = None
        current = None
        try:
            while self.step.index < len(self.events):
                current = self.step.peek()
                start = self.step.index
                if current.type in EFFECTS:
                    # No driver before it: a step the scheduler began by firing timers; it consumes the effects.
                    if self.workflow is None:
                        raise Divergence("历史不是以发起流程开始 / history does not begin with instance_started",
                                         expected={"type": "instance_started"}, actual={"type": current.type},
                                         seq=current.seq)
                    self._timer_step(current)
                    if self.step.index == start:
                        raise Divergence("历史中的服务任务在重放中没有执行 / the replay did not run this service task",
                                         expected=_summary(current),
                                         actual={"ready": ready_user_tasks(self.workflow)}, seq=current.seq)
                    self._effects_since(start)
                    self._step_saved()
                    continue
                self.step.take()
                expected, actual = self._handle(current)
                self._record(current, True, expected, actual)
                self._effects_since(start + 1)
                if current.type in DRIVERS or current.type in SAVE_TAIL:
                    self._step_saved()
        except Divergence as div:
            detail = next((e for e in self.events if e.seq == div.seq), None)
            event = current or detail
            first = {"seq": event.seq if event else None, "type": event.type if event else None,
                     "task": event.task if event else None, "reason": div.reason,
                     "expected": div.expected, "actual": div.actual}
            if detail is not None and event is not None and detail.seq != event.seq:
                first["at_event"] = _summary(detail)
            if event is not None:
                self._record(event, False, div.expected, div.actual, div.reason)
        state = self.compare_state() if first is None else {
            "ok": False, "reason": "重放在历史中途分歧，未比较存储状态 / replay diverged before the end", "differences": []}
        if first is None and not state["ok"]:
            first = {"seq": None, "type": "stored_state", "task": None, "reason": state["reason"],
                     "expected": None, "actual": state["differences"][:3]}
        return {"instance_id": self.instance.id, "ok": first is None, "events": len(self.events),
                "steps": self.steps, "first_divergence": first, "state": state,
                "final": position(self.workflow) if self.workflow is not None else None}

    # -- the stored state -------------------------------------------------------------------
    def compare_state(self):
        """The replayed workflow against the instance's stored blob: tasks by position, state, data."""
        if self.workflow is None:
            return {"ok": False, "reason": "历史为空 / no history", "differences": []}
        if self.workflow.is_completed() and not self.completed_seen and not self.cancelled:
            return {"ok": False, "reason": "重放已结束，但历史缺少“流程结束”事件（事件被删除？）/ history lacks "
                                           "instance_completed", "differences": []}
        try:
            stored = json.loads(zlib.decompress(self.instance.workflow))
        except Exception as exc:  # noqa: BLE001 - a damaged blob is exactly what this reports
            return {"ok": False, "reason": f"存储的流程状态无法读取 / stored workflow unreadable: {exc}",
                    "differences": []}
        replayed = json.loads(zlib.decompress(serializer.dumps(self.workflow)))
        differences = []
        _diff(canonical(stored), canonical(replayed), differences)
        if len(differences) < MAX_DIFFERENCES:
            _diff(archived_rows(archive.pieces(self.session, self.instance.id)), archived_rows(
                [(kind, element, json.loads(json.dumps(body, default=str))) for kind, element, body in self.archived]),
                differences)
        if self.instance.definition_id != self.definition.id:
            differences.insert(0, {"path": "definition_id", "stored": self.instance.definition_id,
                                   "replayed": self.definition.id})
        status = "cancelled" if self.cancelled else "completed" if self.workflow.is_completed() else "running"
        if self.instance.status != status:
            differences.insert(0, {"path": "status", "stored": self.instance.status, "replayed": status})
        if differences:
            return {"ok": False, "reason": "存储的流程状态与历史重放结果不符 / stored workflow differs from the "
                                           "replayed history", "differences": differences[:MAX_DIFFERENCES]}
        return {"ok": True, "reason": None, "differences": []}


def _is_timer(task):
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def canonical(dct, scope=""):
    """A serialized workflow as rows in tree order, without what differs between two runs of the same
    history (task ids, wall-clock times, timers' internal bookkeeping): [{where, element, state, data}]."""
    tasks, subprocesses = dct.get("tasks", {}), dct.get("subprocesses", {})
    rows = [{"where": scope or "/", "element": "(process data)", "state": None, "data": dct.get("data", {})}]
    if dct.get("compacted_marks"):
        rows.append({"where": scope or "/", "element": "(compacted marks)", "state": None,
                     "data": {"marks": sorted(dct["compacted_marks"].values(), key=json.dumps)}})
    stack = [dct.get("root")] if dct.get("root") in tasks else []
    while stack:
        task_id = stack.pop()
        task = tasks[task_id]
        rows.append({"where": scope or "/", "element": task["task_spec"], "state": TaskState.get_name(task["state"]),
                     "data": task["data"]})
        if task_id in subprocesses:
            rows.extend(canonical(subprocesses[task_id], f"{scope}/{task['task_spec']}"))
        stack.extend(reversed([child for child in task["children"] if child in tasks]))
    return rows


def archived_rows(pieces):
    """The archive (engine/archive.py) as canonical rows, in order, without task ids and times."""
    rows = []
    for index, (kind, element, body) in enumerate(pieces):
        where = f"(archive {index + 1}: {kind} {element or ''})".replace(" )", ")")
        if kind == "subprocess":
            workflows = body.get("workflows", {})
            run = workflows.get(body.get("run"), {})
            rows.extend(canonical({**run, "subprocesses": workflows}, where))
            rows.append({"where": where, "element": "(compacted marks)", "state": None,
                         "data": {"marks": sorted((body.get("marks") or {}).values(), key=json.dumps)}})
        else:
            rows.extend({"where": where, "element": task.get("task_spec"), "state": TaskState.get_name(task["state"]),
                         "data": task.get("data")} for task in body.get("tasks", []))
    return rows


def _diff(stored, replayed, out):
    """Row by row; the first rows that differ name the element and the field."""
    for index, (a, b) in enumerate(zip(stored, replayed)):
        if len(out) >= MAX_DIFFERENCES:
            return
        if (a["where"], a["element"]) != (b["where"], b["element"]):
            out.append({"index": index, "where": a["where"], "element": a["element"], "field": "element",
                        "stored": a["element"], "replayed": b["element"]})
            return  # the trees part here; later rows would all differ
        for field in ("state", "data"):
            if a[field] != b[field]:
                entry = {"index": index, "where": a["where"], "element": a["element"], "field": field}
                if field == "data":
                    keys = sorted(k for k in set(a["data"]) | set(b["data"]) if a["data"].get(k) != b["data"].get(k))
                    entry.update(keys=keys, stored={k: a["data"].get(k) for k in keys},
                                 replayed={k: b["data"].get(k) for k in keys})
                else:
                    entry.update(stored=a[field], replayed=b[field])
                out.append(entry)
    if len(stored) != len(replayed) and len(out) < MAX_DIFFERENCES:
        out.append({"index": min(len(stored), len(replayed)), "field": "tasks", "stored": len(stored),
                    "replayed": len(replayed)})


def replay(session, instance):
    """Replay ``instance`` from its history; see the module docstring. Reads only."""
    return Replayer(session, instance).run()
