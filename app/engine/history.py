"""The append-only history of an instance, chained by hashes so any alteration shows."""
import hashlib
import json
from datetime import timezone

from sqlalchemy import inspect, select

from .. import request_id
from ..models import HistoryEvent


def jsonable(value):
    """What JSON columns store, so the hash is computed over exactly what is read back."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _digest(prev_hash, instance_id, seq, type_, actor, at, task, data, changes):
    body = json.dumps({"instance": instance_id, "seq": seq, "type": type_, "actor": actor,
                       "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"), "task": task, "data": data,
                       "changes": changes}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(session, instance, type_, actor=None, at=None, task=None, data=None, changes=None, stored=False):
    """Add the next event of ``instance``; the caller's transaction commits it with the step. ``stored``: data and
    changes already went through ``jsonable`` (a step's buffered events), so they are not copied twice."""
    if not stored:
        data, changes = jsonable(data or {}), jsonable(changes or [])
    event = HistoryEvent(**_next(instance, type_, actor, at, task, data, changes))
    session.add(event)
    return event


def append_stored(session, instance, events, actor, at):
    """``append`` of a step's buffered events [(type, task, data, changes)], already ``jsonable``, in order. For an
    instance already in the database and no event of the session still unflushed, one Core INSERT: the rows are
    never read back as objects in the request, so the unit of work (objects, identity map, sentinel matching) is
    skipped; otherwise (a starting instance: its row goes first) through ``append``."""
    if not events:
        return
    if not inspect(instance).persistent or any(isinstance(obj, HistoryEvent) for obj in session.new):
        for type_, task, data, changes in events:
            append(session, instance, type_, actor=actor, at=at, task=task, data=data, changes=changes, stored=True)
        return
    rows = [_next(instance, type_, actor, at, task, data, changes) for type_, task, data, changes in events]
    session.execute(HistoryEvent.__table__.insert(), rows)


def _next(instance, type_, actor, at, task, data, changes):
    """The column values of ``instance``'s next event; advances the chain head on the instance."""
    seq, prev = instance.last_seq + 1, instance.last_hash
    digest = _digest(prev, instance.id, seq, type_, actor, at, task, data, changes)
    instance.last_seq, instance.last_hash = seq, digest
    return {"instance_id": instance.id, "seq": seq, "type": type_, "actor": actor, "at": at, "task": task,
            "data": data, "changes": changes, "prev_hash": prev, "hash": digest,
            "request_id": request_id.current()}  # request_id is outside the hash: where to look in the logs


def events(session, instance_id):
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                .order_by(HistoryEvent.seq)))


def verify(session, instance, rows=None):
    """Recompute the chain (``rows``: the instance's events, if already loaded). Returns {ok, checked, first_bad_seq,
    reason}."""
    prev = ""
    rows = events(session, instance.id) if rows is None else rows
    for expected_seq, event in enumerate(rows, 1):
        if event.seq != expected_seq:
            return {"ok": False, "checked": expected_seq - 1, "first_bad_seq": expected_seq,
                    "reason": f"事件序号 {expected_seq} 缺失 / event missing"}
        if event.prev_hash != prev:
            return {"ok": False, "checked": expected_seq - 1, "first_bad_seq": event.seq,
                    "reason": "前一事件哈希不符 / previous hash mismatch"}
        digest = _digest(prev, event.instance_id, event.seq, event.type, event.actor, event.at, event.task,
                         event.data, event.changes)
        if digest != event.hash:
            return {"ok": False, "checked": expected_seq - 1, "first_bad_seq": event.seq,
                    "reason": "事件内容被修改 / event content altered"}
        prev = event.hash
    if prev != instance.last_hash or len(rows) != instance.last_seq:
        return {"ok": False, "checked": len(rows), "first_bad_seq": len(rows) + 1,
                "reason": "历史末尾与流程实例不符（事件被删除？） / chain end does not match the instance"}
    return {"ok": True, "checked": len(rows), "first_bad_seq": None, "reason": None}


def to_dict(event):
    return {"seq": event.seq, "type": event.type, "at": event.at, "actor": event.actor,
            "task": event.task, "data": event.data, "changes": event.changes, "hash": event.hash,
            "request_id": event.request_id}
