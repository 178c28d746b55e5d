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
import json
import zlib

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select

from ..models import DomainError, ProcessDefinition
from . import archive, deployments, expressions, history, limits, serializer
from .replay_events import PASSIVE, EventHandlers
from .replay_state import MAX_DIFFERENCES, _diff, archived_rows, canonical, position, scan
from .replay_step import EFFECTS, Divergence, ReplayStep, _summary, _unwrap, bpmn_id_of
from .script_engine import SafeScriptEngine
from .timers import step_clock

__all__ = ["PASSIVE", "Divergence", "Replayer", "ReplayStep", "bpmn_id_of", "canonical", "archived_rows", "position",
           "scan", "replay"]

DRIVERS = {"instance_started", "task_completed", "message_received", "migrated", "instance_cancelled",
           "external_task_completed", "external_task_error", "task_returned", "task_recalled"}
SAVE_TAIL = ("instance_completed", "timer_fired")  # recorded by the live save itself, after the step's other events


class Replayer(EventHandlers):
    """One replay of one instance; ``run()`` returns the report."""

    def __init__(self, session, instance, events=None, roundtrip=False):
        self.session, self.instance = session, instance
        # roundtrip: save and load the workflow after every step as the live service does, and find tasks by
        # tree walks — the replay as it was before issue 16 (quadratic); kept to test the linear one against.
        self.roundtrip = roundtrip
        self._view = None  # position() of the workflow as it stands; dropped whenever the engine runs
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
        self.final_state = None
        self.archived_before = 0  # archive pieces made before the checkpoint this replay resumed from

    # -- checkpoints (engine/checkpoints.py) ---------------------------------------------------
    def context(self):
        """What besides the workflow a replay carries from event to event, JSON-able, to resume from."""
        version, internal, gauss = self.step.rng.getstate()
        return {"definition_id": self.definition.id, "pins": self.pins,
                "timers_seen": sorted(str(t) for t in self.timer_tasks_seen), "completed_seen": self.completed_seen,
                "cancelled": self.cancelled, "rng": [version, list(internal), gauss],
                # pieces the replay has archived so far (engine-state compaction): a resumed replay compares only
                # the stored archive's pieces after these
                "archived": self.archived_before + len(getattr(self, "archived", ()))}

    def resume(self, seq, state, context):
        """Continue after event ``seq`` from a checkpoint's workflow ``state`` and ``context`` (see ``context``)."""
        import uuid
        self._load_specs(self.session.get(ProcessDefinition, context["definition_id"]), context.get("pins"))
        self.workflow = serializer.loads(state, self.spec, self.subspecs, self.engine)
        self.workflow.script_engine = self.engine
        self.timer_tasks_seen = {uuid.UUID(t) for t in context.get("timers_seen") or ()}
        self.completed_seen, self.cancelled = bool(context.get("completed_seen")), bool(context.get("cancelled"))
        version, internal, gauss = context["rng"]
        self.step.rng.setstate((version, tuple(internal), gauss))
        self.step.index = next((i for i, e in enumerate(self.events) if e.seq > seq), len(self.events))
        self.archived_before = int(context.get("archived") or 0)
        return self

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
        """Where the live service compacts and saves the workflow between steps. The replay compacts exactly where
        the live steps did; the linear replay then keeps the workflow in memory (a save/load round trip changes
        nothing the comparison sees: tests/test_replay_linear.py holds both ways to the same reports);
        ``roundtrip=True`` does save and load it, as before."""
        done = self.events[self.step.index - 1].seq if self.step.index else None
        pieces = serializer.compact(self.workflow, force=done in self.compacted_at)
        if pieces:
            self._view = None
            self.archived.extend(pieces)
        if self.roundtrip:
            self._view = None
            self.workflow = serializer.loads(serializer.dumps(self.workflow), self.spec, self.subspecs, self.engine)
            self.workflow.script_engine = self.engine

    def position(self):
        """Where the token stands now (see ``position``), computed once per state."""
        if self.roundtrip:
            return position(self.workflow)
        if self._view is None:
            self._view = scan(self.workflow)
        return self._view

    def ready(self):
        return list(self.position()["ready"])

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
        self._view = None
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

    # -- the report ---------------------------------------------------------------------
    def _record(self, event, ok, expected=None, actual=None, reason=None):
        entry = {"seq": event.seq, "type": event.type, "task": event.task, "actor": event.actor,
                 "at": event.at.isoformat() if event.at else None, "ok": ok,
                 "expected": expected, "actual": actual}
        if reason:
            entry["reason"] = reason
        if self.workflow is not None:
            entry["position"] = self.position()
        self.steps.append(entry)
        return entry

    def _check_ready_before(self, event):
        """Steps recorded since ``ready`` was added carry the READY user tasks the live step began with: the
        state after the previous event, which the replay must have reached too."""
        before = self.ready()
        recorded = (event.data or {}).get("ready")
        if recorded is not None and sorted(recorded) != before:
            raise Divergence("该步骤开始时的待办与历史不符 / READY tasks differ from the history",
                             expected={"ready": sorted(recorded)}, actual={"ready": before}, seq=event.seq)
        return before

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
                                         actual={"ready": self.ready()}, seq=current.seq)
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
                "final": self.position() if self.workflow is not None else None}

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
        self.final_state = serializer.dumps(self.workflow)  # a checkpoint keeps it (engine/checkpoints.py)
        replayed = json.loads(zlib.decompress(self.final_state))
        differences = []
        _diff(canonical(stored), canonical(replayed), differences)
        if len(differences) < MAX_DIFFERENCES:
            # a replay resumed from a checkpoint made only the pieces archived after it
            _diff(archived_rows(archive.pieces(self.session, self.instance.id, self.archived_before)), archived_rows(
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



def replay(session, instance, roundtrip=False, events=None):
    """Replay ``instance`` from its history (``events``: its rows, if already loaded); see the module docstring.
    Reads only."""
    return Replayer(session, instance, events=events, roundtrip=roundtrip).run()

