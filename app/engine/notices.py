"""站内通知: who is told what, written in the step's transaction; delivery beyond the browser after commit.

A notice row is added in the same transaction as the step that caused it (a task arriving, being returned,
urged, copied, delegated...), so a rolled-back step tells nobody. Delivery through an external channel
(e-mail over SMTP when ``NOTICE_CHANNEL=smtp``; none by default) happens later, outside any step:
``deliver_pending`` sends what is pending, from the scheduler's tick, so a slow mail server never holds a lock.
"""
import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy import exists, select

from ..models import HumanTask, Notice, NoticePreference, User, UserRole
from ..models.base import beijing
from .access import can_see_task  # its unit, or its agency (代理机构库): never another agency's staff

log = logging.getLogger(__name__)


# Set on a session by a batch of starts (starts.dispatch): the group members who act in a unit, looked up once for
# the batch instead of once per started instance. No step of such a batch changes users, roles or grants.
HOLDERS_CACHE = "notices.holders"


def recipients(session, row):
    """Who holds ``row``: its assignee, else the active users of its candidate groups who act in its unit (or, for
    a task of an agency, that agency's staff), and its candidate users."""
    if row.assignee:
        return [row.assignee]
    names = list(row.candidate_users or [])
    groups = list(row.candidate_groups or [])
    if groups:
        cache = session.info.get(HOLDERS_CACHE)
        key = (tuple(groups), row.unit_id, getattr(row, "agency_id", None))  # all that can_see_task asks of the row
        if cache is None:
            names += _group_holders(session, row, groups)
        else:
            if key not in cache:
                cache[key] = _group_holders(session, row, groups)
            names += cache[key]
    return list(dict.fromkeys(names))


def _group_holders(session, row, groups):
    users = session.scalars(select(User).where(User.active.is_(True), User.id.in_(
        select(UserRole.user_id).where(UserRole.role.in_(groups)))).order_by(User.username))
    return [u.username for u in users if can_see_task(session, u, row)]


def notify(session, usernames, kind, title, now, instance_id=None, task_id=None, actor=None, body=""):
    """Add one notice per person (never to the actor about their own act); returns the rows."""
    rows = []
    for name in dict.fromkeys(usernames):
        if not name or name == actor:
            continue
        row = Notice(username=name, kind=kind, title=title[:300], body=body or "", instance_id=instance_id,
                     task_id=task_id, actor=actor, created_at=now, delivery="pending")
        session.add(row)
        rows.append(row)
    return rows


def _label(row):
    return f"“{row.name}”（流程 #{row.instance_id}）"


def task_arrived(session, row, now, actor=None, new=False):
    """A new open task: its holders are told; a step completed before on this instance arriving again is a
    return (退回/驳回 back to it), said so (never in an instance this step started: ``new``)."""
    returned = not new and session.scalar(select(exists().where(
        HumanTask.instance_id == row.instance_id, HumanTask.bpmn_id == row.bpmn_id,
        HumanTask.status == "completed")))
    kind = "returned" if returned else "arrived"
    due = f"，请于 {beijing(row.due_at)} 前办理" if row.due_at is not None else ""
    title = f"{'任务被退回' if returned else '新待办'}：{_label(row)}{due}"
    return notify(session, recipients(session, row), kind, title, now, row.instance_id, row.id, actor)


def scan_overdue(session, now):
    """Open tasks past their ``camunda:dueDate`` whose holders were not told yet: one overdue notice each."""
    told = select(Notice.task_id).where(Notice.kind == "overdue", Notice.task_id.is_not(None))
    rows = session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.due_at.is_not(None),
                                                   HumanTask.due_at < now, HumanTask.id.not_in(told)))
    count = 0
    for row in rows:
        title = f"任务已逾期：{_label(row)}，截止 {beijing(row.due_at)}"
        count += len(notify(session, recipients(session, row) or ["admin"], "overdue", title, now,
                            row.instance_id, row.id))
    return count


# -- delivery beyond the browser ----------------------------------------------------------------
class NoChannel:
    """The default: notices stay in the browser."""

    name = "none"

    def send(self, address, notice):
        return False


class SmtpChannel:
    """E-mail over SMTP (``NOTICE_SMTP_HOST``/``PORT``/``FROM``, optional ``USER``/``PASSWORD``/``STARTTLS``)."""

    name = "smtp"

    def __init__(self, config):
        self.host, self.port = config.get("NOTICE_SMTP_HOST", "localhost"), int(config.get("NOTICE_SMTP_PORT", 25))
        self.sender = config.get("NOTICE_SMTP_FROM", "noreply@localhost")
        self.user, self.password = config.get("NOTICE_SMTP_USER"), config.get("NOTICE_SMTP_PASSWORD")
        self.starttls = bool(config.get("NOTICE_SMTP_STARTTLS"))

    def send(self, address, notice):
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = f"[政府采购工作台] {notice.title}", self.sender, address
        message.set_content(f"{notice.title}\n\n{notice.body or ''}\n\n请登录政府采购业务工作台查看。")
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)
        return True


CHANNELS = {"none": lambda config: NoChannel(), "smtp": SmtpChannel}


def channel_for(config):
    """The configured channel (``NOTICE_CHANNEL``); another one plugs in by adding a factory to ``CHANNELS``."""
    factory = CHANNELS.get(config.get("NOTICE_CHANNEL") or "none")
    if factory is None:
        raise ValueError(f"NOTICE_CHANNEL={config.get('NOTICE_CHANNEL')!r} 未知（可用：{', '.join(CHANNELS)}）")
    return factory(config)


def deliver_pending(db, config, now, limit=200):
    """Send pending notices through the channel, each marked sent / failed / none (no address, no channel)."""
    channel = channel_for(config)
    with db.Session() as session, session.begin():
        rows = list(session.scalars(select(Notice).where(Notice.delivery == "pending").order_by(Notice.id)
                                    .limit(limit).with_for_update(skip_locked=True)))
        addresses = dict(session.execute(select(NoticePreference.username, NoticePreference.email).where(
            NoticePreference.username.in_({r.username for r in rows}))).all()) if rows else {}
        sent = 0
        for row in rows:
            address = addresses.get(row.username)
            if isinstance(channel, NoChannel) or not address:
                row.delivery = "none"
                continue
            try:
                channel.send(address, row)
                row.delivery, row.delivered_at = "sent", now
                sent += 1
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("notice %s to %s not delivered: %s", row.id, row.username, exc)
                row.delivery = "failed"
        return sent


def tick(db, config, now):
    """The scheduler's part: overdue notices, then delivery."""
    with db.Session() as session, session.begin():
        scan_overdue(session, now)
    return deliver_pending(db, config, now)
