"""A long-lived instance's live state stays bounded (issue 16; engine/compaction.py, docs/engine-state.md): finished
review runs and finished tasks leave the serialized workflow for ``workflow_archive``; the instance page shows the
same diagram marks as without compaction, the history keeps every step, replay and verify pass and still detect an
altered or deleted archive row, and 退回 still reaches an earlier step."""
import html
import json
import re
import zlib

import pytest
from sqlalchemy import func, select, text

from app.engine import compaction, progress, runtime
from app.models import ProcessDefinition, ProcessInstance, WorkflowArchive
from helpers import PLAN, Web, apply_plan, register_project, reject

EDIT, REVIEW = "编辑采购计划", "采购单位审核岗审核"


@pytest.fixture
def small(monkeypatch):
    """Compaction from a small size on, so a dozen rounds show what two hundred would."""
    monkeypatch.setattr(compaction, "TASKS", 30)
    monkeypatch.setattr(compaction, "SUBPROCESSES", 1)


def _round(clerk, reviewer, instance_id, project_id):
    reject(reviewer, REVIEW, instance_id, "请修改")
    edit = clerk.task_named(EDIT, instance_id)
    clerk.complete(edit["id"], {**PLAN, "project_id": project_id})


def _live(app, instance_id):
    """(tasks in the live workflow, sub-process runs in it, compressed size)."""
    with app.extensions["db"].Session() as session:
        blob = session.get(ProcessInstance, instance_id).workflow
    state = json.loads(zlib.decompress(blob))
    runs = state["subprocesses"]
    return len(state["tasks"]) + sum(len(sp["tasks"]) for sp in runs.values()), len(runs), len(blob)


def _archived(app, instance_id):
    with app.extensions["db"].Session() as session:
        return dict(session.execute(select(WorkflowArchive.kind, func.count()).where(
            WorkflowArchive.instance_id == instance_id).group_by(WorkflowArchive.kind)).all())


def _marks(app, instance_id):
    with app.extensions["db"].Session() as session:
        instance = session.get(ProcessInstance, instance_id)
        definition = session.get(ProcessDefinition, instance.definition_id)
        workflow = runtime.load(runtime.Step(session, None, None), instance)
        pinned = instance.subprocess_definitions or {}

        def xml_for(key):
            return session.get(ProcessDefinition, pinned[key]).bpmn_xml if key in pinned else None
        called = [{k: v for k, v in view.items() if k != "xml"} for view in progress.called(workflow, xml_for)]
        return progress.progress(workflow, definition.bpmn_xml, instance.key), called


def test_live_state_does_not_grow_with_reject_rounds(app, login, small):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    sizes = []
    for _ in range(14):
        _round(clerk, reviewer, instance["id"], project["id"])
        sizes.append(_live(app, instance["id"]))
    tasks, runs, blob = zip(*sizes)
    # Without compaction each round adds its tasks and a finished review run; with it the state saw-tooths under
    # a bound that the first rounds already reach.
    assert max(tasks[7:]) <= max(tasks[:7]) and max(runs) <= compaction.SUBPROCESSES + 1
    assert max(blob[7:]) <= max(blob[:7]) * 1.1  # compressed bytes wobble with the data; they do not grow
    assert tasks[-1] < 14 * 10  # far below the ~21 tasks a round adds to an uncompacted tree
    archived = _archived(app, instance["id"])
    assert archived.get("subprocess", 0) >= 10 and archived.get("tasks", 0) >= 2
    # The instance goes on normally: the reviewer approves at last.
    reviewer.complete(reviewer.task_named(REVIEW, instance["id"])["id"], {"approved": "true", "comment": "同意"})
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] in ("running", "completed")


def test_page_marks_and_history_are_those_of_an_uncompacted_twin(app, login, monkeypatch):
    """Two instances through the same rounds, one compacted at every step and one never: the instance page's
    diagram marks (elements run, flows taken, the latest review run) are the same; the history has every step."""
    clerk, reviewer = login("clerk"), login("reviewer")
    projects = [register_project(clerk, reviewer)["id"], register_project(clerk, reviewer)["id"]]
    plain, compacted = apply_plan(clerk, projects[0]), apply_plan(clerk, projects[1])
    for _ in range(8):
        for instance, project_id, tasks in ((plain, projects[0], 10 ** 9), (compacted, projects[1], 12)):
            monkeypatch.setattr(compaction, "TASKS", tasks)
            monkeypatch.setattr(compaction, "SUBPROCESSES", 10 ** 9 if tasks > 100 else 0)
            _round(clerk, reviewer, instance["id"], project_id)
    assert not _archived(app, plain["id"]) and _archived(app, compacted["id"]).get("tasks")
    assert _live(app, compacted["id"])[0] < _live(app, plain["id"])[0] / 3
    assert _marks(app, compacted["id"]) == _marks(app, plain["id"])
    edits = [e for e in clerk.history(compacted["id"]) if e["type"] == "task_completed" and e["task"].startswith(
        "plan_edit")]
    assert len(edits) == 8  # every archived step is still in the history
    web = Web(app, "auditor")
    page = web.get(f"/instances/{compacted['id']}")
    assert page.status_code == 200
    data = json.loads(html.unescape(re.search(r'id="diagram-data">(.*?)</script>', page.data.decode(), re.S).group(1)))
    assert data["marks"] == _marks(app, compacted["id"])[0]
    runs = _archived(app, compacted["id"])["subprocess"]
    assert f"此前另有 {runs} 次已办结的运行" in page.data.decode()  # the archived review runs, named on the page


