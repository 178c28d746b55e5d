"""Stranded instances: running, yet nobody and nothing can move them on.

A running instance is movable when at least one of these holds:

- an open task some active user may complete: the assignee (or whoever claimed it) is active and may act in the
  task's unit, or an active user holds one of its candidate groups / is a candidate user, in the unit;
- a pending timer of the instance (the scheduler fires it);
- an open external task (``engine/external.py``): a worker fetches it; one with no retries left has an incident
  the administrator resolves by giving it retries;
- a message event it waits for that some active user may send (``runtime.waiting_messages``);
- a failed timer with an open incident: an administrator retries it (``POST /api/incidents/<id>/retry``) once
  the cause is mended (e.g. the instance migrated to a corrected diagram), so the incident list, not this one,
  shows it.

Called processes run inside their caller's instance, so their tasks, timers and messages count for it. An
instance none of these hold for is *stranded*; ``find_stranded`` names each with the reasons, in Chinese. The
administrators and auditors see the list (``GET /api/stranded``, 审计 · 无人可推进的流程), the scheduler records
an incident per stranded instance once a day (``record_daily``), and the test suite checks after every test.
"""
from sqlalchemy import String, bindparam, cast, func, select

from ..models import ExternalTask, HumanTask, Incident, ProcessDefinition, ProcessInstance, Timer, User
from ..models.integration import IntegrationClient, MACHINE_ROLES
from ..models.org import ROLES
from .access import admin_holds

INCIDENT_KIND = "stranded_instance"
CHUNK = 500  # ids per IN list


class _People:
    """The active users who may act (auditors never do), with their groups and units, read once."""

    def __init__(self, session):
        users = [u for u in session.scalars(select(User).where(User.active.is_(True))) if not u.is_auditor]
        self.by_name = {u.username: u for u in users}
        self.units = {u.username: u.unit_ids(session) for u in users}
        # Machine clients (the budget system) send their messages for every unit.
        self.machine_roles = set(session.scalars(select(IntegrationClient.role).where(IntegrationClient.active.is_(True))))

    def may_act(self, username, row):
        user = self.by_name.get(username)
        if user is not None and admin_holds(user, row):
            return True
        if user is None or not self._in_unit(username, row.unit_id):
            return False
        if row.assignee:
            return row.assignee == username
        return bool(set(row.candidate_groups or []) & user.groups) or username in (row.candidate_users or [])

    def _in_unit(self, username, unit_id):
        return unit_id is None or unit_id in self.units[username]

    def anyone(self, row):
        """Someone active who may complete the task (whoever claimed it, if anyone did)."""
        if row.claimed_by:
            return self.may_act(row.claimed_by, row)
        if row.assignee:
            return self.may_act(row.assignee, row)
        return any(self.may_act(name, row) for name in self.by_name)

    def may_send(self, groups, initiator, unit_id):
        if groups & self.machine_roles:
            return True
        if initiator in self.by_name and self._in_unit(initiator, unit_id):
            return True
        return any(groups & user.groups and self._in_unit(name, unit_id) for name, user in self.by_name.items())


def _groups_label(groups):
    return "、".join(ROLES.get(g) or MACHINE_ROLES.get(g, g) for g in groups) or "无"


def _task_reason(row):
    if row.claimed_by:
        return f"待办“{row.name}”已由 {row.claimed_by} 签收，该用户已停用或不能在本单位处理"
    if row.assignee:
        return f"待办“{row.name}”指定由 {row.assignee} 处理，该用户不存在、已停用或没有本单位的权限"
    users = f"，候选用户 {'、'.join(row.candidate_users)}" if row.candidate_users else ""
    return f"待办“{row.name}”的候选岗位（{_groups_label(row.candidate_groups or [])}{users}）在本单位没有在岗用户"


def _message_reasons(session, instance, people, now):
    """None when someone may send a message the instance waits for; else why nobody can."""
    from . import runtime
    step = runtime.Step(session, None, now)
    try:
        workflow = runtime.load(step, instance)
    except Exception as exc:  # noqa: BLE001 - an instance that cannot even be loaded is stranded, with the reason
        return [f"流程无法加载：{exc}"]
    reasons = []
    for name, groups, initiator in runtime.waiting_messages(workflow):
        if people.may_send(groups, initiator, instance.unit_id):
            return None
        reasons.append(f"等待消息“{name}”，但发起人 {initiator or '（系统）'} 与岗位（{_groups_label(sorted(groups))}）"
                       f"都没有可发送的在岗用户")
    return reasons


