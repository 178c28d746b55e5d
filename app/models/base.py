"""Declarative base, shared column types and the domain error every model raises."""
from datetime import datetime, timezone
from decimal import Decimal, ROUND_HALF_UP

from sqlalchemy import DateTime, Numeric, TypeDecorator
from sqlalchemy.orm import DeclarativeBase


class DomainError(Exception):
    """A business rule refused the change. ``code`` routes to a BPMN error boundary event."""

    status = 409

    def __init__(self, code, message, field=None, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        if status:
            self.status = status


class NotFound(DomainError):
    status = 404

    def __init__(self, what, ident):
        super().__init__("NOT_FOUND", f"{what} {ident} 不存在", status=404)


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        # Always UTC: SQLite stores the text of the value, so mixed offsets would compare wrongly.
        if value is not None:
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value


Money = Numeric(16, 2, asdecimal=True)
CENT = Decimal("0.01")


def money(value, field="amount"):
    """Parse a yuan amount: a number with at most two decimal places, not negative."""
    try:
        amount = Decimal(str(value))
    except Exception:
        raise DomainError("INVALID_AMOUNT", "金额格式不正确", field=field, status=400) from None
    if not amount.is_finite() or amount < 0:
        raise DomainError("INVALID_AMOUNT", "金额必须为非负数", field=field, status=400)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise DomainError("INVALID_AMOUNT", "金额最多保留两位小数", field=field, status=400)
    return amount.quantize(CENT)


class Base(DeclarativeBase):
    pass


class Audited:
    """Records whose field changes are written into the instance history (see audit.py)."""

    __audit_fields__ = ()

    def audit_ref(self):
        return f"{self.__tablename__}:{self.id}"
