"""BPMN timers with the ``timer`` table as the truth and an injectable clock.

SpiffWorkflow decides whether a timer is due by calling ``datetime.now`` in its timer module;
that name is routed through ``step_clock`` so every step sees the time of the step (tests move
it, they never sleep). After each step the table is brought in line with the workflow's waiting
timer events. The scheduler (``scheduler.py``) only claims due rows and fires them, each in one
transaction with the workflow step and its history, so a timer fires exactly once.
"""
import calendar
import contextvars
import logging
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition, DurationTimerEventDefinition,
                                                              TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..models import Incident, Timer
from . import expressions, limits

log = logging.getLogger(__name__)
_now = contextvars.ContextVar("step_now", default=None)


class _StepDatetime(datetime):
    """``datetime`` whose ``now()`` is the running step's time when one is set."""

    @classmethod
    def now(cls, tz=None):
        current = _now.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


spiff_timer.datetime = _StepDatetime


class step_clock:
    """``with step_clock(now):`` — SpiffWorkflow's timers see ``now`` inside the block."""

    def __init__(self, now):
        self.now = now

    def __enter__(self):
        self.token = _now.set(self.now)

    def __exit__(self, *exc):
        _now.reset(self.token)


def _is_timer(task):
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _is_start_event(task):
    return type(task.task_spec).__name__ == "StartEvent"


def _due(task):
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # cycle: {'cycles', 'next', 'duration'}
        value = value.get("next") if value.get("cycles") != 0 else None
    if value is None:
        return None
    due = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else value
    if due.tzinfo is None:
        due = due.replace(tzinfo=timezone.utc)
    return due.astimezone(timezone.utc)


def _check_cycle(task):
    """A cycle of a waiting timer event (its period evaluated at run time, or deployed before the minimum
    existed) is never scheduled shorter than the minimum: a zero period would fire on every tick forever."""
    value = task._get_internal_data("event_value")
    if isinstance(value, dict) and value.get("cycles") != 0:
        seconds = value.get("duration")
        if not isinstance(seconds, (int, float)) or seconds < limits.current.timer_min_seconds:
            raise TimerPeriodError(task.task_spec.bpmn_id, f"{seconds} 秒", "周期")


def sync(step):
    """Bring the instance's timer rows in line with its waiting timer events (called on every save)."""
    session, instance = step.session, step.instance
    rows = {(r.task_id, r.due_at): r for r in session.scalars(
        select(Timer).where(Timer.instance_id == instance.id, Timer.status == "pending"))}
    waiting = {}
    for task in waiting_events(step.workflow):
        if _is_timer(task) and not _is_start_event(task):
            _check_cycle(task)
            due = _due(task)
            if due is not None:
                waiting[(str(task.id), due)] = task
    for key, row in rows.items():
        if key in waiting:
            continue
        try:
            task = step.workflow.get_task_from_id(_uuid(row.task_id))
        except TaskNotFoundException:  # finished long ago and compacted away (compaction.py)
            task = None
        fired = task is not None and task.state == TaskState.COMPLETED
        row.status = "fired" if fired else "cancelled"
        row.fired_at = step.now if fired else None
        if fired:
            step.event("timer_fired", task, {"bpmn_id": row.bpmn_id, "due_at": row.due_at.isoformat()})
    for (task_id, due), task in waiting.items():
        if (task_id, due) not in rows:
            session.add(Timer(kind="event", instance_id=instance.id, task_id=task_id,
                              bpmn_id=task.task_spec.bpmn_id, due_at=due, status="pending", attempts=0))


def waiting_events(workflow):
    """The WAITING catching events (timers, messages, signals) of the workflow and its sub-processes, from
    SpiffWorkflow's event manager (which keeps exactly those) instead of a walk of the whole task tree."""
    return [t for t in list(workflow.event_manager.tasks.values()) if t.state == TaskState.WAITING]


def _uuid(value):
    from uuid import UUID
    return UUID(value)


# -- periods: never shorter than the minimum ------------------------------------------------------------
class TimerPeriodError(limits.StepAborted):
    """A timer whose cycle (or duration) is shorter than the minimum: refused, never scheduled."""

    def __init__(self, element, text, what="周期"):
        minimum = limits.current.timer_min_seconds
        timer = f"定时器 {element} 的" if element else "定时器的"
        english = "cycle" if what == "周期" else "duration"
        super().__init__("TIMER_PERIOD", (
            f"{timer}{what} “{text}” 短于最短允许的 {minimum} 秒；请改为至少 PT{minimum}S（如 PT1H、P1D） / "
            f"timer {english} {text} of {element or 'this timer'} is shorter than the minimum of {minimum} s"),
            element, kind="timer_period")


_REFERENCE = datetime(2001, 1, 1, tzinfo=timezone.utc)  # a 31-day month, non-leap year: periods at their shortest


