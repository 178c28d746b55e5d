"""Who may see and act on a task or an instance: units, agencies (代理机构库), candidate groups and users, and the
holders of a task the diagram gives nobody. Shared by the step (runtime), the task operations and the lists
(tasklist.py says the same in SQL)."""
from . import deployments
from ..models.org import UNASSIGNED_GROUP

SYSTEM = "system"  # the initiator of instances no person started


def can_see_unit(session, user, unit_id):
    return unit_id is None or unit_id in user.unit_ids(session)


def can_see_task(session, user, row):
    """Auditors see every task. Staff of an agency see the tasks of the work entrusted to their agency (any unit)
    and never another agency's; otherwise the task's unit must be the user's (代理机构库, issue 13)."""
    if user.is_auditor:
        return True
    agency_id = getattr(row, "agency_id", None)
    if user.agency_id is not None and agency_id is not None:
        return agency_id == user.agency_id
    return can_see_unit(session, user, row.unit_id)


def can_see_instance(session, user, instance):
    """``can_see_task`` for a whole instance: its agency is the ``agency_id`` of its data."""
    from ..models.agency import agency_id_of
    if user.is_auditor:
        return True
    agency_id = agency_id_of((instance.data or {}).get("agency_id"))
    if user.agency_id is not None and agency_id is not None:
        return agency_id == user.agency_id
    return can_see_unit(session, user, instance.unit_id)


# Who holds a user task the diagram gives nobody (no assignee, candidate user or known candidate group), as in
# Camunda 7's Tasklist where authorised users see such tasks: the administrator (in every unit), the process's
# starter groups (camunda:candidateStarterGroups) and the instance's initiator, in the instance's unit.


def unassigned_fallback(spec, definition, data, groups, users, assignee):
    """(groups, users) for a task row: the diagram's, plus the fallback holders when nobody known holds it."""
    from ..models.org import ROLES
    if assignee or users or any(g in ROLES for g in groups):
        return groups, users
    starters = sorted(deployments.parsed(definition).starter_groups) if definition is not None else []
    initiator = data.get("initiator")
    extra_users = [initiator] if initiator and initiator != SYSTEM else []
    return list(dict.fromkeys([*groups, UNASSIGNED_GROUP, *starters])), extra_users


def admin_holds(user, row):
    """The administrator acts on tasks routed to the administrators in any unit (the unassigned fallback)."""
    return not row.assignee and UNASSIGNED_GROUP in user.groups and UNASSIGNED_GROUP in (row.candidate_groups or [])


def can_act(session, user, row):
    """Assignee if one is set; otherwise a member of a candidate group or a candidate user; always in the unit
    (the administrator's fallback tasks excepted)."""
    if user.is_auditor:
        return False
    if admin_holds(user, row):
        return True
    if not can_see_task(session, user, row):
        return False
    if row.assignee:
        return row.assignee == user.username
    return bool(set(row.candidate_groups or []) & user.groups) or user.username in (row.candidate_users or [])
