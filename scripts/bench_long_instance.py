"""One instance rejected and resubmitted many times (issue 16: per-step cost independent of history, goal <= 1.5x).

clerk2 starts a plan; reviewer2 rejects it and clerk2 resubmits it, --rounds times, all on one instance through the
API (Flask's test client, in process). Prints the median round (two completions) of rounds 1-10 against the last 10,
the ratio beside the goal, and the size of the instance's live serialized state at the first and last round.

    python scripts/bench_long_instance.py [--rounds 200] [--database-url URL]

Default database: a fresh SQLite file in a temp dir; any other URL has its schema dropped and recreated.
Timings only; nothing here is asserted by the tests.
"""
import argparse
import os
import sys
import tempfile
import time
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench import EDIT, PLAN, REJECT, REVIEW, Api, make_app, registered_project, task_id  # noqa: E402

GOAL = 1.5


def state_size(app, instance_id):
    from app.models import ProcessInstance
    db = app.extensions["db"]
    with db.ReadSession() as session:
        return len(session.get(ProcessInstance, instance_id).workflow or b"")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=200, help="reject->resubmit rounds on one instance (default 200)")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-long-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    app = make_app(url)
    clerk, reviewer = Api(app, "clerk2"), Api(app, "reviewer2")
    project_id = registered_project(clerk, reviewer)
    instance = clerk.start("plan_application", {**PLAN, "project_id": project_id})
    rounds, sizes = [], []
    for i in range(args.rounds):
        t0 = time.perf_counter()
        instance = reviewer.complete(task_id(instance, REVIEW), REJECT)
        instance = clerk.complete(task_id(instance, EDIT), {**PLAN, "project_id": project_id})
        rounds.append(time.perf_counter() - t0)
        if i in (0, args.rounds - 1):
            sizes.append(state_size(app, instance["id"]))
    app.extensions["db"].dispose()
    tmp.cleanup()
    k = min(10, len(rounds))
    first, last = median(rounds[:k]), median(rounds[-k:])
    db = url.split(":", 1)[0] if args.database_url else "sqlite (temp file)"
    n = len(rounds)
    print(f"Database: {db}; one instance, {n} rounds of reject -> resubmit (2 completions a round); medians")
    print(f"{'rounds 1-' + str(k):22}{first * 1e3:10.1f} ms   live state {sizes[0]:>9,} bytes (compressed)")
    print(f"{f'rounds {n - k + 1}-{n}':22}{last * 1e3:10.1f} ms   live state {sizes[-1]:>9,} bytes (compressed)")
    print(f"{'ratio last/first':22}{last / first:10.2f} x    goal <= {GOAL}x  {'met' if last / first <= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
