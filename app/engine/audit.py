"""Tamper evidence for auditors: the hash chain of the history, and the stored state against its replay.

``verify`` runs two checks on one instance:

- **chain**: the SHA-256 chain of its history events (``history.verify``): an altered, inserted or
  deleted event breaks it;
- **state**: the instance's stored workflow (the blob the service loads and continues from) must be
  what its history replays to (``replay.py``): an altered blob, status or version is found even when
  the history is intact.

``verify_all`` checks every instance and opens one ``history_tamper`` incident per broken instance
(never a second while one is open); ``run_daily`` is the same with reads and writes in separate, short
transactions, for the scheduler and ``scripts/verify_histories.py``. ``run_daily`` verifies incrementally
(``verify_incremental``): the whole chain, then the state from the last verified checkpoint on
(``checkpoints.py``), and leaves a new checkpoint for every instance that passed.
"""
from contextlib import contextmanager

from sqlalchemy import event, select, text

from ..models import Incident, ProcessInstance, ReplayCheckpoint
from . import checkpoints, history, replay

INCIDENT_KIND = "history_tamper"


class ReadOnlyViolation(RuntimeError):
    """Something tried to write through a session that must only read (replay, verification)."""


def _refuse_flush(session, flush_context, instances):
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("只读会话不能写入 / read-only session")


@contextmanager
def readonly_session(db):
    """A session that cannot write: PostgreSQL ``READ ONLY`` transaction, SQLite ``query_only``, no flushes,
    and a rollback at the end whatever happened."""
    session = db.ReadSession()
    event.listen(session, "before_flush", _refuse_flush)
    sqlite = db.is_sqlite
    try:
        session.execute(text("PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY"))
        yield session
    finally:
        session.rollback()
        if sqlite:
            session.execute(text("PRAGMA query_only = OFF"))
            session.rollback()
        session.close()


def state_check(session, instance, rows=None):
    """Does the stored workflow equal what the history replays to? {ok, reason, seq, differences}. ``rows``: the
    instance's events, if already loaded."""
    try:
        report = replay.replay(session, instance, events=rows)
    except Exception as exc:  # noqa: BLE001 - an unreplayable instance is a finding, not a crash
        return {"ok": False, "reason": f"无法重放 / replay failed: {exc}", "seq": None, "differences": []}
    return state_from_report(report)


def state_from_report(report):
    """The state check's verdict from a replay report."""
    first = report["first_divergence"]
    if first is None:
        return {"ok": True, "reason": None, "seq": None, "differences": []}
    if first["type"] == "stored_state":
        return {"ok": False, "reason": report["state"]["reason"], "seq": None,
                "differences": report["state"]["differences"]}
    return {"ok": False, "reason": f"历史重放在事件 {first['seq']} 处分歧：{first['reason']}", "seq": first["seq"],
            "differences": []}


def verify(session, instance):
    """{ok, checked, first_bad_seq, reason, chain: {...}, state: {...}} — the first four as before, for both."""
    rows = history.events(session, instance.id)  # one query; the chain and the replay read the same rows
    chain = history.verify(session, instance, rows)
    state = state_check(session, instance, rows)
    result = {**chain, "chain": chain, "state": state}
    if chain["ok"] and not state["ok"]:
        result.update(ok=False, first_bad_seq=state["seq"], reason=state["reason"])
    return result


