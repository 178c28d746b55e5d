"""Corrections to SpiffWorkflow 3.2 for instances that loop for a long time, applied on import.

A diagram that loops (reject → resubmit) makes the task tree one level deeper per round.
scripts/bench.py found two limits that a clerk and a reviewer sending a plan back and forth
~100 times reach:
- ``Task.is_descendant_of`` walks up the tree recursively (boundary-event joins call it for every
  task): RecursionError. The same walk, iterative, has no depth limit.
- task iterators stop silently at depth 1000, so ready tasks deeper than that are neither run by
  the engine nor listed: the instance just stalls. The depth cap is lifted.
- a completion walks the tree ~45 times (22 ``get_tasks`` in ``do_engine_steps``, 19 ``update_waiting_tasks``, ours),
  and the stock walk costs ~5 Python calls per task: it keeps its to-do list front-first (``children + rest``: a copy
  of the list per task), counts depth by walking up to ancestors at each leaf, and filters through three methods.
  With the cap lifted the depth is never used: the walk below visits the same tasks in the same order from a stack,
  with the same filter tests inline (tests/test_spiff_compat.py compares it with the stock walk).
- every task state change builds log extras (task names, state name, parent lookup; ~55 a completion) to pass to a
  ``logger.info``/``debug`` call that logs nothing at our WARNING level: they are built only when a logger that
  takes them (``spiff.task``, ``spiff.data``) would log at INFO.
"""
import logging
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState


def _is_descendant_of(self, task):
    node = self.parent
    while node is not None:
        if node == task:
            return True
        node = node.parent
    return False


def _walk(self, stock, bpmn):
    """``__next__`` of a depth-first iterator with a stock filter and no depth cap, in one frame: the stock order
    (a task, the root of the sub-process it runs, then its children in order, each subtree before the next) from a
    stack whose end is the next task, and the stock filter's tests inline. ``bpmn``: a BpmnTaskIterator (descends
    into sub-processes)."""
    f = self.task_filter
    if not self.depth_first or self.max_depth != sys.maxsize or type(f) not in _PLAIN_FILTERS \
            or getattr(f, "catches_event", None) is not None or getattr(f, "lane", None) is not None:
        return stock(self)  # a depth, breadth first, an event or a lane asked for: the stock walk
    stack, end_at, min_state = self.task_list, self.end_at_spec, self.min_state
    state, updated, manual, spec_name, spec_class = f.state, f.updated_ts, f.manual, f.spec_name, f.spec_class
    while stack:
        task = stack.pop()
        spec = task.task_spec
        subprocess = task.workflow.top_workflow.subprocesses.get(task.id) if bpmn else None
        if (task._children or subprocess is not None) and (subprocess is not None or task._state >= min_state) \
                and spec.name != end_at:
            tasks = task.workflow.tasks
            stack.extend(map(tasks.get, reversed(task._children)))
            if subprocess is not None and not self.skip_subprocesses and not (
                    task._state >= TaskState.FINISHED_MASK and state <= TaskState.FINISHED_MASK):
                stack.append(subprocess.task_tree)  # visited before the children, as the stock walk does
        if task._state & state and task.last_state_change >= updated \
                and (manual is None or spec.manual == manual) and (spec_name is None or spec.name == spec_name) \
                and (spec_class is None or isinstance(spec, spec_class)):
            return task
    raise StopIteration()


_PLAIN_FILTERS = (TaskFilter, BpmnTaskFilter)


_stock_next = TaskIterator.__next__  # both classes' (the Bpmn one inherits it): filters what ``_next`` returns


def _stack_walk(cls, bpmn):
    def __next__(self):
        return _walk(self, _stock_next, bpmn)
    cls.__next__ = __next__


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


_stock_log_extras = Task.collect_log_extras
_extras_loggers = (logging.getLogger("spiff.task"), logging.getLogger("spiff.data"))


def _collect_log_extras(self, dct=None):
    if any(logger.isEnabledFor(logging.INFO) for logger in _extras_loggers):
        return _stock_log_extras(self, dct)
    return {}  # only ever passed as ``extra=`` to a log call that will not log


Task.is_descendant_of = _is_descendant_of
Task.collect_log_extras = _collect_log_extras
_lift_depth_cap(TaskIterator)
_lift_depth_cap(BpmnTaskIterator)
_stack_walk(TaskIterator, bpmn=False)
_stack_walk(BpmnTaskIterator, bpmn=True)
_quiet_log_extras()
