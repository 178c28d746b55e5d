"""Task lists in SQL: who may act on a task, filters, ordering and one page at a time.

The API (``GET /api/tasks``) and the 工作台 both read open tasks through ``visible``/``page`` so that a list of
100,000 open tasks costs one indexed page query and one count, never a Python pass over every row. The rules are
``access.can_act``'s, said in SQL: the task's unit is one of the user's (or it has none); then the assignee
alone, or else a candidate group of the user or the user as a candidate user. Candidate groups and users are
matched on ``HumanTask.candidate_keys`` (",g:reviewer,u:alice,", kept by ``models.engine``).

Paging is limit/offset (page numbers are what the 工作台 shows); the order always ends in the task id, so pages
never overlap or skip. The composite indexes of revision 0500 match these queries: open tasks by unit and time
(clerks), by time (auditors), by due time (overdue first), by process, and completed tasks by who completed them.
"""
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from time import monotonic

from sqlalchemy import and_, bindparam, false, func, or_, select, union_all

from ..models import Base, HumanTask, InstanceRecord, ProcessDefinition, ProcessInstance
from ..models.engine import candidate_key
from ..models.org import UNASSIGNED_GROUP

# Page sizes: what a page holds unless asked, and the most it ever holds (larger requests are capped).
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
LOCAL_TZ = timezone(timedelta(hours=8))  # dates in filters are China dates
# Totals above EXACT_UP_TO are estimates: an exact count at most COUNT_TTL seconds old, kept per query (docs/api.md
# "Paging"). Counting 100,000 index entries on every request was most of an auditor's list.
EXACT_UP_TO, COUNT_TTL, COUNTS_KEPT = 10_000, 30.0, 512
# A text search matching at most this many tasks (any status) filters by their ids (``text_filter``).
FEW_MATCHES = 1000
_counts, _counts_lock = OrderedDict(), threading.Lock()
# Records a task may concern whose number or name a text filter looks at (those with the usual columns).
RECORD_TYPES = ("project", "plan", "budget_line", "tender", "contract", "payment", "acceptance", "requirement",
                "intent", "import_approval", "supplementary_contract")


@dataclass
class Filters:
    process: str = ""
    group: str = ""
    assignee: str = ""
    unit_id: int | None = None
    mine: bool = False  # claimed by or assigned to the user
    unclaimed: bool = False  # nobody claimed it and it has no assignee
    waiting: bool = False  # unclaimed, or claimed by / assigned to the user (the 待处理 tab)
    date_from: date | None = None  # China dates, inclusive, on created_at (completed_at for done lists)
    date_to: date | None = None
    q: str = ""  # text in the task name, process name, business key, instance id, record number or name
    number: str = ""  # text in the record number


def ints(values):
    """An IN list of integers rendered inline: no bound-parameter limit, whatever its length (ids are ints)."""
    return bindparam("ids", sorted({int(v) for v in values}), expanding=True, literal_execute=True)


def in_units(units):
    """The task's unit is one of ``units`` or it has none. Marked with its two disjoint halves (``_parts``) so
    that counts and pages query each half on its own: ``unit_id IS NULL OR unit_id IN (...)`` as one clause
    makes PostgreSQL walk every open task newest first, while each half is a range of (status, unit_id,
    created_at)."""
    if not units:
        return HumanTask.unit_id.is_(None)
    clause = or_(HumanTask.unit_id.is_(None), HumanTask.unit_id.in_(ints(units)))
    clause._tasklist_parts = (HumanTask.unit_id.in_(ints(units)), HumanTask.unit_id.is_(None))
    return clause


def in_scope(session, user):
    """``access.can_see_task`` in SQL. Staff of an agency: their agency's tasks (any unit), or tasks of no agency
    in their units; never another agency's (代理机构库). Three disjoint parts, each an indexed range."""
    in_unit = in_units(user.unit_ids(session))
    if user.agency_id is None:
        return in_unit
    no_agency = HumanTask.agency_id.is_(None)
    ours = HumanTask.agency_id == user.agency_id
    clause = or_(ours, and_(no_agency, in_unit))
    clause._tasklist_parts = (ours, *[and_(no_agency, part) for part in getattr(in_unit, "_tasklist_parts", (in_unit,))])
    return clause


