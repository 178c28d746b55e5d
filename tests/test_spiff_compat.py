"""The SpiffWorkflow corrections for long-looping instances (see app/engine/spiff_compat.py)."""
import sys

import pytest

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator
from SpiffWorkflow.workflow import Workflow

import app.engine.runtime  # noqa: F401 - applies the corrections
from app.engine import spiff_compat


class Node:
    def __init__(self, parent):
        self.parent = parent


def test_ancestor_walk_has_no_depth_limit():
    root = Node(None)
    node = root
    for _ in range(sys.getrecursionlimit() * 5):
        node = Node(node)
    assert Task.is_descendant_of(node, root) is True
    assert Task.is_descendant_of(node, Node(None)) is False


def test_task_iterators_are_not_capped_at_depth_1000():
    for cls in (TaskIterator, BpmnTaskIterator):
        code = cls.__init__.__code__
        names = code.co_varnames[1:code.co_argcount]
        defaults = dict(zip(names[len(names) - len(cls.__init__.__defaults__):], cls.__init__.__defaults__))
        assert defaults["max_depth"] == sys.maxsize


LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="walk" targetNamespace="walk">
  <process id="plan" isExecutable="true">
    <startEvent id="start" /><sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <parallelGateway id="split" /><sequenceFlow id="p1" sourceRef="split" targetRef="submit" />
    <sequenceFlow id="p2" sourceRef="split" targetRef="note" /><userTask id="note" />
    <sequenceFlow id="p3" sourceRef="note" targetRef="join" />
    <userTask id="submit" /><sequenceFlow id="f2" sourceRef="submit" targetRef="review" />
    <callActivity id="review" calledElement="review_sub"/><sequenceFlow id="f3" sourceRef="review" targetRef="result" />
    <exclusiveGateway id="result" default="f5" /><sequenceFlow id="f5" sourceRef="result" targetRef="submit" />
    <sequenceFlow id="f4" sourceRef="result" targetRef="join">
      <conditionExpression>approved</conditionExpression></sequenceFlow>
    <parallelGateway id="join" /><sequenceFlow id="f6" sourceRef="join" targetRef="done" />
    <endEvent id="done" />
  </process>
  <process id="review_sub" isExecutable="true">
    <startEvent id="r_start" /><sequenceFlow id="r1" sourceRef="r_start" targetRef="review_task" />
    <userTask id="review_task" /><sequenceFlow id="r2" sourceRef="review_task" targetRef="r_end" />
    <endEvent id="r_end" />
  </process>