def _live_holdings(session, people):
    """The open tasks' distinct holdings (unit, assignee, claimant, candidates) someone active may complete, as
    ``holding_key`` strings. Judged once per holding, not per task: a province's 100,000 open tasks are held in a
    few hundred ways. The representative row of each holding is read in chunks."""
    ids = list(session.scalars(select(func.min(HumanTask.id)).where(HumanTask.status == "open").group_by(
        HumanTask.unit_id, HumanTask.assignee, HumanTask.claimed_by, HumanTask.candidate_keys)))
    live = set()
    for start in range(0, len(ids), CHUNK):
        for row in session.scalars(select(HumanTask).where(HumanTask.id.in_(ids[start:start + CHUNK]))):
            if people.anyone(row):
                live.add(_holding(row.unit_id, row.assignee, row.claimed_by, row.candidate_keys))
    return live


def _holding(unit_id, assignee, claimed_by, keys):
    return f"{'' if unit_id is None else unit_id}|{assignee or ''}|{claimed_by or ''}|{keys}"


def holding_key():
    """``_holding`` in SQL, for a HumanTask row."""
    text = lambda column: func.coalesce(column, "")  # noqa: E731
    return (text(cast(HumanTask.unit_id, String)) + "|" + text(HumanTask.assignee) + "|"
            + text(HumanTask.claimed_by) + "|" + HumanTask.candidate_keys)


def _candidates(session, people):
    """Running instances with no open task someone may complete, no pending timer, no failed timer awaiting its
    retry and no open external task, in instance order: the stranded ones and those that only wait for a message
    (checked next). Anti-joins on indexed instance ids; the live holdings go in inline (no parameter limit)."""
    pi = ProcessInstance.id
    live = bindparam("live", sorted(_live_holdings(session, people)) or [""], expanding=True, literal_execute=True)
    movable_task = select(HumanTask.id).where(HumanTask.instance_id == pi, HumanTask.status == "open",
                                              holding_key().in_(live))
    timer = select(Timer.id).where(Timer.instance_id == pi, Timer.kind == "event", Timer.status == "pending")
    failed = select(Timer.id).join(Incident, Incident.timer_id == Timer.id).where(
        Timer.instance_id == pi, Timer.kind == "event", Timer.status == "failed", Incident.status == "open")
    external = select(ExternalTask.id).where(ExternalTask.instance_id == pi, ExternalTask.status == "open")
    return list(session.scalars(select(pi).where(
        ProcessInstance.status == "running", ~movable_task.exists(), ~timer.exists(), ~failed.exists(),
        ~external.exists()).order_by(pi)))


def find_stranded(session, now=None):
    """Every running instance nobody and nothing can move, oldest first:
    ``[{instance_id, key, name, business_key, unit_id, started_at, reason, reasons, tasks}]``. The work grows with
    the candidates (``_candidates``), not with the open tasks: each candidate's workflow is loaded to see whether
    someone may send a message it waits for."""
    people = _People(session)
    candidates = _candidates(session, people)
    if not candidates:
        return []
    names = dict(session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                 .order_by(ProcessDefinition.version)).all())
    found = []
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start:start + CHUNK]
        tasks = {}
        for row in session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.instance_id.in_(
                chunk)).order_by(HumanTask.created_at, HumanTask.id)):
            tasks.setdefault(row.instance_id, []).append(row)
        for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(chunk))
                                        .order_by(ProcessInstance.id)):
            rows = tasks.get(instance.id, [])
            messages = _message_reasons(session, instance, people, now)
            if messages is None:
                continue
            reasons = [_task_reason(row) for row in rows] + messages
            if not reasons:
                reasons = ["没有待办任务、未到期的定时器或可发送的消息"]
            found.append({"instance_id": instance.id, "key": instance.key,
                          "name": names.get(instance.key, instance.key), "business_key": instance.business_key,
                          "unit_id": instance.unit_id, "started_at": instance.started_at,
                          "reason": "；".join(reasons), "reasons": reasons, "tasks": [row.name for row in rows]})
    return found


def record_findings(session, now, stranded):
    """One open ``stranded_instance`` incident per stranded instance (never a second while one is open);
    incidents of instances that are no longer stranded are resolved. Returns the new incidents' ids."""
    by_instance = {s["instance_id"]: s for s in stranded}
    created = []
    for incident in session.scalars(select(Incident).where(Incident.kind == INCIDENT_KIND, Incident.status == "open")):
        if incident.instance_id in by_instance:
            by_instance.pop(incident.instance_id)
        else:
            incident.status, incident.resolved_at = "resolved", now
    for instance_id, finding in by_instance.items():
        incident = Incident(instance_id=instance_id, task=None, kind=INCIDENT_KIND, status="open", created_at=now,
                            error=f"流程实例无人可推进：{finding['reason']}")
        session.add(incident)
        session.flush()
        created.append(incident.id)
    return created


def run_daily(db, now):
    """For the scheduler: find in one read, record incidents in one short write."""
    with db.Session() as session:
        stranded = find_stranded(session, now)
        session.rollback()
    with db.Session() as session, session.begin():
        return {"stranded": [s["instance_id"] for s in stranded], "incidents": record_findings(session, now, stranded)}
