"""Going back on the path the token took: 退回 (return to an earlier user task) and 撤回 (recall one's own step).

Both use SpiffWorkflow's reset to a task (``BpmnWorkflow.reset_from_task_id``) instead of a loop drawn in every
diagram: the chosen completed user task becomes READY again with the data it had then, everything after it
is dropped. What the service tasks after it did to records cannot be dropped with the tree, so a return
or recall across a service task that changed records is refused, naming the step and the records
(the history says which: ``service_task`` events with ``changes``).

Analysts may restrict the return targets of a user task with the extension property ``returnTargets``
(Camunda Modeler → 属性面板 → Extension properties): a comma-separated list of user-task ids, or ``none``
to allow no return from that task (docs/task-operations.md).

Each is a history event (``task_returned`` / ``task_recalled``: actor, time, the task it started from, the
target and the reason) that ``replay.py`` drives with the same ``reset`` — so the instance still verifies.
"""
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..models import DomainError, HumanTask, NotFound, User
from ..models.base import text_field
from . import access, history, notices, runtime, task_rows

PASSIVE_AFTER = {"task_urged", "instance_copied", "task_claimed", "task_released"}  # do not "touch" a next step


def _parent(task):
    """The task before ``task`` on the token's path, across a call activity's boundary."""
    if task.parent is not None:
        return task.parent
    parent_id = getattr(task.workflow, "parent_task_id", None)
    return task.workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None


def _ancestors(task):
    seen, current = 0, _parent(task)
    while current is not None and seen < 100000:
        yield current
        current, seen = _parent(current), seen + 1


def _is_user_task(task):
    return getattr(task.task_spec, "manual", False) and getattr(task.task_spec, "bpmn_id", None)


def completed_path(task):
    """Completed user tasks on the path to ``task``, nearest first, one per element (the latest occurrence)."""
    found, seen = [], set()
    for earlier in _ancestors(task):
        if earlier.state == TaskState.COMPLETED and _is_user_task(earlier) and earlier.task_spec.bpmn_id not in seen:
            seen.add(earlier.task_spec.bpmn_id)
            found.append(earlier)
    return found


def find_target(workflow, from_bpmn_id, target_bpmn_id):
    """The occurrence of ``target_bpmn_id`` to reset to: on the path to the READY task ``from_bpmn_id``. The replay
    finds it the same way, so task ids (which differ between runs) are never needed."""
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.task_spec.bpmn_id == from_bpmn_id:
            for earlier in completed_path(task):
                if earlier.task_spec.bpmn_id == target_bpmn_id:
                    return earlier
    return None


def reset(workflow, target):
    """The token back at ``target`` (READY again with the data it had), then the engine runs on."""
    workflow.reset_from_task_id(target.id)


def _allowed(task):
    """``returnTargets`` of the task returned from: None = any earlier step; a set = only those ids."""
    value = ((getattr(task.task_spec, "extensions", None) or {}).get("returnTargets") or "").strip()
    if not value:
        return None
    if value.lower() == "none":
        return set()
    return {v.strip() for v in value.split(",") if v.strip()}


def _changed_records(session, instance, target):
    """Service tasks after ``target`` completed that changed records: [(task label, [record, …])]."""
    events = history.events(session, instance.id)
    start = next((e.seq for e in events if e.type == "task_completed"
                  and (e.data or {}).get("task_id") == str(target.id)), None)
    if start is None:
        return [("（历史中找不到该步骤的办理记录）", [])]
    out = []
    for event in events:
        if event.seq > start and event.type == "service_task" and event.changes:
            label = (event.task or "").split(":", 1)[-1]
            out.append((label, sorted({c.get("record", "?") for c in event.changes})))
    return out


def _refuse_changed(changed, what):
    text = "；".join(f"“{label}”已修改 {'、'.join(records)}" if records else label for label, records in changed)
    raise DomainError("CANNOT_UNDO", f"不能{what}：其后的服务任务已修改业务记录且无法撤销（{text}）", status=409)


def _load(session, user, instance):
    step = runtime.Step(session, user, None)
    return step, runtime.load(step, instance)


def return_targets(session, row):
    """What the task page offers for 退回 from ``row``: [{bpmn_id, name, completed_by_name}], nearest first."""
    if row.status != "open":
        return []
    instance = session.get(runtime.ProcessInstance, row.instance_id)
    _step, workflow = _load(session, None, instance)
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None:
        return []
    allowed = _allowed(task)
    done = {r.id: r for r in session.scalars(select(HumanTask).where(HumanTask.instance_id == row.instance_id))}
    names = dict(session.execute(select(User.username, User.display_name)).all())
    out = []
    for earlier in completed_path(task):
        if allowed is not None and earlier.task_spec.bpmn_id not in allowed:
            continue
        earlier_row = done.get(str(earlier.id))
        by = earlier_row.completed_by if earlier_row is not None else None
        out.append({"bpmn_id": earlier.task_spec.bpmn_id, "name": earlier_row.name if earlier_row else
                    (earlier.task_spec.bpmn_name or earlier.task_spec.bpmn_id), "completed_by": by,
                    "completed_by_name": names.get(by, by or "—")})
    return out


