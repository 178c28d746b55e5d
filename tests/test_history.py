"""The history hash chain verifies, and fails after a row is altered or deleted."""
from sqlalchemy import text

from helpers import apply_plan, register_project


def _instance(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    return clerk, instance["id"]


def test_chain_verifies(login):
    clerk, iid = _instance(login)
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is True and result["checked"] == len(clerk.history(iid))
    hashes = [e["hash"] for e in clerk.history(iid)]
    assert len(set(hashes)) == len(hashes)


def test_altered_row_is_found(app, login):
    clerk, iid = _instance(login)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE instance_id = :i AND seq = 2"),
                     {"i": iid})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    # The chain's verdict keeps its top-level keys; `chain` and `state` (stored workflow vs replay) come with it.
    assert {k: result[k] for k in ("ok", "checked", "first_bad_seq", "reason")} == \
        {"ok": False, "checked": 1, "first_bad_seq": 2, "reason": "事件内容被修改 / event content altered"}
    assert result["chain"]["first_bad_seq"] == 2


def test_altered_data_is_found(app, login):
    clerk, iid = _instance(login)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET data = :d WHERE instance_id = :i AND seq = 1"),
                     {"i": iid, "d": '{"data": {"amount": 1}}'})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False and result["first_bad_seq"] == 1


def test_deleted_event_is_found(app, login):
    clerk, iid = _instance(login)
    last = len(clerk.history(iid))
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = :s"), {"i": iid, "s": last})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False and "删除" in result["reason"]
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = 2"), {"i": iid})
    result = clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))
    assert result["ok"] is False and result["first_bad_seq"] == 2