def _can_act(session, user):
    """``access.can_act`` as a list of clauses (ANDed)."""
    in_unit = in_scope(session, user)
    keys = [HumanTask.candidate_keys.contains(candidate_key("g", g), autoescape=True) for g in sorted(user.groups)]
    keys.append(HumanTask.candidate_keys.contains(candidate_key("u", user.username), autoescape=True))
    who = or_(HumanTask.assignee == user.username, and_(HumanTask.assignee.is_(None), or_(*keys)))
    if UNASSIGNED_GROUP in user.groups:  # access.admin_holds: the unassigned fallback of any unit
        return [or_(and_(in_unit, who), and_(HumanTask.assignee.is_(None), HumanTask.candidate_keys.contains(
            candidate_key("g", UNASSIGNED_GROUP), autoescape=True)))]
    return [in_unit, who]


def visible(session, user, status="open"):
    """The tasks the user may act on (auditors: all), as a WHERE clause list for a select of HumanTask."""
    clauses = [HumanTask.status == status]
    if not user.is_auditor:
        clauses += _can_act(session, user)
    return clauses


def _parts(clauses):
    """Clause lists whose rows are disjoint and together the clauses' rows: every split clause (``in_units``,
    ``in_scope``, the 我的 filter) replaced by each of its disjoint parts in turn, else the clauses themselves."""
    options = [getattr(clause, "_tasklist_parts", None) or (clause,) for clause in clauses]
    return [list(combination) for combination in itertools.product(*options)]


def rows(session, clauses, order, offset, limit):
    """One page of tasks. Split clauses: each half ordered and limited on its own index (offset + limit rows at
    most), the page taken from the merge of those few ids."""
    parts = _parts(clauses)
    if len(parts) == 1:
        query = select(HumanTask).where(*clauses)
    else:
        ids = union_all(*[select(select(HumanTask.id).where(*part).order_by(*order).limit(offset + limit)
                                 .subquery().c.id) for part in parts])
        query = select(HumanTask).where(HumanTask.id.in_(ids))
    return list(session.scalars(query.order_by(*order).offset(offset).limit(limit)))


def _day_start(day):
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(timezone.utc)


def _like(text):
    return f"%{text}%"


def _record_matches(text, numbers_only):
    """(record type, model, condition) for each record type whose number (or name) holds ``text``."""
    found = []
    for record_type in RECORD_TYPES:
        model = _model(record_type)
        if model is None:
            continue
        columns = [getattr(model, c) for c in ("number", "code") if hasattr(model, c)]
        if not numbers_only:
            columns += [getattr(model, c) for c in ("name", "title") if hasattr(model, c)]
        if columns:
            found.append((record_type, model, or_(*[c.ilike(_like(text), escape="\\") for c in columns])))
    return found


def _records(text, numbers_only, type_column=HumanTask.record_type, id_column=HumanTask.record_id):
    return [and_(type_column == record_type, id_column.in_(select(model.id).where(condition)))
            for record_type, model, condition in _record_matches(text, numbers_only)]


def _model(record_type):
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == record_type:
            return mapper.class_
    return None


def _escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(session, user, f, clauses, when=HumanTask.created_at):
    """The clauses narrowed by the filters, all in SQL."""
    clauses = list(clauses)
    if f.process:
        clauses.append(HumanTask.process_key == f.process)
    if f.group:
        clauses.append(HumanTask.candidate_keys.contains(candidate_key("g", f.group), autoescape=True))
    if f.assignee:
        clauses.append(or_(HumanTask.assignee == f.assignee, HumanTask.claimed_by == f.assignee))
    if f.unit_id is not None:
        clauses.append(HumanTask.unit_id == f.unit_id)
    if f.mine:
        clauses.append(_mine(user.username))
    unclaimed = and_(HumanTask.claimed_by.is_(None), HumanTask.assignee.is_(None))
    if f.unclaimed:
        clauses.append(unclaimed)
    if f.waiting:
        clauses.append(or_(unclaimed, HumanTask.claimed_by == user.username, HumanTask.assignee == user.username))
    if f.date_from:
        clauses.append(when >= _day_start(f.date_from))
    if f.date_to:
        clauses.append(when < _day_start(f.date_to + timedelta(days=1)))
    if f.number:
        clauses.append(or_(false(), *_records(_escape(f.number), numbers_only=True)))
    if f.q:
        clauses.append(text_filter(session, f.q))
    return clauses


