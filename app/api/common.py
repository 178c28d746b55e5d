"""What every endpoint shares: the acting user, sessions and transactions, and error shapes."""
from contextlib import contextmanager
from functools import wraps

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy.orm.exc import StaleDataError

from ..models import NotFound, User


def db():
    return current_app.extensions["db"]


def now():
    return current_app.config["CLOCK"]()


READ_METHODS = ("GET", "HEAD", "OPTIONS")


def read_session():
    """The request's session (one connection per request). A request that may write (POST, PUT, PATCH, DELETE)
    reads on the write engine from its first statement, so ``transaction()`` goes on in the same session and
    transaction as the sign-in check (on SQLite: BEGIN IMMEDIATE from the start); other requests read on the read
    engine, without autoflush."""
    if "db_session" not in g:
        g.db_session_writes = request.method not in READ_METHODS
        g.db_session = (db().Session if g.db_session_writes else db().ReadSession)()
    return g.db_session


def close_session(_exc=None):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _acting_user(session):
    """The user this request signed in with (``current_user``: loaded with its roles and grants), in ``session``
    without another query; a request that did not go through ``current_user`` reads it (one statement)."""
    from .sessions import user_loaded
    if g.get("user") is not None and g.user.id == g.get("user_id"):
        return g.user if g.user in session else session.merge(g.user, load=False)
    if g.get("user_id"):
        return session.get(User, g.user_id, options=user_loaded())
    return None


@contextmanager
def transaction():
    """One write transaction, with the acting user (``_acting_user``). Any error rolls back everything. In a
    request that may write it is the request's own session (the sign-in check's transaction goes on); a read
    request, or a transaction inside another, gets a session of its own."""
    shared = read_session() if g.get("db_session_writes") and not g.get("in_transaction") else None
    try:
        if shared is not None:
            g.in_transaction = True
            try:
                if not shared.in_transaction():
                    shared.begin()
                yield shared, _acting_user(shared)
                shared.commit()
            except BaseException:
                shared.rollback()
                raise
            finally:
                g.in_transaction = False
        else:
            with db().Session() as session, session.begin():
                yield session, _acting_user(session)
    except StaleDataError:
        abort(409, message="数据已被他人修改，请刷新后重试")


def user_from_token(session, token):
    """The user of a live API token; 401 when it is expired, forged, signed out or outdated."""
    from .sessions import TokenError, session_user, token_session_id
    try:
        raw = token_session_id(token)
    except TokenError as err:
        abort(401, message=str(err))
    user = session_user(session, raw, now())
    if user is None:
        abort(401, message="登录凭证无效或已退出，请重新登录")
    return user


# What a user whose password an administrator chose may still do through the API: change it, or sign out.
PASSWORD_CHANGE_ENDPOINTS = ("users.change_own_password", "auth.logout")
PASSWORD_CHANGE_MESSAGE = "首次登录或密码已被管理员重置，请先修改密码（POST /api/me/password）后再使用接口"


def password_change_pending(user):
    """True when ``user`` must change the password before this request may go on (revision 0700)."""
    return user is not None and user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS


def current_user():
    """The caller, from a bearer token (API) or the session cookie (web UI); both name a server-side session.
    On /api a user who must first change the password is refused (403) — the web pages redirect instead."""
    if "user" in g:
        return g.user
    session = read_session()
    header = request.headers.get("Authorization", "")
    user = None
    if header.startswith("Bearer "):
        user = user_from_token(session, header[7:].strip())
    else:
        from flask import session as cookie
        from .sessions import session_user
        if cookie.get("sid"):
            user = session_user(session, cookie["sid"], now())
    g.user = user
    g.user_id = user.id if user else None
    if request.path.startswith("/api/") and password_change_pending(user):
        abort(403, message=PASSWORD_CHANGE_MESSAGE)
    return user


def login_required(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            abort(401, message="请先登录")
        return fn(*args, **kwargs)
    return wrapper


def writer_required(fn):
    """Auditors read everything and change nothing."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            abort(401, message="请先登录")
        if user.is_auditor:
            abort(403, message="审计角色只能查看，不能修改")
        return fn(*args, **kwargs)
    return wrapper


def groups_only(*groups, message):
    """Only these roles (e.g. admin), checked before the body is parsed: others get 403, not a lesson in the
    body's format."""
    def decorate(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                abort(401, message="请先登录")
            if not (user.groups & set(groups)):
                abort(403, message=message)
            return fn(*args, **kwargs)
        return wrapper
    return decorate


def domain_error_response(err):
    body = {"code": err.code, "message": err.message}
    errors = getattr(err, "errors", None)
    if errors is None and err.field and err.status in (400, 422):
        errors = {err.field: [err.message]}
    if errors:
        body["errors"] = errors
    if getattr(err, "details", None) is not None:  # figures a conflict carries (e.g. the amounts occupied)
        body["details"] = err.details
    return body, err.status


def to_json(value):
    """Decimals as strings with two places (money), datetimes as ISO-8601."""
    from decimal import Decimal
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def locked(session, model, key, label):
    """The row of ``model`` with primary key ``key``, locked for this transaction; 404 naming ``label`` if none."""
    row = session.get(model, key, with_for_update=True)
    if row is None:
        raise NotFound(label, key)
    return row
