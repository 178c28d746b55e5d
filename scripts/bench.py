"""Benchmark the service against bare SpiffWorkflow, interleaved pair by pair, and print medians and ratios.

Every measurement is a pair: one service run and one bare run right after each other (which one goes first
alternates), so a busy machine slows both sides alike; figures are medians of the pairs, printed beside the goal
of issue 16. Each figure is given twice: wall time, and the CPU time of the side's own process
(``time.process_time``), which a machine shared with other work inflates far less (SQLite's commit waiting for the
disk is wall time only).

Bare SpiffWorkflow runs in a child process spawned before the service is imported, so it is SpiffWorkflow as
shipped: the service's corrections (app/engine/spiff_compat.py patches SpiffWorkflow's classes, process-wide) count
for the service only. The child sets SpiffWorkflow's loggers to WARNING, as any deployment's logging set-up does
(with their level unset, SpiffWorkflow builds log extras from a walk of the whole tree on every log call). Each
side times itself; the parent waits for the child, so runs never overlap.

1. N plan approvals. Service: the API through Flask's test client (in process: engine + database, not
   HTTP); clerk2 starts a 1000-yuan plan (city unit), reviewer2 approves. Bare: a minimal equivalent
   diagram (start -> user task "submit" -> call activity "review" -> gateway on `approved`, reject back to
   "submit") on stock BpmnParser/BpmnWorkflow, deserialized and serialized (stock BpmnWorkflowSerializer,
   in memory) around every step: a lower bound (the stock serializer also writes the two specs, about half of
   its JSON; the service stores the state only). Starts and completions are timed apart; "completion" compares the
   same step on both sides, the reviewer's approval that ends the review sub-process and the instance;
   "per approval" is the business outcome (service: start + 1 completion, the start form carries the plan; bare:
   start + 2).
2. One instance looping reject -> resubmit --loops times on each side, round by round (a service round, then a
   bare round): median of the first 10 rounds against the last 10.

    python scripts/bench.py [--n 50] [--loops 200] [--database-url URL]

Default database: a fresh SQLite file in a temp dir. Any other URL has its schema dropped and recreated.
Timings only; nothing here is asserted by the tests.
"""
import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

PLAN = {"year": 2026, "method": "open_tender", "amount": 1000, "sme_reserved_amount": 1000, "action": "submit"}
REVIEW, EDIT = "采购单位审核岗审核", "编辑采购计划"
REJECT = {"approved": "false", "comment": "请修改"}

BARE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bench" targetNamespace="bench">
  <process id="plan" isExecutable="true">
    <startEvent id="start" /><sequenceFlow id="f1" sourceRef="start" targetRef="submit" />
    <userTask id="submit" /><sequenceFlow id="f2" sourceRef="submit" targetRef="review" />
    <callActivity id="review" calledElement="review_sub"/><sequenceFlow id="f3" sourceRef="review" targetRef="result" />
    <exclusiveGateway id="result" default="f5" /><sequenceFlow id="f5" sourceRef="result" targetRef="submit" />
    <sequenceFlow id="f4" sourceRef="result" targetRef="done">
      <conditionExpression>approved</conditionExpression></sequenceFlow>
    <endEvent id="done" />
  </process>
  <process id="review_sub" isExecutable="true">
    <startEvent id="r_start" /><sequenceFlow id="r1" sourceRef="r_start" targetRef="review_task" />
    <userTask id="review_task" /><sequenceFlow id="r2" sourceRef="review_task" targetRef="r_end" />
    <endEvent id="r_end" />
  </process>
</definitions>"""


class Bare:
    """The equivalent flow in bare SpiffWorkflow; the workflow lives as serialized JSON between steps."""

    def __init__(self):
        parser = BpmnParser()
        parser.add_bpmn_str(BARE_BPMN.encode())
        self.spec, self.subspecs = parser.get_spec("plan"), parser.get_subprocess_specs("plan")
        self.serializer = BpmnWorkflowSerializer()

    def start(self):
        wf = BpmnWorkflow(self.spec, self.subspecs)
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf)

    def complete(self, blob, spec_name, data):
        wf = self.serializer.deserialize_json(blob)
        tasks = {t.id: t for w in (wf, *wf.subprocesses.values())
                 for t in w.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == spec_name}
        assert len(tasks) == 1, (spec_name, tasks)
        task, = tasks.values()
        task.data.update(data)
        task.run()
        wf.do_engine_steps()
        return self.serializer.serialize_json(wf), wf.is_completed()


class BareWorker:
    """The bare side in a spawned child process: a fresh interpreter that never imports the service."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_bare_child, args=(child,), daemon=True)
        self.process.start()

    def call(self, command):
        self.conn.send(command)
        result = self.conn.recv()
        if isinstance(result, BaseException):
            raise result
        return result

    def approval(self, starts, completions):
        s, c = self.call("approval")
        starts.extend(s)
        completions.extend(c)

    def close(self):
        self.conn.send(None)
        self.process.join()