def _text_options(q):
    """Where ``q`` may be found for a task: its name, process name, instance business key (or id), record number
    or name; each record type as (type, model, its matching rows' condition)."""
    needle = _escape(q)
    names = select(ProcessDefinition.key).where(ProcessDefinition.name.ilike(_like(needle), escape="\\"))
    keys = select(ProcessInstance.id).where(ProcessInstance.business_key.ilike(_like(needle), escape="\\"))
    options = [HumanTask.name.ilike(_like(needle), escape="\\"), HumanTask.process_key.in_(names),
               HumanTask.instance_id.in_(keys)]
    if q.strip().isdigit() and len(q.strip()) < 10:
        options.append(HumanTask.instance_id == int(q.strip()))
    return options, _record_matches(needle, numbers_only=False)


def text_filter(session, q):
    """The text search as one clause. First the UNION of indexed lookups (trigram indexes on PostgreSQL,
    human_task's instance_id, process_key and (record_type, record_id)), at most ``FEW_MATCHES + 1`` ids: if that
    is all, the clause is those ids (primary-key lookups, whatever else filters the list). A term more tasks match
    is tested on each task the list walks instead (records by primary key), so a page stops at its last row and
    counts at their cap; that verdict is kept ``COUNT_TTL`` seconds (the next pages skip the probe). One OR over
    the joined tables made PostgreSQL test every open task against every hashed sub-select: 0.36 s for one
    project number among 100,000 tasks, 0.2–0.3 s per statement for a common word."""
    options, records = _text_options(q)
    # Correlated scalar sub-selects: PostgreSQL turns an IN or EXISTS here into a hash of every matching record.
    many = or_(*options, *[and_(HumanTask.record_type == t, select(m.id).where(m.id == HumanTask.record_id, c)
                                .scalar_subquery().is_not(None)) for t, m, c in records])
    if _kept(("many matches", q)):  # paging through a common word: its probe found many a moment ago
        return many
    lookups = [select(HumanTask.id).where(o) for o in options] + [
        select(HumanTask.id).where(HumanTask.record_type == t, HumanTask.record_id.in_(select(m.id).where(c)))
        for t, m, c in records]
    ids = list(session.scalars(union_all(*lookups).limit(FEW_MATCHES + 1)))
    if len(ids) <= FEW_MATCHES:
        return HumanTask.id.in_(bindparam("text_ids", sorted(set(ids)), expanding=True, literal_execute=True))
    _keep(("many matches", q), True)
    return many


def _mine(username):
    """Claimed by or assigned to the user, split in two disjoint parts that each use one index (the OR as one
    clause makes an auditor's count walk every open task)."""
    claimed = HumanTask.claimed_by == username
    assigned = and_(HumanTask.assignee == username,
                    or_(HumanTask.claimed_by.is_(None), HumanTask.claimed_by != username))
    clause = or_(claimed, HumanTask.assignee == username)
    clause._tasklist_parts = (claimed, assigned)
    return clause


def overdue_clause(now):
    return and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now)


def newest_first():
    """Newest first; tasks made in the same instant (one step opening several) in the order their instances
    started, as the list always showed them; the task id makes the order total, so pages never overlap."""
    return [HumanTask.created_at.desc(), HumanTask.instance_id, HumanTask.id]


def page_overdue_first(session, clauses, now, number, per_page, total=None, late_total=None):
    """``page`` ordered overdue first (most overdue on top), then newest: two indexed queries (by due time, by
    creation time) instead of one sort of every matching row by a computed key. ``total`` and ``late_total``:
    the counts when the caller already has them."""
    late = overdue_clause(now)
    total = count(session, clauses) if total is None else total
    late_total = count(session, [*clauses, late]) if late_total is None else late_total
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    offset = (number - 1) * per_page
    found = []
    if offset < late_total:
        found = rows(session, [*clauses, late], [HumanTask.due_at, *newest_first()], offset, per_page)
    if len(found) < per_page:
        found += rows(session, [*clauses, ~late | HumanTask.due_at.is_(None)], newest_first(),
                      max(0, offset - late_total), per_page - len(found))
    return found, {"page": number, "pages": pages, "total": total, "per_page": per_page}


