"""A request id for every request: ``g.request_id``, the ``X-Request-Id`` response header, every log line written
while the request runs (app/ops/logs.py) and every history event it writes (``history_event.request_id``).

An incoming ``X-Request-Id`` (from a load balancer or proxy: letters, digits, ``.``, ``_``, ``-``, at most 64) is
kept, so one id follows a request through the whole chain; otherwise a new one is made. The id lives in a
context variable, so the engine reads it without importing Flask.
"""
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-Id"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_current = ContextVar("request_id", default=None)


def current():
    """The id of the request being served in this thread, or None (scheduler ticks, commands)."""
    return _current.get()


def new_id():
    return uuid.uuid4().hex


def ensure():
    """This request's id, assigned on first use (also by an error raised before the request's own hooks ran);
    None outside a request."""
    from flask import g, has_request_context, request
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else new_id()
        g.request_id_token = _current.set(g.request_id)
    return g.request_id


def init_app(app):
    from flask import g

    @app.before_request
    def _assign():
        ensure()

    @app.after_request
    def _header(response):
        if g.get("request_id"):
            response.headers[HEADER] = g.request_id
        return response

    @app.teardown_request
    def _forget(_exc=None):
        token = g.pop("request_id_token", None)
        if token is not None:
            _current.reset(token)
