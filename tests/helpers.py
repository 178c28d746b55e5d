"""Playing the procedures role by role through the API."""
from decimal import Decimal

PROJECT = {"name": "实验室设备采购", "year": 2026, "category": "goods", "amount": 800000, "budget_line_id": 1,
           "implementation_form": "agency", "region": "福建省本级",
           # 累计达到限额标准相关说明: needed once the unit's projects of the year reach the 分散采购限额 (001 §2.2.1 注①)
           "justification": "本年度同品目已执行项目预算累计达到分散采购限额，属于政府采购"}
# 意向未满30天的理由: announcements without a 30-day-old 采购意向 carry one (001 §3.1 注①).
GAP = {"intent_gap_reason": "因预算单位不可预见的原因急需开展采购"}
PLAN = {"year": 2026, "method": "open_tender", "amount": 500000, "sme_reserved_amount": 500000, "action": "submit"}


def pause_start_timers(app, keep=()):
    """Tests that move the clock far ahead stop the deployed timer start events (the yearly campaign, the
    daily supervision scan) from joining in, except those named in ``keep``."""
    from sqlalchemy import update
    from app.models import Timer
    with app.extensions["db"].Session() as session, session.begin():
        session.execute(update(Timer).where(Timer.kind == "start", Timer.status == "pending",
                                            Timer.definition_key.not_in(keep)).values(status="cancelled"))


def money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def register_project(clerk, reviewer, **overrides):
    """Register a project and have it approved; returns the project record."""
    instance = clerk.start("project_registration", {**PROJECT, **overrides})
    task = reviewer.task_named("审核岗审核", instance["id"])
    done = reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})
    assert done["status"] == "completed"
    return clerk.ok(clerk.get(f"/api/projects/{instance['data']['project_id']}"))


def apply_plan(clerk, project_id, **overrides):
    return clerk.start("plan_application", {**PLAN, "project_id": project_id, **overrides})


def approve(user, name, instance_id, comment="同意"):
    task = user.task_named(name, instance_id)
    return user.complete(task["id"], {"approved": "true", "comment": comment})


def reject(user, name, instance_id, comment):
    task = user.task_named(name, instance_id)
    return user.complete(task["id"], {"approved": "false", "comment": comment})


def names(tasks, instance_id=None):
    return sorted(t["name"] for t in tasks if instance_id is None or t["instance_id"] == instance_id)


def event_types(history):
    return [e["type"] for e in history]


def filed_plan(clerk, reviewer, finance=None, amount=300000, plan_amount=200000, budget_line_id=1, **plan):
    """A registered project with a filed plan on it; returns (project, plan instance)."""
    project = register_project(clerk, reviewer, amount=amount, budget_line_id=budget_line_id)
    instance = apply_plan(clerk, project["id"], amount=plan_amount, sme_reserved_amount=plan_amount, **plan)
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    if finance is not None:
        approve(finance, "财政部门审核", instance["id"])
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "filed"
    return project, instance


def sign_in(client, username, password):
    """Bearer headers of ``username``; a password an administrator chose is changed first (the API refuses
    anything else until then), here to itself so that the tests keep their passwords."""
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.json
    if response.json["user"]["must_change_password"]:
        changed = client.post("/api/me/password", json={"old_password": password, "new_password": password},
                              headers={"Authorization": f"Bearer {response.json['token']}"})
        assert changed.status_code == 204, changed.json
        return sign_in(client, username, password)
    return {"Authorization": f"Bearer {response.json['token']}"}


class Api:
    """A test client that logs in as a demo user and speaks JSON."""

    def __init__(self, app, username, password="demo"):
        self.client = app.test_client()
        self.username = username
        self.headers = sign_in(self.client, username, password)

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json if json is not None else {}, headers=self.headers, **kw)

    def ok(self, response, status=200):
        assert response.status_code == status, (response.status_code, response.json)
        return response.json

    def tasks(self, **params):
        """Every page of GET /api/tasks (or the one page asked for)."""
        if "page" in params:
            return self.ok(self.get("/api/tasks", query_string=params))
        found, page = [], 1
        while True:
            chunk = self.ok(self.get("/api/tasks", query_string={**params, "page": page, "per_page": 200}))
            found += chunk
            if len(chunk) < 200:
                return found
            page += 1

    def task_named(self, name, instance_id=None):
        found = [t for t in self.tasks() if t["name"] == name
                 and (instance_id is None or t["instance_id"] == instance_id)]
        assert found, f"{self.username} has no task {name!r}: {[t['name'] for t in self.tasks()]}"
        return found[0]

    def start(self, key, data, status=201, **extra):
        return self.ok(self.post(f"/api/processes/{key}/instances", {"data": data, **extra}), status)

    def complete(self, task_id, data, status=200):
        return self.ok(self.post(f"/api/tasks/{task_id}/complete", {"data": data}), status)

    def budget(self, budget_id):
        return next(b for b in self.ok(self.get("/api/budgets")) if b["id"] == budget_id)

    def history(self, instance_id):
        """Every page of the instance's history."""
        found, page = [], 1
        while True:
            rows = self.ok(self.get(f"/api/instances/{instance_id}/history", query_string={"page": page,
                                                                                           "per_page": 200}))
            found.extend(rows)
            if len(rows) < 200:
                return found
            page += 1


class Web:
    """A browser-like test client signed in through the login form."""

    def __init__(self, app, username=None):
        self.client = app.test_client()
        if username:
            response = self.login(username)
            assert response.status_code == 302, response.data.decode()

    def csrf(self):
        self.client.get("/login")
        with self.client.session_transaction() as s:
            return s["csrf"]

    def login(self, username, password="demo", **extra):
        token = self.csrf()
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                                **extra})

    def token(self):
        with self.client.session_transaction() as s:
            return s.get("csrf")

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post_form(self, path, csrf=True, **data):
        if csrf:
            data["csrf_token"] = self.token()
        return self.client.post(path, data=data)

    def post_json(self, path, payload, csrf=True):
        headers = {"X-CSRF-Token": self.token()} if csrf else {}
        return self.client.post(path, json=payload, headers={**headers, "Accept": "application/json"})


def award_in_system(app, plan_id):
    """无系统不交易: a contract on a 公开招标 (…) plan follows an award made in the system. Tests about contracts,
    not tenders, record that award directly (the tender procedures are tested in test_entrustment)."""
    from datetime import datetime, timezone
    from sqlalchemy import select
    from app.models import Plan, Tender
    with app.extensions["db"].Session() as s, s.begin():
        if s.scalar(select(Tender.id).where(Tender.plan_id == plan_id, Tender.status == "awarded")) is not None:
            return
        plan = s.get(Plan, plan_id)
        s.add(Tender(number=f"JYAW{plan_id:06d}", title=plan.name, plan_id=plan_id, unit_id=plan.unit_id,
                     status="awarded", result="awarded", cancel_requested=False, failure_requested=False,
                     termination="none", reason="", announced_at=datetime(2026, 11, 1, tzinfo=timezone.utc)))
