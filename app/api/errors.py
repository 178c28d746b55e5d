"""Failures that are not the caller's fault, and the request id that ties a user's message to the log.

Every request gets an id (``g.request_id``, ``request_id()``), answered in the ``X-Request-Id`` header; a proxy's
own id is kept when it looks like one. A database that cannot answer (locked past its timeout, disk full,
read-only file, connection lost) is 503 with ``Retry-After``; any other unexpected error is 500. Either way the
user reads a Chinese message with the request id, and the detail — never shown — goes to the log under that id.
"""
import logging

from flask import has_request_context, request
from sqlalchemy import exc as sa

from ..models import DomainError
from ..request_id import ensure

log = logging.getLogger("app.errors")
RETRY_AFTER_SECONDS = 5


def request_id():
    """This request's correlation id (None outside a request): app/request_id.py assigns it."""
    return ensure()


class ServiceError(DomainError):
    """5xx: the service, not the request, failed; the message names the request id."""


_UNAVAILABLE = (sa.OperationalError, sa.InterfaceError, sa.InternalError, sa.DisconnectionError, sa.TimeoutError)


def _classify(exc):
    if isinstance(exc, _UNAVAILABLE):
        return 503, "DB_UNAVAILABLE", "数据库暂时不可用（繁忙、只读或存储空间不足），本次操作未保存，请稍后重试"
    if isinstance(exc, sa.DataError):
        return 400, "INVALID_INPUT", "提交的数据超出允许的范围或格式，本次操作未保存"
    if isinstance(exc, sa.IntegrityError):
        return 409, "CONFLICT", "数据与已有记录冲突（可能已被他人修改），本次操作未保存，请刷新后重试"
    return 500, "INTERNAL_ERROR", "服务器内部错误，本次操作未保存"


def _detail(exc):
    """What the log keeps: the driver's message and the statement, never the bound parameters."""
    if isinstance(exc, sa.StatementError):
        return f"{type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__}: {exc.orig} | " \
               f"SQL: {(exc.statement or '')[:500]}"
    return f"{type(exc).__name__}: {exc}"


def unexpected(exc):
    """The error to answer for an exception no view handled, logged with the request id."""
    status, code, message = _classify(exc)
    rid = request_id()
    where = f"{request.method} {request.path}" if has_request_context() else "-"
    if status >= 500:
        log.error("request %s (%s) failed: %s", rid, where, _detail(exc), exc_info=status == 500)
    else:
        log.warning("request %s (%s) refused by the database: %s", rid, where, _detail(exc))
    error = (ServiceError if status >= 500 else DomainError)(code, f"{message}（请求编号 {rid}）", status=status)
    error.request_id = rid
    return error


def error_body_extra(err):
    """Fields an error body adds beside code/message: the request id of a 5xx."""
    return {"request_id": getattr(err, "request_id", None) or request_id()} if err.status >= 500 else {}


def init_request_ids(app):
    @app.after_request
    def _retry_after(response):
        if response.status_code == 503:
            response.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        return response
