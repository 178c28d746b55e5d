"""Collect field changes of audited records during a flush, for the instance history."""
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .base import Audited


def _jsonable(value):
    from decimal import Decimal
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@event.listens_for(Session, "after_flush")
def _collect_changes(session, flush_context):
    sink = session.info.get("changes")
    if sink is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Audited):
            continue
        state = inspect(obj)
        fields = {}
        for name in obj.__audit_fields__:
            hist = state.attrs[name].history
            if hist.added:
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0]
                if old != new:
                    fields[name] = [_jsonable(old), _jsonable(new)]
        if fields:
            sink.append({"record": obj.audit_ref(), "new": obj in session.new, "fields": fields})
