"""Service-task handlers, registered by topic.

A handler is a plain function ``fn(ctx) -> dict``: it reads ``ctx.inputs``, calls model
methods that check the record's state (and raise ``DomainError``), and returns output
variables. Handlers never import Flask or the engine; the engine finds them here by topic.
"""
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Callable

from sqlalchemy import bindparam, inspect, select

from ..models import DomainError, NotFound
from ..models.base import Audited
from ..models.inputs import parse_id

_registry: dict[str, Callable] = {}


def handler(topic):
    """Register ``fn`` as the handler of a service-task topic."""
    def register(fn):
        if topic in _registry and _registry[topic] is not fn:
            raise ValueError(f"topic {topic} registered twice")
        _registry[topic] = fn
        return fn
    return register


def get(topic):
    _load()
    return _registry.get(topic)


def topics():
    _load()
    return set(_registry)


def _load():
    # Importing the domain modules registers their handlers.
    from . import contract, plan, project, requirement, tender, year_end  # noqa: F401
    from . import acceptance, payment  # noqa: F401 - payments, write-offs, acceptance (001 ch.6–7)
    from . import announcement, expert, supervision  # noqa: F401 - announcements, experts, warnings (001 ch.8, 10, 11)
    from . import entrustment, plan_procedures  # noqa: F401 - dispatch, method change, imports, entrustment (issue 7)
    from . import intent, project_lifecycle, unified  # noqa: F401 - project change/closing/implementation form, intents, 统招分签 (issue 7)


@dataclass
class Context:
    session: Any
    instance: Any  # ProcessInstance row
    inputs: dict
    data: dict  # the task's data, read-only by convention
    user: Any  # acting User, or None for timers
    now: datetime
    engine: Any = None  # the running step: what a handler may ask of the engine (see below)
    extras: dict = field(default_factory=dict)

    def get(self, name, default=None):
        """An input parameter, falling back to the instance data of the same name."""
        if name in self.inputs:
            return self.inputs[name]
        return self.data.get(name, default)

    def require(self, name):
        value = self.get(name)
        if value in (None, ""):
            raise DomainError("MISSING_INPUT", f"缺少参数 {name}", field=name, status=400)
        return value

    def record(self, model, ident, what):
        """Load a record of the instance's unit with a row lock, or refuse."""
        if ident in (None, ""):
            raise DomainError("MISSING_INPUT", f"缺少{what}编号", status=400)
        number = parse_id(ident)
        if number is None:  # 1.5, "abc" or past the id column's range: no record can have it
            if isinstance(ident, (int, str)) and str(ident).strip().isdecimal():
                raise NotFound(what, ident)
            raise DomainError("INVALID_INPUT", f"{what}编号不正确", status=400)
        locked = _locked_read(model)
        if locked is None:
            obj = self.session.get(model, number, with_for_update=True)
        elif _audited_pending(self.session):  # flushed first, as before: the history keeps one change per flush
            obj = self.session.scalars(locked, {"ident": number}).first()
        else:  # only engine rows pending (the completed task's): the handler's own flush writes them, one flush fewer
            with self.session.no_autoflush:
                obj = self.session.scalars(locked, {"ident": number}).first()
        if obj is None:
            raise NotFound(what, number)
        ident = number
        if self.instance.unit_id is not None and obj.unit_id != self.instance.unit_id:
            raise DomainError("WRONG_UNIT", f"{what} {ident} 不属于本单位", status=403)
        return obj

    def request_start(self, process_key, business_key, unit_id, data, new=False):
        """Ask for an instance of another procedure, started after this step commits.

        Idempotent by (process, business key): returns (request, created). ``new``: the caller looked up the
        requests of many items at once and knows there is none for this key (year_end.classify)."""
        from ..models import StartRequest
        existing = None if new else self.session.scalars(select(StartRequest).where(
            StartRequest.process_key == process_key, StartRequest.business_key == business_key)).first()
        if existing is not None:
            return existing, False
        request = StartRequest(process_key=process_key, business_key=business_key, unit_id=unit_id, data=data,
                               requested_by=self.instance.id, status="pending", created_at=self.now)
        self.session.add(request)
        return request, True

    def cancel_instances(self, record_type, record_id, processes, reason):
        """End running instances of ``processes`` working on a record that this procedure takes over."""
        return self.engine.cancel_instances(record_type, record_id, processes, reason)

    def notify_instances(self, record_type, record_id, message, data=None):
        """Tell the other running instances working on a record (those waiting for BPMN message ``message``)
        that this procedure has taken it over; they move on through their own path."""
        return self.engine.notify_instances(record_type, record_id, message, data)

    @property
    def user_id(self):
        return self.user.id if self.user is not None else None

    @property
    def actor(self):
        """Who acts, as histories name it: the user's name, a machine client's, or 系统 for timers."""
        return self.user.username if self.user is not None else "system"


def _audited_pending(session):
    """Whether a record the history audits (``models/audit.py``) has unflushed changes."""
    return any(isinstance(obj, Audited) for obj in session.new) or \
        any(isinstance(obj, Audited) for obj in session.dirty)


@cache
def _locked_read(model):
    """``model``'s row by id with a row lock, built once per model: a reused statement keeps its cache key, so a
    step binds the id instead of building the query (what ``session.get(..., with_for_update=True)`` did on every
    call). Same rows and identity map. None (``session.get`` then) for a model with
    a version column (its version check) or a composite key."""
    mapper = inspect(model)
    if mapper.version_id_col is not None or len(mapper.primary_key) != 1:
        return None
    return select(model).where(mapper.primary_key[0] == bindparam("ident")).with_for_update()
