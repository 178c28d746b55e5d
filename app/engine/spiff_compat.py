"""Corrections to SpiffWorkflow 3.2 for instances that loop for a long time, applied on import.

A diagram that loops (reject → resubmit) makes the task tree one level deeper per round.
scripts/bench.py found two limits that a clerk and a reviewer sending a plan back and forth
~100 times reach:
- ``Task.is_descendant_of`` walks up the tree recursively (boundary-event joins call it for every
  task): RecursionError. The same walk, iterative, has no depth limit.
- task iterators stop silently at depth 1000, so ready tasks deeper than that are neither run by
  the engine nor listed: the instance just stalls. The depth cap is lifted.
"""
import logging
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator


def _is_descendant_of(self, task):
    node = self.parent
    while node is not None:
        if node == task:
            return True
        node = node.parent
    return False


def _lift_depth_cap(cls):
    names = cls.__init__.__code__.co_varnames[1:cls.__init__.__code__.co_argcount]
    defaults = list(cls.__init__.__defaults__)
    index = names.index("max_depth") - (len(names) - len(defaults))
    defaults[index] = sys.maxsize
    cls.__init__.__defaults__ = tuple(defaults)


def _quiet_log_extras():
    """SpiffWorkflow builds log extras with every task id (a walk of the whole tree) whenever its loggers' own level
    is unset (``logger.level < 20``), on every workflow/task log call, whether or not anything is logged. Their
    INFO lines are not ours to print either: WARNING unless the deployment set a level itself."""
    for name in ("spiff.workflow", "spiff.task"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


Task.is_descendant_of = _is_descendant_of
_lift_depth_cap(TaskIterator)
_lift_depth_cap(BpmnTaskIterator)
_quiet_log_extras()
