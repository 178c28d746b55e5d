"""Prometheus metrics (prometheus-client), served at ``/metrics`` by app/ops/health.py.

Counted in each process: HTTP requests by route, method and status (and their duration), engine step duration
by process. With several worker processes set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, wiped before the
service starts) and every worker's counts are summed at each scrape (prometheus-client's multi-process mode).

Read from the database at each scrape (so every worker reports the same figures): open and overdue tasks,
running instances, due and overdue timers, open incidents, the scheduler heartbeat's age, stranded instances.
"""
import logging
import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("bpm_http_requests_total", "HTTP 请求数（按路由、方法、状态码）", ["route", "method", "status"])
HTTP_DURATION = Histogram("bpm_http_request_duration_seconds", "HTTP 请求耗时（秒，按路由、方法）", ["route", "method"])
STEP_DURATION = Histogram("bpm_engine_step_duration_seconds", "引擎步骤耗时（秒，按流程；装载→运行→保存，不含提交）",
                          ["process"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def observe_step(process, seconds):
    """Called by the engine (runtime.Step.save) once per step."""
    STEP_DURATION.labels(process=process or "").observe(seconds)


def observe_request(route, method, status, seconds):
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_DURATION.labels(route=route, method=method).observe(seconds)


STRANDED_EVERY_SECONDS = 300  # the stranded check reads every running instance: not at every scrape


def stranded_count(session, now):
    """Hook for the stranded-instance check (app/engine/stranded.py): the number its ``find_stranded(session, now)``
    returns; None (no sample) while the module is absent."""
    try:
        from ..engine import stranded
    except ImportError:
        return None
    find = getattr(stranded, "find_stranded", None) or getattr(stranded, "find", None)
    return None if find is None else len(find(session, now))


class DatabaseCollector:
    """Gauges computed from the tables at scrape time, in one read-only session."""

    def __init__(self, app):
        self.app = app
        self.stranded = (None, None)  # (monotonic time, count) of the last stranded check

    def _stranded(self, session, now):
        at, count = self.stranded
        if at is None or time.monotonic() - at >= STRANDED_EVERY_SECONDS:
            count = stranded_count(session, now)
            self.stranded = (time.monotonic(), count)
        return count

    def describe(self):
        return []  # never query the database while registering

    def collect(self):
        up = GaugeMetricFamily("bpm_database_up", "数据库可用（1）/ 不可用（0）")
        try:
            families = self._gauges()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database is down
            log.exception("metrics: database gauges unavailable")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _gauges(self):
        from ..models import HumanTask, Incident, ProcessInstance, SchedulerHeartbeat, Timer
        config = self.app.config
        now = config["CLOCK"]()
        from datetime import timedelta
        grace = timedelta(seconds=int(config.get("TIMER_OVERDUE_SECONDS")
                                      or max(120, 4 * config["SCHEDULER_INTERVAL_SECONDS"])))
        with self.app.extensions["db"].ReadSession() as session:
            tasks = GaugeMetricFamily("bpm_open_tasks", "待办任务数（按流程）", labels=["process"])
            for key, count in session.execute(select(HumanTask.process_key, func.count()).where(
                    HumanTask.status == "open").group_by(HumanTask.process_key)):
                tasks.add_metric([key], count)
            overdue_tasks = GaugeMetricFamily("bpm_overdue_tasks", "已超期的待办任务数")
            overdue_tasks.add_metric([], session.scalar(select(func.count()).select_from(HumanTask).where(
                HumanTask.status == "open", HumanTask.due_at < now)))
            running = GaugeMetricFamily("bpm_running_instances", "运行中的流程实例数（按流程）", labels=["process"])
            for key, count in session.execute(select(ProcessInstance.key, func.count()).where(
                    ProcessInstance.status == "running").group_by(ProcessInstance.key)):
                running.add_metric([key], count)
            pending = select(func.count()).select_from(Timer).where(Timer.status == "pending")
            due = GaugeMetricFamily("bpm_timers_due", "已到期、待触发的定时器数")
            due.add_metric([], session.scalar(pending.where(Timer.due_at <= now)))
            late = GaugeMetricFamily("bpm_timers_overdue", "到期已久仍未触发的定时器数（调度器落后或停止）")
            late.add_metric([], session.scalar(pending.where(Timer.due_at <= now - grace)))
            incidents = GaugeMetricFamily("bpm_open_incidents", "未解决的异常数（按类型）", labels=["kind"])
            for kind, count in session.execute(select(Incident.kind, func.count()).where(
                    Incident.status == "open").group_by(Incident.kind)):
                incidents.add_metric([kind], count)
            families = [tasks, overdue_tasks, running, due, late, incidents]
            beat = SchedulerHeartbeat.latest(session)
            if beat is not None:
                age = GaugeMetricFamily("bpm_scheduler_heartbeat_age_seconds", "距调度器最近一次心跳的秒数")
                age.add_metric([], max(0.0, (now - beat).total_seconds()))
                families.append(age)
            stranded = self._stranded(session, now)
            if stranded is not None:
                gauge = GaugeMetricFamily("bpm_stranded_instances", "无人可推进的运行中流程实例数")
                gauge.add_metric([], stranded)
                families.append(gauge)
            session.rollback()
        return families


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def exposition(app):
    """The text every scrape gets: this process's (or all workers') counters, then the database gauges."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = app.extensions.get("metrics_registry")
    if database is None:
        database = CollectorRegistry()
        database.register(DatabaseCollector(app))
        app.extensions["metrics_registry"] = database
    return generate_latest(registry) + generate_latest(database)


def init_app(app):
    from flask import g, request

    @app.before_request
    def _start():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            observe_request(route, request.method, response.status_code, time.perf_counter() - started)
        return response
