"""SQL statements per request (issue 16: fixed overhead, target <= 12 per completion), counted with SQLAlchemy's
``before_cursor_execute`` event on every engine of the app: a plan's start, its review completion, a task list
and the 工作台, as the median over --n runs (the first run is a warm-up). Counts only; tests assert nothing here.

    python scripts/bench_statements.py [--n 5] [--database-url URL] [--echo]

--echo prints each statement of the last completion with the frames of our code (app/) that issued it.
"""
import argparse
import os
import statistics
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import event  # noqa: E402

from bench import PLAN, REVIEW, Api, make_app, registered_project, task_id  # noqa: E402
from bench_tasklist import web_client  # noqa: E402


APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app") + os.sep


def stack_hint(depth=3):
    """The innermost ``depth`` frames of our own code (app/, not app/db.py's engine hooks): who issued it."""
    frames = [f for f in traceback.extract_stack() if f.filename.startswith(APP)]
    return " < ".join(f"{f.filename[len(APP):]}:{f.lineno} {f.name}" for f in reversed(frames[-depth:]))


class Counter:
    def __init__(self, db):
        self.n = 0
        self.log = None  # a list while statements are being recorded (--echo)
        for engine in {db.engine, db.read_engine}:
            event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args):
        self.n += 1
        if self.log is not None:
            self.log.append((" ".join(statement.split())[:160], stack_hint()))

    def around(self, fn, *args, **kwargs):
        before = self.n
        result = fn(*args, **kwargs)
        return result, self.n - before


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    ap.add_argument("--echo", action="store_true", help="print the statements of the last completion")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-statements-")
    app = make_app(args.database_url or f"sqlite:///{tmp.name}/bench.db")
    clerk, reviewer = Api(app, "clerk2"), Api(app, "reviewer2")
    project_id = registered_project(clerk, reviewer)
    web = web_client(app, "reviewer2")
    counter = Counter(app.extensions["db"])
    counts = {"start (POST /api/processes/…/instances)": [], "completion (POST /api/tasks/…/complete)": [],
              "GET /api/tasks": [], "工作台 GET /": []}
    for run in range(args.n + 1):
        instance, n_start = counter.around(clerk.start, "plan_application", {**PLAN, "project_id": project_id})
        counter.log = [] if args.echo and run == args.n else None
        _, n_done = counter.around(reviewer.complete, task_id(instance, REVIEW), {"approved": "true", "comment": "同意"})
        echoed, counter.log = counter.log, None
        _, n_list = counter.around(reviewer.client.get, "/api/tasks", headers=reviewer.headers)
        page, n_page = counter.around(web.get, "/")
        assert page.status_code == 200, page.status_code
        for key, n in zip(counts, (n_start, n_done, n_list, n_page)):
            counts[key].append(n)
    print(f"Database: {app.extensions['db'].engine.dialect.name}; median of {args.n} (after one warm-up)")
    for key, values in counts.items():
        print(f"{key:45}{statistics.median(values[1:]):>6}")
    for i, (statement, hint) in enumerate(echoed or [], 1):
        print(f"{i:3} {statement}\n      {hint}")
    app.extensions["db"].dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