def _bare_child(conn):
    if "app" in sys.modules:
        raise SystemExit("the bare side must not run with the service imported")
    for name in ("spiff.task", "spiff.workflow", "spiff.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    bare, loop = Bare(), None
    while (command := conn.recv()) is not None:
        try:
            if command == "approval":
                starts, completions = [], []
                bare_approval(bare, starts, completions)
                conn.send((starts, completions))
            elif command == "loop":
                loop = BareLoop(bare)
                conn.send(None)
            elif command == "round":
                loop.round()
                conn.send(loop.rounds[-1])
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops
            conn.send(exc)


class BareLoopProxy:
    """``BareLoop`` in the child: each round is timed there and its lap kept here."""

    def __init__(self, worker):
        self.worker, self.rounds = worker, []
        worker.call("loop")

    def round(self):
        self.rounds.append(self.worker.call("round"))


class ApiError(Exception):
    pass


class Api:
    """One demo user driving the API through Flask's test client (in process: no HTTP)."""

    def __init__(self, app, username):
        self.client, self.headers = app.test_client(), {}
        token = self.post("/api/login", {"username": username, "password": "demo"}, 200)["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, body, status):
        response = self.client.post(path, json=body, headers=self.headers)
        if response.status_code != status:
            raise ApiError(f"POST {path}: {response.status_code} {response.json}")
        return response.json

    def start(self, key, data):
        return self.post(f"/api/processes/{key}/instances", {"data": data}, 201)

    def complete(self, task_id, data):
        return self.post(f"/api/tasks/{task_id}/complete", {"data": data}, 200)


def task_id(instance, name):
    found = [t["id"] for t in instance["tasks"] if t["name"] == name]
    if len(found) != 1:
        raise SystemExit(f"expected one task {name!r}, got {[t['name'] for t in instance['tasks']]}")
    return found[0]


def lap(times, fn, *args):
    """Run fn(*args), append (wall time, CPU time) to times, return its result."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    times.append((time.perf_counter() - t0, time.process_time() - c0))
    return result


def total(*laps):
    """The laps of one run added up: (wall, CPU)."""
    return tuple(map(sum, zip(*laps)))


def make_app(url):
    from app import create_app
    from app.models import org
    org.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # seeding speed only
    if not url.startswith("sqlite"):
        from app.db import Database
        fresh = Database(url)
        fresh.drop_all()  # tables and the schema revision: create_app migrates the empty database
        fresh.dispose()
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})


def service_approval(clerk, reviewer, project_id, starts, completions):
    instance = lap(starts, clerk.start, "plan_application", {**PLAN, "project_id": project_id})
    done = lap(completions, reviewer.complete, task_id(instance, REVIEW), {"approved": "true", "comment": "同意"})
    if done["status"] != "completed":
        raise SystemExit(f"plan not completed: {done['status']}")


def bare_approval(bare, starts, completions):
    blob = lap(starts, bare.start)
    blob, _ = lap(completions, bare.complete, blob, "submit", {**PLAN, "project_id": 1})
    _, finished = lap(completions, bare.complete, blob, "review_task", {"approved": True, "comment": "同意"})
    assert finished


def pair(i, service, bare):
    """Run both, alternating which goes first."""
    for fn in ((service, bare) if i % 2 == 0 else (bare, service)):
        fn()


class ServiceLoop:
    """One instance rejected and resubmitted round after round; each round's two completions timed together."""

    def __init__(self, clerk, reviewer, project_id):
        self.clerk, self.reviewer, self.project_id = clerk, reviewer, project_id
        self.instance = clerk.start("plan_application", {**PLAN, "project_id": project_id})
        self.rounds, self.failure = [], None

    def round(self):
        if self.failure:
            return
        try:
            lap(self.rounds, self._round)
        except ApiError as exc:
            self.failure = f"service failed in round {len(self.rounds) + 1}: {exc}"

    def _round(self):
        self.instance = self.reviewer.complete(task_id(self.instance, REVIEW), REJECT)
        self.instance = self.clerk.complete(task_id(self.instance, EDIT), {**PLAN, "project_id": self.project_id})


class BareLoop:
    def __init__(self, bare):
        self.bare = bare
        self.blob, _ = bare.complete(bare.start(), "submit", {**PLAN, "project_id": 1})
        self.rounds = []

    def round(self):
        lap(self.rounds, self._round)

    def _round(self):
        self.blob, _ = self.bare.complete(self.blob, "review_task", {"approved": False, "comment": "请修改"})
        self.blob, _ = self.bare.complete(self.blob, "submit", {**PLAN, "project_id": 1})


def registered_project(clerk, reviewer):
    """The city unit's registered project every benchmark plans on (clerk2/reviewer2, budget line 4)."""
    reg = clerk.start("project_registration", {"name": "基准测试项目", "year": 2026, "category": "goods",
                                               "amount": 1500000, "budget_line_id": 4, "implementation_form": "agency",
                                               "is_government_procurement": True})
    reviewer.complete(task_id(reg, "审核岗审核"), {"approved": "true", "comment": "同意"})
    return reg["data"]["project_id"]


def row(label, *cells):
    print(f"{label:20}" + "".join(f"{cell:>13}" for cell in cells[:-1]) + f"  {cells[-1]}")


def header():
    row("", "service", "bare Spiff", "ratio", "service CPU", "bare CPU", "CPU ratio", "goal")


def compare(label, service, bare, goal=""):
    """Medians of (wall, CPU) laps, side by side, with their ratios."""
    cells = []
    for k in (0, 1):
        s, b = median(t[k] for t in service), median(t[k] for t in bare)
        cells += [f"{s * 1e3:.2f} ms", f"{b * 1e3:.2f} ms", f"{s / b:.1f}x"]
    row(label, *cells, goal)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50, help="plan approvals (default 50)")
    ap.add_argument("--loops", type=int, default=200, help="reject->resubmit loops on one instance (default 200)")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = ap.parse_args()
    bare = BareWorker()  # before the service is imported (spawned: it would not inherit it anyway)
    tmp = tempfile.TemporaryDirectory(prefix="bench-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    app = make_app(url)
    clerk, reviewer = Api(app, "clerk2"), Api(app, "reviewer2")
    project_id = registered_project(clerk, reviewer)
    service_approval(clerk, reviewer, project_id, [], [])  # warm-up, untimed
    bare.approval([], [])
    s_starts, s_done, b_starts, b_done = [], [], [], []
    for i in range(args.n):
        pair(i, lambda: service_approval(clerk, reviewer, project_id, s_starts, s_done),
             lambda: bare.approval(b_starts, b_done))
    s_loop, b_loop = ServiceLoop(clerk, reviewer, project_id), BareLoopProxy(bare)
    for i in range(args.loops):
        pair(i, s_loop.round, b_loop.round)
    bare.close()
    app.extensions["db"].dispose()
    tmp.cleanup()

    db = url.split(":", 1)[0] if args.database_url else "sqlite (temp file)"
    print(f"\nDatabase: {db}; bare SpiffWorkflow: stock, in a child process, in memory, deserialize_json/"
          "serialize_json around every step; service and bare runs interleaved pair by pair; medians of wall and of"
          " CPU time (each side's own process)")
    print(f"\n== {args.n} plan approvals (city unit: start, reviewer approves) ==")
    header()
    b_submit, b_review = b_done[0::2], b_done[1::2]
    compare("start", s_starts, b_starts)
    compare("completion", s_done, b_review, "<= 4x (the reviewer's approval on both sides)")
    compare("per approval", list(map(total, s_starts, s_done)), list(map(total, b_starts, b_submit, b_review)))

    m = min(len(s_loop.rounds), len(b_loop.rounds))
    k = min(10, m)
    if k:
        print(f"\n== one instance, {args.loops} rounds of reject -> resubmit (2 completions a round) ==")
        header()
        compare(f"rounds 1-{k}", s_loop.rounds[:k], b_loop.rounds[:k])
        compare(f"rounds {m - k + 1}-{m}", s_loop.rounds[m - k:m], b_loop.rounds[m - k:m])
        growth = [median(t[c] for t in side[m - k:m]) / median(t[c] for t in side[:k])
                  for c in (0, 1) for side in (s_loop.rounds, b_loop.rounds)]
        row("growth last/first", f"{growth[0]:.2f}x", f"{growth[1]:.2f}x", "", f"{growth[2]:.2f}x",
            f"{growth[3]:.2f}x", "", "<= 1.5x (service)")
    if s_loop.failure:
        print(f"\nNOTE: {s_loop.failure}")


if __name__ == "__main__":
    main()
