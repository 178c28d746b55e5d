"""The demo a first `./run.sh` shows: work in progress for every post, played through the real API, once."""
from sqlalchemy import func, select

from app.demo_activity import seed_activity
from app.models import Plan, ProcessInstance, Project, Tender
from helpers import names


def test_demo_activity_gives_each_post_work_and_runs_once(app, login):
    assert seed_activity(app) == 6
    assert names(login("reviewer").tasks()) == ["审核岗审核"]
    assert names(login("agency").tasks()) == ["开标或取消采购任务"]
    assert names(login("reviewer2").tasks()) == ["采购单位审核岗审核"]
    with app.extensions["db"].Session() as s:
        assert sorted(s.scalars(select(Project.status))) == ["in_review", "registered", "registered"]
        assert sorted(s.scalars(select(Plan.status))) == ["in_review", "used"]
        assert list(s.scalars(select(Tender.status))) == ["announced"]
    assert seed_activity(app) == 0  # a database with instances is left alone
    with app.extensions["db"].Session() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == 6
