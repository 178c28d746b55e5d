"""Log lines with the request id: ``LOG_FORMAT=json`` (one JSON object per line, for a log collector) or
``text``; ``LOG_LEVEL`` (default INFO). Every line carries ``request_id`` (the X-Request-Id of the request being
served, ``-`` outside requests), and each request ends with one access line (method, path, status, duration,
user id) — never a query string, header, password or token.

Configured once per process, on the root logger, when LOG_FORMAT is set or the service runs outside the tests.
Lines are written to standard error; a supervisor or container runtime collects them.
"""
import json
import logging
import os
import time
from datetime import datetime, timezone

from .. import request_id

_MARK = "_govproc_handler"
access = logging.getLogger("app.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id.current() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", "-")}
        for key in ("method", "path", "status", "duration_ms", "user_id"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(app):
    """Format the root logger's lines (adding a handler when it has none); once per process. Without LOG_FORMAT,
    logging someone else configured (gunicorn's --log-config, the scheduler's basicConfig) is left alone."""
    fmt = (app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT") or "").strip().lower()
    root = logging.getLogger()
    if not any(getattr(h, _MARK, False) for h in root.handlers):
        if not fmt and (app.config.get("TESTING") or root.handlers):
            return
        handlers = list(root.handlers) or [logging.StreamHandler()]
        for handler in handlers:
            handler.addFilter(RequestIdFilter())
            handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT))
            setattr(handler, _MARK, True)
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our access line below has the request id
    app.config["ACCESS_LOG"] = True


def init_app(app):
    configure(app)
    from flask import g, request

    @app.before_request
    def _start():
        g.log_started = time.perf_counter()

    @app.after_request
    def _access(response):
        started = g.pop("log_started", None)
        if app.config.get("ACCESS_LOG") and started is not None:
            access.info("%s %s %s", request.method, request.path, response.status_code,
                        extra={"method": request.method, "path": request.path, "status": response.status_code,
                               "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                               "user_id": g.get("user_id")})
        return response
