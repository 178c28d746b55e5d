"""Keep an instance's live workflow bounded however long it lives (issue 16; design: docs/engine-state.md).

SpiffWorkflow's task tree only grows: every reject → resubmit round of a loop adds its tasks and a finished run of
the review call activity, and every step loads, walks and saves all of it. ``compact`` is run on every save (and by
the replay at the same points), and does work only when a workflow has grown past a size:

- **finished runs of call activities / sub-processes** leave ``BpmnWorkflow.subprocesses`` — all but the latest run
  of each element (the instance page shows the latest run; SpiffWorkflow never looks into a finished one again);
- **finished tasks** are spliced out of each task tree (their children hang from their parent), except those
  SpiffWorkflow or we still read: unfinished tasks and a few of their ancestors (boundary splits, data to inherit),
  the last task, the owners of kept sub-processes, finished joins of parallel/inclusive gateways and their parents
  (the gateways consult them), and the latest completed occurrence of each user task on the path to a READY user
  task with its parent (退回/撤回 reset to it: engine/going_back.py).

What leaves is returned as pieces (serializer form) that the caller writes to ``workflow_archive``; what the diagram
marks of the instance page need from spliced tasks (elements run, flows taken) stays in ``compacted_marks`` on the
workflow, bounded by the diagram's size. Deterministic: the replay compacts at the same points and compares.
"""
import os

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.task import TaskState

FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
# A workflow is compacted once it holds more tasks than this, or more finished sub-process runs than SUBPROCESSES
# (environment overrides, for tuning and for running the test suite with compaction at every step).
TASKS = int(os.environ.get("ENGINE_COMPACT_TASKS", 120))
SUBPROCESSES = int(os.environ.get("ENGINE_COMPACT_SUBPROCESSES", 4))
MARGIN = 3  # ancestors kept above every unfinished task (a boundary event's split is two above its join)
ACTIVE = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


def marks_of(workflow):
    """{"completed": [...], "flows": [[source, target], ...]} recorded for ``workflow`` when tasks were spliced."""
    top = getattr(workflow, "top_workflow", None) or workflow
    return (getattr(top, "compacted_marks", None) or {}).get(_scope(workflow), {})


def _scope(workflow):
    parent = getattr(workflow, "parent_task_id", None)
    return "" if parent is None else str(parent)


def _tree(workflow):
    """The workflow's own tasks in tree order (preorder), without descending into sub-processes."""
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        yield task
        stack.extend(reversed([c for c in task.children if c is not None]))


def _walk(top):
    """(workflow, task) for every task, in tree order, sub-processes right after the task that runs them."""
    stack = [(top, top.task_tree)]
    while stack:
        workflow, task = stack.pop()
        yield workflow, task
        children = [(workflow, c) for c in task.children if c is not None]
        sub = top.subprocesses.get(task.id)
        if sub is not None:
            children = [(sub, sub.task_tree), *children]
        stack.extend(reversed(children))


def needs_compaction(top):
    if len(top.tasks) > TASKS:
        return True
    finished = [sp.spec.name for sp in top.subprocesses.values() if sp.completed]
    # The latest finished run of each called process stays (the instance page shows it): only more than that counts.
    return len(finished) - len(set(finished)) > SUBPROCESSES \
        or any(len(sp.tasks) > TASKS for sp in top.subprocesses.values())


def compact(top, convert, force=None):
    """Compact ``top`` in place; returns the pieces that left it: [(kind, element, body dict)], in tree order.
    ``convert`` is the serializer's registry conversion (object → JSON-able dict). Whether to compact is the size
    check, or ``force`` (the replay compacts where the live step did, whatever the thresholds are now); what is
    compacted depends on the workflow alone."""
    if not (needs_compaction(top) if force is None else force):
        return []
    pieces = _archive_subprocesses(top, convert)
    targets = _return_targets(top)
    workflows = [top, *top.subprocesses.values()]
    for workflow in sorted(workflows, key=lambda w: getattr(w, "depth", 0)):
        piece = _splice(top, workflow, convert, targets)
        if piece is not None:
            pieces.append(piece)
    return pieces


# -- finished sub-process runs -----------------------------------------------------------------------------------
def _archive_subprocesses(top, convert):
    owners, latest = [], {}
    for workflow, task in _walk(top):
        if task.id in top.subprocesses:
            owners.append((workflow, task))
            latest[(id(workflow), task.task_spec.name)] = task.id
    pieces = []
    for workflow, task in owners:
        sub = top.subprocesses.get(task.id)
        if sub is None or latest[(id(workflow), task.task_spec.name)] == task.id:
            continue
        if not (sub.completed and task.state & FINISHED):
            continue
        runs = {str(task.id): convert(sub)}
        marks = getattr(top, "compacted_marks", None) or {}
        nested = [s for s in top.subprocesses.values() if _inside(s, sub)]
        for inner in nested:
            runs[str(inner.parent_task_id)] = convert(inner)
        body = {"run": str(task.id), "workflows": runs,
                "marks": {k: marks.pop(k) for k in list(runs) if k in marks}}
        pieces.append(("subprocess", getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name, body))
        top.delete_subprocess(task)
    return pieces


