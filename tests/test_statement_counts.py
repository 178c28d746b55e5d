"""SQL statements per request (issue 16: fixed overhead). Ceilings are the counts measured when the overhead was cut
(scripts/bench_statements.py, same requests): a change that adds a statement to every completion shows here. Counts
are deterministic; nothing here is timed."""
import pytest
from sqlalchemy import event

PLAN = {"year": 2026, "method": "open_tender", "amount": 1000, "sme_reserved_amount": 1000, "action": "submit"}
REVIEW = "采购单位审核岗审核"
# (start of plan_application, completion of its review) on each database
CEILINGS = {"sqlite": (35, 12), "postgresql": (34, 12)}


class Statements:
    """Statements any engine of the app executes while ``count`` runs."""

    def __init__(self, db):
        self.n = 0
        for engine in {db.engine, db.read_engine}:
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args):
        self.n += 1

    def count(self, fn, *args):
        before = self.n
        result = fn(*args)
        return result, self.n - before


def review_task(instance):
    return next(t["id"] for t in instance["tasks"] if t["name"] == REVIEW)


@pytest.fixture
def project(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    reg = clerk.start("project_registration", {"name": "语句计数项目", "year": 2026, "category": "goods",
                                               "amount": 1500000, "budget_line_id": 4, "implementation_form": "agency",
                                               "is_government_procurement": True})
    reviewer.complete(next(t["id"] for t in reg["tasks"] if t["name"] == "审核岗审核"), {"approved": "true",
                                                                                      "comment": "同意"})
    return reg["data"]["project_id"]


def test_a_completion_stays_within_its_statements(app, login, project):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    db = app.extensions["db"]
    statements = Statements(db)
    counts = []
    for _ in range(2):  # the first pair warms the process-wide caches (parsed specs, form schemas)
        instance, n_start = statements.count(clerk.start, "plan_application", {**PLAN, "project_id": project})
        done, n_done = statements.count(reviewer.complete, review_task(instance), {"approved": "true",
                                                                                   "comment": "同意"})
        assert done["status"] == "completed" and done["tasks"] == []
        counts.append((n_start, n_done))
    start_ceiling, completion_ceiling = CEILINGS[db.engine.dialect.name]
    assert counts[-1][0] <= start_ceiling, counts
    assert counts[-1][1] <= completion_ceiling, counts
