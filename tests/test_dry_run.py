"""Dry run of a deployment (issue 19): histories of running and recent completed instances replayed against the
changed diagrams, reported as matching or diverging and where — and nothing deployed, nothing changed."""
import io
from pathlib import Path

from helpers import apply_plan, approve, filed_plan, register_project
from test_deployments import with_leader_level

ROOT = Path(__file__).resolve().parent.parent


def dry_run(user, files):
    data = {name: (io.BytesIO(content), name) for name, content in files}
    return user.client.post("/api/deployments/dry-run", data=data, headers=user.headers,
                            content_type="multipart/form-data")


def _latest_version(app, key):
    from app.engine import deployments
    with app.extensions["db"].Session() as session:
        return deployments.latest(session, key).version


def _history_length(app, iid):
    from app.engine import history
    with app.extensions["db"].Session() as session:
        return len(history.events(session, iid))


def _plans(login):
    """Three plan_application instances of a provincial unit: at the unit review, at the finance review, filed."""
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    at_unit = apply_plan(clerk, register_project(clerk, reviewer, amount=2000000)["id"])
    at_finance = apply_plan(clerk, register_project(clerk, reviewer, amount=2000000)["id"])
    approve(reviewer, "采购单位审核岗审核", at_finance["id"])
    _, filed = filed_plan(clerk, reviewer, finance)
    return at_unit["id"], at_finance["id"], filed["id"]


def test_a_change_that_diverges(app, login):
    """A 需求领导审核 level after the unit review: the plan still at the unit review would go on unchanged; the one
    at the finance review would stand at the leader's review instead; the filed one went on to the review chain
    (its decision, then the finance review) where the new version asks the leader."""
    at_unit, at_finance, filed = _plans(login)
    before = {iid: _history_length(app, iid) for iid in (at_unit, at_finance, filed)}
    analyst = login("analyst")
    report = analyst.ok(dry_run(analyst, [("plan_application.bpmn", with_leader_level())]))
    assert report["deploys"] == [{"key": "plan_application", "name": "采购计划申报与审核", "from_version": 1,
                                  "to_version": 2}]
    by_id = {r["instance_id"]: r for r in report["instances"]}
    assert by_id[at_unit]["match"] is True and by_id[at_unit]["divergence"] is None
    moved = by_id[at_finance]
    # Its history asked the review chain's decision next (review_chain.dmn: 财政部门审核); the new version stops at
    # the leader's review instead.
    assert moved["match"] is False and moved["divergence"]["type"] == "decision_evaluated"
    assert moved["divergence"]["task"].startswith("chain_rules")
    assert moved["divergence"]["expected"]["result"] == [{"group": "finance", "name": "财政部门审核"}]
    assert moved["divergence"]["actual"]["ready"] == ["review_task"]
    done = by_id[filed]
    assert done["status"] == "completed" and done["match"] is False
    assert done["divergence"]["type"] == "decision_evaluated" and done["divergence"]["task"].startswith("chain_rules")
    assert done["divergence"]["seq"] is not None and done["divergence"]["reason"]
    assert report["running"] == {"checked": 2, "match": 1, "diverge": 1}
    assert report["completed"]["checked"] >= 1 and report["completed"]["diverge"] >= 1
    # nothing was deployed, no instance changed
    assert _latest_version(app, "plan_application") == 1
    assert {iid: _history_length(app, iid) for iid in before} == before


def test_a_change_that_does_not_diverge(app, login):
    """The same diagram with a shape moved (a new version, same routing): every instance still matches."""
    at_unit, at_finance, filed = _plans(login)
    text = (ROOT / "bpmn" / "plan_application.bpmn").read_text(encoding="utf-8")
    marker = 'bpmnElement="plan_done">\n        <dc:Bounds x="'
    assert marker in text
    moved = text.replace(marker, marker + "1", 1)  # x → 1x: the end event moves right
    analyst = login("analyst")
    report = analyst.ok(dry_run(analyst, [("plan_application.bpmn", moved.encode())]))
    assert [d["to_version"] for d in report["deploys"]] == [2]
    assert {r["instance_id"] for r in report["instances"]} >= {at_unit, at_finance, filed}
    assert all(r["match"] for r in report["instances"]), [r["divergence"] for r in report["instances"]]
    assert report["running"]["diverge"] == 0 and report["completed"]["diverge"] == 0
    # unchanged files: no new version, nothing to check
    same = analyst.ok(dry_run(analyst, [("plan_application.bpmn", text.encode())]))
    assert same["deploys"] == [] and same["instances"] == [] and "不会产生新版本" in same["message"]
    assert _latest_version(app, "plan_application") == 1


def test_dry_run_refusals(app, login):
    clerk, analyst = login("clerk"), login("analyst")
    assert dry_run(clerk, [("plan_application.bpmn", with_leader_level())]).status_code == 403
    empty = analyst.client.post("/api/deployments/dry-run", data={}, headers=analyst.headers,
                                content_type="multipart/form-data")
    assert empty.status_code == 400 and "请选择" in empty.json["message"]
    wrong = dry_run(analyst, [("notes.txt", b"hello")])
    assert wrong.status_code == 400 and "只能预演" in wrong.json["message"]
    broken = dry_run(analyst, [("plan_application.bpmn", with_leader_level().replace(b'calledElement="review"',
                                                                                   b'calledElement="nope"', 1))])
    assert broken.status_code == 400 and broken.json["code"] == "DEPLOYMENT_REFUSED"
    assert any("nope" in p["message"] for p in broken.json["problems"])


def test_engine_rest_dry_run_flag(app, login, tmp_path):
    """The Modeler's deploy endpoint with ``dry-run=true``: the same report, nothing deployed; without the flag the
    deployment works unchanged."""
    from test_engine_rest import deploy as modeler_deploy

    at_unit, at_finance, filed = _plans(login)
    path = tmp_path / "plan_application.bpmn"
    path.write_bytes(with_leader_level())
    client = app.test_client()
    report = modeler_deploy(client, [path], flag="dry-run")
    assert report.status_code == 200, report.json
    assert {r["instance_id"]: r["match"] for r in report.json["instances"]}[at_finance] is False
    assert _latest_version(app, "plan_application") == 1
    assert modeler_deploy(client, [path]).status_code == 200
    assert _latest_version(app, "plan_application") == 2