def _sum(counts):
    """One statement adding the counts (each a select of one number)."""
    if len(counts) == 1:
        return counts[0]
    return select(sum((c.scalar_subquery() for c in counts[1:]), counts[0].scalar_subquery()))


def _capped(clauses):
    """The count of the clauses' tasks, each part counted at most ``EXACT_UP_TO + 1`` far."""
    return _sum([select(func.count()).select_from(select(HumanTask.id).where(*part).limit(EXACT_UP_TO + 1)
                                                  .subquery()) for part in _parts(clauses)])


def counts(session, named):
    """{name: count} for {name: clauses} in one statement (a page shows several counts; each statement is a round
    trip). Exact up to ``EXACT_UP_TO`` — each part is counted at most that far, so a clerk's counts never walk
    more; above it the total is ``_estimate``."""
    names = list(named)
    row = session.execute(select(*[_capped(named[n]).scalar_subquery() for n in names])).one()
    return {n: total if total <= EXACT_UP_TO else _estimate(session, named[n]) for n, total in zip(names, row)}


def count(session, clauses):
    return counts(session, {"count": clauses})["count"]


def _estimate(session, clauses):
    """A total above ``EXACT_UP_TO``: counted exactly, then served again for ``COUNT_TTL`` seconds (same query,
    user and filters) — an auditor's 100,000 open tasks are not recounted on every page."""
    statement = _sum([select(func.count()).select_from(HumanTask).where(*part) for part in _parts(clauses)])
    compiled = statement.compile(session.get_bind())
    key = (str(compiled), repr(sorted(compiled.params.items())))
    total = _kept(key)
    if total is None:
        total = _keep(key, session.scalar(statement))
    return total


def _kept(key):
    """A value ``_keep`` stored at most ``COUNT_TTL`` seconds ago, else None."""
    with _counts_lock:
        kept = _counts.get(key)
    return kept[0] if kept and monotonic() - kept[1] < COUNT_TTL else None


def _keep(key, value):
    with _counts_lock:
        _counts[key] = (value, monotonic())
        _counts.move_to_end(key)
        while len(_counts) > COUNTS_KEPT:
            _counts.popitem(last=False)
    return value


def page(session, clauses, order, number, per_page, clamp=True):
    """(rows of that page, {page, pages, total, per_page}): pages start at 1. A page past the end is the last
    page when ``clamp`` (the 工作台), else empty (the API: a client pages until a short page)."""
    total = count(session, clauses)
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages) if clamp else max(1, number)
    found = rows(session, clauses, order, (number - 1) * per_page, per_page)
    return found, {"page": number, "pages": pages, "total": total, "per_page": per_page}


def instances_filtered(f, clauses):
    """Clauses on ProcessInstance for the 我发起的 tab: process, China dates of the start, the record number, and
    text in the process name, business key, instance id, linked records' numbers and names, open task names."""
    clauses = list(clauses)
    if f.process:
        clauses.append(ProcessInstance.key == f.process)
    if f.date_from:
        clauses.append(ProcessInstance.started_at >= _day_start(f.date_from))
    if f.date_to:
        clauses.append(ProcessInstance.started_at < _day_start(f.date_to + timedelta(days=1)))

    def linked(text, numbers_only):
        return ProcessInstance.id.in_(select(InstanceRecord.instance_id).where(or_(false(), *_records(
            text, numbers_only, InstanceRecord.record_type, InstanceRecord.record_id))))
    if f.number:
        clauses.append(linked(_escape(f.number), True))
    if f.q:
        needle = _escape(f.q)
        names = select(ProcessDefinition.key).where(ProcessDefinition.name.ilike(_like(needle), escape="\\"))
        tasks = select(HumanTask.instance_id).where(HumanTask.status == "open",
                                                    HumanTask.name.ilike(_like(needle), escape="\\"))
        options = [ProcessInstance.key.in_(names), ProcessInstance.business_key.ilike(_like(needle), escape="\\"),
                   linked(needle, False), ProcessInstance.id.in_(tasks)]
        if f.q.strip().isdigit() and len(f.q.strip()) < 10:
            options.append(ProcessInstance.id == int(f.q.strip()))
        clauses.append(or_(*options))
    return clauses
