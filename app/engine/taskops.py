"""Operations on an open user task besides claim and complete (issue 17), for every diagram.

转办 (reassign), 委派/归还 (Camunda 7 delegate/resolve), 催办 (urge) and 抄送 (copy) change who holds or sees
a task, not where the token stands: each is a history event (actor, time, task, target, reason) in the same
transaction as its change to ``human_task``, and the replay checks that the task was READY then
(``replay.PASSIVE``). Going back (撤回, 退回) moves the token: that is ``engine/going_back.py``.
"""
from datetime import timedelta

from sqlalchemy import select

from ..models import DomainError, HistoryEvent, HumanTask, InstanceCopy, NotFound, ProcessInstance, User
from ..models.base import beijing, text_field
from . import access, history, notices, runtime

URGE_INTERVAL = timedelta(minutes=30)  # one 催办 per task in this period, whoever urges (config URGE_INTERVAL_MINUTES)
URGERS = {"finance", "admin"}  # besides the starter: the finance department (year-end campaign), administrators
WORKING_ROLES = {"clerk", "reviewer", "leader", "finance", "agency"}


def _label(row):
    return f"{row.bpmn_id}:{row.name}"


def _user(session, username, field):
    user = session.scalar(select(User).where(User.username == str(username or "").strip().lower()))
    if user is None or not user.active:
        raise DomainError("INVALID_INPUT", f"用户 {username} 不存在或已停用", field=field, status=400)
    return user


def _in_unit(session, target, row, what):
    if target.is_auditor or not access.can_see_task(session, target, row):
        raise DomainError("OTHER_UNIT", f"{target.display_name}（{target.username}）不在该任务所属单位，不能{what}",
                          status=403)


def may_hold(session, target, row, holder=None):
    """Whether ``target`` may hold the task: a candidate user, a member of a candidate group, or (a task assigned
    to one person) someone sharing a working role with its holder; always in the task's unit."""
    if target.is_auditor or not access.can_see_task(session, target, row):
        return False
    if target.username in (row.candidate_users or []) or target.groups & set(row.candidate_groups or []):
        return True
    if not row.candidate_groups and not row.candidate_users and holder is not None:
        return bool(target.groups & holder.groups & WORKING_ROLES)
    return False


def _holder(session, user, task_id):
    row, instance = runtime._open_task(session, user, task_id)
    runtime._check_actor(session, user, row)
    return row, instance


def _event(session, instance, type_, user, now, row, data):
    history.append(session, instance, type_, actor=user.username, at=now, task=_label(row),
                   data={"task_id": row.id, **data})


def reassign(session, user, task_id, target_name, reason, now):
    """转办: the holder hands the task to another who may hold it; the new holder owns it from then on."""
    reason = text_field(reason, "reason", "转办原因", 500, required=False)
    row, instance = _holder(session, user, task_id)
    if row.delegation_state == "pending":
        raise DomainError("DELEGATED", "任务正在委派中，须由被委派人办理后归还，才能转办", status=409)
    target = _user(session, target_name, "assignee")
    if target.id == user.id:
        raise DomainError("SELF_TARGET", "不能转办给自己", field="assignee", status=409)
    _in_unit(session, target, row, "转办")
    if not may_hold(session, target, row, user):
        raise DomainError("CANNOT_HOLD", f"{target.display_name} 不是该任务的办理岗位（{'、'.join(row.candidate_groups or [])}）"
                                         "人员，不能转办给他", status=403)
    previous = row.assignee or row.claimed_by
    row.assignee, row.claimed_by, row.owner = target.username, None, None
    _event(session, instance, "task_reassigned", user, now, row, {"from": previous or user.username,
                                                                 "to": target.username, "reason": reason})
    notices.notify(session, [target.username], "reassigned", f"{user.display_name} 将任务“{row.name}”（流程 #"
                   f"{row.instance_id}）转办给您", now, row.instance_id, row.id, user.username, reason)
    session.flush()
    return row


