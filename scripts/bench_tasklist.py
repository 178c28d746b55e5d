"""Task lists at a province's scale: --tasks open tasks over --units units, then p50/p95 of GET /api/tasks and the
工作台 for a unit's reviewer (a clerk-level user who sees one unit's tasks) and for an auditor (every unit).

How the tasks are made (fast, and every row a valid instance):
1. Each unit gets a clerk, a reviewer and a budget line; its clerk starts one 项目登记 through the API (the engine
   runs it: project record, budget occupation, history, the open review task).
2. That instance is cloned until the unit holds its share. A clone is a whole instance of its own: its own project
   record (new id and number), the workflow with every task id renewed, the history rewritten for the new
   instance, project and ids, its hash chain recomputed from the first event, the budget line's occupation
   carried on in order, instance_record links, and its open task. Clones are dated one after another after the
   original. A sample of clones is verified through GET /api/instances/<id>/verify (hash chain and stored state).

    python scripts/bench_tasklist.py [--tasks 100000] [--units 100] [--requests 40] [--database-url URL]

Default database: a fresh SQLite file in a temp dir. Any other URL has its schema dropped and recreated.
Timings only; nothing here is asserted by the tests. Requests run in process through Flask's test client.
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
import zlib
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bench import Api, make_app, task_id  # noqa: E402

GOALS = {"api": 50, "page": 80}  # p95 in ms, issue 16
BATCH = 2000


def add_units(app, count):
    """count units, each with a clerk, a reviewer (password demo) and a budget line; returns [(unit id, clerk, reviewer)]."""
    from app.models import BudgetLine, Unit, UnitGrant, User, UserRole
    made = []
    with app.extensions["db"].Session() as session, session.begin():
        for n in range(count):
            unit = Unit(code=f"B{n:05d}", name=f"基准单位{n:03d}", level="county", region="基准县")
            session.add(unit)
            session.flush()
            for role in ("clerk", "reviewer"):
                user = User(username=f"{role}_b{n:03d}", display_name=f"{role}{n:03d}", unit_id=unit.id)
                user.set_password("demo")
                user.roles, user.grants = [UserRole(role=role)], [UnitGrant(unit_id=unit.id)]
                session.add(user)
            session.add(BudgetLine(code=f"2026-B{n:05d}-001", name="基准预算", unit_id=unit.id, year=2026,
                                   fund_type="general", amount=Decimal("100000000000"), used_amount=Decimal("0")))
            session.flush()
            made.append(unit.id)
    with app.extensions["db"].Session() as session:
        lines = dict(session.execute(select(BudgetLine.unit_id, BudgetLine.id).where(BudgetLine.unit_id.in_(made))).all())
    return [(unit_id, f"clerk_b{n:03d}", f"reviewer_b{n:03d}", lines[unit_id]) for n, unit_id in enumerate(made)]


class Rewriter:
    """Renames, throughout one clone's JSON: task ids, the project id and number, the project's record label."""

    def __init__(self, old_project, new_project, old_number, new_number):
        self.ids = {}
        self.old_project, self.new_project = old_project, new_project
        self.strings = {old_number: new_number, f"project:{old_project}": f"project:{new_project}"}

    def uuid(self, value):
        if value not in self.ids:
            self.ids[value] = str(uuid.uuid4())
        return self.ids[value]

    def __call__(self, value, key=None):
        if isinstance(value, dict):
            return {self(k): self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if key == "project_id" and value == self.old_project:
            return self.new_project
        if isinstance(value, str):
            if len(value) == 36 and value.count("-") == 4:
                try:
                    return self.uuid(str(uuid.UUID(value)))
                except ValueError:
                    return value
            return self.strings.get(value, value)
        return value


def clone_unit(session, template_id, copies, ids, used):
    """Rows for ``copies`` clones of instance ``template_id``; ``ids`` hands out new primary keys."""
    from app.engine.history import _digest
    from app.models import HistoryEvent, HumanTask, InstanceRecord, ProcessInstance, Project
    inst = session.get(ProcessInstance, template_id)
    events = list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == template_id)
                                  .order_by(HistoryEvent.seq)))
    task = session.scalars(select(HumanTask).where(HumanTask.instance_id == template_id)).one()
    project = session.get(Project, inst.data["project_id"])
    links = list(session.scalars(select(InstanceRecord).where(InstanceRecord.instance_id == template_id)))
    workflow = json.loads(zlib.decompress(inst.workflow))
    columns = lambda model, obj: {c.key: getattr(obj, c.key) for c in model.__table__.columns}  # noqa: E731
    rows = {"project": [], "process_instance": [], "history_event": [], "instance_record": [], "human_task": []}
    for k in range(1, copies + 1):
        shift = timedelta(milliseconds=50 * k)
        pid, iid = ids["project"](), ids["process_instance"]()
        number = f"{project.number}-{k:05d}"
        rw = Rewriter(project.id, pid, project.number, number)
        rows["project"].append({**columns(Project, project), "id": pid, "number": number,
                                "created_at": project.created_at + shift})
        prev, last = "", None
        for e in events:
            data, changes = rw(e.data), rw(e.changes)
            for change in changes:  # the budget line's occupation goes on from where the previous clone left it
                if change["record"].startswith("budget_line:") and "used_amount" in change["fields"]:
                    line = change["record"]
                    delta = Decimal(change["fields"]["used_amount"][1]) - Decimal(change["fields"]["used_amount"][0])
                    change["fields"]["used_amount"] = [f"{used[line]:.2f}", f"{used[line] + delta:.2f}"]
                    used[line] += delta
            at = e.at + shift
            digest = _digest(prev, iid, e.seq, e.type, e.actor, at, e.task, data, changes)
            rows["history_event"].append({"id": ids["history_event"](), "instance_id": iid, "seq": e.seq,
                                          "type": e.type, "actor": e.actor, "at": at, "task": e.task, "data": data,
                                          "changes": changes, "prev_hash": prev, "hash": digest})
            prev, last = digest, e
        blob = zlib.compress(json.dumps(rw(workflow), separators=(",", ":")).encode("utf-8"), 1)
        rows["process_instance"].append({**columns(ProcessInstance, inst), "id": iid, "workflow": blob,
                                         "data": rw(inst.data), "started_at": inst.started_at + shift,
                                         "last_hash": prev, "last_seq": last.seq})
        for link in links:
            record_id = pid if link.record_type == "project" else link.record_id
            rows["instance_record"].append({"instance_id": iid, "record_type": link.record_type,
                                            "record_id": record_id})
        rows["human_task"].append({**columns(HumanTask, task), "id": rw.uuid(task.id), "instance_id": iid,
                                   "record_id": pid, "created_at": task.created_at + shift})
    return rows


def counter(start):
    state = [start]

    def next_id():
        state[0] += 1
        return state[0]
    return next_id


def load(app, units, total):
    """One real start per unit, then clones up to ``total`` open tasks; returns the instance ids of a sample."""
    from app.models import BudgetLine, HistoryEvent, ProcessInstance, Project
    from app.models import Base
    templates = []
    t0 = time.perf_counter()
    for unit_id, clerk_name, reviewer_name, line_id in units:
        clerk = Api(app, clerk_name)
        reg = clerk.start("project_registration", {"name": f"基准项目{unit_id}", "year": 2026, "category": "goods",
                                                   "amount": 1000, "budget_line_id": line_id,
                                                   "implementation_form": "agency", "is_government_procurement": True})
        task_id(reg, "审核岗审核")
        templates.append(reg["id"])
    print(f"{len(templates)} instances started through the API in {time.perf_counter() - t0:.1f} s")
    db = app.extensions["db"]
    t0 = time.perf_counter()
    per_unit = max(0, total // len(units) - 1)
    with db.Session() as session:
        ids = {name: counter(session.scalar(select(func.coalesce(func.max(model.id), 0))))
               for name, model in (("project", Project), ("process_instance", ProcessInstance),
                                   ("history_event", HistoryEvent))}
        used = {f"budget_line:{line}": amount for line, amount in session.execute(
            select(BudgetLine.id, BudgetLine.used_amount))}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    sample = []
    for n, template in enumerate(templates):
        with db.Session() as session:
            rows = clone_unit(session, template, per_unit, ids, used)
        with db.engine.begin() as conn:
            for name in ("project", "process_instance", "history_event", "instance_record", "human_task"):
                for start in range(0, len(rows[name]), BATCH):
                    conn.execute(insert(tables[name]), rows[name][start:start + BATCH])
        sample += [rows["process_instance"][i]["id"] for i in (0, -1) if rows["process_instance"]]
        if n % 10 == 9:
            print(f"  {n + 1} units cloned, {time.perf_counter() - t0:.0f} s")
    with db.engine.begin() as conn:
        for key, amount in used.items():
            conn.execute(update(tables["budget_line"]).where(tables["budget_line"].c.id == int(key.split(":")[1]))
                         .values(used_amount=amount))
        if not db.is_sqlite:
            for name in ("project", "process_instance", "history_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    print(f"{per_unit * len(templates)} clones written in {time.perf_counter() - t0:.1f} s")
    return sample


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(client, headers, path, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - t0) * 1e3)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}")
    return percentile(times, 50), percentile(times, 95), len(response.data)


def web_client(app, username):
    client = app.test_client()
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    if response.status_code not in (302, 303):
        raise SystemExit(f"web login {username}: {response.status_code}")
    return client


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=100000, help="open tasks in all (default 100000)")
    ap.add_argument("--units", type=int, default=100, help="units they spread over (default 100)")
    ap.add_argument("--requests", type=int, default=40, help="requests per measure (default 40)")
    ap.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    ap.add_argument("--reuse", action="store_true",
                    help="measure again on --database-url as a previous run left it (no new tasks)")
    ap.add_argument("--search", action="store_true",
                    help="also the text search (q=): a term every task matches, one project number, no match")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-tasklist-")
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    if args.reuse and args.database_url:
        from app import create_app
        from app.models import BudgetLine, Unit
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.extensions["db"].Session() as session:
            rows = session.execute(select(Unit.id, Unit.code, BudgetLine.id).join(BudgetLine, BudgetLine.unit_id == Unit.id)
                                   .where(Unit.code.like("B%")).order_by(Unit.code)).all()
            from app.models import ProcessInstance
            sample = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(50)))
        units = [(uid, f"clerk_b{int(code[1:]):03d}", f"reviewer_b{int(code[1:]):03d}", line) for uid, code, line in rows]
    else:
        app = make_app(url)
        units = add_units(app, args.units)
        sample = load(app, units, args.tasks)
    auditor = Api(app, "auditor")
    checks = [auditor.client.get(f"/api/instances/{i}/verify", headers=auditor.headers).json
              for i in random.Random(16).sample(sample, min(6, len(sample)))]
    valid = sum(1 for c in checks if c["ok"] and c["chain"]["ok"] and c["state"]["ok"])
    with app.extensions["db"].Session() as session:
        from app.models import HumanTask
        open_tasks = session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    reviewer = Api(app, units[0][2])
    print(f"\nDatabase: {url.split(':', 1)[0]}; {open_tasks} open tasks over {args.units} units "
          f"(+ the demo's); {valid}/{len(checks)} sampled clones verified (hash chain and stored state)")
    if valid < len(checks):
        print("NOTE: sampled verification: " + json.dumps(checks, ensure_ascii=False)[:2000])
    with app.extensions["db"].Session() as session:
        from app.models import Project
        number = session.scalar(select(Project.number).where(Project.number.like("XM%")).order_by(Project.id.desc()))
    searches = [("q=基准 (every task)", "基准"), ("q=<one project number>", number), ("q=无此项目 (no match)", "无此项目")]
    clients = {"api reviewer": (reviewer.client, reviewer.headers), "api auditor": (auditor.client, auditor.headers),
               "web reviewer": (web_client(app, units[0][2]), {}), "web auditor": (web_client(app, "auditor"), {})}
    cases = [("GET /api/tasks as a unit's reviewer", "api reviewer", "/api/tasks", "api"),
             ("GET /api/tasks as auditor", "api auditor", "/api/tasks", "api"),
             ("工作台 / as a unit's reviewer", "web reviewer", "/", "page"),
             ("工作台 / as auditor", "web auditor", "/", "page")]
    for label, term in searches if args.search else ():
        q = quote(term)
        cases += [(f"API {label}, reviewer", "api reviewer", f"/api/tasks?q={q}", "api"),
                  (f"API {label}, auditor", "api auditor", f"/api/tasks?q={q}", "api"),
                  (f"工作台 {label}, reviewer", "web reviewer", f"/?q={q}", "page"),
                  (f"工作台 {label}, auditor", "web auditor", f"/?q={q}", "page")]
    print(f"\n{'measure':48}{'p50':>10}{'p95':>10}{'bytes':>10}  goal (p95)")
    for label, who, path, goal in cases:
        client, headers = clients[who]
        measure(client, headers, path, 2)  # warm-up
        p50, p95, size = measure(client, headers, path, args.requests)
        print(f"{label:48}{p50:>8.1f}ms{p95:>8.1f}ms{size:>10}  <= {GOALS[goal]} ms")
    app.extensions["db"].dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
