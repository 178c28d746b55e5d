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
    started = 0
    while limit is None or started < limit:
        with db.Session() as session, session.begin():
            session.info[notices.HOLDERS_CACHE] = {}  # the batch's tasks go to a few groups in a few units
            query = select(StartRequest).where(StartRequest.status == "pending").order_by(StartRequest.id).limit(batch)
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            requests = list(session.scalars(query))
            if not requests:
                break
            deadline = time.monotonic() + limits.current.seconds
            outcomes = []
            for request in requests:
                outcomes.append((request, _start(session, request, now)))
                if time.monotonic() > deadline:
                    break  # commit what is done; the rest waits for the next transaction
            # Marked together at the end: one UPDATE for the batch's requests, not one flush per start.
            for request, (instance, error) in outcomes:
                if instance is not None:
                    request.status, request.instance_id = "started", instance.id
                else:
                    request.status, request.error = "failed", error
            started += sum(instance is not None for _, (instance, _) in outcomes)
    return started


def _start(session, request, now):
    """(instance, None) or (None, why it failed). Each start has its own savepoint: a failing one leaves
    nothing behind and the others of the batch commit."""
    savepoint = session.begin_nested()
    try:
        instance = runtime.start_instance(session, None, request.process_key, request.data,
                                          business_key=request.business_key, unit_id=request.unit_id, now=now)
    except DomainError as err:
        savepoint.rollback()
        log.warning("start request %s failed: %s", request.id, err.message)
        return None, err.message
    savepoint.commit()
    return instance, None
