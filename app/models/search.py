"""The audit list's text search in SQL (issue 16): ``ProcessInstance.search_text`` holds, lower-cased, what
``/audit?q=`` looks in — the business key and the top-level data's text and number values — set here whenever
``data`` or ``business_key`` is assigned, so the search is one ``LIKE`` on one column instead of reading every
instance's data into Python. (A substring ``LIKE`` cannot use a b-tree index; a PostgreSQL ``pg_trgm`` GIN index
would serve it, but needs the extension in every schema the models are created in: not added yet.)"""
from sqlalchemy import String, cast, event, or_

from .engine import ProcessInstance

SEPARATOR = "\x1f"  # between values: a search for text never matches across two of them


def text_of(business_key, data):
    values = [business_key or ""]
    values += [str(v) for v in (data or {}).values() if isinstance(v, (str, int))]
    return SEPARATOR.join(values).lower()


@event.listens_for(ProcessInstance.data, "set")
def _data_set(target, value, oldvalue, initiator):
    target.search_text = text_of(target.business_key, value)


@event.listens_for(ProcessInstance.business_key, "set")
def _key_set(target, value, oldvalue, initiator):
    target.search_text = text_of(value, target.data)


def matching(q):
    """The clause for instances whose id, business key or top-level data values contain ``q`` (any case)."""
    needle = (q or "").strip().lower()
    return or_(cast(ProcessInstance.id, String).contains(needle, autoescape=True),
               ProcessInstance.search_text.contains(needle, autoescape=True))
