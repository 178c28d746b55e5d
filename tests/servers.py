"""Real processes for the serving tests: an empty database of their own, `python -m app serve` servers and
`python -m app.engine.scheduler` schedulers started as an operator would, and a small HTTP client."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from database_url import PG_URL

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def empty_database(tmp_path):
    """The URL of an empty database: a SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'served.db'}"
        return
    from app.db import make_engine
    schema = f"serve_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(url, **settings):
    """The service's environment as an operator sets it: no SECRET_KEY, nothing of the test suite's."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "PREPARE_ON_START")}
    env.update({"DATABASE_URL": url, "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in settings.items()})
    return env


class Process:
    """A child process whose output goes to a log file (read on failure)."""

    def __init__(self, args, env, log):
        self.log = log
        self.handle = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        return Path(self.log).read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: master, workers, scheduler
                self.proc.wait(10)
        self.handle.close()


class Server(Process):
    def __init__(self, url, log, **settings):
        self.port = free_port()
        super().__init__(["-m", "app", "serve"], environment(url, PORT=self.port, **settings), log)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=300):
        """Until /login answers (the database is prepared before gunicorn listens)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            try:
                if request(self.base + "/login")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server not ready after {timeout} s:\n{self.output()[-4000:]}")


class Scheduler(Process):
    def __init__(self, url, log, **settings):
        super().__init__(["-m", "app.engine.scheduler"], environment(url, **settings), log)


def request(url, method="GET", body=None, token=None):
    """(status, headers, parsed JSON or text) without raising on error statuses."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, err.headers, err.read()
    content = raw.decode("utf-8", "replace")
    if headers.get("Content-Type", "").startswith("application/json"):
        content = json.loads(content) if content else None
    return status, headers, content


def login(base, username, password="demo"):
    status, _, body = request(base + "/api/login", "POST", {"username": username, "password": password})
    assert status == 200, body
    return body["token"]
