"""The SpiffWorkflow corrections for long-looping instances (see app/engine/spiff_compat.py)."""
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator

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
