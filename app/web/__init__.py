"""Task-list web UI (工作台) for clerks, reviewers, agencies and auditors: Jinja pages, a little vanilla JS.

Sign-in uses the Flask session cookie naming a server-side session (``sid``, read by
``app.api.common.current_user``; app/api/sessions.py);
every POST carries the session's CSRF token (hidden field or ``X-CSRF-Token`` header).
"""
from datetime import timedelta

from flask import Blueprint, request, session

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web/static")


def init_web(app):
    from . import common, views  # noqa: F401 - registers the routes on bp
    # The other pages, on the same blueprint; each appends its menu entry in this order.
    from . import reports  # noqa: F401 - 统计报表 (report tables, monthly chart)
    from . import year_end  # noqa: F401 - 年终处理 progress page
    from . import audit  # noqa: F401 - the audit pages (审计)
    from . import admin  # noqa: F401 - 系统设置 (thresholds, calendar, supervision rules, expert pool)
    from . import dry_run  # noqa: F401 - 部署预演 for analysts (issue 19)
    from . import budget_lines  # noqa: F401 - 预算指标管理 (finance: import, entry, history; issue 13)
    from . import org_import  # noqa: F401 - 单位与用户导入 (administrator, issue 13)
    from . import notices, sheet, taskops  # noqa: F401 - 消息通知, 抄送我的, 审批单, the task page's operations (issue 17)
    from . import integration_clients  # noqa: F401 - 集成客户端 (the budget system's API keys, issue 13)
    from . import suppliers  # noqa: F401 - 供应商库 (issue 13)
    app.permanent_session_lifetime = timedelta(seconds=app.config["TOKEN_TTL_SECONDS"])
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.register_blueprint(bp)
    app.jinja_env.filters.update(common.FILTERS)
    app.extensions["html_error_page"] = common.refuse  # 404/405 outside /api: a page, not JSON

    @app.before_request
    def _api_cookie_csrf():
        # The API also accepts the web session cookie; a write made with it needs the CSRF header too.
        if request.path.startswith("/api/") and request.method not in ("GET", "HEAD", "OPTIONS") \
                and not request.headers.get("Authorization") and session.get("sid"):
            return common.check_csrf(json_reply=True)
        return None
