"""Shared by the task-operation tests (issue 17): the fixture diagram and a second reviewer of unit 1."""
from pathlib import Path

from app.engine import deployments
from app.models import Unit, User, UserRole

FIXTURES = Path(__file__).parent / "fixtures"


def deploy_taskops(app, clock):
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [("taskops_review.bpmn", (FIXTURES / "taskops_review.bpmn").read_bytes())],
                           deployed_by="analyst", now=clock())


def add_user(app, username, display_name, roles, unit_code=None, unit_of="reviewer"):
    """Another user with ``roles`` in the home unit of ``unit_of`` (demo users share password "demo")."""
    from sqlalchemy import select
    with app.extensions["db"].Session() as session, session.begin():
        unit_id = session.scalar(select(User.unit_id).where(User.username == unit_of))
        if unit_code:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        user = User.add(session, {"username": username, "display_name": display_name, "password": "demo1234x",
                                  "unit_id": unit_id, "roles": roles})
        user.set_password("demo")
        user.must_change_password = False  # a demo user, not one an administrator hands a password to
        assert {r.role for r in session.scalars(select(UserRole).where(UserRole.user_id == user.id))} == set(roles)


def start_to_review(clerk):
    """An instance of the fixture diagram whose 录入 is done: 审核岗审核 is open for the reviewers."""
    instance = clerk.start("taskops_review", {})
    entry = clerk.task_named("录入", instance["id"])
    clerk.complete(entry["id"], {})
    return instance