def period_seconds(parsed):
    """Length in seconds of a parsed ISO-8601 duration (calendar months at their shortest)."""
    return (_add_duration(_REFERENCE.replace(month=2), parsed) - _REFERENCE.replace(month=2)).total_seconds()


def cycle_parts(expression):
    """``R[n]/[start/]period`` → (cycles or -1, start text or None, period text)."""
    parts = expression.upper().replace("--", "/").strip().lstrip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    return cycles, (parts[1] if len(parts) == 3 else None), parts[-1]


def period_problem(text, cycle, element=None):
    """Why a static timer text is refused at deployment (Chinese and English), or None."""
    try:
        period = cycle_parts(text)[2] if cycle else text
        if not period.upper().startswith("P"):
            return None  # a cycle between two dates, or a date: no period of its own
        seconds = period_seconds(TimerEventDefinition.parse_iso_duration(period))
    except Exception:  # noqa: BLE001 - Spiff raises a bare Exception for a malformed duration
        return f"无法解析的定时器{'周期' if cycle else '时长'} “{text}” / malformed ISO-8601 timer"
    if seconds < limits.current.timer_min_seconds:
        return TimerPeriodError(element, text, "周期" if cycle else "时长").message
    return None


# -- timer start events ------------------------------------------------------------
def _add_duration(moment, parsed):
    parsed = dict(parsed)
    months = int(parsed.pop("years", 0)) * 12 + int(parsed.pop("months", 0))
    if months:
        month0 = moment.month - 1 + months
        year, month = moment.year + month0 // 12, month0 % 12 + 1
        moment = moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
    parsed.pop("t", None)
    return moment + timedelta(**{k: v for k, v in parsed.items() if k in ("weeks", "days", "hours", "minutes",
                                                                           "seconds")})


def next_start(definition_spec, deployed_at, after, bpmn_id=None):
    """The next due time (strictly after ``after``) of a timer start event, or None when it has no more.
    A cycle shorter than the minimum (zero, say, from a diagram deployed before the check) raises
    TimerPeriodError instead of being scheduled; the answer takes constant time however long ago the
    cycle began."""
    expression = expressions.evaluate(definition_spec.expression, {})
    if isinstance(definition_spec, TimeDateEventDefinition):
        due = TimerEventDefinition.get_datetime(expression)
        return due if due > after else None
    if isinstance(definition_spec, DurationTimerEventDefinition):
        due = _add_duration(deployed_at, TimerEventDefinition.parse_iso_duration(expression))
        return due if due > after else None
    if isinstance(definition_spec, CycleTimerEventDefinition):
        cycles, start, period_text = cycle_parts(expression)
        start = TimerEventDefinition.get_datetime(start) if start else deployed_at
        period = TimerEventDefinition.parse_iso_duration(period_text)
        if period_seconds(period) < limits.current.timer_min_seconds:
            raise TimerPeriodError(bpmn_id, expression)
        # Occurrences are start + k·period, k = 0…cycles (0…∞ for R/…); the first one after ``after``:
        k = _occurrences_until(start, period, after)
        return _add_duration_times(start, period, k) if cycles == -1 or k <= cycles else None
    return None


