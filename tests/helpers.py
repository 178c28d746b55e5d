"""Playing the procedures role by role through the API."""
from decimal import Decimal

PROJECT = {"name": "实验室设备采购", "year": 2026, "category": "goods", "amount": 800000, "budget_line_id": 1,
           "implementation_form": "agency", "region": "福建省本级"}
PLAN = {"year": 2026, "method": "open_tender", "amount": 500000, "sme_reserved_amount": 500000, "action": "submit"}


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
