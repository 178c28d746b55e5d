"""Start the instances handlers asked for (``ctx.request_start``), in batches of their own transactions.

A year-end campaign asks for thousands of cleanup instances; starting them inside the campaign's
own step would hold one lock over everything. Here each batch commits on its own (PostgreSQL: rows
locked ``FOR UPDATE SKIP LOCKED``, so two dispatchers share the work), and an interrupted run
resumes where it stopped. A batch also ends early once it has run for a step's time budget
(``limits``), so the write lock is never held for more than about two steps' worth, whatever the diagrams do.
"""
import logging
import time

from sqlalchemy import select

from ..models import DomainError, StartRequest
from . import limits, notices, runtime

log = logging.getLogger(__name__)


def dispatch(db, now, batch=100, limit=None):
    """Start pending requests; returns how many instances were started."""
    started, failed = 0, {}
    while limit is None or started < limit:
        try:
            count = _batch(db, now, batch, failed)
        except _Failed as stop:  # the batch was rolled back whole (an incident the start left is recorded)
            failed[stop.request_id] = stop.message
            continue
        if count is None:
            break
        started += count
    return started


class _Failed(Exception):
    """A start failed in a batch run without savepoints."""

    def __init__(self, request_id, message):
        super().__init__(message)
        self.request_id, self.message = request_id, message


def _batch(db, now, batch, failed):
    """One committed batch; None when nothing is pending.

    A start is all or nothing and one failing never loses the others. Starts seldom fail, so a batch first runs
    without a savepoint per start (two statements each); if one fails, the batch is rolled back and run again
    with savepoints, its failed requests (``failed``: id → message) marked failed without running again."""
    with db.Session() as session, session.begin():
        session.info[notices.HOLDERS_CACHE] = {}  # the batch's tasks go to a few groups in a few units
        session.info[runtime.BATCHED_STARTS] = True  # the started instances' rows are written together
        query = select(StartRequest).where(StartRequest.status == "pending").order_by(StartRequest.id).limit(batch)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        requests = list(session.scalars(query))
        if not requests:
            return None
        careful = any(request.id in failed for request in requests)
        deadline = time.monotonic() + limits.current.seconds
        outcomes = []
        for request in requests:
            if request.id in failed:
                outcomes.append((request, (None, failed.pop(request.id))))
            else:
                outcomes.append((request, _start(session, request, now, careful)))
            if time.monotonic() > deadline:
                break  # commit what is done; the rest waits for the next transaction
        # Marked together at the end: one UPDATE for the batch's requests, not one flush per start.
        for request, (instance, error) in outcomes:
            if instance is not None:
                request.status, request.instance_id = "started", instance.id
            else:
                request.status, request.error = "failed", error
        return sum(instance is not None for _, (instance, _) in outcomes)


def _start(session, request, now, savepoint):
    """(instance, None), or (None, why it failed) with ``savepoint``; without one a failure raises ``_Failed``."""
    nested = session.begin_nested() if savepoint else None
    try:
        instance = runtime.start_instance(session, None, request.process_key, request.data,
                                          business_key=request.business_key, unit_id=request.unit_id, now=now)
    except DomainError as err:
        log.warning("start request %s failed: %s", request.id, err.message)
        if nested is None:
            raise _Failed(request.id, err.message) from err
        nested.rollback()
        return None, err.message
    if nested is not None:
        nested.commit()
    return instance, None
