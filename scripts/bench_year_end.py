"""Year-end campaign at scale: N unfinished items, classified and started as one instance each.

Seeds N records spread over seed 000's categories (direct inserts: what a year of work leaves
behind), starts ``year_end_campaign`` (one step: classify, queue a start request per item), then
drains the queue with the dispatcher in committed batches, as the scheduler does. Prints items
classified and instances started per second, and, measured in the same run, bare SpiffWorkflow
creating, running and serializing the same number of instances of ye_continue in memory.

    python scripts/bench_year_end.py [--n 2000] [--batch 200] [--database-url URL]
"""
import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.db import Database  # noqa: E402
from app.engine import starts  # noqa: E402
from app.models import BudgetLine, Plan, Project, ProjectFund, Tender, User, org  # noqa: E402

KINDS = ("project", "draft", "in_review", "filed", "announced", "opened")  # 一(一)(七)(二)(三)(四)(五)


def seed(app, n):
    with app.extensions["db"].Session() as s, s.begin():
        line = BudgetLine(code="BENCH-YE", name="基准测试指标", unit_id=1, year=2026, fund_type="general",
                          amount=Decimal(n) * 1000, used_amount=Decimal(0))
        s.add(line)
        s.flush()
        for i in range(n):
            kind = KINDS[i % len(KINDS)]
            project = Project(number=f"B{i:07d}", name=f"项目{i}", unit_id=1, year=2026, category="goods",
                              amount=Decimal(1000), status="registered", items=[])
            project.funds = [ProjectFund(budget_line_id=line.id, amount=Decimal(1000))]
            s.add(project)
            s.flush()
            if kind != "project":
                status = {"announced": "used", "opened": "used"}.get(kind, kind)
                plan = Plan(number=f"P{i:07d}", name=project.name, unit_id=1, year=2026, plan_type="project",
                            project_id=project.id, category="goods", method="open_tender", amount=Decimal(1000),
                            sme_reserved_amount=Decimal(0), sme_reason="", status=status)
                s.add(plan)
                s.flush()
                if kind in ("announced", "opened"):
                    s.add(Tender(number=f"T{i:07d}", title=plan.name, plan_id=plan.id, unit_id=1, status=kind,
                                 result="none", cancel_requested=False, termination="none", reason=""))
        line.used_amount = Decimal(n) * 1000


def bare_spiff(n):
    """The same number of instances of a cleanup diagram, in memory, with SpiffWorkflow alone."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
    parser = CamundaParser()
    parser.add_bpmn_file(os.path.join(os.path.dirname(__file__), "..", "bpmn", "ye_continue.bpmn"))
    spec = parser.get_spec("ye_continue")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    start = time.perf_counter()
    for i in range(n):
        workflow = BpmnWorkflow(spec)
        workflow.task_tree.data.update({"plan_id": i, "year": 2026})
        workflow.do_engine_steps()
        serializer.serialize_json(workflow)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    org.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench_ye.db"
    if not url.startswith("sqlite"):
        fresh = Database(url)
        fresh.drop_all()  # tables and the schema revision: create_app migrates the empty database
        fresh.dispose()
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SCHEDULER": "off"})
    t0 = time.perf_counter()
    seed(app, args.n)
    seeded = time.perf_counter() - t0

    from app.engine import runtime
    db = app.extensions["db"]
    now = app.config["CLOCK"]()
    t0 = time.perf_counter()
    with db.Session() as s, s.begin():
        finance = s.query(User).filter_by(username="finance").one()
        instance = runtime.start_instance(s, finance, "year_end_campaign", {"year": 2026, "reminder_days": 7}, now=now)
        found = instance.data["items_found"]
    classified = time.perf_counter() - t0

    statements = []  # load-independent evidence: SQL statements the dispatcher sends per started instance

    def count(*_args):
        statements.append(1)
    event.listen(db.engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    started = 0
    while True:
        batch = starts.dispatch(db, now, batch=args.batch, limit=args.batch)
        if not batch:
            break
        started += batch
    dispatched = time.perf_counter() - t0
    event.remove(db.engine, "before_cursor_execute", count)
    bare = bare_spiff(started)

    print(f"Database: {url.split(':')[0]}; {args.n} seeded records ({seeded:.1f} s to seed)")
    print(f"{'':32}{'count':>8}{'seconds':>10}{'per second':>12}")
    print(f"{'classified (one campaign step)':32}{found:>8}{classified:>10.2f}{found / classified:>12.0f}")
    print(f"{'instances started (batches)':32}{started:>8}{dispatched:>10.2f}{started / dispatched:>12.0f}"
          f"   goal >= 400/s (issue 16)")
    print(f"{'bare SpiffWorkflow, in memory':32}{started:>8}{bare:>10.2f}{started / bare:>12.0f}")
    print(f"SQL statements per started instance: {len(statements) / max(started, 1):.1f}")
    print(f"service / bare per started instance: {dispatched / bare:.1f}x "
          f"(the service also validates, writes the instance, its task list, history and links)")


if __name__ == "__main__":
    main()
