"""What one engine step may spend: task transitions and wall time; and the shortest timer period.

A diagram can loop without a wait state (a script task and a gateway sending each other round), and
SpiffWorkflow's ``do_engine_steps`` then runs forever inside the step's write transaction. Every step
therefore runs under a ``StepBudget``: each task state change counts (the hook below, on SpiffWorkflow's
one place where a task changes state) and checks the step's deadline; the safe evaluator checks the
deadline between operations, so one long expression cannot outlive it either. Past either limit the step
raises ``StepBudgetExceeded`` (and keeps raising on every later state change, should SpiffWorkflow
swallow the first); ``runtime.Step`` rolls the step back whole and records an incident naming the element.

Limits come from the app config, else the environment, else the defaults (README "Limits"):
``STEP_MAX_TRANSITIONS``, ``STEP_MAX_SECONDS``, ``TIMER_MIN_SECONDS``.
"""
import contextvars
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, fields

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from ..models import DomainError


@dataclass
class Limits:
    # Task state changes in one step: the largest step of the shipped diagrams makes under 100; a loop with no
    # wait state reaches 1000 in about a second (SpiffWorkflow slows as the loop deepens the task tree).
    transitions: int = 1000
    # Wall time of one step's engine work: ordinary steps take well under a second, a few on a loaded machine.
    seconds: float = 10.0
    timer_min_seconds: int = 60  # the shortest timer cycle period or one-off duration a diagram may have


_KEYS = {"transitions": "STEP_MAX_TRANSITIONS", "seconds": "STEP_MAX_SECONDS",
         "timer_min_seconds": "TIMER_MIN_SECONDS"}
current = Limits()


def configure(config=None):
    """Set the limits from ``config`` (the app config), else the environment, else the defaults; the values
    used are written back into ``config`` so the app shows what it runs with."""
    config = config if config is not None else {}
    for field in fields(Limits):
        key = _KEYS[field.name]
        raw = config.get(key, os.environ.get(key))
        value = field.default if raw in (None, "") else field.type(raw)
        if not value > 0:
            raise ValueError(f"{key} must be positive, got {raw!r}")
        setattr(current, field.name, value)
        config[key] = value
    return current


class StepAborted(DomainError):
    """A step stopped by a limit: rolled back whole, answered 422, and recorded as an incident."""

    kind = "step_aborted"

    def __init__(self, code, message, element=None, kind=None):
        super().__init__(code, message, status=422)
        self.element = element
        if kind:
            self.kind = kind
        self.step = None  # the step it stopped (the innermost, when steps nest)
        self.incident_deferred = False  # set once an incident is on its way, so nested steps add no second


class StepBudgetExceeded(StepAborted):
    kind = "step_budget"


_budget = contextvars.ContextVar("step_budget", default=None)


class StepBudget:
    """The running step's allowance (shared by nested steps, e.g. a handler cancelling another instance)."""

    def __init__(self, limits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.transitions = 0
        self.runs = Counter()  # completed runs per BPMN element: a loop shows as the elements run most
        self.task = None  # the task being run or evaluated, for naming the element
        self.steps = []  # the steps running, innermost last
        self.exceeded = None

    def on_state_change(self, task, state):
        self.transitions += 1
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            self.task = task
            if state == TaskState.COMPLETED:
                self.runs[bpmn_id] += 1
        if self.exceeded is not None or self.transitions > self.limits.transitions:
            raise self.exceed()
        self.check_time()

    def check_time(self):
        if self.exceeded is not None or time.monotonic() > self.deadline:
            raise self.exceed()

    def exceed(self):
        if self.exceeded is None:
            self.exceeded = StepBudgetExceeded("STEP_BUDGET_EXCEEDED", self._message(), self.element())
            self.exceeded.step = self.steps[-1] if self.steps else None
        return self.exceeded

    def element(self):
        """The element where the step looped: the one run most often (else the one running now)."""
        looped = [e for e, n in self.runs.most_common() if n > 1]
        if looped:
            return looped[0]
        return getattr(self.task.task_spec, "bpmn_id", None) if self.task is not None else None

    def _message(self):
        looped = [e for e, n in self.runs.most_common(6) if n > 1]
        over = (f"{self.limits.transitions} 次任务状态变化" if self.transitions > self.limits.transitions
                else f"{self.limits.seconds:g} 秒")
        where = self.element() or "?"
        name = getattr(self.task.task_spec, "bpmn_name", None) if self.task is not None else None
        label = f"{where}（{name}）" if name and getattr(self.task.task_spec, "bpmn_id", None) == where else f"{where} "
        if looped:
            cycle = "、".join(f"{e}×{self.runs[e]}" for e in looped)
            why = f"在元素 {label}处循环（反复执行：{cycle}），循环中没有等待状态"
            fix = "请在循环中加入用户任务、消息或定时事件，或修正网关条件"
        else:
            why = f"在元素 {label}处运行过久"
            fix = "请简化该元素的表达式或脚本"
        return (f"流程步骤超出执行预算（{over}），已整体回滚：{why}。{fix}。/ step budget exceeded "
                f"({over.replace(' 次任务状态变化', ' task transitions').replace(' 秒', ' s')}) at element {where}; "
                f"rolled back")


@contextmanager
def running(step):
    """Run a step under a budget; a step inside a running one (a handler cancelling another instance)
    spends the outer step's budget, so the whole transaction stays bounded."""
    budget = _budget.get()
    token = None
    if budget is None:
        budget = StepBudget(current)
        token = _budget.set(budget)
    budget.steps.append(step)
    try:
        yield budget
    finally:
        budget.steps.pop()
        if token is not None:
            _budget.reset(token)


def check_time():
    """Called by the evaluator between operations: past the running step's deadline, stop."""
    budget = _budget.get()
    if budget is not None:
        budget.check_time()


def evaluating(task):
    """The evaluator is about to run an expression of ``task``: name it should the step be stopped."""
    budget = _budget.get()
    if budget is not None and getattr(task.task_spec, "bpmn_id", None):
        budget.task = task


def current_element():
    budget = _budget.get()
    return getattr(budget.task.task_spec, "bpmn_id", None) if budget is not None and budget.task else None


# -- the hook: every task state change in SpiffWorkflow goes through Task._set_state ------------------------
_set_state = Task._set_state


def _counted_set_state(self, value):
    _set_state(self, value)
    budget = _budget.get()
    if budget is not None:
        budget.on_state_change(self, value)


Task._set_state = _counted_set_state