def _occurrences_until(start, period, after):
    """How many occurrences start + k·period fall at or before ``after``."""
    if after < start:
        return 0
    if not (period.get("years") or period.get("months")):  # a fixed length: divide
        return (after - start) // (_add_duration(start, period) - start) + 1
    # Calendar months vary in length: start from an estimate that cannot overshoot (every month taken as 31
    # days), then step to the exact count — a few dozen steps at most, however old the cycle.
    longest = period_seconds(period) + 3 * 86400 * (int(period.get("years", 0)) * 12 + int(period.get("months", 0)))
    k = max(int((after - start).total_seconds() // longest) - 1, 0)
    while _add_duration_times(start, period, k) <= after:
        k += 1
    return k


def _add_duration_times(start, period, k):
    """start + k·period, adding calendar months to the start (so 31 January + 1 month keeps day 31 where it can)."""
    scaled = {name: value * k for name, value in period.items() if name != "t"}
    return _add_duration(start, scaled)


def start_events(spec):
    return [ts for ts in spec.task_specs.values()
            if type(ts).__name__ == "StartEvent" and isinstance(getattr(ts, "event_definition", None),
                                                                 TimerEventDefinition)]


def schedule_start_timers(session, definition, spec, now):
    """A new version with timer start events: its timers replace the pending ones of older versions."""
    for row in session.scalars(select(Timer).where(Timer.kind == "start", Timer.definition_key == definition.key,
                                                   Timer.status == "pending")):
        row.status = "cancelled"
    for ts in start_events(spec):
        due = next_start(ts.event_definition, definition.deployed_at or now, now - timedelta(microseconds=1),
                         ts.bpmn_id)
        if due is not None:
            session.add(Timer(kind="start", definition_key=definition.key, bpmn_id=ts.bpmn_id, due_at=due,
                              status="pending", attempts=0))


def trigger_start_event(task, now):
    """Make a timer start event fire once, now, in the instance its timer row starts.

    A cycle start event inside SpiffWorkflow would keep cycling in that instance; one remaining
    cycle that is already due makes it start the flow once and then complete.
    """
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        task._set_internal_data(event_value={"cycles": 1, "duration": 0,
                                             "next": (now - timedelta(seconds=1)).isoformat()})
    else:
        task._set_internal_data(event_fired=True)


# -- firing ------------------------------------------------------------------------
def claim(db, now, owner, limit=20, lease=timedelta(minutes=5)):
    """Claim due timers for this worker. PostgreSQL skips rows another worker holds; SQLite serialises."""
    with db.Session() as session, session.begin():
        # Strictly before now: SpiffWorkflow fires a timer once its time is strictly in the past.
        query = (select(Timer).where(Timer.status == "pending", Timer.due_at < now,
                                     (Timer.lease_until.is_(None)) | (Timer.lease_until < now))
                 .order_by(Timer.due_at).limit(limit))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.lease_owner, row.lease_until = owner, now + lease
        return [row.id for row in rows]


def fire(db, timer_id, owner, now):
    """Fire one claimed timer in one transaction; a failure rolls back and becomes an incident."""
    from . import runtime
    try:
        with db.Session() as session, session.begin():
            row = session.get(Timer, timer_id, with_for_update=True, populate_existing=True)
            if row is None or row.status != "pending" or row.lease_owner != owner:
                return False  # fired, cancelled, or re-claimed by another worker meanwhile
            row.attempts += 1
            if row.kind == "start":
                _fire_start(session, row, now)
            else:
                runtime.fire_timer(session, row, now)
            return True
    except Exception as exc:  # noqa: BLE001 - any failure must become a visible, retryable incident
        log.exception("timer %s failed", timer_id)
        with db.Session() as session, session.begin():
            row = session.get(Timer, timer_id, with_for_update=True)
            row.status, row.lease_owner, row.lease_until = "failed", None, None
            recorded = session.get(Incident, exc.incident_id) if getattr(exc, "incident_id", None) else None
            if recorded is not None:  # a step stopped by a limit has recorded its incident already
                recorded.timer_id = row.id
            else:
                limited = isinstance(exc, limits.StepAborted)  # e.g. a start cycle shorter than the minimum
                session.add(Incident(instance_id=row.instance_id, task=(limited and exc.element) or row.bpmn_id,
                                     kind=exc.kind if limited else "timer", timer_id=row.id,
                                     error=_incident_error(exc), status="open", created_at=now))
        return False


def _incident_error(exc):
    """What the administrator reads on a timer's incident: the message and, for a bug, its underlying cause."""
    message = getattr(exc, "message", None) or str(exc)
    detail = getattr(exc, "detail", None)
    return f"{message}（{detail}）" if detail else message


def _fire_start(session, row, now):
    from . import deployments, runtime
    definition = deployments.latest(session, row.definition_key)
    runtime.start_instance(session, None, definition.key, {}, now=now, timer_start=row.bpmn_id)
    row.status, row.fired_at = "fired", now
    spec = deployments.parsed(definition).spec
    ts = next((t for t in start_events(spec) if t.bpmn_id == row.bpmn_id), None)
    # After downtime the missed occurrences fire once (now), not once per missed cycle: next is after now.
    due = next_start(ts.event_definition, definition.deployed_at or now, max(row.due_at, now), ts.bpmn_id) \
        if ts else None
    if due is not None:
        session.add(Timer(kind="start", definition_key=row.definition_key, bpmn_id=row.bpmn_id, due_at=due,
                          status="pending", attempts=0))


def run_due(db, now, owner="embedded"):
    """One scheduler tick: claim what is due and fire it. Returns how many fired.

    The claim is one short transaction; each timer then fires in a transaction of its own, whose step runs
    under the step budget (``limits``), so the tick never holds the write lock for longer than one step may
    take, and a timer that cannot fire (a loop, a period below the minimum) fails alone with an incident."""
    return sum(1 for timer_id in claim(db, now, owner) if fire(db, timer_id, owner, now))


def retry(session, incident, now):
    """Put a failed timer back in the queue and resolve its incident."""
    row = session.get(Timer, incident.timer_id, with_for_update=True) if incident.timer_id is not None else None
    if row is None or row.status != "failed":
        from ..models import DomainError
        raise DomainError("NOT_RETRYABLE", "该事件没有可重试的定时器", status=409)
    row.status, row.due_at, row.lease_owner, row.lease_until = "pending", now, None, None
    incident.status, incident.resolved_at = "resolved", now


def pending_for(session, instance_id):
    return list(session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.status == "pending")))
