"""Replay checkpoints: the daily verification continues from where the last one ended (issue 16; docs/replay.md).

A verification that passed leaves one checkpoint per instance (``ReplayCheckpoint``): the replayed workflow after
the last event it replayed, that event's chain hash, the digest of the stored blob it was compared with and the
replayer's context, all under an HMAC with the installation's key. The next verification:

1. checks the whole hash chain (cheap: hashing, no engine) — an altered, inserted or deleted event anywhere breaks it;
2. checks the checkpoint: its MAC (an altered checkpoint, or one forged without the key, fails), its state digest,
   that the event it ends at still has the hash it recorded (a history rewritten before it, chain and all,
   fails here even though the rewritten chain is consistent), and that the workflow archive rows made before it
   (engine-state compaction) are still those it signed;
3. if nothing happened since (same last event, the stored blob's digest unchanged, same status and version), the
   stored state is what was verified: done without replaying; otherwise it replays only the events after the
   checkpoint, from the checkpoint's workflow, and compares the result with the stored blob as a full replay does.

A missing checkpoint means a full replay (linear too: ``replay.py``). The auditor's endpoints replay in full.
"""
import hashlib
import hmac
import json
import os

from sqlalchemy.orm import object_session

from ..models import ReplayCheckpoint
from . import archive, history, replay


def keys_of(db):
    """[signing key, older keys…]: the environment's SECRET_KEY / SECRET_KEY_FALLBACKS, else the stored ones."""
    env = os.environ.get("SECRET_KEY", "")
    if env:
        return [env] + [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]
    from ..secret_key import stored_keys
    return stored_keys(db)


def keys_of_app(app):
    """The app's signing key first, then its fallbacks (Flask keeps those oldest first)."""
    return [app.config["SECRET_KEY"], *reversed(app.config.get("SECRET_KEY_FALLBACKS") or [])]


def digest(blob):
    return hashlib.sha256(blob or b"").hexdigest()


def _message(instance_id, seq, event_hash, state_digest, stored_digest, context):
    return json.dumps({"instance": instance_id, "seq": seq, "event_hash": event_hash, "state": state_digest,
                       "stored": stored_digest, "context": context}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _mac(key, message):
    return hmac.new(f"replay-checkpoint:{key}".encode("utf-8"), message, hashlib.sha256).hexdigest()


def make(instance, event, replayer, key):
    """The checkpoint a passed verification leaves (a plain dict; ``save`` writes it in a write session)."""
    context = {**replayer.context(), "status": instance.status, "instance_definition_id": instance.definition_id}
    # the archive rows up to the checkpoint, as stored: a resumed replay compares only the rows after them
    context["archive_digest"] = archive.digest(replayer.session, instance.id, context.get("archived") or 0)[0]
    context = history.jsonable(context)
    state, stored = replayer.final_state, digest(instance.workflow)
    fields = dict(instance_id=instance.id, seq=event.seq, event_hash=event.hash, state=state,
                  state_digest=digest(state), stored_digest=stored, context=context)
    fields["mac"] = _mac(key, _message(instance.id, event.seq, event.hash, fields["state_digest"], stored, context))
    return fields


def save(session, found, now):
    """Write checkpoints made by ``make`` (one per instance: the newer replaces the older)."""
    for fields in found:
        row = session.get(ReplayCheckpoint, fields["instance_id"])
        if row is None:
            row = ReplayCheckpoint(instance_id=fields["instance_id"])
            session.add(row)
        for name, value in fields.items():
            setattr(row, name, value)
        row.verified_at = now


def problem(checkpoint, instance, rows, keys):
    """Why ``checkpoint`` cannot be trusted (a finding: someone altered it), or None."""
    message = _message(checkpoint.instance_id, checkpoint.seq, checkpoint.event_hash, checkpoint.state_digest,
                       checkpoint.stored_digest, checkpoint.context)
    if not any(hmac.compare_digest(_mac(key, message), checkpoint.mac or "") for key in keys):
        return "重放检查点的签名不符（检查点被修改？） / replay checkpoint MAC mismatch"
    if digest(checkpoint.state) != checkpoint.state_digest:
        return "重放检查点的状态与其摘要不符 / replay checkpoint state altered"
    context = checkpoint.context or {}
    archived, rows_now = archive.digest(object_session(instance), instance.id, context.get("archived") or 0)
    if archived != context.get("archive_digest", archived) or rows_now < (context.get("archived") or 0):
        return "检查点之前归档的流程状态被修改或删除 / workflow archive rows before the checkpoint changed"
    if checkpoint.seq > len(rows) or checkpoint.seq < 1 or rows[checkpoint.seq - 1].hash != checkpoint.event_hash:
        return (f"事件 {checkpoint.seq} 的哈希与上次校验时不同（历史被改写？） / the history changed before the last "
                "verified checkpoint")
    return None


def unchanged(checkpoint, instance):
    """Nothing happened to the instance since the checkpoint was verified."""
    context = checkpoint.context or {}
    rows_now = archive.count(object_session(instance), instance.id)
    return (checkpoint.seq == instance.last_seq and checkpoint.stored_digest == digest(instance.workflow)
            and rows_now == (context.get("archived") or 0)
            and context.get("status") == instance.status
            and context.get("instance_definition_id") == instance.definition_id)


def resume(session, instance, rows, checkpoint):
    """A replayer positioned after the checkpoint's event."""
    return replay.Replayer(session, instance, events=rows).resume(checkpoint.seq, checkpoint.state,
                                                                  checkpoint.context)
