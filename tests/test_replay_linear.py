"""Linear replay and checkpointed verification (issue 16): the daily job continues from the last verified
checkpoint and still finds an altered event, blob or checkpoint and a deleted event; the result equals a full
replay. (The catalogue-wide equivalence of the linear and the old save/load replay is in test_replay.py.)"""
import json
import zlib

from sqlalchemy import text

from helpers import PLAN, apply_plan, approve, register_project, reject

KEYS = ["test-checkpoint-key"]


def _daily(app, clock, keys=KEYS):
    from app.engine import audit
    return audit.run_daily(app.extensions["db"], clock(), keys)


def _checkpoint(app, iid):
    with app.extensions["db"].engine.connect() as conn:
        return conn.execute(text("SELECT seq, event_hash, state_digest, context FROM replay_checkpoint "
                                 "WHERE instance_id = :i"), {"i": iid}).one_or_none()


def _plan_with_rounds(login, rounds):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    iid = apply_plan(clerk, project["id"])["id"]
    for n in range(rounds):
        reject(reviewer, "采购单位审核岗审核", iid, f"第{n + 1}次：请修改")
        task = clerk.task_named("编辑采购计划", iid)
        clerk.complete(task["id"], {**PLAN, "project_id": project["id"], "action": "submit"})
    return clerk, reviewer, iid


def _last_seq(app, iid):
    with app.extensions["db"].engine.connect() as conn:
        return conn.execute(text("SELECT last_seq FROM process_instance WHERE id = :i"), {"i": iid}).scalar()


def test_daily_verification_continues_from_the_last_checkpoint(app, login, clock):
    clerk, reviewer, iid = _plan_with_rounds(login, 2)
    first = _daily(app, clock)
    assert first["broken"] == [] and first["replayed_from"][iid] == 0
    seq = _last_seq(app, iid)
    assert _checkpoint(app, iid).seq == seq
    # Nothing new: verified from the checkpoint without replaying.
    again = _daily(app, clock)
    assert again["broken"] == [] and again["replayed_from"][iid] == seq
    # More steps, to the end: only those are replayed, and the verdict is the full replay's.
    reject(reviewer, "采购单位审核岗审核", iid, "再改")
    task = clerk.task_named("编辑采购计划", iid)
    project_id = clerk.ok(clerk.get(f"/api/instances/{iid}"))["data"]["project_id"]
    clerk.complete(task["id"], {**PLAN, "project_id": project_id, "action": "submit"})
    approve(reviewer, "采购单位审核岗审核", iid)
    later = _daily(app, clock)
    assert later["broken"] == [] and later["replayed_from"][iid] == seq
    assert _checkpoint(app, iid).seq == _last_seq(app, iid) > seq
    assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True  # the full replay agrees


def test_the_checkpoint_state_is_the_full_replays_state(app, login, clock):
    """Resuming from a checkpoint reaches the same workflow as replaying from event 1."""
    from app.engine import audit, checkpoints, history, replay
    from app.models import ProcessInstance, ReplayCheckpoint
    clerk, reviewer, iid = _plan_with_rounds(login, 1)
    _daily(app, clock)
    reject(reviewer, "采购单位审核岗审核", iid, "再改")
    with audit.readonly_session(app.extensions["db"]) as s:
        instance = s.get(ProcessInstance, iid)
        rows = history.events(s, iid)
        resumed = checkpoints.resume(s, instance, rows, s.get(ReplayCheckpoint, iid))
        report = resumed.run()
        whole = replay.Replayer(s, instance)
        full = whole.run()
        assert report["ok"] and full["ok"] and report["events"] == full["events"]
        assert report["steps"] and report["steps"] == full["steps"][-len(report["steps"]):]
        assert report["final"] == full["final"]
        assert replay.canonical(json.loads(zlib.decompress(resumed.final_state))) == \
            replay.canonical(json.loads(zlib.decompress(whole.final_state)))


def test_altered_blob_after_a_checkpoint_is_found(app, login, clock):
    _, _, iid = _plan_with_rounds(login, 1)
    assert _daily(app, clock)["broken"] == []
    with app.extensions["db"].engine.begin() as conn:
        blob = conn.execute(text("SELECT workflow FROM process_instance WHERE id = :i"), {"i": iid}).scalar()
        dct = json.loads(zlib.decompress(blob))
        dct["data"]["amount"] = 1
        conn.execute(text("UPDATE process_instance SET workflow = :w WHERE id = :i"),
                     {"w": zlib.compress(json.dumps(dct).encode()), "i": iid})
    result = _daily(app, clock)
    assert iid in result["broken"] and result["replayed_from"][iid] == _checkpoint(app, iid).seq


