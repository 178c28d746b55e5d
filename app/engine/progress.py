"""Where an instance stands on its diagram (read only): done elements, active ones, the path taken.

Used by the web UI to mark the BPMN drawing: ``progress`` for one (sub-)workflow's own diagram, where a call
activity whose sub-process is still running counts as active; ``called`` for the diagrams of the processes
the call activities ran (e.g. the shared ``review``), so one can follow the instance into them.
"""
from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

from . import compaction, expressions
from .deployments import BPMN_NS

ACTIVE_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


def sequence_flows(bpmn_xml, process_key):
    """[(flow id, source id, target id)] of the process, including flows inside embedded sub-processes."""
    root = etree.fromstring(bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml,
                            parser=etree.XMLParser(resolve_entities=False, no_network=True))
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_key}']")
    if process is None:
        return []
    return [(f.get("id"), f.get("sourceRef"), f.get("targetRef"))
            for f in process.iter(f"{{{BPMN_NS}}}sequenceFlow")]


def _is_boundary(spec):
    return type(spec).__name__ == "BoundaryEvent"


def progress(workflow, bpmn_xml, process_key):
    """{completed: [ids], active: [ids], waiting: [ids], flows: [ids]} for the instance's top-level diagram.

    completed: elements that ran at least once (COMPLETED tasks);
    active: READY / STARTED / WAITING tasks, and call activities whose sub-process is running;
    waiting: boundary events currently listening (e.g. 撤回 while the review runs);
    flows: sequence flows taken (by the task tree: see ``_steps``).
    """
    completed, active, waiting = set(), set(), set()
    subprocesses = _top(workflow).subprocesses
    for task in workflow.get_tasks(skip_subprocesses=True):
        if task.workflow is not workflow:
            continue
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state & ACTIVE_STATES:
            (waiting if _is_boundary(task.task_spec) and task.state == TaskState.WAITING else active).add(bpmn_id)
        subprocess = subprocesses.get(task.id)
        if subprocess is not None and not subprocess.completed and task.state != TaskState.COMPLETED:
            active.add(bpmn_id)
    refused = _refused(workflow)
    completed |= {t.task_spec.bpmn_id for t in refused}
    marks = compaction.marks_of(workflow)  # what tasks spliced out of a long-lived instance's tree had run
    completed |= set(marks.get("completed", ()))
    taken = _steps(workflow, completed | active | waiting, refused) | {tuple(f) for f in marks.get("flows", ())}
    flows = [fid for fid, source, target in sequence_flows(bpmn_xml, process_key) if (source, target) in taken]
    return {"completed": sorted(completed), "active": sorted(active), "waiting": sorted(waiting - active),
            "flows": flows}


def _refused(workflow):
    """Activities an error boundary event interrupted (提交并检查政策规则 refusing): they ran, so they count as done.
    SpiffWorkflow keeps the activity and its boundary events as children of one split task."""
    out = []
    for task in workflow.get_tasks(skip_subprocesses=True):
        if task.workflow is workflow and _is_boundary(task.task_spec) and task.state == TaskState.COMPLETED \
                and task.parent is not None:
            out += [t for t in task.parent.children if t is not task and not _is_boundary(t.task_spec)
                    and getattr(t.task_spec, "bpmn_id", None) and t.state == TaskState.CANCELLED]
    return out


def _steps(workflow, reached, refused=()):
    """{(source, target)} the instance actually moved along: each task of the tree (a diagram element that ran or
    runs) with its nearest ancestor that is a diagram element. The tree holds only the branches a gateway chose
    (a loop adds new tasks), so a path is marked only when it was taken — not because both ends ran some time
    (the 暂存 branch when 提交 was pressed, a 未确认 loop when the purchaser confirmed)."""
    pairs = set()
    for task in workflow.get_tasks(skip_subprocesses=True):
        ran = task.state == TaskState.COMPLETED or task.state & ACTIVE_STATES or task in refused
        if task.workflow is not workflow or not ran:
            continue
        target = getattr(task.task_spec, "bpmn_id", None)
        if not target or target not in reached:
            continue
        parent = task.parent
        while parent is not None and not getattr(parent.task_spec, "bpmn_id", None):
            parent = parent.parent
        if parent is not None and parent.state == TaskState.COMPLETED:
            pairs.add((parent.task_spec.bpmn_id, target))
    return pairs


def _top(workflow):
    """Sub-workflows are kept on the top workflow, keyed by the task that started them."""
    return getattr(workflow, "top_workflow", None) or workflow


def called(workflow, xml_for, trail=()):
    """The latest run of every call activity, depth first: [{element, trail, key, status, xml, marks}].

    ``xml_for(key)`` gives the BPMN XML of the called process (the version the instance is pinned to); a call
    activity run again (a review loop) shows its latest run. ``trail`` names the call activities above."""
    latest = {}
    subprocesses = _top(workflow).subprocesses
    for task in workflow.get_tasks(skip_subprocesses=True):  # tree order: a later run comes after an earlier one
        if task.workflow is workflow and isinstance(task.task_spec, CallActivity) and task.id in subprocesses:
            latest[task.task_spec.bpmn_id] = (task, subprocesses[task.id])
    views = []
    for task, sub in latest.values():
        key = sub.spec.name
        xml = xml_for(key)
        if xml is None:
            continue
        label = expressions.display_name(task.task_spec.bpmn_name, task.data) or task.task_spec.bpmn_id
        views.append({"element": task.task_spec.bpmn_id, "trail": [*trail, label], "key": key,
                      "status": "completed" if sub.completed else "running", "xml": xml,
                      "marks": progress(sub, xml, key)})
        views.extend(called(sub, xml_for, (*trail, label)))
    return views
