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
- the walks themselves: ``do_engine_steps`` asks ``get_tasks(state=READY)`` ~10 times a user step and every finished
  task calls ``update_waiting_tasks``; each walked the whole tree for the few READY / WAITING tasks (25.5 walks per
  replayed step, 30.5 per live completion; now 4.5 and 6.5, the rest small subtree walks). Those tasks are read
  from the workflows' task dicts instead, then put in the walk's order by their position in the tree; a task the
  walk would not reach (under a predicted task, cut off from the root) is left out, as the walk leaves it out.
  ``SPIFF_COMPAT_CHECK=1`` (or ``CHECK = True``) also runs the stock walk on every lookup and raises
  ``LookupMismatch`` on any difference: tests/test_spiff_compat.py turns it on; any test file can run with it.
"""
import logging
import os
import sys

from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter, BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskFilter, TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow


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


CHECK = os.environ.get("SPIFF_COMPAT_CHECK") == "1"
lookups = {"fast": 0, "stock": 0}  # how often each path answered (tests check the fast one is taken)


class LookupMismatch(AssertionError):
    """A dict lookup disagreed with the stock walk (only raised when CHECK is on)."""


def _min_state(state):
    """The lowest state the walk descends below for a filter on ``state`` (TaskIterator.__init__'s rule)."""
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    return TaskState.FUTURE if state & TaskState.DEFINITE_MASK else TaskState.COMPLETED


def _position(task, root, top, state):
    """Where the depth-first walk from ``root`` meets ``task``: the child index at each level from the root down
    (-1: a sub-process's root, which the walk visits before its calling task's children), so that sorting by it
    gives the walk's order; None when the walk never gets there. ``top``: the top workflow when the walk descends
    into sub-processes (a BpmnTaskIterator), else None."""
    min_state, key, node, tasks = _min_state(state), [], task, task.workflow.tasks
    while node is not root:
        parent = tasks.get(node._parent)  # ``node.parent``, without a property call per level
        if parent is not None:
            if parent._state < min_state and (top is None or parent.id not in top.subprocesses):
                return None  # the walk does not go below a predicted task
            try:
                key.append(parent._children.index(node.id))
            except ValueError:
                return None
        else:
            flow = node.workflow
            if top is None or flow is top or node is not flow.task_tree:
                return None  # another tree's root: not below ``root``
            try:
                parent = top.get_task_from_id(flow.parent_task_id)
            except TaskNotFoundException:
                return None
            if parent is None or top.subprocesses.get(parent.id) is not flow \
                    or (parent._state >= TaskState.FINISHED_MASK and state <= TaskState.FINISHED_MASK):
                return None
            key.append(-1)
            tasks = parent.workflow.tasks
        node = parent
    key.reverse()
    return key


def _in_walk_order(workflow, state):
    """``get_tasks(state=state)`` for states only a few tasks are in, from the task dicts: the tasks in ``state``
    that the walk from ``workflow.task_tree`` reaches, in its order. None for a workflow class whose walk is not
    the stock one."""
    iterator = type(workflow).get_tasks_iterator
    if iterator is BpmnBaseWorkflow.get_tasks_iterator:
        top = workflow.top_workflow
        pools = (top.tasks, *(sp.tasks for sp in top.subprocesses.values()))  # a sub-process's walk enters its own
    elif iterator is Workflow.get_tasks_iterator:
        top, pools = None, (workflow.tasks,)
    else:
        return None
    found = [task for pool in pools for task in pool.values() if task._state & state]
    root = workflow.task_tree
    keyed = [(key, task) for task in found if (key := _position(task, root, top, state)) is not None]
    if len(keyed) > 1:
        keyed.sort(key=lambda pair: pair[0])  # keys differ: one per place in the tree
    return [task for _, task in keyed]


_stock_get_tasks = Workflow.get_tasks


_FEW = TaskState.WAITING | TaskState.READY | TaskState.STARTED  # states only a few tasks are in at a time


def _get_tasks(self, first_task=None, **kwargs):
    """From the task dicts when the walk is from the root for tasks in few-task states (the engine's READY, our
    READY user tasks, the active ones): other filters do not change where the walk goes, ``manual`` is tested
    per task as TaskFilter does."""
    state, manual = kwargs.get("state"), kwargs.get("manual")
    if first_task is None and state and not state & ~_FEW and kwargs.keys() <= {"state", "manual"}:
        found = _in_walk_order(self, state)
        if found is not None:
            lookups["fast"] += 1
            if manual is not None:
                found = [task for task in found if task.task_spec.manual == manual]
            if CHECK:
                _same(found, _stock_get_tasks(self, **kwargs), f"get_tasks({kwargs})")
            return found
    lookups["stock"] += 1
    return _stock_get_tasks(self, first_task, **kwargs)


def _same(found, stock, what):
    if len(found) != len(stock) or any(a is not b for a, b in zip(found, stock)):
        raise LookupMismatch(f"{what}: {[t.task_spec.name for t in found]} != {[t.task_spec.name for t in stock]}")


def _stack_after(root, key):
    """The walk's to-do stack (end = next) right after it returned the task at ``key`` below ``root``: the later
    siblings of every task on the path, then the task's own children when the walk descends below it."""
    tasks, stack, node = root.workflow.tasks, [], root
    for index in key:
        stack.extend(map(tasks.get, reversed(node._children[index + 1:])))
        node = tasks.get(node._children[index])
    if node._children and node._state >= _min_state(TaskState.WAITING):
        stack.extend(map(tasks.get, reversed(node._children)))
    return stack


_stock_update_waiting_tasks = Workflow.update_waiting_tasks


def _update_waiting_tasks(self):
    """``Workflow.update_waiting_tasks`` (its walk does not enter sub-processes). The walk is lazy: a task that
    turns WAITING during an ``_update`` further on in the tree is updated too. So with one WAITING task, it is
    updated, and if that made another task WAITING the walk goes on from where it would have been; with two or
    more, the stock walk runs."""
    waiting = [task for task in self.tasks.values() if task._state == TaskState.WAITING]
    if len(waiting) > 1:
        lookups["stock"] += 1
        return _stock_update_waiting_tasks(self)
    lookups["fast"] += 1
    root = self.task_tree
    key = _position(waiting[0], root, None, TaskState.WAITING) if waiting else None
    if key is None:  # nothing WAITING the walk reaches: it would update nothing, so nothing changes
        if CHECK:
            _same([], list(TaskIterator(root, state=TaskState.WAITING)), "update_waiting_tasks")
        return
    task, rest = waiting[0], _stack_after(root, key)
    if CHECK:
        walk = TaskIterator(root, state=TaskState.WAITING)
        _same([task, *rest], [next(walk), *walk.task_list], "update_waiting_tasks stack")
    task.task_spec._update(task)
    if any(other._state == TaskState.WAITING and other is not task for other in self.tasks.values()):
        walk = TaskIterator(root, state=TaskState.WAITING)
        walk.task_list = rest
        for other in walk:
            other.task_spec._update(other)


Task.is_descendant_of = _is_descendant_of
Task.collect_log_extras = _collect_log_extras
_lift_depth_cap(TaskIterator)
_lift_depth_cap(BpmnTaskIterator)
_stack_walk(TaskIterator, bpmn=False)
_stack_walk(BpmnTaskIterator, bpmn=True)
Workflow.get_tasks = _get_tasks
Workflow.update_waiting_tasks = _update_waiting_tasks
_quiet_log_extras()
