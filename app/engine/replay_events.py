"""How a replay re-applies each kind of history event to the workflow (``EventHandlers``, mixed into
``replay.Replayer``): the same engine calls the live step made, checked against what the history recorded."""
import inspect
import json

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from ..models import ProcessDefinition
from . import deployments, runtime, serializer
from .replay_step import Divergence, bpmn_id_of

# Who holds a task changed, not the token: the task must have been READY (issue 17's 转办, 委派/归还, 催办).
PASSIVE = {"task_claimed", "task_released", "task_reassigned", "task_delegated", "task_resolved", "task_urged",
           "task_signers_added", "task_signer_answered", "task_signer_removed"}


class EventHandlers:
    """The event handlers of ``Replayer`` (which provides ``_engine``, ``ready``, ``position`` and the state)."""

    def _find_ready(self, event):
        bpmn_id = bpmn_id_of(event.task)
        found = [] if self.roundtrip or self.ready().count(bpmn_id) != 1 else [
            t for wf in (self.workflow, *(sp for sp in self.workflow.subprocesses.values() if not sp.completed))
            for t in wf.tasks.values() if t.state == TaskState.READY and t.task_spec.manual
            and t.task_spec.bpmn_id == bpmn_id]
        if len(found) != 1:  # none, or several READY (tree order picks which): walk the tree as before
            found = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                     if t.task_spec.bpmn_id == bpmn_id]
        if not found:
            raise Divergence("历史中办理的任务在重放中未就绪 / the completed task is not ready in the replay",
                             expected={"ready": [bpmn_id]}, actual={"ready": self.ready()},
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
                             expected={"external_task": bpmn_id}, actual=self.position(), seq=event.seq)
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
                             expected={"timer": bpmn_id}, actual=self.position(), seq=event.seq)
        self.timer_tasks_seen.add(task.id)


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
            return {"definition": (event.data or {}).get("definition")}, {"ready": self.ready()}
        if kind == "task_completed":
            before = self._check_ready_before(event)
            recorded = (event.data or {}).get("ready")
            self._complete(event)
            return ({"task": bpmn_id_of(event.task), "ready_before": sorted(recorded) if recorded else None},
                    {"ready_before": before, "ready": self.ready()})
        if kind == "message_received":
            self._check_ready_before(event)
            self._message(event)
            return {"message": (event.data or {}).get("name")}, {"ready": self.ready()}
        if kind in ("external_task_completed", "external_task_error"):
            self._external(event)
            return {"external_task": bpmn_id_of(event.task)}, {"ready": self.ready()}
        if kind == "migrated":
            self._migrate(event)
            return {"to": (event.data or {}).get("to")}, {"definition_id": self.definition.id,
                                                           "ready": self.ready()}
        if kind == "timer_fired":
            self._check_timer(event)
            return {"timer": (event.data or {}).get("bpmn_id")}, {"ready": self.ready()}
        if kind == "instance_completed":
            if not self.workflow.is_completed():
                raise Divergence("历史记录流程已结束，重放中未结束 / history says completed, replay is not",
                                 expected={"completed": True}, actual={"completed": False,
                                                                       **self.position()}, seq=event.seq)
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
            return {"target": (event.data or {}).get("target")}, {"ready": self.ready()}
        if kind in PASSIVE:
            bpmn_id = bpmn_id_of(event.task)
            ready = self.ready()
            if bpmn_id not in ready:
                raise Divergence("签收的任务在重放中未就绪 / the claimed task is not ready in the replay",
                                 expected={"ready": [bpmn_id]}, actual={"ready": ready}, seq=event.seq)
            return {"task": bpmn_id}, {"ready": ready}
        if kind == "random_seed":
            self.step.rng.seed((event.data or {}).get("seed"))
            return {"seed": (event.data or {}).get("seed")}, None
        return None, {"note": "该类事件不影响流程 / no engine effect"}


def _is_timer(task):
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)

