"""Tamper evidence for auditors: the hash chain of the history, and the stored state against its replay.

``verify`` runs two checks on one instance:

- **chain**: the SHA-256 chain of its history events (``history.verify``): an altered, inserted or
  deleted event breaks it;
- **state**: the instance's stored workflow (the blob the service loads and continues from) must be
  what its history replays to (``replay.py``): an altered blob, status or version is found even when
  the history is intact.

``verify_all`` checks every instance and opens one ``history_tamper`` incident per broken instance
(never a second while one is open); ``run_daily`` is the same with reads and writes in separate, short
transactions, for the scheduler and ``scripts/verify_histories.py``.
"""
from contextlib import contextmanager

from sqlalchemy import event, select, text

from ..models import Incident, ProcessInstance
from . import history, replay

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


def state_check(session, instance):
    """Does the stored workflow equal what the history replays to? {ok, reason, seq, differences}."""
    try:
        report = replay.replay(session, instance)
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
    chain = history.verify(session, instance)
    state = state_check(session, instance)
    result = {**chain, "chain": chain, "state": state}
    if chain["ok"] and not state["ok"]:
        result.update(ok=False, first_bad_seq=state["seq"], reason=state["reason"])
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


def run_daily(db, now):
    """``verify_all`` for a scheduler: replays in a read-only session, incidents in one short write."""
    with readonly_session(db) as reader:
        ids = list(reader.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
        findings = {}
        for instance_id in ids:
            result = verify(reader, reader.get(ProcessInstance, instance_id))
            if not result["ok"]:
                findings[instance_id] = _incident_text(result)
    with db.Session() as session, session.begin():
        return record_findings(session, now, findings, len(ids))