def delegate(session, user, task_id, target_name, reason, now):
    """委派 (Camunda 7 delegateTask): the delegate works on it, then resolves it back to the owner, who decides."""
    reason = text_field(reason, "reason", "委派说明", 500, required=False)
    row, instance = _holder(session, user, task_id)
    if row.delegation_state == "pending":
        raise DomainError("DELEGATED", "任务已在委派中，不能再次委派", status=409)
    target = _user(session, target_name, "assignee")
    if target.id == user.id:
        raise DomainError("SELF_TARGET", "不能委派给自己", field="assignee", status=409)
    _in_unit(session, target, row, "委派")
    row.owner = row.owner or user.username  # Camunda: the owner is set once, to the holder who delegated
    row.assignee, row.claimed_by, row.delegation_state = target.username, None, "pending"
    _event(session, instance, "task_delegated", user, now, row, {"owner": row.owner, "to": target.username,
                                                                "reason": reason})
    notices.notify(session, [target.username], "delegated", f"{user.display_name} 委派您协助办理“{row.name}”（流程 #"
                   f"{row.instance_id}），办理后请归还", now, row.instance_id, row.id, user.username, reason)
    session.flush()
    return row


def resolve(session, user, task_id, comment, now):
    """归还 (Camunda 7 resolveTask): the delegate's opinion goes into the history; the owner holds the task again."""
    comment = text_field(comment, "comment", "办理意见", 1000, required=False)
    row, instance = runtime._open_task(session, user, task_id)
    if row.status != "open":
        raise DomainError("TASK_CLOSED", "该任务已被处理，请刷新待办列表", status=409)
    if row.delegation_state != "pending":
        raise DomainError("NOT_DELEGATED", "该任务不在委派中，无需归还", status=409)
    if row.assignee != user.username:
        raise DomainError("FORBIDDEN", "只有被委派人可以归还该任务", status=403)
    row.assignee, row.delegation_state = row.owner, "resolved"
    _event(session, instance, "task_resolved", user, now, row, {"owner": row.owner, "comment": comment})
    notices.notify(session, [row.owner], "resolved", f"{user.display_name} 已办理委派的“{row.name}”（流程 #"
                   f"{row.instance_id}）并归还，请您决定", now, row.instance_id, row.id, user.username, comment)
    session.flush()
    return row


def _may_urge(session, user, instance, row):
    if user.is_auditor:
        return False
    starter = session.get(User, instance.started_by) if instance.started_by else None
    if starter is not None and starter.id == user.id:
        return True
    if "admin" in user.groups:
        return True
    return "finance" in user.groups and access.can_see_task(session, user, row)


def urge(session, user, task_id, message, now, interval=URGE_INTERVAL):
    """催办: the starter, the finance department or an administrator reminds the holders; once per ``interval``."""
    message = text_field(message, "message", "催办说明", 500, required=False)
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound("任务", task_id)
    instance = runtime._lock_instance(session, row.instance_id)
    session.refresh(row)
    if not _may_urge(session, user, instance, row):
        if not access.can_see_task(session, user, row) and "admin" not in user.groups:
            raise NotFound("任务", task_id)
        raise DomainError("FORBIDDEN", "只有流程发起人、财政部门或系统管理员可以催办", status=403)
    if row.status != "open":
        raise DomainError("TASK_CLOSED", "该任务已办理，无需催办", status=409)
    last = max((e.at for e in session.scalars(select(HistoryEvent).where(
        HistoryEvent.instance_id == instance.id, HistoryEvent.type == "task_urged"))
        if (e.data or {}).get("task_id") == row.id), default=None)
    if last is not None and now - last < interval:
        raise DomainError("URGE_TOO_OFTEN", f"该任务已于 {beijing(last)} 催办过，请于 {beijing(last + interval)} 后再催办",
                          status=409)
    holders = notices.recipients(session, row)
    _event(session, instance, "task_urged", user, now, row, {"to": holders, "message": message})
    notices.notify(session, holders, "urged", f"{user.display_name} 催办：请尽快办理“{row.name}”（流程 #"
                   f"{row.instance_id}）", now, row.instance_id, row.id, user.username, message)
    session.flush()
    return {"task_id": row.id, "notified": [h for h in holders if h != user.username], "at": now}


