"""The SpiffWorkflow corrections for long-looping instances (see app/engine/spiff_compat.py)."""
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator

import app.engine.runtime  # noqa: F401 - applies the corrections


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