</definitions>"""


def _complete(workflow, name, data):
    from SpiffWorkflow.util.task import TaskState
    task, = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name]
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def test_stack_walk_visits_what_the_stock_walk_visits_in_the_same_order():
    """Every filter the engine and our code use, on a workflow with finished and running sub-processes, a parallel
    branch and predicted tasks: the stack walk equals the stock walk (which a caller's own max_depth still selects)."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_str(LOOP_BPMN.encode())
    workflow = BpmnWorkflow(parser.get_spec("plan"), parser.get_subprocess_specs("plan"))
    workflow.do_engine_steps()
    _complete(workflow, "note", {})  # the join waits for the other branch
    _complete(workflow, "submit", {})
    _complete(workflow, "review_task", {"approved": False})  # a finished sub-process, a second one running
    _complete(workflow, "submit", {})
    assert len(workflow.subprocesses) == 2
    filters = [{}, {"state": TaskState.READY}, {"state": TaskState.READY, "manual": True},
               {"state": TaskState.READY | TaskState.WAITING | TaskState.STARTED},
               {"state": TaskState.FINISHED_MASK}, {"state": TaskState.PREDICTED_MASK}, {"state": TaskState.COMPLETED},
               {"spec_class": UserTask}, {"spec_name": "review_task"}, {"skip_subprocesses": True},
               {"end_at_spec": "review"}, {"depth_first": False}]
    stock_only = sys.maxsize - 1  # any explicit depth takes the stock walk
    for kwargs in filters:
        for first in (None, workflow.task_tree.children[0]):
            stack = [t.id for t in workflow.get_tasks(first, **kwargs)]
            stock = [t.id for t in workflow.get_tasks(first, max_depth=stock_only, **kwargs)]
            assert stack == stock, kwargs
            assert stack or "spec_name" in kwargs or "state" in kwargs, kwargs
    assert workflow.get_tasks(state=TaskState.WAITING)
    for kwargs in ({}, {"state": TaskState.WAITING}, {"state": TaskState.NOT_FINISHED_MASK}):  # SpiffWorkflow's own
        for flow in (workflow, *workflow.subprocesses.values()):
            stack = [t.id for t in TaskIterator(flow.task_tree, **kwargs)]
            assert stack == [t.id for t in TaskIterator(flow.task_tree, max_depth=stock_only, **kwargs)], kwargs
    every = workflow.get_tasks()
    assert len(every) == len(workflow.tasks) + sum(len(sp.tasks) for sp in workflow.subprocesses.values())
    assert BpmnTaskIterator.__next__ is not TaskIterator.__next__ is not spiff_compat._stock_next


def test_log_extras_are_built_only_when_spiff_logs_at_info():
    import logging
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    parser = BpmnParser()
    parser.add_bpmn_str(LOOP_BPMN.encode())
    task = BpmnWorkflow(parser.get_spec("plan"), parser.get_subprocess_specs("plan")).task_tree
    logger = logging.getLogger("spiff.task")
    level = logger.level
    assert level >= logging.WARNING  # spiff_compat's default when the deployment sets none
    assert task.collect_log_extras({"elapsed": 1}) == {}
    try:
        logger.setLevel(logging.INFO)
        extras = task.collect_log_extras({"elapsed": 1})
        assert extras["task_spec"] == "Start" and extras["elapsed"] == 1 and extras["task_id"] == task.id
    finally:
        logger.setLevel(level)


SHAPES_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="shapes" targetNamespace="shapes">
  <process id="shapes" isExecutable="true">
    <startEvent id="start" /><sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <parallelGateway id="split" />
    <sequenceFlow id="a1" sourceRef="split" targetRef="count" />
    <userTask id="count"><multiInstanceLoopCharacteristics isSequential="false">
      <loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics></userTask>
    <sequenceFlow id="a2" sourceRef="count" targetRef="join" />
    <sequenceFlow id="b1" sourceRef="split" targetRef="sign" /><userTask id="sign" />
    <boundaryEvent id="late" attachedToRef="sign" cancelActivity="false">
      <timerEventDefinition><timeDuration>"PT0S"</timeDuration></timerEventDefinition></boundaryEvent>
    <sequenceFlow id="l1" sourceRef="late" targetRef="remind" /><userTask id="remind" />
    <sequenceFlow id="l2" sourceRef="remind" targetRef="late_end" /><endEvent id="late_end" />
    <sequenceFlow id="b2" sourceRef="sign" targetRef="review" />
    <callActivity id="review" calledElement="review_sub" /><sequenceFlow id="b3" sourceRef="review" targetRef="join" />
    <sequenceFlow id="c1" sourceRef="split" targetRef="note" /><userTask id="note" />
    <sequenceFlow id="c2" sourceRef="note" targetRef="join" />
    <parallelGateway id="join" /><sequenceFlow id="f9" sourceRef="join" targetRef="done" /><endEvent id="done" />
    <subProcess id="watch" triggeredByEvent="true">
      <startEvent id="watch_start" isInterrupting="false">
        <timerEventDefinition><timeDuration>"PT0S"</timeDuration></timerEventDefinition></startEvent>
      <sequenceFlow id="w1" sourceRef="watch_start" targetRef="watch_task" /><userTask id="watch_task" />
      <sequenceFlow id="w2" sourceRef="watch_task" targetRef="watch_end" /><endEvent id="watch_end" />
    </subProcess>
  </process>
  <process id="review_sub" isExecutable="true">
    <startEvent id="r_start" /><sequenceFlow id="r1" sourceRef="r_start" targetRef="r_split" />
    <parallelGateway id="r_split" /><sequenceFlow id="r2" sourceRef="r_split" targetRef="review_a" />
    <sequenceFlow id="r3" sourceRef="r_split" targetRef="review_b" />
    <userTask id="review_a" /><sequenceFlow id="r4" sourceRef="review_a" targetRef="r_join" />
    <userTask id="review_b" /><sequenceFlow id="r5" sourceRef="review_b" targetRef="r_join" />
    <parallelGateway id="r_join" /><sequenceFlow id="r6" sourceRef="r_join" targetRef="r_end" /><endEvent id="r_end" />
  </process>
</definitions>"""


def _workflow(bpmn, process):
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    parser = BpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    return BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process))


def _drive(workflow, order):
    """Completes the ready user tasks one by one (``order`` picks which of them: first or last in walk order), with
    the engine's steps and timers in between, until none is left. Returns the names completed."""
    from SpiffWorkflow.util.task import TaskState
    done = []
    workflow.do_engine_steps()
    while (ready := workflow.get_tasks(state=TaskState.READY, manual=True)):
        assert workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)  # checked too
        task = ready[order]
        task.run()
        done.append(task.task_spec.name)
        workflow.do_engine_steps()
        workflow.refresh_timers()
        workflow.do_engine_steps()
    return done


