"""加签 / 减签 on an open user task, for every diagram, without drawing anything.

- 前加签 (``before``): the holder asks others to give their opinion first; the holder's task cannot be completed
  until the round is answered (会签 ``all``: every signer; 或签 ``any``: one of them). Their opinions are
  advice: the holder decides.
- 后加签 (``after``): the holder decides (the form's values, kept with the round) and others must approve before
  the flow moves on: 会签 — all approve; 或签 — one approves. Then the task completes with the holder's decision
  (``task_completed``, actor the holder). A refusal (会签: any; 或签: all) sends the task back to the holder,
  whose decision is void, with the signer's opinion.
- 减签: the holder removes a pending signer; the round is evaluated again.

Signing moves no token: each act is a history event (``task_signers_added``, ``task_signer_answered``,
``task_signer_removed``) the replay checks as passive (the task READY); the completion a 后加签 round leads to
is an ordinary ``task_completed``.
"""
from sqlalchemy import exists, func, select

from ..models import DomainError, HumanTask, NotFound, TaskSigner, User
from ..models.base import text_field
from . import access, history, notices

MODES = {"before": "前加签", "after": "后加签"}
KINDS = {"all": "会签", "any": "或签"}
WORKING_ROLES = {"clerk", "reviewer", "leader", "finance", "agency"}


def _open(session, row):
    return list(session.scalars(select(TaskSigner).where(TaskSigner.task_id == row.id, TaskSigner.status == "pending")))


def any_pending():
    """A column for a query of ``HumanTask``: whether the task has signers yet to answer (then ``blocking`` says
    who), so the common case costs no statement of its own."""
    return exists().where(TaskSigner.task_id == HumanTask.id, TaskSigner.status == "pending")


def blocking(session, row, known_none=False):
    """Why ``row`` cannot be completed now (a message), or None; ``known_none``: ``any_pending`` said none."""
    pending = [] if known_none else _open(session, row)
    if not pending:
        return None
    mode = pending[0].mode
    names = "、".join(p.username for p in pending)
    if mode == "before":
        return f"前加签尚未完成（待 {names} 提出意见），请等待或减签后再办理"
    return f"您已提交审批结论，正在等待后加签人（{names}）审批"


def _label(row):
    return f"{row.bpmn_id}:{row.name}"


def _event(session, instance, type_, user, now, row, data):
    history.append(session, instance, type_, actor=user.username, at=now, task=_label(row),
                   data={"task_id": row.id, **data})


def add(session, user, task_id, usernames, mode, kind, reason, now, decision=None):
    """The holder adds signers (one round at a time); 后加签 carries the holder's validated decision."""
    from . import runtime
    reason = text_field(reason, "reason", "加签说明", 500, required=False)
    if mode not in MODES:
        raise DomainError("INVALID_INPUT", "加签方式应为 before（前加签）或 after（后加签）", field="mode", status=400)
    if kind not in KINDS:
        raise DomainError("INVALID_INPUT", "签署方式应为 all（会签）或 any（或签）", field="kind", status=400)
    row, instance = runtime._open_task(session, user, task_id)
    runtime._check_actor(session, user, row)  # the holder, nothing pending (delegation, another round)
    names = list(dict.fromkeys(str(n).strip().lower() for n in usernames or [] if str(n).strip()))
    if not names:
        raise DomainError("INVALID_INPUT", "请选择加签人", field="users", status=400)
    targets = []
    for name in names:
        target = session.scalar(select(User).where(User.username == name))
        if target is None or not target.active:
            raise DomainError("INVALID_INPUT", f"用户 {name} 不存在或已停用", field="users", status=400)
        if target.id == user.id:
            raise DomainError("SELF_TARGET", "不能给自己加签", field="users", status=409)
        if target.is_auditor or not (target.groups & WORKING_ROLES) \
                or not access.can_see_task(session, target, row):
            raise DomainError("CANNOT_HOLD", f"{target.display_name}（{target.username}）不能办理该任务（不在所属单位"
                                             "或没有办理岗位），不能加签", status=403)
        targets.append(target)
    values = None
    if mode == "after":
        values = runtime._validate(session, row.form_key, decision or {})
    number = (session.scalar(select(func.max(TaskSigner.round)).where(TaskSigner.task_id == row.id)) or 0) + 1
    for target in targets:
        session.add(TaskSigner(task_id=row.id, instance_id=instance.id, round=number, username=target.username,
                               mode=mode, kind=kind, status="pending", comment="", decision=values,
                               added_by=user.username, added_at=now))
    _event(session, instance, "task_signers_added", user, now, row, {
        "round": number, "to": [t.username for t in targets], "mode": mode, "kind": kind, "reason": reason,
        "decision": values})
    title = f"{user.display_name} 请您{MODES[mode]}（{KINDS[kind]}）：“{row.name}”（流程 #{instance.id}）"
    notices.notify(session, [t.username for t in targets], "signers", title, now, instance.id, row.id,
                   user.username, reason)
    session.flush()
    return [s.to_dict() for s in _round(session, row, number)]


