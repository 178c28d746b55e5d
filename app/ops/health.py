"""``/healthz``, ``/readyz`` and ``/metrics`` for load balancers and monitoring; no login, cheap.

- ``/healthz``: the process answers (never touches the database) → 200.
- ``/readyz``: the database answers, its schema is at the code's head revision, and — unless ``SCHEDULER=off`` —
  a scheduler has ticked within ``READY_HEARTBEAT_SECONDS`` (default three scheduler intervals, at least 90 s).
  200 when all hold, else 503 with ``Retry-After`` and which check failed. One connection, two small queries.
- ``/metrics``: Prometheus text (app/ops/metrics.py). With ``METRICS_TOKEN`` set it needs
  ``Authorization: Bearer <token>``; without, only a direct request from this machine (loopback, no
  ``X-Forwarded-For``, so nothing reached through a proxy) may read it. Others get 403.
"""
import hmac
import os
from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from . import metrics, migrate

bp = Blueprint("ops", __name__)
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _heartbeat_limit(config):
    configured = config.get("READY_HEARTBEAT_SECONDS") or os.environ.get("READY_HEARTBEAT_SECONDS")
    return timedelta(seconds=int(configured) if configured else max(90, 3 * config["SCHEDULER_INTERVAL_SECONDS"]))


def readiness(app):
    """(ready, checks): {database, migrations, scheduler} each {ok, …}."""
    from ..models import SchedulerHeartbeat
    checks = {}
    try:
        conn = app.extensions["db"].read_engine.connect()
    except DBAPIError:
        checks["database"] = {"ok": False, "message": "数据库无法连接"}
        return False, checks
    with conn:
        checks["database"] = {"ok": True}
        head = migrate.head()
        try:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            current = None
            conn.rollback()
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
        if current != head:
            checks["migrations"]["message"] = "数据库结构不是最新版本，请运行 python -m app db upgrade"
        if app.config.get("SCHEDULER") == "off":
            checks["scheduler"] = {"ok": True, "mode": "off"}
        else:
            try:
                beat = conn.execute(select(func.max(SchedulerHeartbeat.beat_at))).scalar()
            except DBAPIError:
                beat = None
            now, limit = app.config["CLOCK"](), _heartbeat_limit(app.config)
            ok = beat is not None and now - beat <= limit
            checks["scheduler"] = {"ok": ok, "mode": app.config.get("SCHEDULER"),
                                   "last_beat": beat.isoformat() if beat else None}
            if not ok:
                checks["scheduler"]["message"] = f"调度器超过 {int(limit.total_seconds())} 秒没有心跳"
    return all(c["ok"] for c in checks.values()), checks


@bp.get("/readyz")
def readyz():
    ready, checks = readiness(current_app)
    if ready:
        return jsonify(status="ready", checks=checks)
    failed = [name for name, check in checks.items() if not check["ok"]]
    response = jsonify(status="not_ready", message="服务暂不可用：" + "；".join(checks[n]["message"] for n in failed),
                       checks=checks)
    response.status_code = 503
    response.headers["Retry-After"] = "10"
    return response


def metrics_allowed():
    token = current_app.config.get("METRICS_TOKEN") or os.environ.get("METRICS_TOKEN")
    if token:
        return hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode())
    return request.remote_addr in LOOPBACK and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def metrics_endpoint():
    if not metrics_allowed():
        response = jsonify(code="FORBIDDEN", message="无权读取监控指标：请从本机访问，或携带 METRICS_TOKEN")
        response.status_code = 403
        return response
    return Response(metrics.exposition(current_app), mimetype="text/plain; version=0.0.4; charset=utf-8")


def init_ops(app):
    """Request ids, logs, metrics and these endpoints; checks ATTACHMENT_STORE before anything is served."""
    from .. import request_id
    from . import logs, settings
    settings.attachment_store(app.config)  # an unknown store stops start-up with a clear message
    request_id.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(bp)
