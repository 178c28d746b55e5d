"""消息通知 page and the unread badge every page shows (base layout: ``_notice_badge.html``).

The page reads one's own notices; mark-as-read posts a form here (CSRF as every POST)."""
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..api.common import now, read_session, transaction
from ..models import Notice
from . import bp
from .common import NAV, login_required, web_user

NAV.append(("web.notices", "消息通知", "notices", None))
KIND_COLORS = {"arrived": "blue", "returned": "orange", "urged": "red", "overdue": "red", "copied": "gray",
               "delegated": "blue", "resolved": "green", "reassigned": "blue", "recalled": "orange"}


@bp.app_context_processor
def _unread_notices():
    from flask import g
    user = g.get("user")
    if user is None:
        return {"unread_notices": 0}
    return {"unread_notices": Notice.unread(read_session(), user.username)}


@bp.route("/notices")
@login_required
def notices():
    session, user = read_session(), web_user()
    only_unread = request.args.get("unread") == "1"
    query = select(Notice).where(Notice.username == user.username)
    if only_unread:
        query = query.where(Notice.read_at.is_(None))
    rows = list(session.scalars(query.order_by(Notice.id.desc()).limit(300)))
    return render_template("notices.html", active="notices", rows=[r.to_dict() for r in rows],
                           only_unread=only_unread, colors=KIND_COLORS)


@bp.route("/notices/read", methods=["POST"])
@login_required
def notices_read():
    ids = [int(i) for i in request.form.getlist("id") if i.isascii() and i.isdigit() and len(i) < 10]
    with transaction() as (session, user):
        marked = Notice.mark_read(session, user.username, now(), ids or None)
    flash(f"已将 {marked} 条通知标为已读。", "success")
    target = request.form.get("next")
    if target and target.startswith("/tasks/") or target and target.startswith("/instances/"):
        return redirect(target)
    return redirect(url_for("web.notices"))
