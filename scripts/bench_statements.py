"""SQL statements per request (issue 16: fixed overhead, target <= 12 per completion), counted with SQLAlchemy's
``before_cursor_execute`` event on every engine of the app: a plan's start, its review completion, a task list
and the 工作台, as the median over --n runs (the first run is a warm-up). Counts only; tests assert nothing here.

    python scripts/bench_statements.py [--n 5] [--database-url URL]
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import event  # noqa: E402

from bench import PLAN, REVIEW, Api, make_app, registered_project, task_id  # noqa: E402
from bench_tasklist import web_client  # noqa: E402


class Counter:
    def __init__(self, db):
        self.n = 0
        for engine in {db.engine, db.read_engine}:
            event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args):
        self.n += 1

    def around(self, fn, *args, **kwargs):
        before = self.n
        result = fn(*args, **kwargs)
        return result, self.n - before


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-statements-")
    app = make_app(args.database_url or f"sqlite:///{tmp.name}/bench.db")
    clerk, reviewer = Api(app, "clerk2"), Api(app, "reviewer2")
    project_id = registered_project(clerk, reviewer)
    web = web_client(app, "reviewer2")
    counter = Counter(app.extensions["db"])
    counts = {"start (POST /api/processes/…/instances)": [], "completion (POST /api/tasks/…/complete)": [],
              "GET /api/tasks": [], "工作台 GET /": []}
    for _ in range(args.n + 1):
        instance, n_start = counter.around(clerk.start, "plan_application", {**PLAN, "project_id": project_id})
        _, n_done = counter.around(reviewer.complete, task_id(instance, REVIEW), {"approved": "true", "comment": "同意"})
        _, n_list = counter.around(reviewer.client.get, "/api/tasks", headers=reviewer.headers)
        page, n_page = counter.around(web.get, "/")
        assert page.status_code == 200, page.status_code
        for key, n in zip(counts, (n_start, n_done, n_list, n_page)):
            counts[key].append(n)
    print(f"Database: {app.extensions['db'].engine.dialect.name}; median of {args.n} (after one warm-up)")
    for key, values in counts.items():
        print(f"{key:45}{statistics.median(values[1:]):>6}")
    app.extensions["db"].dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
