"""Helpers for the plan procedures, plan types and entrustment tests (issue 7)."""
import pytest
from sqlalchemy import select

from helpers import approve, names

# 意向未满30天的理由 (001 §3.1 注①): these tests publish no 采购意向, so announcements carry one (ignored where that
# rule is absent: forms drop keys they do not declare).
GAP = {"intent_gap_reason": "因预算单位不可预见的原因急需开展采购"}
ROLES = ("clerk", "clerk3", "reviewer", "finance", "agency", "clerk2", "reviewer2", "leader")
ITEMS = [{"item_name": "液相色谱质谱联用仪", "quantity": 1, "unit_price": 150000},
         {"item_name": "实验台", "quantity": 10, "unit_price": 5000}]
EXPERTS = [{"name": "陈教授", "title": "教授", "unit": "福州大学", "opinion": "国内产品无法满足检测精度要求，同意采购进口产品"},
           {"name": "林律师", "title": "律师", "unit": "福建某律师事务所", "opinion": "符合进口产品采购的法定情形"}]


def add_clerk(app, username, unit_id=1, roles=("clerk",)):
    """Another user of a unit (the demo data has one clerk per unit); password ``demo``."""
    from app.models import UnitGrant, User, UserRole
    with app.extensions["db"].Session() as s, s.begin():
        if s.scalar(select(User.id).where(User.username == username)) is None:
            user = User(username=username, display_name=f"{username}经办", unit_id=unit_id)
            user.set_password("demo")
            user.roles = [UserRole(role=r) for r in roles]
            user.grants = [UnitGrant(unit_id=unit_id)]
            s.add(user)


def demo_agency(api, name="福建省政府采购中心"):
    """The id of a demo agency (代理机构库) by name: 福建省政府采购中心 (user ``agency``), 福建华信招标代理有限公司 (``agency2``)."""
    return next(a["id"] for a in api.ok(api.get("/api/agencies")) if a["name"] == name)


def user_id(app, username):
    from app.models import User
    with app.extensions["db"].Session() as s:
        return s.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def people(app, login):
    """Every role's API client, and a second clerk of unit 1 (``clerk3``)."""
    add_clerk(app, "clerk3", 1)
    return {r: login(r) for r in ROLES}


def open_tasks(people, instance_id):
    """Each role's open task names on one instance."""
    return {r: names([t for t in api.tasks() if t["instance_id"] == instance_id]) for r, api in people.items()}


def only(people, instance_id, **expected):
    """Exactly these roles have these tasks on the instance; every other role has none."""
    tasks = open_tasks(people, instance_id)
    assert tasks == {r: sorted(expected.get(r, [])) for r in people}, tasks


def record(api, kind, ident):
    return api.ok(api.get(f"/api/{kind}/{ident}"))


def refused(user, key, data, status, text):
    response = user.post(f"/api/processes/{key}/instances", {"data": data})
    assert response.status_code == status, (response.status_code, response.json)
    assert text in response.json["message"], response.json
    return response.json


def topics(history):
    return [e["data"]["topic"] for e in history if e["type"] == "service_task"]


def actors(history):
    return [e["actor"] for e in history if e["type"] == "task_completed"]


def changes(history, ref):
    return [c["fields"] for e in history for c in e["changes"] if c["record"] == ref]


def project_with_items(clerk, reviewer, **overrides):
    from helpers import register_project
    return register_project(clerk, reviewer, items=ITEMS, **overrides)


def file_plan(people, project_id, finance=True, **plan):
    """Apply a plan and have it approved (reviewer, then finance for the provincial unit); returns the plan."""
    from helpers import apply_plan
    clerk = people["clerk"] if finance else people["clerk2"]
    reviewer = people["reviewer"] if finance else people["reviewer2"]
    data = {"amount": 200000, "sme_reserved_amount": 200000, **plan}
    instance = apply_plan(clerk, project_id, **data)
    assert instance["data"].get("error_message") is None, instance["data"].get("error_message")
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    if finance:
        approve(people["finance"], "财政部门审核", instance["id"])
    plan_record = record(clerk, "plans", instance["data"]["plan_id"])
    assert plan_record["status"] == "filed"
    return plan_record


def failed_tender(app, plan_id, now, reason="有效投标人不足三家"):
    """A tender the agency announced, opened and published as failed (废标) on the plan; returns its id."""
    import inspect
    from app.models import Plan, Tender
    with app.extensions["db"].Session() as s, s.begin():
        args = (s.get(Plan, plan_id), "交易项目", now)
        if "intent_gap_reason" in inspect.signature(Tender.announce).parameters:  # the 意向公开 30-day rule
            args += (GAP["intent_gap_reason"],)
        tender = Tender.announce(*args)
        s.add(tender)
        s.flush()
        tender.open_bids(now)
        tender.record_failure()
        tender.publish_failure(reason, now)
        return tender.id


def deployed(app, key):
    from app.models import ProcessDefinition
    with app.extensions["db"].Session() as s:
        return s.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key).limit(1)) is not None
