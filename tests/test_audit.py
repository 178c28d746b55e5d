"""Tamper evidence: the hash chain and the stored state (replay) in verify; verify_all's incidents; exports."""
import importlib.util
import io
import json
import zlib
from pathlib import Path

from sqlalchemy import select, text

from helpers import apply_plan, register_project

ROOT = Path(__file__).resolve().parent.parent


def _instance(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    return clerk, apply_plan(clerk, project["id"])["id"]


def _alter_blob(app, iid, mutate):
    with app.extensions["db"].engine.begin() as conn:
        blob = conn.execute(text("SELECT workflow FROM process_instance WHERE id = :i"), {"i": iid}).scalar()
        dct = json.loads(zlib.decompress(blob))
        mutate(dct)
        conn.execute(text("UPDATE process_instance SET workflow = :w WHERE id = :i"),
                     {"w": zlib.compress(json.dumps(dct).encode()), "i": iid})


def _ready_task(dct):
    for sub in [dct, *dct["subprocesses"].values()]:
        for task in sub["tasks"].values():
            if task["state"] == 16:  # READY
                return task
    raise AssertionError("no READY task")


def test_verify_reports_chain_and_state(login):
    clerk, iid = _instance(login)
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is True and result["chain"]["ok"] is True
    assert result["state"] == {"ok": True, "reason": None, "seq": None, "differences": []}


def test_altered_history_row_is_detected(app, login):
    clerk, iid = _instance(login)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE instance_id = :i AND seq = 1"), {"i": iid})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False and result["first_bad_seq"] == 1 and result["chain"]["ok"] is False


def test_altered_workflow_blob_is_detected(app, login):
    clerk, iid = _instance(login)
    # The plan amount the reviewer sees is raised in the stored workflow; the history is untouched.
    _alter_blob(app, iid, lambda d: _ready_task(d)["data"].update(amount=9999999))
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["chain"]["ok"] is True
    assert result["ok"] is False and result["state"]["ok"] is False
    assert "存储的流程状态与历史重放结果不符" in result["reason"]
    diff = result["state"]["differences"][0]
    assert diff["element"] == "review_task" and diff["keys"] == ["amount"]
    assert diff["stored"] == {"amount": 9999999} and diff["replayed"] != diff["stored"]


def test_altered_task_state_in_blob_is_detected(app, login):
    clerk, iid = _instance(login)
    _alter_blob(app, iid, lambda d: _ready_task(d).update(state=64))  # READY → COMPLETED
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False
    assert any(d.get("field") == "state" for d in result["state"]["differences"])


def test_deleted_event_is_detected(app, login):
    clerk, iid = _instance(login)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = 2"), {"i": iid})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False and result["first_bad_seq"] == 2
    assert result["state"]["ok"] is False  # without the handler's recorded outputs the replay cannot follow


def test_deleted_last_event_and_rewound_instance_is_found_by_replay(app, login):
    """Deleting the last event *and* rewinding the instance's chain end defeats the chain; not the replay."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    iid = 1
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["status"] == "completed"
    with app.extensions["db"].engine.begin() as conn:
        last = conn.execute(text("SELECT seq, prev_hash FROM history_event WHERE instance_id = :i "
                                 "ORDER BY seq DESC LIMIT 1"), {"i": iid}).one()
        conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = :s"), {"i": iid, "s": last[0]})
        conn.execute(text("UPDATE process_instance SET last_seq = :s, last_hash = :h WHERE id = :i"),
                     {"s": last[0] - 1, "h": last[1], "i": iid})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert project["status"] == "registered"
    assert result["chain"]["ok"] is True and result["ok"] is False
    assert "instance_completed" in result["state"]["reason"]


def test_verify_all_opens_one_incident_per_broken_instance_once(app, login, clock):
    from app.engine import audit
    from app.models import Incident
    clerk, iid = _instance(login)
    _, other = _instance(login)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE instance_id = :i AND seq = 2"), {"i": iid})
    _alter_blob(app, other, lambda d: _ready_task(d)["data"].update(amount=1))
    db = app.extensions["db"]
    with db.Session() as s, s.begin():
        summary = audit.verify_all(s, clock())
    assert summary["broken"] == sorted([iid, other]) and len(summary["incidents"]) == 2
    assert summary["checked"] == 4  # two registrations, two plans
    with db.Session() as s, s.begin():
        assert audit.verify_all(s, clock())["incidents"] == []  # still open: not raised twice
    assert audit.run_daily(db, clock())["incidents"] == []
    with db.Session() as s:
        rows = list(s.scalars(select(Incident).where(Incident.kind == "history_tamper").order_by(Incident.id)))
        assert [(r.instance_id, r.status) for r in rows] == [(iid, "open"), (other, "open")]
        assert "哈希链" in rows[0].error and "存储状态" in rows[1].error
    with db.Session() as s, s.begin():
        s.get(Incident, rows[0].id).status = "resolved"
    assert audit.run_daily(db, clock())["broken"] == sorted([iid, other])
    with db.Session() as s:
        assert s.scalar(select(Incident.id).where(Incident.instance_id == iid, Incident.status == "open")) is not None


def _script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verify_histories_script(app, login, capsys):
    clerk, iid = _instance(login)
    script = _script("verify_histories")
    url = app.config["DATABASE_URL"]
    assert script.main(["--database", url]) == 0
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'x' WHERE instance_id = :i AND seq = 1"), {"i": iid})
    assert script.main(["--database", url, "--dry-run"]) == 1
    assert script.main(["--database", url]) == 1
    out = capsys.readouterr().out
    assert f"实例 {iid}" in out and "新建异常事件 1 个" in out


def test_export_json_and_xlsx(app, login):
    clerk, iid = _instance(login)
    auditor = login("auditor")
    response = auditor.get(f"/api/instances/{iid}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    history = clerk.history(iid)
    assert data["instance"]["id"] == iid and data["definition"]["key"] == "plan_application"
    assert [e["hash"] for e in data["history"]] == [e["hash"] for e in history]
    assert data["history"][1]["prev_hash"] == data["history"][0]["hash"]
    assert data["verify"]["ok"] is True and "plan:1" in data["records"]
    assert data["subprocess_definitions"]["review"]["version"] == 1

    from openpyxl import load_workbook
    response = auditor.get(f"/api/instances/{iid}/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["流程实例", "历史", "任务"]
    rows = list(book["历史"].iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "时间（北京时间）", "事件代码", "事件")
    assert [r[0] for r in rows[1:]] == [e["seq"] for e in history]
    assert rows[1][3] == "发起流程" and rows[-1][9] == history[-1]["hash"]
    summary = dict(r[:2] for r in book["流程实例"].iter_rows(values_only=True))
    assert summary["哈希链校验"] == "通过" and summary["状态校验（重放）"] == "通过"
    # A clerk of the unit may export what they may read; another unit's clerk may not see it.
    assert clerk.get(f"/api/instances/{iid}/export.json").status_code == 200
    assert login("clerk2").get(f"/api/instances/{iid}/export.xlsx").status_code == 404