def test_altered_event_before_the_checkpoint_is_found_even_with_a_recomputed_chain(app, login, clock):
    from app.engine import history
    _, _, iid = _plan_with_rounds(login, 1)
    assert _daily(app, clock)["broken"] == []
    # Rewrite an early event and recompute the whole chain, so the chain itself is consistent again.
    with app.extensions["db"].Session() as s, s.begin():
        from app.models import ProcessInstance
        instance = s.get(ProcessInstance, iid)
        prev = ""
        for event in history.events(s, iid):
            if event.seq == 1:
                event.actor = "mallory"
            event.prev_hash = prev
            event.hash = history._digest(prev, iid, event.seq, event.type, event.actor, event.at, event.task,
                                         event.data, event.changes)
            prev = event.hash
        instance.last_hash = prev
    result = _daily(app, clock)
    assert iid in result["broken"]
    from app.engine import audit
    from app.models import ProcessInstance
    with audit.readonly_session(app.extensions["db"]) as s:
        found = audit.verify_incremental(s, s.get(ProcessInstance, iid), KEYS)
    assert found["chain"]["ok"] is True and found["ok"] is False and "历史被改写" in found["reason"]


def test_altered_event_after_the_checkpoint_is_found(app, login, clock):
    clerk, reviewer, iid = _plan_with_rounds(login, 1)
    assert _daily(app, clock)["broken"] == []
    seq = _last_seq(app, iid)
    approve(reviewer, "采购单位审核岗审核", iid)
    with app.extensions["db"].engine.begin() as conn:
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE instance_id = :i AND seq = :s"),
                     {"i": iid, "s": seq + 1})
    assert iid in _daily(app, clock)["broken"]


def test_deleted_event_is_found_by_the_daily_job(app, login, clock):
    """The last events deleted and the instance's chain end rewound: the chain is consistent, the checkpoint
    stands beyond the history."""
    _, _, iid = _plan_with_rounds(login, 1)
    assert _daily(app, clock)["broken"] == []
    with app.extensions["db"].engine.begin() as conn:
        last = conn.execute(text("SELECT seq, prev_hash FROM history_event WHERE instance_id = :i "
                                 "ORDER BY seq DESC LIMIT 1"), {"i": iid}).one()
        conn.execute(text("DELETE FROM history_event WHERE instance_id = :i AND seq = :s"), {"i": iid, "s": last[0]})
        conn.execute(text("UPDATE process_instance SET last_seq = :s, last_hash = :h WHERE id = :i"),
                     {"s": last[0] - 1, "h": last[1], "i": iid})
    assert iid in _daily(app, clock)["broken"]


def test_altered_checkpoint_is_found(app, login, clock):
    _, _, iid = _plan_with_rounds(login, 1)
    assert _daily(app, clock)["broken"] == []
    db = app.extensions["db"]
    context = _checkpoint(app, iid).context
    context = json.loads(context) if isinstance(context, str) else context
    context["completed_seen"] = True
    with db.engine.begin() as conn:  # the replayer's context changed: the MAC no longer matches
        conn.execute(text("UPDATE replay_checkpoint SET context = :c WHERE instance_id = :i"),
                     {"c": json.dumps(context), "i": iid})
    result = _daily(app, clock)
    assert iid in result["broken"]
    from app.models import Incident
    from sqlalchemy import select
    with db.Session() as s:
        assert "检查点" in s.scalar(select(Incident.error).where(Incident.instance_id == iid))


def test_checkpoint_state_swapped_or_signed_with_another_key_is_found(app, login, clock):
    _, _, iid = _plan_with_rounds(login, 1)
    _, _, other = _plan_with_rounds(login, 0)
    assert _daily(app, clock)["broken"] == []
    with app.extensions["db"].engine.begin() as conn:  # another instance's (valid) state under this checkpoint
        state = conn.execute(text("SELECT state FROM replay_checkpoint WHERE instance_id = :i"), {"i": other}).scalar()
        conn.execute(text("UPDATE replay_checkpoint SET state = :s WHERE instance_id = :i"), {"s": state, "i": iid})
    assert _daily(app, clock)["broken"] == [iid]
    # The same installation under a new key (older keys kept as fallbacks) still accepts the other's checkpoint;
    # a key that never signed it does not.
    assert _daily(app, clock, ["new-key", *KEYS])["broken"] == [iid]
    assert other in _daily(app, clock, ["another-installation"])["broken"]


def test_verify_histories_script_full_and_incremental(app, login, capsys):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "scripts" / "verify_histories.py"
    spec = importlib.util.spec_from_file_location("script_verify_histories", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _plan_with_rounds(login, 1)
    url = app.config["DATABASE_URL"]
    assert script.main(["--database", url]) == 0
    assert script.main(["--database", url, "--full"]) == 0
    out = capsys.readouterr().out
    assert "已校验" in out and "从检查点继续" in out