def verify_incremental(session, instance, keys):
    """``verify`` from the instance's last verified checkpoint on (``checkpoints.py``): the same verdicts (an
    altered event, blob or checkpoint, a deleted event all fail), the replay only of what is new. Adds
    ``from_seq`` (the checkpoint's event, 0 without one) and ``checkpoint`` (a new one to save when it passed, signed
    with ``keys[0]``; None when nothing changed or it failed)."""
    rows = history.events(session, instance.id)
    chain = history.verify(session, instance, rows)
    if not chain["ok"]:
        return {**verify(session, instance), "from_seq": 0, "checkpoint": None}
    found = session.get(ReplayCheckpoint, instance.id)
    from_seq, replayer = 0, None
    if found is not None:
        reason = checkpoints.problem(found, instance, rows, keys)
        if reason is not None:
            state = {"ok": False, "reason": reason, "seq": found.seq, "differences": []}
            return {**chain, "ok": False, "first_bad_seq": found.seq, "reason": reason, "chain": chain, "state": state,
                    "from_seq": found.seq, "checkpoint": None}
        if checkpoints.unchanged(found, instance):
            state = {"ok": True, "reason": None, "seq": None, "differences": []}
            return {**chain, "chain": chain, "state": state, "from_seq": found.seq, "checkpoint": None}
        from_seq = found.seq
        try:
            replayer = checkpoints.resume(session, instance, rows, found)
        except Exception as exc:  # noqa: BLE001 - a checkpoint that passed its MAC but cannot load: a finding
            state = {"ok": False, "reason": f"无法从检查点继续重放 / cannot resume from the checkpoint: {exc}",
                     "seq": found.seq, "differences": []}
            return {**chain, "ok": False, "first_bad_seq": found.seq, "reason": state["reason"], "chain": chain,
                    "state": state, "from_seq": from_seq, "checkpoint": None}
    try:
        replayer = replayer or replay.Replayer(session, instance, events=rows)
        state = state_from_report(replayer.run())
    except Exception as exc:  # noqa: BLE001 - an unreplayable instance is a finding, not a crash
        state = {"ok": False, "reason": f"无法重放 / replay failed: {exc}", "seq": None, "differences": []}
    result = {**chain, "chain": chain, "state": state, "from_seq": from_seq, "checkpoint": None}
    if not state["ok"]:
        result.update(ok=False, first_bad_seq=state["seq"], reason=state["reason"])
    elif rows and replayer.final_state is not None:
        result["checkpoint"] = checkpoints.make(instance, rows[-1], replayer, keys[0])
    return result


def _incident_text(result):
    parts = []
    if not result["chain"]["ok"]:
        parts.append(f"哈希链：事件 {result['chain']['first_bad_seq']}，{result['chain']['reason']}")
    if not result["state"]["ok"]:
        parts.append(f"存储状态：{result['state']['reason']}")
    return "；".join(parts)


def _open_incident(session, instance_id):
    return session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                  Incident.kind == INCIDENT_KIND,
                                                  Incident.status == "open")).first()


def verify_all(session, now):
    """Verify every instance's chain and state; one open ``history_tamper`` incident per broken instance.

    Returns {checked, broken: [instance ids], incidents: [new incident ids]}. Writes only incidents,
    in the caller's transaction."""
    ids = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
    findings = {}
    for instance_id in ids:
        result = verify(session, session.get(ProcessInstance, instance_id))
        if not result["ok"]:
            findings[instance_id] = _incident_text(result)
    return record_findings(session, now, findings, len(ids))


def record_findings(session, now, findings, checked):
    created = []
    for instance_id, error in findings.items():
        if _open_incident(session, instance_id) is not None:
            continue
        incident = Incident(instance_id=instance_id, task=None, kind=INCIDENT_KIND, error=error, status="open",
                            created_at=now)
        session.add(incident)
        session.flush()
        created.append(incident.id)
    return {"checked": checked, "broken": sorted(findings), "incidents": created}


CHECKPOINT_BATCH = 50  # checkpoints held in memory before they are written


def run_daily(db, now, keys=None, full=False):
    """``verify_all`` for a scheduler, incrementally (``verify_incremental``; ``full``: replay every instance from
    event 1 all the same): replays in a read-only session; incidents and new checkpoints in short writes.
    ``keys``: the installation's [signing key, older keys…] (default ``checkpoints.keys_of(db)``).
    Returns {checked, broken, incidents, replayed_from: {instance id: checkpoint seq it continued from}}."""
    keys = keys or checkpoints.keys_of(db)
    findings, pending, resumed = {}, [], {}

    def flush():
        if pending:
            with db.Session() as session, session.begin():
                checkpoints.save(session, pending, now)
            pending.clear()
    with readonly_session(db) as reader:
        ids = list(reader.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
    for start in range(0, len(ids), CHECKPOINT_BATCH):
        with readonly_session(db) as reader:
            for instance_id in ids[start:start + CHECKPOINT_BATCH]:
                instance = reader.get(ProcessInstance, instance_id)
                if full:
                    result = {**verify(reader, instance), "from_seq": 0, "checkpoint": None}
                else:
                    result = verify_incremental(reader, instance, keys)
                resumed[instance_id] = result["from_seq"]
                if not result["ok"]:
                    findings[instance_id] = _incident_text(result)
                elif result["checkpoint"] is not None:
                    pending.append(result["checkpoint"])
        flush()
    with db.Session() as session, session.begin():
        return {**record_findings(session, now, findings, len(ids)), "replayed_from": resumed}