def _inside(sub, outer):
    current = sub
    while current is not None and current is not outer:
        current = current.parent_workflow if getattr(current, "parent_task_id", None) is not None else None
    return current is outer and sub is not outer


# -- finished tasks spliced out ----------------------------------------------------------------------------------
def _needed(top, workflow, tasks, targets):
    needed = {workflow.task_tree.id}

    def keep(task, up=0):
        while task is not None:
            needed.add(task.id)
            if up <= 0:
                return
            task, up = task.parent, up - 1

    if workflow.last_task is not None:
        keep(workflow.last_task, MARGIN)
    for task in tasks:
        if not task.state & FINISHED:
            keep(task, MARGIN)
        elif task.id in top.subprocesses or isinstance(task.task_spec, UnstructuredJoin):
            keep(task, 1)
    for task in tasks:
        if task.id in targets:
            keep(task)
    return needed


def _parent(task):
    """The task before ``task`` on the token's path, across a call activity's boundary (as going_back walks)."""
    if task.parent is not None:
        return task.parent
    parent_id = getattr(task.workflow, "parent_task_id", None)
    return task.workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None


def _return_targets(top):
    """Ids of the tasks 退回/撤回 may reset to (engine/going_back.py): on the path to each READY user task, the
    latest completed occurrence of each user task, with its parent (its data is inherited again); a boundary
    event's split with all its branches (a reset to the activity resets them all)."""
    out = set()
    for _workflow, ready in _walk(top):
        if ready.state != TaskState.READY or not ready.task_spec.manual:
            continue
        seen, current = set(), _parent(ready)
        while current is not None:
            spec = current.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if current.state == TaskState.COMPLETED and getattr(spec, "manual", False) and bpmn_id \
                    and bpmn_id not in seen:
                seen.add(bpmn_id)
                out.add(current.id)
                parent = current.parent
                if parent is not None:
                    out.add(parent.id)
                    if isinstance(parent.task_spec, BoundaryEventSplit):
                        out.update(c.id for c in parent.children if c is not None)
                        if parent.parent is not None:
                            out.add(parent.parent.id)
            current = _parent(current)
    return out


def _splice(top, workflow, convert, targets):
    tasks = list(_tree(workflow))
    needed = _needed(top, workflow, tasks, targets)
    removed = [t for t in tasks if t.id not in needed]
    if not removed:
        return None
    marks = _marks(workflow, removed)
    archived = []
    for task in removed:
        row = convert(task)
        row["data"], row["delta"] = convert(task.data), {}
        archived.append(row)
    for task in removed:
        parent = task.parent
        position = parent._children.index(task.id)
        parent._children[position:position + 1] = list(task._children)
        for child in task._children:
            workflow.tasks[child]._parent = parent.id
        del workflow.tasks[task.id]
    scope = _scope(workflow)
    store = getattr(top, "compacted_marks", None)
    if store is None:
        store = top.compacted_marks = {}
    current = store.get(scope, {"completed": [], "flows": []})
    store[scope] = {"completed": sorted(set(current["completed"]) | marks["completed"]),
                    "flows": sorted({tuple(f) for f in current["flows"]} | marks["flows"])}
    store[scope]["flows"] = [list(f) for f in store[scope]["flows"]]
    element = None
    if scope:  # the call activity that runs this sub-process (its task id differs between runs of one history)
        owner = top.get_task_from_id(workflow.parent_task_id)
        element = getattr(owner.task_spec, "bpmn_id", None) or owner.task_spec.name
    return ("tasks", element, {"scope": scope, "tasks": archived})


def _marks(workflow, removed):
    """What progress.py would have read from the removed tasks: elements they ran, and the flows into them and
    out of them (each task with its nearest ancestor that is a diagram element)."""
    completed, flows = set(), set()
    gone = {t.id for t in removed}
    for task in removed:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id and task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        if type(task.task_spec).__name__ == "BoundaryEvent" and task.state == TaskState.COMPLETED \
                and task.parent is not None:  # the activity it interrupted ran (progress._refused)
            completed |= {t.task_spec.bpmn_id for t in task.parent.children if t is not None and t is not task
                          and getattr(t.task_spec, "bpmn_id", None) and t.state == TaskState.CANCELLED
                          and type(t.task_spec).__name__ != "BoundaryEvent"}
    edges = set(removed)
    for task in removed:
        edges.update(c for c in task.children if c is not None and c.id not in gone)
    for task in edges:
        target = getattr(task.task_spec, "bpmn_id", None)
        if not target or not (task.state == TaskState.COMPLETED or task.state & ACTIVE):
            continue
        parent = task.parent
        while parent is not None and not getattr(parent.task_spec, "bpmn_id", None):
            parent = parent.parent
        if parent is not None and parent.state == TaskState.COMPLETED:
            flows.add((parent.task_spec.bpmn_id, target))
    return {"completed": completed, "flows": flows}