def _took_part(session, user, instance):
    """A handler of the instance: its starter, a holder of one of its open tasks or who completed one."""
    if instance.started_by == user.id:
        return True
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
    return any(r.completed_by == user.username or (r.status == "open" and access.can_act(session, user, r))
               for r in rows)


def copy(session, user, instance_id, usernames, comment, now):
    """抄送: a read-only copy for each named person of the instance's unit (listed under 抄送我的)."""
    comment = text_field(comment, "comment", "抄送说明", 500, required=False)
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not access.can_see_instance(session, user, instance):
        raise NotFound("流程实例", instance_id)
    instance = runtime._lock_instance(session, instance_id)
    if user.is_auditor or not _took_part(session, user, instance):
        raise DomainError("FORBIDDEN", "只有该流程的经办人可以抄送", status=403)
    names = list(dict.fromkeys(str(n).strip().lower() for n in usernames or [] if str(n).strip()))
    if not names:
        raise DomainError("INVALID_INPUT", "请选择抄送人", field="users", status=400)
    targets = [_user(session, n, "users") for n in names]
    outside = [t.display_name for t in targets if t.is_auditor or not access.can_see_instance(session, t, instance)]
    if outside:
        raise DomainError("OTHER_UNIT", f"{'、'.join(outside)} 不在该流程所属单位，不能抄送", status=403)
    added = []
    for target in targets:
        exists = session.scalar(select(InstanceCopy).where(InstanceCopy.instance_id == instance.id,
                                                           InstanceCopy.username == target.username))
        if exists is None and target.id != user.id:
            session.add(InstanceCopy(instance_id=instance.id, username=target.username, copied_by=user.username,
                                     comment=comment, created_at=now))
            added.append(target.username)
    if not added:
        raise DomainError("ALREADY_COPIED", "所选人员均已收到该流程的抄送", status=409)
    history.append(session, instance, "instance_copied", actor=user.username, at=now,
                   data={"to": added, "comment": comment})
    notices.notify(session, added, "copied", f"{user.display_name} 抄送给您：流程 #{instance.id}", now, instance.id,
                   None, user.username, comment)
    session.flush()
    return added


def copy_from_diagram(session, user, row, spec, instance, now):
    """抄送 a diagram asks for: a user task's extension properties ``copyToGroups`` / ``copyToUsers`` (comma-separated)
    copy the instance, when the task completes, to those groups' members in its unit and those users."""
    props = getattr(spec, "extensions", None) or {}
    groups = {g.strip() for g in (props.get("copyToGroups") or "").split(",") if g.strip()}
    names = [u.strip().lower() for u in (props.get("copyToUsers") or "").split(",") if u.strip()]
    if not groups and not names:
        return []
    if groups:
        from ..models import UserRole
        members = session.scalars(select(User).where(User.active.is_(True), User.id.in_(
            select(UserRole.user_id).where(UserRole.role.in_(groups)))).order_by(User.username))
        names += [m.username for m in members]
    added = []
    for name in dict.fromkeys(names):
        target = session.scalar(select(User).where(User.username == name, User.active.is_(True)))
        if target is None or target.is_auditor or not access.can_see_instance(session, target, instance):
            continue
        if session.scalar(select(InstanceCopy.id).where(InstanceCopy.instance_id == instance.id,
                                                        InstanceCopy.username == name)) is None:
            session.add(InstanceCopy(instance_id=instance.id, username=name, copied_by=user.username if user else "system",
                                     task=_label(row), comment="", created_at=now))
            added.append(name)
    if added:
        history.append(session, instance, "instance_copied", actor=user.username if user else "system", at=now,
                       task=_label(row), data={"to": added, "comment": "", "by_diagram": row.bpmn_id})
        notices.notify(session, added, "copied", f"流程 #{instance.id}“{row.name}”已办理，抄送给您", now, instance.id,
                       None, user.username if user else None)
    return added
