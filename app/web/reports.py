"""统计报表 page (报表服务, seed 001 §11.2): the year's procurement by month and method as an inline SVG bar chart,
and the two standard tables with their Excel downloads. The figures come from ``app/reports.py``, the same as
``/api/reports/...``; the caller sees only their units (an auditor all)."""
from decimal import Decimal

from flask import render_template, request

from .. import reports
from ..api.common import now, read_session
from . import bp, present
from .common import NAV, login_required, web_user

NAV.append(("web.reports", "统计报表", "reports", None))
COLORS = ["#1d4f91", "#2f6fce", "#00796b", "#c76a00", "#c8323c", "#6a4c93", "#5f6b7a", "#8d6e63", "#2e7d32"]
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 760, 300, 86, 16, 40


def _nice_max(value):
    """A round axis maximum above ``value`` (1, 2 or 5 × 10ⁿ)."""
    if value <= 0:
        return Decimal("1")
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def chart(monthly):
    """Stacked bars per month, one colour per procurement method: the SVG geometry and the legend."""
    top = _nice_max(max(monthly["totals"]) if monthly["totals"] else Decimal("0"))
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    slot = plot_w / 12
    bars = []
    colors = {s["method"]: COLORS[i % len(COLORS)] for i, s in enumerate(monthly["series"])}
    for month in range(12):
        y = TOP + plot_h
        for s in monthly["series"]:
            amount = s["amounts"][month]
            if not amount:
                continue
            h = float(amount / top) * plot_h
            y -= h
            bars.append({"x": round(LEFT + month * slot + slot * 0.18, 1), "y": round(y, 1),
                         "w": round(slot * 0.64, 1), "h": round(h, 1), "color": colors[s["method"]],
                         "title": f"{month + 1}月 {s['method_label']}：{present.money(amount)}"})
    ticks = [{"y": round(TOP + plot_h - plot_h * i / 4, 1), "label": f"{top * i / 4 / 10000:,.0f}万"}
             for i in range(5)]
    months = [{"x": round(LEFT + (m + 0.5) * slot, 1), "label": f"{m + 1}月"} for m in range(12)]
    legend = [{"label": s["method_label"], "color": colors[s["method"]],
               "total": sum(s["amounts"], Decimal("0"))} for s in monthly["series"]]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "base": TOP + plot_h, "right": WIDTH - 10,
            "bars": bars, "ticks": ticks, "months": months, "legend": legend}


@bp.route("/reports", endpoint="reports")
@login_required
def reports_page():
    session, user = read_session(), web_user()
    visible = user.unit_ids(session)
    try:
        year = int(request.args.get("year") or now().year)
    except ValueError:
        year = now().year
    year = min(max(year, 2000), 2100)
    try:
        unit_id = int(request.args.get("unit_id") or 0) or None
    except ValueError:
        unit_id = None
    units = {uid: name for uid, name in present.unit_names(session).items() if uid in visible}
    scope = {unit_id} if unit_id in units else visible
    monthly = reports.monthly(session, year, scope)
    query = f"year={year}" + (f"&unit_id={unit_id}" if unit_id in units else "")
    return render_template("reports.html", active="reports", year=year, unit_id=unit_id if unit_id in units else None,
                           units=units, monthly=monthly, chart=chart(monthly), query=query,
                           funds=reports.funds(session, year, scope), contracts=reports.contracts(session, year, scope))
