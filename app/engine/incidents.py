"""Incidents of steps that were rolled back: written in a transaction of their own, after the rollback.

A step stopped by a limit (``limits.StepAborted``) must leave nothing behind, yet the incident that says
so must stay. The step defers it on its session; when that session's transaction ends — rolled back by
whatever endpoint, timer or batch ran the step, or committed by a caller that carried on (a batch of
starts) — the incident is written on a fresh connection. By then the step's connection has been
released, so on SQLite the write lock is free and on PostgreSQL nothing waits for the step's rows.
"""
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..models import Incident

log = logging.getLogger(__name__)
_KEY = "deferred_incidents"


def defer(session, exc, **fields):
    """Record an incident (``fields`` of Incident) for ``exc``, a StepAborted, once ``session``'s transaction has
    ended; ``exc.incident_id`` then names it."""
    session.info.setdefault(_KEY, []).append((exc, fields))
    exc.incident_deferred = True


@event.listens_for(Session, "after_transaction_end")
def _write_deferred(session, transaction):
    if transaction.parent is not None or not session.info.get(_KEY):
        return
    pending = session.info.pop(_KEY)
    try:
        with Session(session.get_bind()) as writer, writer.begin():
            rows = [(error, Incident(status="open", **fields)) for error, fields in pending]
            writer.add_all([row for _, row in rows])
            writer.flush()
            for error, row in rows:
                error.incident_id = row.id
    except Exception:  # noqa: BLE001 - the step's own error is what the caller must see; log this one
        log.exception("could not record the incident(s) of a rolled-back step: %s",
                      [fields for _, fields in pending])
