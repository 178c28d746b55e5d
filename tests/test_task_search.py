"""The task list's text search (q=, issue 16): the UNION of indexed lookups (few matches) and the per-task test
(many matches) find exactly the tasks the single OR over the joined tables found, for every field it looks at."""
import pytest
from sqlalchemy import or_, select, update

from app.engine import tasklist
from app.models import HumanTask, ProcessDefinition, ProcessInstance, Project, User
from helpers import PROJECT


def one_or(q):
    """The search as it was: one OR over the task, its process, its instance and its record."""
    options, _ = tasklist._text_options(q)
    return or_(*options, *tasklist._records(tasklist._escape(q), numbers_only=False))


def found(session, clauses):
    return set(session.scalars(select(HumanTask.id).where(*clauses)))


@pytest.fixture
def tasks(app, login):
    started = [login(user).start("project_registration", {**PROJECT, "name": f"检索设备{i:02d}", **extra},
                                 business_key=f"BK-检索-{i:02d}")
               for i, (user, extra) in enumerate([("clerk", {}), ("clerk", {}), ("clerk", {}),
                                                  ("clerk2", {"budget_line_id": 4, "region": "福州市"})])]
    reviewer = login("reviewer")
    task = reviewer.tasks()[0]
    reviewer.complete(task["id"], {"approved": True})  # a completed task: the 已办 list searches those
    with app.extensions["db"].Session() as session:
        numbers = [session.get(Project, i["data"]["project_id"]).number for i in started]
        process = session.scalar(select(ProcessDefinition.name).where(ProcessDefinition.key == "project_registration"))
    return started, numbers, process


def test_each_field_finds_the_same_tasks_both_ways(app, tasks, monkeypatch):
    started, numbers, process = tasks
    with app.extensions["db"].Session() as session, session.begin():  # a task name only one task has
        session.execute(update(HumanTask).where(HumanTask.instance_id == started[1]["id"]).values(name="特别复核"))
    terms = ["检索设备01", "设备", numbers[2], numbers[3][-4:], "BK-检索-00", "BK-", str(started[3]["id"]),
             "特别复核", "审核", process[1:3], "无此文字", "%", "_", "检索\\"]
    with app.extensions["db"].Session() as session:
        users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(["auditor", "reviewer"])))}
        seen = {}
        for term in terms:
            for user in users.values():
                for status in ("open", "completed"):
                    base = tasklist.visible(session, user, status)
                    expected = found(session, [*base, one_or(term)])
                    assert found(session, [*base, tasklist.text_filter(session, term)]) == expected, term
                    with monkeypatch.context() as m:  # as if the term matched more tasks than FEW_MATCHES
                        m.setattr(tasklist, "FEW_MATCHES", 0)
                        assert found(session, [*base, tasklist.text_filter(session, term)]) == expected, term
                        remembered = tasklist._counts.pop(("many matches", term), None)  # the next pages skip the probe
                        assert remembered or term in ("无此文字", "%", "_", "检索\\")
                    seen.setdefault(term, set()).update(expected)
    # Each field matched something (the comparisons are not between empty sets); wildcards are text.
    assert [term for term in terms if not seen[term]] == ["无此文字", "%", "_", "检索\\"]
    assert seen["审核"] and len(seen["设备"]) >= 4 and len(seen["BK-"]) >= 4 and len(seen[numbers[2]]) == 1


def test_the_api_and_the_workbench_search_each_field(app, tasks, login):
    from helpers import Web
    started, numbers, _ = tasks
    auditor = login("auditor")
    assert [t["instance_id"] for t in auditor.tasks(q=numbers[3])] == [started[3]["id"]]
    assert [t["instance_id"] for t in auditor.tasks(q="BK-检索-02")] == [started[2]["id"]]
    assert {t["instance_id"] for t in auditor.tasks(q="检索设备")} == {i["id"] for i in started[1:]}
    assert auditor.tasks(q="无此文字") == []
    page = Web(app, "auditor").get(f"/?q={numbers[2]}").data.decode()
    assert numbers[2] in page and numbers[1] not in page
