"""Multi-worker PostgreSQL, the documented deployment (issue 12): web workers with SCHEDULER=external and two
`python -m app.engine.scheduler` processes, all started at once on an empty schema. Start-up does not race;
a due timer fires exactly once; concurrent completions of one task sent to both servers give exactly one 200.
"""
import threading
import time
from datetime import timedelta

import pytest
from servers import Scheduler, Server, empty_database, login, request
from sqlalchemy import create_engine, func, select, update

from app.models import ProcessDefinition, ProcessInstance, Timer, utcnow
from database_url import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="multi-worker mode is PostgreSQL's (TEST_DATABASE_URL)")


def wait_for(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def scan_instances(engine):
    """Instances of the daily supervision scan (timer start event R/…/P1D): one per firing."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count(ProcessInstance.id)).join(
            ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessDefinition.key == "supervision_scan"))


def scan_timers(engine):
    with engine.connect() as conn:
        return [(t.status, t.due_at) for t in conn.execute(
            select(Timer.status, Timer.due_at).where(Timer.definition_key == "supervision_scan").order_by(Timer.id))]


def test_two_servers_and_two_schedulers_on_one_database(tmp_path):
    with empty_database(tmp_path) as url:
        engine = create_engine(url)
        settings = {"SCHEDULER": "external", "DEMO_DATA": 1, "WEB_WORKERS": 1, "WEB_THREADS": 4}
        # Two servers preparing the same empty schema at the same moment: the advisory lock serializes them.
        servers = [Server(url, tmp_path / f"server{i}.log", **settings) for i in range(2)]
        schedulers = []
        try:
            for server in servers:
                server.wait_ready()
            schedulers = [Scheduler(url, tmp_path / f"scheduler{i}.log", SCHEDULER_INTERVAL_SECONDS=1,
                                    PREPARE_ON_START=0) for i in range(2)]
            with engine.connect() as conn:
                assert conn.scalar(select(func.count(ProcessInstance.id))) == 6  # demo activity played once

            # -- one due timer, two schedulers: it fires once ----------------------------------------------
            assert scan_instances(engine) == 0
            with engine.begin() as conn:
                conn.execute(update(Timer).where(Timer.definition_key == "supervision_scan", Timer.status == "pending")
                             .values(due_at=utcnow() - timedelta(seconds=1)))
            wait_for(lambda: [s for s, _ in scan_timers(engine)] == ["fired", "pending"], "the timer to fire")
            seen = len(scan_timers(engine))
            time.sleep(3)  # a few more ticks of both schedulers (every second), which must not fire it again
            assert scan_instances(engine) == 1
            rows = scan_timers(engine)
            assert len(rows) == seen == 2 and rows[1][1] > utcnow()  # the next day's, not due
            assert all(s.alive() for s in schedulers)

            # -- concurrent completions of one task, sent to both servers -----------------------------------
            token = login(servers[0].base, "reviewer")  # a token of server 0, used on server 1 as well
            status, _, tasks = request(servers[1].base + "/api/tasks", token=token)
            assert status == 200
            task = next(t for t in tasks if t["name"] == "审核岗审核")
            barrier = threading.Barrier(8)
            results = []

            def complete(base):
                barrier.wait()
                results.append(request(f"{base}/api/tasks/{task['id']}/complete", "POST",
                                       {"data": {"approved": "true", "comment": "同意"}}, token=token))

            threads = [threading.Thread(target=complete, args=(servers[i % 2].base,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            codes = sorted(status for status, _, _ in results)
            assert codes == [200] + [409] * 7, [(s, b) for s, _, b in results]
            status, _, history = request(f"{servers[0].base}/api/instances/{task['instance_id']}/history", token=token)
            assert [e["type"] for e in history].count("task_completed") == 1
        finally:
            for process in schedulers + servers:
                process.stop()
            engine.dispose()
        for process in schedulers + servers:
            assert "Traceback" not in process.output(), process.output()[-4000:]
