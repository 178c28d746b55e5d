"""The archive of what compaction took out of an instance's live workflow (``workflow_archive``; docs/engine-state.md).

Written in the step's transaction, read by the replay (which produces the same pieces and compares them, so an
altered or deleted archive row is detected like an altered stored workflow) and by the instance page.
"""
import hashlib

from sqlalchemy import func, select

from ..models import WorkflowArchive
from . import serializer


def write(session, instance, pieces, now=None):
    """Append ``pieces`` [(kind, element, body)] for ``instance`` after its last archived piece."""
    if not pieces:
        return
    last = session.scalar(select(func.max(WorkflowArchive.seq)).where(WorkflowArchive.instance_id == instance.id))
    seq = last or 0
    for kind, element, body in pieces:
        seq += 1
        session.add(WorkflowArchive(instance_id=instance.id, seq=seq, kind=kind, element=element,
                                    at_seq=instance.last_seq, body=serializer.dump_piece(body), created_at=now))


def pieces(session, instance_id, after=0):
    """[(kind, element, body)] in the order they were archived; ``after``: only those after the first ``after``
    (a replay resumed from a checkpoint compares only what it archived itself, without decompressing the rest)."""
    rows = session.execute(select(WorkflowArchive.kind, WorkflowArchive.element, WorkflowArchive.body)
                           .where(WorkflowArchive.instance_id == instance_id, WorkflowArchive.seq > after)
                           .order_by(WorkflowArchive.seq)).all()
    return [(kind, element, serializer.load_piece(body)) for kind, element, body in rows]


def digest(session, instance_id, count):
    """(digest, rows): a digest of the instance's first ``count`` archive rows exactly as stored, and how many rows
    it has. A replay checkpoint signs it, so a row archived before the checkpoint cannot change unseen."""
    rows = session.execute(select(WorkflowArchive.seq, WorkflowArchive.at_seq, WorkflowArchive.kind,
                                  WorkflowArchive.element, WorkflowArchive.body)
                           .where(WorkflowArchive.instance_id == instance_id).order_by(WorkflowArchive.seq)).all()
    total = hashlib.sha256()
    for seq, at_seq, kind, element, body in rows[:count]:
        total.update(f"{seq}|{at_seq}|{kind}|{element}|{hashlib.sha256(body).hexdigest()}\n".encode("utf-8"))
    return total.hexdigest(), len(rows)


def count(session, instance_id):
    return session.scalar(select(func.count()).where(WorkflowArchive.instance_id == instance_id))


def compacted_at(session, instance_id):
    """The history seqs after whose step the live instance was compacted (the replay compacts there too)."""
    return set(session.scalars(select(WorkflowArchive.at_seq).where(WorkflowArchive.instance_id == instance_id)))


def runs(session, instance_id):
    """Finished sub-process runs archived for the instance page: {element: count}."""
    rows = session.execute(select(WorkflowArchive.element, func.count()).where(
        WorkflowArchive.instance_id == instance_id, WorkflowArchive.kind == "subprocess")
        .group_by(WorkflowArchive.element)).all()
    return dict(rows)
