"""Demo work in progress, so a first `./run.sh` gives every post something to do (demo only).

Played through the REST API in-process, as the demo users, exactly as a client would: every rule, form check,
history event and task-list entry is the real one. Runs once, on a database that has no process instance yet.

- 福建省教育厅: 实验室设备采购 registered and its plan filed (审核岗, then 财政); the agency's tender is announced
  and waits for 开标或取消采购任务 (agency). 办公家具采购 waits for 审核岗审核 (reviewer).
- 福州市教育局: 中小学课桌椅采购 registered; its plan waits for 采购单位审核岗审核 (reviewer2).
"""
import logging

from sqlalchemy import func, select

from .demo import PASSWORD
from .models import ProcessInstance

log = logging.getLogger(__name__)
APPROVE = {"approved": "true", "comment": "同意"}


class _Client:
    def __init__(self, app, username):
        self.client = app.test_client()
        token = self._ok(self.client.post("/api/login", json={"username": username, "password": PASSWORD}))["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    @staticmethod
    def _ok(response):
        if response.status_code >= 300:
            raise RuntimeError(f"demo activity: {response.status_code} {response.json}")
        return response.json

    def start(self, key, data):
        return self._ok(self.client.post(f"/api/processes/{key}/instances", json={"data": data}, headers=self.headers))

    def complete(self, instance_id, name, data):
        tasks = self._ok(self.client.get("/api/tasks", headers=self.headers))
        task = next(t for t in tasks if t["instance_id"] == instance_id and t["name"] == name)
        return self._ok(self.client.post(f"/api/tasks/{task['id']}/complete", json={"data": data},
                                         headers=self.headers))


def _project(name, amount, budget_line_id, category="goods", region="福建省本级"):
    return {"name": name, "year": 2026, "category": category, "amount": amount, "budget_line_id": budget_line_id,
            "implementation_form": "agency", "region": region, "is_government_procurement": True,
            "justification": "本年度同品目预算累计达到分散采购限额，属于政府采购"}


def _plan(project_id, amount):
    return {"project_id": project_id, "year": 2026, "method": "open_tender", "amount": amount,
            "sme_reserved_amount": amount, "action": "submit"}


def seed_activity(app):
    """Play the demo scenario once; returns how many instances it started (0 when there already were some)."""
    with app.extensions["db"].Session() as session:
        if session.scalar(select(func.count(ProcessInstance.id))):
            return 0
    clerk, reviewer, finance, agency = (_Client(app, u) for u in ("clerk", "reviewer", "finance", "agency"))
    clerk2, reviewer2 = _Client(app, "clerk2"), _Client(app, "reviewer2")

    lab = clerk.start("project_registration", _project("实验室设备采购", 800000, 1))
    reviewer.complete(lab["id"], "审核岗审核", APPROVE)
    plan = clerk.start("plan_application", _plan(lab["data"]["project_id"], 500000))
    reviewer.complete(plan["id"], "采购单位审核岗审核", APPROVE)
    finance.complete(plan["id"], "财政部门审核", APPROVE)
    agency.start("tender_execution", {"plan_id": plan["data"]["plan_id"], "title": "实验室设备采购项目公开招标",
                                      "intent_gap_reason": "演示数据：采购意向已在其他平台公开"})
    clerk.start("project_registration", _project("办公家具采购", 300000, 1))

    desks = clerk2.start("project_registration", _project("中小学课桌椅采购", 600000, 4, region="福州市"))
    reviewer2.complete(desks["id"], "审核岗审核", APPROVE)
    clerk2.start("plan_application", _plan(desks["data"]["project_id"], 450000))
    log.info("demo activity: 6 instances started")
    return 6
