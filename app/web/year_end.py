"""年终处理 page: the year-end campaign's progress per seed 000 category, its items and the budget report.

The figures are ``app.models.year_end.progress``, the same as ``GET /api/year-end/<year>``; finance,
auditors and administrators see every unit, everyone else their own units."""
from flask import render_template, request

from ..api.common import now, read_session
from ..models.year_end import progress
from . import bp
from .common import NAV, login_required, refuse, web_user

NAV.append(("web.year_end", "年终处理", "year_end", None))
STATES = {"not_started": "待启动", "in_progress": "处理中", "done": "已完成", "blocked": "受阻"}
RECORD_URLS = {"project": "web.project_detail", "plan": "web.plan_detail"}


@bp.route("/year-end", endpoint="year_end")
@login_required
def year_end_page():
    session, user = read_session(), web_user()
    try:
        year = min(max(int(request.args.get("year") or now().year), 2000), 2100)
    except ValueError:
        year = now().year
    if user.groups & {"finance", "auditor", "admin"}:
        report = progress(session, year)
    else:
        units = user.unit_ids(session)
        if not units:
            return refuse(403, "您没有可查看的单位")
        report = progress(session, year, units)
    state = request.args.get("state") or ""
    items = [i for i in report["items"] if not state or i["state"] == state]
    return render_template("year_end.html", active="year_end", year=year, report=report, items=items,
                           state=state, states=STATES, record_urls=RECORD_URLS,
                           can_start="finance" in user.groups and not user.is_auditor)
