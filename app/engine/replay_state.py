"""What a replay looks at: where the token stands (``position`` / ``scan``) and the comparison of the replayed
workflow and archive with the stored ones (``canonical``, ``archived_rows``, ``differences``)."""
import json

from SpiffWorkflow.util.task import TaskState

from . import compaction, task_rows

MAX_DIFFERENCES = 20


def ready_user_tasks(workflow):
    return task_rows.ready_user_tasks(workflow)


def position(workflow):
    """Where the token stands on the top-level diagram: {completed, active, waiting, ready}: elements that
    ran, that hold the token (a call activity whose sub-process runs included), boundary/catch events
    listening, and the READY user tasks anywhere (inside called processes too)."""
    completed, active, waiting = set(), set(), set()
    for task in workflow.get_tasks(skip_subprocesses=True):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id or task.workflow is not workflow:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state == TaskState.WAITING and getattr(task.task_spec, "event_definition", None) is not None:
            waiting.add(bpmn_id)
        elif task.state & (TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            active.add(bpmn_id)
    completed |= set(compaction.marks_of(workflow).get("completed", ()))
    return {"completed": sorted(completed), "active": sorted(active), "waiting": sorted(waiting - active),
            "ready": ready_user_tasks(workflow)}


def scan(workflow):
    """``position(workflow)`` in one pass over the tasks' dicts instead of tree walks: the top-level workflow's
    tasks, and the READY user tasks of the sub-processes still running (a finished one holds none)."""
    completed, active, waiting = set(), set(), set()
    for task in workflow.tasks.values():
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        state = task.state
        if state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif state == TaskState.WAITING and getattr(spec, "event_definition", None) is not None:
            waiting.add(bpmn_id)
        elif state & (TaskState.READY | TaskState.STARTED | TaskState.WAITING):
            active.add(bpmn_id)
    ready = []
    for wf in (workflow, *(sp for sp in workflow.subprocesses.values() if not sp.completed)):
        ready.extend(task_rows.spec_bpmn_id(t) for t in wf.tasks.values()
                     if t.state == TaskState.READY and t.task_spec.manual)
    return {"completed": sorted(completed), "active": sorted(active), "waiting": sorted(waiting - active),
            "ready": sorted(ready)}


def canonical(dct, scope=""):
    """A serialized workflow as rows in tree order, without what differs between two runs of the same
    history (task ids, wall-clock times, timers' internal bookkeeping): [{where, element, state, data}]."""
    tasks, subprocesses = dct.get("tasks", {}), dct.get("subprocesses", {})
    rows = [{"where": scope or "/", "element": "(process data)", "state": None, "data": dct.get("data", {})}]
    if dct.get("compacted_marks"):
        rows.append({"where": scope or "/", "element": "(compacted marks)", "state": None,
                     "data": {"marks": sorted(dct["compacted_marks"].values(), key=json.dumps)}})
    stack = [dct.get("root")] if dct.get("root") in tasks else []
    while stack:
        task_id = stack.pop()
        task = tasks[task_id]
        rows.append({"where": scope or "/", "element": task["task_spec"], "state": TaskState.get_name(task["state"]),
                     "data": task["data"]})
        if task_id in subprocesses:
            rows.extend(canonical(subprocesses[task_id], f"{scope}/{task['task_spec']}"))
        stack.extend(reversed([child for child in task["children"] if child in tasks]))
    return rows


def archived_rows(pieces):
    """The archive (engine/archive.py) as canonical rows, in order, without task ids and times."""
    rows = []
    for index, (kind, element, body) in enumerate(pieces):
        where = f"(archive {index + 1}: {kind} {element or ''})".replace(" )", ")")
        if kind == "subprocess":
            workflows = body.get("workflows", {})
            run = workflows.get(body.get("run"), {})
            rows.extend(canonical({**run, "subprocesses": workflows}, where))
            rows.append({"where": where, "element": "(compacted marks)", "state": None,
                         "data": {"marks": sorted((body.get("marks") or {}).values(), key=json.dumps)}})
        else:
            rows.extend({"where": where, "element": task.get("task_spec"), "state": TaskState.get_name(task["state"]),
                         "data": task.get("data")} for task in body.get("tasks", []))
    return rows


def _diff(stored, replayed, out):
    """Row by row; the first rows that differ name the element and the field."""
    for index, (a, b) in enumerate(zip(stored, replayed)):
        if len(out) >= MAX_DIFFERENCES:
            return
        if (a["where"], a["element"]) != (b["where"], b["element"]):
            out.append({"index": index, "where": a["where"], "element": a["element"], "field": "element",
                        "stored": a["element"], "replayed": b["element"]})
            return  # the trees part here; later rows would all differ
        for field in ("state", "data"):
            if a[field] != b[field]:
                entry = {"index": index, "where": a["where"], "element": a["element"], "field": field}
                if field == "data":
                    keys = sorted(k for k in set(a["data"]) | set(b["data"]) if a["data"].get(k) != b["data"].get(k))
                    entry.update(keys=keys, stored={k: a["data"].get(k) for k in keys},
                                 replayed={k: b["data"].get(k) for k in keys})
                else:
                    entry.update(stored=a[field], replayed=b[field])
                out.append(entry)
    if len(stored) != len(replayed) and len(out) < MAX_DIFFERENCES:
        out.append({"index": min(len(stored), len(replayed)), "field": "tasks", "stored": len(stored),
                    "replayed": len(replayed)})