def test_replay_and_verify_pass_and_detect_an_altered_or_deleted_archive_row(app, login, small):
    clerk, reviewer = login("clerk"), login("reviewer")
    auditor = login("auditor")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    for _ in range(6):
        _round(clerk, reviewer, instance["id"], project["id"])
    iid = instance["id"]
    assert _archived(app, iid)
    assert auditor.ok(auditor.post(f"/api/instances/{iid}/replay"))["ok"]
    assert auditor.ok(auditor.get(f"/api/instances/{iid}/verify"))["ok"]

    with app.extensions["db"].engine.begin() as conn:  # someone rewrites a comment inside an archived review run
        seq, body = conn.execute(text("SELECT seq, body FROM workflow_archive WHERE instance_id = :i AND "
                                      "kind = 'subprocess' ORDER BY seq LIMIT 1"), {"i": iid}).one()
        original = json.loads(zlib.decompress(body))
        altered = _replace(original, "请修改", "同意了")
        assert altered != original
        conn.execute(text("UPDATE workflow_archive SET body = :b WHERE instance_id = :i AND seq = :s"),
                     {"b": zlib.compress(json.dumps(altered).encode()), "i": iid, "s": seq})
    report = auditor.ok(auditor.post(f"/api/instances/{iid}/replay"))
    assert report["ok"] is False and report["first_divergence"]["type"] == "stored_state"
    assert any("archive" in (d.get("where") or "") for d in report["state"]["differences"])
    assert auditor.ok(auditor.get(f"/api/instances/{iid}/verify"))["ok"] is False

    with app.extensions["db"].engine.begin() as conn:  # …or deletes the rows
        conn.execute(text("DELETE FROM workflow_archive WHERE instance_id = :i"), {"i": iid})
    report = auditor.ok(auditor.post(f"/api/instances/{iid}/replay"))
    assert report["ok"] is False and report["state"]["differences"]


def _replace(value, old, new):
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return new if value == old else value


def test_return_targets_are_those_of_an_uncompacted_twin(app, login, monkeypatch):
    """退回 offers the same earlier steps on a compacted instance as on one never compacted, and answers the same;
    both still verify."""
    clerk, reviewer, auditor = login("clerk"), login("reviewer"), login("auditor")
    projects = [register_project(clerk, reviewer)["id"], register_project(clerk, reviewer)["id"]]
    plain, compacted = apply_plan(clerk, projects[0]), apply_plan(clerk, projects[1])
    for _ in range(5):
        for instance, project_id, tasks in ((plain, projects[0], 10 ** 9), (compacted, projects[1], 12)):
            monkeypatch.setattr(compaction, "TASKS", tasks)
            monkeypatch.setattr(compaction, "SUBPROCESSES", 10 ** 9 if tasks > 100 else 0)
            _round(clerk, reviewer, instance["id"], project_id)
    assert _archived(app, compacted["id"]).get("tasks") and not _archived(app, plain["id"])
    offered, answers = [], []
    for instance in (plain, compacted):
        task = reviewer.task_named(REVIEW, instance["id"])
        targets = reviewer.ok(reviewer.get(f"/api/tasks/{task['id']}/return-targets"))
        offered.append([(t["bpmn_id"], t["name"], t["completed_by"]) for t in targets])
        response = reviewer.post(f"/api/tasks/{task['id']}/return", {"target": targets[0]["bpmn_id"],
                                                                    "reason": "请补充材料"})
        answers.append((response.status_code, (response.json or {}).get("code")))
        assert auditor.ok(auditor.get(f"/api/instances/{instance['id']}/verify"))["ok"]
    assert offered[0] and offered[0] == offered[1]
    assert answers[0] == answers[1]
