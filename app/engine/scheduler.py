"""The clock that ticks timers: APScheduler calls ``timers.run_due``; the ``timer`` table is the truth.

Embedded (the default for ``./run.sh``) the scheduler runs inside the service. For several
workers run it as its own process instead: ``python -m app.engine.scheduler`` (SCHEDULER=external
for the web workers); any number of scheduler processes may run, rows are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease so each timer fires once.
"""
import logging
import os
import socket
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ..models import SchedulerHeartbeat
from . import audit, checkpoints, notices, starts, stranded, timers

log = logging.getLogger(__name__)


def _tick(app, owner):
    try:
        db, now = app.extensions["db"], app.config["CLOCK"]()
        with db.Session() as session, session.begin():
            SchedulerHeartbeat.beat(session, owner, now)  # /readyz: a scheduler is ticking
        fired = timers.run_due(db, now, owner)
        started = starts.dispatch(db, now)
        notices.tick(db, app.config, now)  # overdue notices; e-mail when NOTICE_CHANNEL=smtp
        if fired or started:
            log.info("fired %d timer(s), started %d requested instance(s)", fired, started)
    except Exception:  # noqa: BLE001 - a tick must never kill the scheduler; the next tick retries
        log.exception("scheduler tick failed")


def _verify_histories(app):
    """Daily: every instance's hash chain and stored state; a break becomes a history_tamper incident."""
    try:
        audit.run_daily(app.extensions["db"], app.config["CLOCK"](), checkpoints.keys_of_app(app))
    except Exception:  # noqa: BLE001 - the next day retries
        log.exception("daily history verification failed")


def _check_stranded(app):
    """Daily: an incident per running instance nobody and nothing can move (``stranded.py``)."""
    try:
        found = stranded.run_daily(app.extensions["db"], app.config["CLOCK"]())
        if found["stranded"]:
            log.warning("%d stranded instance(s): %s", len(found["stranded"]), found["stranded"])
    except Exception:  # noqa: BLE001 - the next day retries
        log.exception("daily stranded-instance check failed")


def _configure(scheduler, app):
    owner = f"{socket.gethostname()}-{os.getpid()}"
    scheduler.add_job(_tick, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=(app, owner),
                      id="timers", max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(_verify_histories, "cron", hour=2, args=(app,), id="verify_histories", max_instances=1,
                      coalesce=True)
    scheduler.add_job(_check_stranded, "cron", hour=2, minute=30, args=(app,), id="check_stranded", max_instances=1,
                      coalesce=True)
    return scheduler


def start_embedded(app):
    scheduler = _configure(BackgroundScheduler(daemon=True), app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler


def main():
    from .. import create_app
    from ..startup import configure_logging
    configure_logging()
    app = create_app({"SCHEDULER": "external"})
    print(f"timer scheduler for {app.config['DATABASE_URL'].split('://')[0]} "
          f"every {app.config['SCHEDULER_INTERVAL_SECONDS']} s")
    try:
        _configure(BlockingScheduler(), app).start()
    except KeyboardInterrupt:  # Ctrl-C on the terminal running ./run.sh reaches this process too
        pass


if __name__ == "__main__":
    main()
