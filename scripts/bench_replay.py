"""Replay and verification time of long-lived instances: 50, 100 and 200 user steps, beside the goal of issue 16.

Each instance is made through the engine (the API, in process): clerk2 starts a plan application and then the
reviewer rejects and the clerk resubmits, round after round, until the instance has the given number of user
steps (completions). Then, per instance, the median of --runs runs of:

- replay: ``replay.replay`` in a read-only session (the full report an auditor sees, every step's position);
- verify (full): ``audit.verify`` — hash chain plus a full replay compared with the stored state (what
  ``GET /api/instances/<id>/verify`` does);
- verify (daily): ``audit.verify_incremental`` from the checkpoint the previous daily run left, with --new user
  steps made since (what the scheduler's daily job does once a checkpoint exists; the first daily run is a full
  verify and writes it).

    python scripts/bench_replay.py [--steps 50,100,200] [--runs 5] [--database-url URL] [--profile N]

Per-step times (ms per user step) are printed so linearity shows: they stay flat when the cost is linear.
--profile N: afterwards, cProfile one replay, one full and one daily verify of the largest instance and print the top N
functions by cumulative and by own time (with call counts: load-independent evidence).

Default database: a fresh SQLite file in a temp dir. Any other URL has its schema dropped and recreated.
Timings only; nothing here is asserted by the tests.
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from statistics import median

from sqlalchemy import event

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import EDIT, PLAN, REJECT, REVIEW, Api, make_app, registered_project, task_id  # noqa: E402

GOAL_S = 1.0  # replay / verify of a 200-user-step instance, issue 16


def build(clerk, reviewer, project_id, steps, instance=None):
    """An instance with ``steps`` (more) user steps: the start form submits once, then reject/resubmit pairs.
    Returns the instance (as the API last answered)."""
    instance = instance or clerk.start("plan_application", {**PLAN, "project_id": project_id})
    done = 0
    while done < steps:
        if any(t["name"] == REVIEW for t in instance["tasks"]):
            instance = reviewer.complete(task_id(instance, REVIEW), REJECT)
        else:
            instance = clerk.complete(task_id(instance, EDIT), {**PLAN, "project_id": project_id})
        done += 1
    return instance


def timed(runs, fn, statements):
    """Medians of ``runs`` runs: wall time, this process's CPU time (what the load of the machine does not change;
    on PostgreSQL the server's share is not in it) and SQL statements (``statements``: a running count)."""
    walls, cpus, counts, result = [], [], [], None
    for _ in range(runs):
        n0, c0, t0 = statements[0], time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        counts.append(statements[0] - n0)
    return median(walls), median(cpus), median(counts), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", default="50,100,200", help="user steps per instance (default 50,100,200)")
    ap.add_argument("--runs", type=int, default=5, help="runs per measure; the median is printed (default 5)")
    ap.add_argument("--new", type=int, default=10, help="user steps since the daily checkpoint (default 10)")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="cProfile replay and verifies of the largest instance; print the top N functions")
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="bench-replay-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    app = make_app(url)
    db = app.extensions["db"]
    clerk, reviewer = Api(app, "clerk2"), Api(app, "reviewer2")
    project_id = registered_project(clerk, reviewer)
    from app.engine import audit, checkpoints, replay
    from app.models import ProcessInstance, utcnow

    t0 = time.perf_counter()
    new = min(args.new, min(steps))
    made = {n: build(clerk, reviewer, project_id, n - new) for n in steps}
    keys = checkpoints.keys_of(db)
    audit.run_daily(db, utcnow(), keys)  # the daily run before the last --new steps: a checkpoint per instance
    instances = {n: build(clerk, reviewer, project_id, new, made[n])["id"] for n in steps}
    built = time.perf_counter() - t0

    def run_replay(iid):
        with audit.readonly_session(db) as session:
            report = replay.replay(session, session.get(ProcessInstance, iid))
        assert report["ok"], report["first_divergence"]
        return report

    def run_verify(iid):
        with audit.readonly_session(db) as session:
            result = audit.verify(session, session.get(ProcessInstance, iid))
        assert result["ok"], result
        return result

    incremental = audit.verify_incremental

    def run_daily(iid):
        with audit.readonly_session(db) as session:
            result = incremental(session, session.get(ProcessInstance, iid), keys)
        assert result["ok"] and result["from_seq"], result
        return result

    statements = [0]
    for engine in {db.engine, db.read_engine}:
        event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    rows = []
    for n, iid in instances.items():
        *replayed, report = timed(args.runs, lambda: run_replay(iid), statements)
        *verified, _ = timed(args.runs, lambda: run_verify(iid), statements)
        *daily, _ = timed(args.runs, lambda: run_daily(iid), statements)
        rows.append((n, report["events"], replayed, verified, daily))
    profiles = [(name, profile(fn, instances[max(steps)], args.profile))
                for name, fn in (("replay", run_replay), ("verify (full)", run_verify), ("verify (daily)", run_daily))
    ] if args.profile else []
    db.dispose()
    tmp.cleanup()

    where = url.split(":", 1)[0] if args.database_url else "sqlite (temp file)"
    print(f"\nDatabase: {where}; instances built through the API in {built:.1f} s; medians of {args.runs} runs; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("wall s (ms per user step) / CPU s of this process (ms per user step) / SQL statements; goal: the 200-step "
          f"instance replayed and verified in <= {GOAL_S:.0f} s, linear in steps (flat ms per step)")
    print(f"{'user steps':>10} {'events':>7}  {'replay':<34}  {'verify (full)':<34}  daily verify (from the "
          f"checkpoint, {new} new steps)")
    for n, events, *measures in rows:
        cells = [f"{w:6.3f} s ({w * 1000 / n:5.1f}) / {c:5.3f} s ({c * 1000 / n:5.1f}) / {int(q):4d}"
                 for w, c, q in measures[:2]]
        w, c, q = measures[2]  # replays only the new steps: per step of the instance says nothing
        cells.append(f"{w:6.3f} s / {c:5.3f} s / {int(q):4d}")
        print(f"{n:>10} {events:>7}  {cells[0]:<34}  {cells[1]:<34}  {cells[2]}")
    if len(rows) > 1:
        (n0, _, (r0, rc0, _), (v0, vc0, _), _), (n1, _, (r1, rc1, _), (v1, vc1, _), _) = rows[0], rows[-1]
        print(f"growth {n0}->{n1} steps ({n1 / n0:.0f}x the steps): replay {r1 / r0:.1f}x wall, {rc1 / rc0:.1f}x CPU; "
              f"verify {v1 / v0:.1f}x wall, {vc1 / vc0:.1f}x CPU (linear: ~{n1 / n0:.0f}x)")
    for name, text in profiles:
        print(f"\n== cProfile: {name} of the {max(steps)}-step instance ==\n{text}")


def profile(fn, instance_id, top):
    """The top ``top`` functions of one run of ``fn(instance_id)``, by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(fn, instance_id)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    main()
