"""The clock that ticks timers: APScheduler calls ``timers.run_due``; the ``timer`` table is the truth.

Embedded (the default for ``./run.sh``) the scheduler runs inside the service. For several
workers run it as its own process instead: ``python -m app.engine.scheduler`` (SCHEDULER=external
for the web workers); any number of scheduler processes may run, rows are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease so each timer fires once.
"""
import logging
import os
import socket

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from . import audit, starts, timers

log = logging.getLogger(__name__)


def _tick(app, owner):
    try:
        db, now = app.extensions["db"], app.config["CLOCK"]()
        fired = timers.run_due(db, now, owner)
        started = starts.dispatch(db, now)
        if fired or started:
            log.info("fired %d timer(s), started %d requested instance(s)", fired, started)
    except Exception:  # noqa: BLE001 - a tick must never kill the scheduler; the next tick retries
        log.exception("scheduler tick failed")


def _verify_histories(app):
    """Daily: every instance's hash chain and stored state; a break becomes a history_tamper incident."""
    try:
        audit.run_daily(app.extensions["db"], app.config["CLOCK"]())
    except Exception:  # noqa: BLE001 - the next day retries
        log.exception("daily history verification failed")


def _configure(scheduler, app):
    owner = f"{socket.gethostname()}-{os.getpid()}"
    scheduler.add_job(_tick, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], args=(app, owner),
                      id="timers", max_instances=1, coalesce=True)
    scheduler.add_job(_verify_histories, "cron", hour=2, args=(app,), id="verify_histories", max_instances=1,
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
