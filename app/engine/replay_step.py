"""The recorded answers a replay gives the script engine instead of handlers (``ReplayStep``), and how a replay
reports that it cannot follow the history (``Divergence``). Used by ``replay.Replayer``."""
import json
import random

from sqlalchemy import select

from ..models import DecisionDefinition, DomainError
from . import history

EFFECTS = {"service_task", "error_caught", "error_uncaught", "decision_evaluated"}


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

