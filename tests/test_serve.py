"""`python -m app serve` (what ./run.sh runs) as an operator starts it: gunicorn with two worker processes and the
scheduler process beside them, on an empty database; the demo's work in progress is played once, not again on
a restart; every worker accepts the installation's tokens and refuses them after logout (issue 12)."""
from pathlib import Path

from servers import Server, empty_database, login, request
from sqlalchemy import create_engine, func, select

from app.models import ProcessInstance


def children(pid):
    """The command lines of a process's children (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def instances(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count(ProcessInstance.id)))
    finally:
        engine.dispose()


def test_serve_prepares_once_and_runs_gunicorn_workers_and_one_scheduler(tmp_path):
    with empty_database(tmp_path) as url:
        server = Server(url, tmp_path / "serve.log", WEB_WORKERS=2, WEB_THREADS=2, SCHEDULER="embedded",
                        DEMO_DATA=1)
        try:
            server.wait_ready()
            status, headers, _ = request(server.base + "/login")
            assert status == 200 and headers["Server"] == "gunicorn"  # no version banner
            assert "script-src 'self'" in headers["Content-Security-Policy"]
            assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
            kids = children(server.proc.pid)
            assert sum("app serve" in k for k in kids) == 2, kids  # the workers
            assert sum("app.engine.scheduler" in k for k in kids) == 1, kids
            played = instances(url)
            assert played == 6  # the demo's work in progress (app/demo_activity.py), once

            token = login(server.base, "clerk")
            # Many requests, spread over both workers by the kernel: each accepts the token.
            assert {request(server.base + "/api/tasks", token=token)[0] for _ in range(12)} == {200}
            assert request(server.base + "/api/logout", "POST", token=token)[0] == 204
            assert {request(server.base + "/api/tasks", token=token)[0] for _ in range(6)} == {401}
        finally:
            server.stop()
        log = server.output()
        assert "Booting worker" in log and "development server" not in log
        assert "Traceback" not in log, log[-4000:]

        again = Server(url, tmp_path / "again.log", WEB_WORKERS=1, SCHEDULER="off", DEMO_DATA=1)
        try:
            again.wait_ready()
            assert instances(url) == played  # a restart keeps the data and plays nothing again
            token = login(again.base, "reviewer")
            assert request(again.base + "/api/tasks", token=token)[0] == 200
        finally:
            again.stop()