def test_ready_and_waiting_lookups_equal_the_stock_walk(monkeypatch):
    """Parallel gateways, a multi-instance task, a non-interrupting boundary timer, an event sub-process and a call
    activity with its own parallel branches, driven in two orders: with CHECK on, every READY / WAITING lookup is
    compared with the stock walk (same tasks, same order) and the runs end as the stock engine's do."""
    from SpiffWorkflow.util.task import TaskState
    monkeypatch.setattr(spiff_compat, "CHECK", True)
    for order in (0, -1):
        before = dict(spiff_compat.lookups)
        workflow = _workflow(SHAPES_BPMN, "shapes")
        done = _drive(workflow, order)
        assert workflow.completed, done
        assert sorted(done) == sorted(["count [child]"] * 3 + ["sign", "remind", "review_a", "review_b", "note", "watch_task"])
        assert spiff_compat.lookups["fast"] - before["fast"] > 20  # the dict lookups answered, and agreed
        with monkeypatch.context() as stock:  # the same run on the stock walks ends the same way
            stock.setattr(Workflow, "get_tasks", spiff_compat._stock_get_tasks)
            stock.setattr(Workflow, "update_waiting_tasks", spiff_compat._stock_update_waiting_tasks)
            twin = _workflow(SHAPES_BPMN, "shapes")
            assert _drive(twin, order) == done
        assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)] \
            == [t.task_spec.name for t in twin.get_tasks(state=TaskState.COMPLETED)]


def test_ready_lookup_order_and_reach_follow_the_tree(monkeypatch):
    """Several READY tasks come back in the walk's order (not the task dict's), and a READY task below a predicted
    one, which the walk does not reach, is left out; a mismatch raises under CHECK."""
    from SpiffWorkflow.util.task import TaskState
    monkeypatch.setattr(spiff_compat, "CHECK", True)
    workflow = _workflow(SHAPES_BPMN, "shapes")
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY)
    assert len(ready) >= 4 and ready == spiff_compat._stock_get_tasks(workflow, state=TaskState.READY)
    tasks = workflow.tasks
    order = list(tasks)
    workflow.tasks = dict(reversed(tasks.items()))  # the dict's order must not matter
    assert workflow.get_tasks(state=TaskState.READY) == ready
    workflow.tasks = {k: tasks[k] for k in order}
    note, = [t for t in ready if t.task_spec.name == "note"]
    parent = note.parent
    state = parent._state
    parent._state = TaskState.LIKELY  # the walk no longer descends to ``note``
    try:
        assert note not in workflow.get_tasks(state=TaskState.READY)
        monkeypatch.setattr(spiff_compat, "_position", lambda *args: [0])  # a wrong order/reach must be caught
        with pytest.raises(spiff_compat.LookupMismatch):
            workflow.get_tasks(state=TaskState.READY)
    finally:
        parent._state = state


def test_ready_lookup_puts_a_sub_process_before_its_calling_tasks_children(monkeypatch):
    """The walk visits a sub-process's tasks before the children of the task that called it (states forced: a READY
    child of a running call activity does not occur otherwise)."""
    from SpiffWorkflow.util.task import TaskState
    monkeypatch.setattr(spiff_compat, "CHECK", True)
    workflow = _workflow(LOOP_BPMN, "plan")
    workflow.do_engine_steps()
    _complete(workflow, "submit", {})  # the review sub-process runs
    review, = [t for t in workflow.get_tasks(state=TaskState.STARTED) if t.task_spec.name == "review"]
    after, = review.children
    after._state = TaskState.READY
    names = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY)]
    assert names.index("review_task") < names.index("result")


def test_waiting_update_goes_on_like_the_lazy_walk(monkeypatch):
    """update_waiting_tasks with one WAITING task whose update makes two more WAITING, one before it in the tree and
    one after it: like the stock (lazy) walk, the fast path updates the later one too and not the earlier one."""
    from SpiffWorkflow.util.task import TaskState

    def run(update_waiting):
        workflow = _workflow(LOOP_BPMN, "plan")
        workflow.do_engine_steps()
        _complete(workflow, "note", {})  # the join WAITING (the only one), for the other branch
        join, = [t for t in workflow.tasks.values() if t._state == TaskState.WAITING]
        done, = join.children  # after the join in the walk's order
        review, = [t for t in workflow.get_tasks(state=TaskState.FUTURE) if t.task_spec.name == "review"]  # before it
        calls = []

        def recorded(task, wake=()):
            stock = task.task_spec._update

            def _update(my_task):
                calls.append(my_task.task_spec.name)
                for other in wake:
                    other._state = TaskState.WAITING  # as if the update woke other tasks
                if not wake:
                    return stock(my_task)
            monkeypatch.setattr(task.task_spec, "_update", _update)
        recorded(join, (done, review))
        recorded(done)
        recorded(review)
        try:
            update_waiting(workflow)
        finally:
            for task in (join, done, review):
                monkeypatch.delattr(task.task_spec, "_update")
        return calls

    monkeypatch.setattr(spiff_compat, "CHECK", True)
    fast = run(spiff_compat._update_waiting_tasks)
    assert fast == run(spiff_compat._stock_update_waiting_tasks) == ["join", "done"]
