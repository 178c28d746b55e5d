"""系统设置 for administrators: users and units, 代理机构 (/api/agencies), 登录安全 (failed sign-ins, locks, 解锁), the thresholds (限额标准), the working-day calendar, the
supervision rules and the expert pool on one page. The page reads the tables; saving goes through the same admin API as any client
(/api/users, /api/units, DELETE /api/login-throttles/<id>, PUT /api/thresholds, PUT /api/calendar, PUT /api/supervision/rules/<code>,
POST/PATCH /api/experts), with the
session cookie and CSRF header, so the rules and messages are the API's.
"""
from flask import current_app, render_template, request
from sqlalchemy import select

from ..api.common import now, read_session
from ..api.login_security import failure_rows, throttle_rows
from ..api.signin import Policy
from ..models import Agency, Expert, Unit, User
from ..models.agency import KINDS as AGENCY_KINDS
from ..models.org import LEVELS, ROLES
from ..models.base import BEIJING
from ..models.expert import CATEGORIES as EXPERT_CATEGORIES
from ..models.supervision import DEFAULT_RULES, PARAMS, SupervisionRule
from ..engine import threshold_decision
from ..models.threshold import CATEGORIES, DEFAULTS, KINDS, REGIONAL, all_rows
from ..models.workdays import KINDS as DAY_KINDS, year_days
from . import bp
from .common import NAV, login_required, refuse, web_user

ADMINS = {"admin"}
CHANNELS = {"web": "网页登录", "api": "接口登录", "engine-rest": "Camunda Modeler"}
NAV.append(("web.admin", "系统设置", "admin", ADMINS))


def _threshold_tables(session):
    """[(kind, [(region, {category: row}, latest change)])]: one row per region, the seeds' regions first."""
    order = {region: i for i, (_, region, *_rest) in enumerate(DEFAULTS)}
    tables = {}
    for row in all_rows(session):
        tables.setdefault(row.kind, {}).setdefault(row.region, {})[row.category] = row
    out = []
    for kind in KINDS:
        regions = sorted(tables.get(kind, {}).items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
        out.append((kind, [(region, cells, max((c for c in cells.values() if c.updated_at), default=None,
                                               key=lambda c: c.updated_at)) for region, cells in regions]))
    return out


def _rules(session):
    """Every rule with its parameters (the defaults before the first scan inserted the rows)."""
    rows = {r.code: r for r in session.scalars(select(SupervisionRule))}
    out = []
    for code, (name, params, description) in DEFAULT_RULES.items():
        row = rows.get(code)
        values = {**params, **((row.params or {}) if row else {})}
        out.append({"code": code, "name": name, "description": description, "enabled": row.enabled if row else True,
                    "params": [(key, PARAMS[key][0], value) for key, value in values.items()]})
    return out


@bp.route("/admin")
@login_required
def admin():
    if not (web_user().groups & ADMINS):
        return refuse(403, "只有系统管理员可以进入系统设置")
    session = read_session()
    year = request.args.get("year", type=int) or now().astimezone(BEIJING).year
    year = min(max(year, 2000), 2100)  # the calendar's years, as /api/calendar takes them
    units = list(session.scalars(select(Unit).order_by(Unit.id)))
    users = list(session.scalars(select(User).order_by(User.id)))
    agencies = list(session.scalars(select(Agency).order_by(Agency.active.desc(), Agency.kind, Agency.name)))
    agency_users = {}
    for user in users:
        if user.agency_id is not None:
            agency_users.setdefault(user.agency_id, []).append(user)
    return render_template("admin.html", active="admin", thresholds=_threshold_tables(session), kinds=KINDS, regional=REGIONAL,
                           threshold_history=threshold_decision.history(session)[:20],
                           categories=CATEGORIES, year=year, days=year_days(session, year), day_kinds=DAY_KINDS,
                           rules=_rules(session), experts=list(session.scalars(select(Expert).order_by(Expert.id))),
                           expert_categories=EXPERT_CATEGORIES,
                           users=users, roles=ROLES, agencies=agencies, agency_kinds=AGENCY_KINDS,
                           agency_users=agency_users, agency_names={a.id: a.name for a in agencies},
                           units=units, unit_names={u.id: u.name for u in units}, levels=LEVELS,
                           login_throttles=throttle_rows(session), login_failures=failure_rows(session, 20),
                           login_policy=Policy.of(current_app.config), channels=CHANNELS)
