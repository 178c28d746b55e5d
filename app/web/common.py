"""What every page shares: the signed-in user, CSRF, access decorators, error pages, template context."""
import hmac
import secrets
from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import flash, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from ..api.common import current_user, domain_error_response, now, read_session
from ..api.errors import unexpected
from ..models import DomainError, Unit
from . import bp
from .icons import icon
from .present import FILTERS, dt  # noqa: F401 - FILTERS re-exported for init_web

CSRF_KEY = "csrf"


# -- CSRF ---------------------------------------------------------------------
def csrf_token():
    """The session's CSRF token, created on first use (also before login, for the login form)."""
    token = session.get(CSRF_KEY)
    if not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf(json_reply=False):
    """None when the request carries the session's token; otherwise the refusal (400)."""
    expected = session.get(CSRF_KEY)
    sent = request.headers.get("X-CSRF-Token") or (request.form.get("csrf_token") if request.form else None)
    if expected and sent and hmac.compare_digest(str(expected), str(sent)):
        return None
    message = "页面已过期或请求来源无效（CSRF 校验失败），请刷新页面后重试"
    if json_reply or wants_json():
        return jsonify({"code": "CSRF_FAILED", "message": message}), 400
    return render_template("error.html", status=400, title="请求无效", message=message), 400


@bp.before_request
def _csrf_for_every_post():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return check_csrf()
    return None


# -- who is asking --------------------------------------------------------------
def wants_json():
    return request.is_json or request.accept_mimetypes.best == "application/json" \
        or request.headers.get("X-Requested-With") == "fetch"


def web_user():
    user = current_user()
    if user is not None and not user.active:
        return None
    return user


def safe_next(target):
    """Only same-site paths, never //host or scheme://host."""
    if not target:
        return None
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": backslashes and control characters are refused too.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def login_required(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if web_user() is None:
            if wants_json():
                return jsonify({"code": "UNAUTHORIZED", "message": "登录已失效，请重新登录",
                                "redirect": url_for("web.login")}), 401
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("web.login", next=target) if target and target != "/" else url_for("web.login"))
        if web_user().must_change_password and request.endpoint not in ("web.password", "web.logout"):
            # First sign-in with a password an administrator chose: change it before anything else.
            if wants_json():
                return jsonify({"code": "PASSWORD_CHANGE_REQUIRED", "message": "请先修改初始密码",
                                "redirect": url_for("web.password")}), 403
            flash("首次登录或密码已被管理员重置，请先修改密码。", "warning")
            return redirect(url_for("web.password"))
        return fn(*args, **kwargs)
    return wrapper


def writer_required(fn):
    """Auditors read everything and change nothing."""
    @wraps(fn)
    @login_required
    def wrapper(*args, **kwargs):
        if web_user().is_auditor:
            return refuse(403, "审计角色只能查看，不能办理或发起")
        return fn(*args, **kwargs)
    return wrapper


def refuse(status, message, title=None):
    titles = {400: "请求有误", 403: "无权访问", 404: "未找到", 409: "操作冲突", 422: "无法处理", 500: "系统错误",
              503: "服务暂不可用"}
    if wants_json():
        return jsonify({"code": titles.get(status, "ERROR"), "message": message}), status
    return render_template("error.html", status=status, title=title or titles.get(status, "出错了"),
                           message=message), status


# -- errors raised inside web views ----------------------------------------------
@bp.errorhandler(DomainError)
def _domain_error(err):
    from .present import plain  # people read these: no seed citations or keys (the API keeps them)
    body, status = domain_error_response(err)
    body["message"] = plain(body.get("message"))
    if isinstance(body.get("errors"), dict):
        body["errors"] = {k: [plain(m) if isinstance(m, str) else m for m in v] if isinstance(v, list) else v
                          for k, v in body["errors"].items()}
    if wants_json():
        return jsonify(body), status
    return refuse(status, body["message"])


@bp.errorhandler(Exception)
def _unexpected(exc):
    return _domain_error(unexpected(exc))  # 503 for a database that cannot answer, else 500; logged, never shown


@bp.errorhandler(HTTPException)
def _http_error(exc):
    message = (getattr(exc, "data", None) or {}).get("message") or {
        404: "页面不存在，或您无权查看该内容", 403: "您无权访问该页面", 405: "不支持该操作",
        409: "数据已被他人修改，请刷新后重试"}.get(exc.code, exc.description)
    return refuse(exc.code, message)


# -- template context -----------------------------------------------------------
# (endpoint, label, key, roles that see it — None: everyone); modules append their pages.
NAV = [("web.workbench", "工作台", "workbench", None), ("web.start_list", "发起流程", "start", None),
       ("web.budgets", "采购预算", "budgets", None), ("web.projects", "采购项目", "projects", None),
       ("web.plans", "采购计划", "plans", None), ("web.tenders", "交易项目", "tenders", None),
       ("web.contracts", "采购合同", "contracts", None)]


def nav_for(user):
    return [(endpoint, label, key) for endpoint, label, key, roles in NAV
            if roles is None or (user is not None and user.groups & roles)]


def qs(**overrides):
    """The current query string with some arguments replaced (None or "" removes one)."""
    args = {k: v for k, v in request.args.items()}
    args.update({k: v for k, v in overrides.items()})
    return urlencode({k: v for k, v in args.items() if v not in (None, "")})


def _units_label(user):
    if user.is_auditor:
        return "全部单位"
    session = read_session()
    if user.unit_id:
        unit = session.get(Unit, user.unit_id)
        if unit is not None:
            return unit.name
    ids = sorted(user.unit_ids(session))
    names = [session.get(Unit, i).name for i in ids[:2]]
    if not names:
        return "未分配单位"
    return "、".join(names) + (f" 等 {len(ids)} 个单位" if len(ids) > 2 else "")


@bp.app_context_processor
def _context():
    user = g.get("user")
    return {"csrf_token": csrf_token, "me": user, "nav": nav_for(user), "qs": qs, "icon": icon,
            "my_units_label": _units_label(user) if user is not None else "",
            "now_local": dt(now())}
