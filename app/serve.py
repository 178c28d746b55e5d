"""``python -m app serve`` (what ``./run.sh`` runs): the production server.

1. Prepare the database once in this process (schema to head, start-up deployment, seeds, the demo's work in
   progress on a fresh demo database; app/startup.py), then close every connection: nothing crosses the fork.
2. Serve through gunicorn: WEB_WORKERS processes of WEB_THREADS threads each (``gthread`` workers). Each worker
   builds its own app after the fork, without preparing again. Gunicorn gives real processes on Linux (the
   engine is CPU-bound Python: threads of one process share one core), restarts a worker that dies or hangs
   (WEB_TIMEOUT), hands slow clients back to its poller instead of pinning a thread, and its own version never
   shows in a header.
3. SCHEDULER=embedded (the default): one timer scheduler process (``python -m app.engine.scheduler``) beside the
   workers, restarted if it stops; the workers never tick. SCHEDULER=external: run schedulers yourself (any
   number, e.g. on other machines); off: none.

Settings (environment): HOST, PORT, WEB_WORKERS (2), WEB_THREADS (4), WEB_TIMEOUT (60 s), WEB_GRACEFUL_TIMEOUT
(30 s), WEB_KEEPALIVE (5 s), and any other gunicorn option through GUNICORN_CMD_ARGS (e.g. ``--certfile``,
``--keyfile`` to serve TLS itself; then set HTTPS=1).
"""
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

from gunicorn.app.base import BaseApplication

log = logging.getLogger("app.serve")


def options():
    env = os.environ.get
    return {
        "bind": f"{env('HOST', '127.0.0.1')}:{env('PORT', '5000')}",
        "worker_class": "gthread",
        "workers": int(env("WEB_WORKERS", 2)),
        "threads": int(env("WEB_THREADS", 4)),
        "timeout": int(env("WEB_TIMEOUT", 60)),
        "graceful_timeout": int(env("WEB_GRACEFUL_TIMEOUT", 30)),
        "keepalive": int(env("WEB_KEEPALIVE", 5)),
        "accesslog": env("WEB_ACCESS_LOG", "-") or None,
        "proc_name": "govproc",
        "control_socket_disable": True,  # its default path is per user: two installations would share it
    }


def _die_with_parent():
    """In the scheduler child (Linux): SIGTERM when the server goes, even if it is killed outright."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Scheduler:
    """The one timer scheduler process beside the web workers (SCHEDULER=embedded), restarted if it stops."""

    def __init__(self):
        self.process, self.stopping = None, threading.Event()

    def _spawn(self):
        env = {**os.environ, "SCHEDULER": "external", "PREPARE_ON_START": "0"}
        return subprocess.Popen([sys.executable, "-m", "app.engine.scheduler"], env=env, preexec_fn=_die_with_parent)

    def _watch(self):
        while not self.stopping.is_set():
            self.process = self._spawn()
            code = self.process.wait()
            if not self.stopping.is_set():
                log.error("timer scheduler exited with %s; restarting in 5 s", code)
                self.stopping.wait(5)

    def start(self):
        threading.Thread(target=self._watch, name="scheduler-watch", daemon=True).start()

    def stop(self):
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Server(BaseApplication):
    def __init__(self, settings, scheduler):
        self.settings, self.scheduler = settings, scheduler
        super().__init__()

    def load_config(self):
        for key, value in self.settings.items():
            self.cfg.set(key, value)
        # Operators add any gunicorn option the usual way (GUNICORN_CMD_ARGS="--certfile=… --keyfile=…").
        extra = self.cfg.parser().parse_args(shlex.split(os.environ.get("GUNICORN_CMD_ARGS", "")))
        for key, value in vars(extra).items():
            if value is not None and key != "args":
                self.cfg.set(key.lower(), value)
        if self.scheduler is not None:
            self.cfg.set("when_ready", lambda server: self.scheduler.start())
            self.cfg.set("on_exit", lambda server: self.scheduler.stop())

    def load(self):
        """In each worker, after the fork: its own app, engine and connections."""
        from . import create_app
        return create_app({"PREPARE_ON_START": False, "SCHEDULER": "external"})


def prepare_database():
    """Step 1: prepare once, then leave no connection open for the workers to inherit."""
    from . import create_app
    from .startup import play_demo_activity
    app = create_app({"SCHEDULER": "off"})
    started = play_demo_activity(app)
    if started:
        log.info("demo: %d instance(s) of work in progress started", started)
    app.extensions["db"].dispose()
    return app


def main():
    from .startup import configure_logging
    configure_logging()
    started = time.monotonic()
    app = prepare_database()
    settings = options()
    log.info("database prepared in %.1f s (%s); serving on http://%s with %d worker(s) × %d thread(s)",
             time.monotonic() - started, app.config["DATABASE_URL"].split("://")[0], settings["bind"],
             settings["workers"], settings["threads"])
    scheduler = Scheduler() if os.environ.get("SCHEDULER", "embedded") == "embedded" else None
    Server(settings, scheduler).run()
