"""The task page's operations panel (``_task_ops.html``, included by task.html) and the 抄送我的 page.

The panel posts to the same JSON API as any client (/api/tasks/<id>/reassign …) with the session cookie and
CSRF header (static/taskops.js), so the rules and the Chinese refusals are the API's."""
from flask import render_template
from sqlalchemy import select

from ..api.common import read_session
from ..engine import access, going_back, signers, taskops
from ..models import InstanceCopy, ProcessInstance, SavedComment, User
from . import bp, present
from .common import NAV, login_required, web_user

NAV.append(("web.copies", "抄送我的", "copies", None))


def _unit_people(session, user, row):
    """Active people of the task's unit other than the caller (for 委派 and 抄送)."""
    people = session.scalars(select(User).where(User.active.is_(True), User.id != user.id).order_by(User.username))
    return [p for p in people if not p.is_auditor and access.can_see_task(session, p, row)]


def task_ops(row):
    """What the panel offers the caller on ``row``: {holder, delegate, urge, candidates, people, comments, going_back}."""
    session, user = read_session(), web_user()
    if user is None or user.is_auditor:
        return {}
    ops = {"comments": [c.to_dict() for c in SavedComment.visible(session, user.username)]}
    if row.status == "open":
        instance = session.get(ProcessInstance, row.instance_id)
        holder = access.can_act(session, user, row) and row.claimed_by in (None, user.username)
        ops["delegated_to_me"] = row.delegation_state == "pending" and row.assignee == user.username
        ops["holder"] = holder and not ops["delegated_to_me"]
        ops["urge"] = taskops._may_urge(session, user, instance, row)
        if ops["holder"]:
            people = _unit_people(session, user, row)
            ops["candidates"] = [p for p in people if taskops.may_hold(session, p, row, user)]
            ops["people"] = people
        if ops["holder"]:
            ops["return_targets"] = going_back.return_targets(session, row)
        ops["signers"] = signers.for_task(session, row)
        pending = [x for x in ops["signers"] if x["status"] == "pending"]
        ops["my_sign"] = next((x for x in pending if x["username"] == user.username), None)
        ops["can_remove"] = bool(pending) and pending[0]["added_by"] == user.username
        ops["names"] = present.user_names(session, [x["username"] for x in ops["signers"]])
    elif row.status == "completed" and row.completed_by == user.username:
        ops["recall"] = going_back.can_recall(session, user, row)
    return ops


@bp.app_context_processor
def _task_ops_context():
    return {"task_ops": task_ops}


@bp.route("/copies")
@login_required
def copies():
    session, user = read_session(), web_user()
    rows = session.execute(select(InstanceCopy, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == InstanceCopy.instance_id).where(
        InstanceCopy.username == user.username).order_by(InstanceCopy.id.desc()).limit(500)).all()
    names = present.process_names(session)
    people = present.user_names(session, [c.copied_by for c, _ in rows])
    return render_template("copies.html", active="copies", rows=rows, names=names, people=people)


# -- 批量审批 -----------------------------------------------------------------------------------------
NAV.append(("web.batch", "批量审批", "batch", {"reviewer", "leader", "finance"}))


def _has_decision(schema):
    stack = list((schema or {}).get("components", []))
    while stack:
        component = stack.pop()
        if component.get("key") == "approved":
            return True
        stack.extend(component.get("components", []) or [])
    return False


@bp.route("/batch")
@login_required
def batch():
    """Open tasks the caller may complete now, grouped by form (only forms with a decision 审核结论)."""
    from ..api.tasks import visible_tasks
    from ..engine import deployments
    session, user = read_session(), web_user()
    rows = [t for t in visible_tasks(session, user) if not user.is_auditor and t.form_key
            and t.claimed_by in (None, user.username) and t.delegation_state != "pending"]
    groups, names = {}, present.process_names(session)
    for row in sorted(rows, key=lambda r: r.created_at):
        groups.setdefault(row.form_key, []).append(row)
    forms = {key: deployments.latest_form(session, key) for key in groups}
    groups = {k: v for k, v in groups.items() if forms[k] is not None and _has_decision(forms[k].schema)}
    comments = [c.to_dict() for c in SavedComment.visible(session, user.username)]
    return render_template("batch.html", active="batch", groups=groups, names=names, comments=comments)