def _round(session, row, number):
    return list(session.scalars(select(TaskSigner).where(TaskSigner.task_id == row.id, TaskSigner.round == number)
                                .order_by(TaskSigner.id)))


def _locked(session, user, task_id):
    from . import runtime
    row = session.get(HumanTask, task_id)
    if row is None or not access.can_see_task(session, user, row):
        raise NotFound("任务", task_id)
    instance = runtime._lock_instance(session, row.instance_id)
    session.refresh(row)
    if row.status != "open":
        raise DomainError("TASK_CLOSED", "该任务已办理完毕", status=409)
    return row, instance


def answer(session, user, task_id, approved, comment, now):
    """A signer's opinion: 同意 / 不同意 with a comment (required when refusing)."""
    comment = text_field(comment, "comment", "意见", 1000, required=not approved)
    row, instance = _locked(session, user, task_id)
    mine = next((s for s in _open(session, row) if s.username == user.username), None)
    if mine is None:
        raise DomainError("NOT_SIGNER", "您不是该任务待签的加签人（可能已签或已被减签）", status=409)
    mine.status, mine.comment, mine.answered_at = ("approved" if approved else "rejected"), comment, now
    _event(session, instance, "task_signer_answered", user, now, row, {
        "round": mine.round, "approved": bool(approved), "comment": comment, "mode": mine.mode})
    return _settle(session, row, instance, mine.round, now, user)


def remove(session, user, task_id, username, now):
    """减签: the holder removes a pending signer."""
    row, instance = _locked(session, user, task_id)
    pending = _open(session, row)
    holder = pending[0].added_by if pending else None
    if not pending:
        raise DomainError("NOT_SIGNER", "该任务没有待签的加签人", status=409)
    if holder != user.username:
        raise DomainError("FORBIDDEN", "只有加签的办理人可以减签", status=403)
    mine = next((s for s in pending if s.username == str(username or "").strip().lower()), None)
    if mine is None:
        raise DomainError("NOT_SIGNER", f"{username} 不是该任务待签的加签人（可能已签）", status=409)
    mine.status, mine.answered_at = "removed", now
    _event(session, instance, "task_signer_removed", user, now, row, {"round": mine.round, "to": mine.username})
    notices.notify(session, [mine.username], "signers", f"{user.display_name} 已取消您对“{row.name}”的加签", now,
                   instance.id, row.id, user.username)
    return _settle(session, row, instance, mine.round, now, user)


def _settle(session, row, instance, number, now, actor):
    """Is the round decided? Before: the holder may act. After: complete with the holder's decision, or void it."""
    from . import runtime
    rows = _round(session, row, number)
    pending = [r for r in rows if r.status == "pending"]
    answered = [r for r in rows if r.status in ("approved", "rejected")]
    first = rows[0]
    holder = session.scalar(select(User).where(User.username == first.added_by))
    if first.mode == "before":
        done = not pending or (first.kind == "any" and answered)
        outcome = "answered" if done else "waiting"
    else:
        approvals = [r for r in answered if r.status == "approved"]
        refusals = [r for r in answered if r.status == "rejected"]
        if first.kind == "all":
            outcome = "refused" if refusals else ("approved" if not pending else "waiting")
        else:
            outcome = "approved" if approvals else ("refused" if not pending and refusals else
                                                    "approved" if not pending else "waiting")
    if outcome == "waiting":
        session.flush()
        return {"round": number, "outcome": outcome}
    for r in pending:
        r.status, r.answered_at = "skipped", now
    if outcome == "approved":
        session.flush()
        runtime.finish_task(session, holder, row, instance, dict(first.decision or {}), now)
    elif outcome in ("refused", "answered") and holder is not None:
        said = "；".join(f"{r.username}：{'同意' if r.status == 'approved' else '不同意'}" + (f"（{r.comment}）" if r.comment
                         else "") for r in answered)
        title = (f"“{row.name}”（流程 #{instance.id}）的后加签未通过，您的审批结论已作废，请重新办理" if outcome == "refused"
                 else f"“{row.name}”（流程 #{instance.id}）的前加签已完成，请您办理")
        notices.notify(session, [holder.username], "signers", title, now, instance.id, row.id, actor.username, said)
    session.flush()
    return {"round": number, "outcome": outcome}


def for_task(session, row):
    return [s.to_dict() for s in session.scalars(select(TaskSigner).where(TaskSigner.task_id == row.id)
                                                 .order_by(TaskSigner.round, TaskSigner.id))]