def return_to(session, user, task_id, target_bpmn_id, reason, now):
    """退回: the holder sends the instance back to ``target_bpmn_id``, an earlier completed step on this path."""
    reason = text_field(reason, "reason", "退回原因", 1000)
    row, instance = runtime._open_task(session, user, task_id)
    runtime._check_actor(session, user, row)
    step = runtime.Step(session, user, now)
    workflow = runtime.load(step, instance)
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.READY:
        raise DomainError("TASK_CLOSED", "该任务已不可处理", status=409)
    target_bpmn_id = str(target_bpmn_id or "").strip()
    target = find_target(workflow, row.bpmn_id, target_bpmn_id)
    if target is None:
        raise DomainError("NOT_ON_PATH", f"步骤 {target_bpmn_id} 在本流程中尚未办理过（或不在当前路径上），不能退回到该步骤",
                          field="target", status=409)
    allowed = _allowed(task)
    if allowed is not None and target_bpmn_id not in allowed:
        where = "、".join(sorted(allowed)) if allowed else "任何步骤"
        raise DomainError("RETURN_NOT_ALLOWED", f"流程图规定本步骤只能退回到：{where}", field="target", status=403)
    changed = _changed_records(session, instance, target)
    if changed:
        _refuse_changed(changed, f"退回到“{target.task_spec.bpmn_name or target_bpmn_id}”")
    ready = task_rows.ready_user_tasks(workflow)

    def go_back():
        step.event("task_returned", task, {"task_id": row.id, "target": target_bpmn_id, "reason": reason,
                                           "ready": ready})
        reset(workflow, target)
    step.run(go_back)
    step.save()
    _tell_returned(session, instance, target, user, reason, now)
    return instance


def _tell_returned(session, instance, target, user, reason, now):
    reopened = session.get(HumanTask, str(target.id))
    if reopened is not None and reopened.status == "open":
        notices.notify(session, notices.recipients(session, reopened), "returned",
                       f"{user.display_name} 将“{reopened.name}”（流程 #{instance.id}）退回给您：{reason}", now,
                       instance.id, reopened.id, user.username, reason)


def can_recall(session, user, row):
    """Whether ``user`` may take back ``row`` (a task they completed): see ``recall``. Returns bool."""
    try:
        _recall_check(session, user, row, *_load(session, user, session.get(runtime.ProcessInstance, row.instance_id)))
    except DomainError:
        return False
    return True


def _recall_check(session, user, row, step, workflow):
    if row.status != "completed" or row.completed_by != user.username:
        raise DomainError("FORBIDDEN", "只能撤回自己办理的步骤", status=403)
    instance = step.instance
    if instance.status != "running":
        raise DomainError("NOT_RUNNING", "流程已结束，不能撤回", status=409)
    events = history.events(session, instance.id)
    mine = next((e for e in events if e.type == "task_completed" and (e.data or {}).get("task_id") == row.id), None)
    later = [e for e in events if mine is not None and e.seq > mine.seq and e.type not in PASSIVE_AFTER
             and not (e.type in ("service_task", "error_caught") and e.at == mine.at)]
    if mine is None or later:
        raise DomainError("NEXT_TOUCHED", "下一步已有人办理或流程已继续流转，不能撤回", status=409)
    open_rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                             HumanTask.status == "open")))
    if any(r.claimed_by or r.delegation_state for r in open_rows):
        raise DomainError("NEXT_TOUCHED", "下一步已被签收，不能撤回", status=409)
    for ready in workflow.get_tasks(state=TaskState.READY, manual=True):
        if any(str(t.id) == row.id for t in completed_path(ready)):
            changed = _changed_records(session, instance, workflow.get_task_from_id(UUID(row.id)))
            if changed:
                _refuse_changed(changed, "撤回")
            return ready
    raise DomainError("NEXT_TOUCHED", "流程已不在您办理的步骤之后，不能撤回", status=409)


def recall(session, user, task_id, reason, now):
    """撤回: who completed a step takes it back while the next step is untouched (nobody claimed or did anything)."""
    reason = text_field(reason, "reason", "撤回原因", 500, required=False)
    row = session.get(HumanTask, task_id)
    if row is None or not access.can_see_task(session, user, row):
        raise NotFound("任务", task_id)
    instance = runtime._lock_instance(session, row.instance_id)
    session.refresh(row)
    step = runtime.Step(session, user, now)
    workflow = runtime.load(step, instance)
    ready = _recall_check(session, user, row, step, workflow)
    target = workflow.get_task_from_id(UUID(row.id))
    before = task_rows.ready_user_tasks(workflow)

    def go_back():
        step.event("task_recalled", ready, {"task_id": row.id, "target": row.bpmn_id, "reason": reason,
                                            "ready": before})
        reset(workflow, target)
    step.run(go_back)
    step.save()
    return instance


# The recorded events the replay drives: event type → (the READY task it started from, the target).
DRIVEN = {"task_returned", "task_recalled"}


def replay_target(workflow, event):
    """The task ``event`` reset to, found in the replayed workflow (``find_target``), or None."""
    data = event.data or {}
    from_bpmn_id = (event.task or "").split(":", 1)[0]
    return find_target(workflow, from_bpmn_id, data.get("target"))

