"""Declarative base, shared column types and the domain error every model raises."""
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, ROUND_HALF_UP

from sqlalchemy import DateTime, Numeric, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from .amounts import NOT_A_NUMBER, AmountError, parse_number


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


BEIJING = timezone(timedelta(hours=8))  # dates and deadlines the seeds speak of are Beijing time


def beijing(moment):
    """A UTC moment as Beijing wall-clock text for messages: 2026-11-28 00:00."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def invalid(field, message):
    """Bad input on one field: 400 with the field's message."""
    return DomainError("INVALID_INPUT", message, field=field, status=400)


def text_field(value, field, label, max_len=200, required=True):
    """A stripped text input: required (请填写…) and at most ``max_len`` characters."""
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise invalid(field, f"请填写{label}")
    if len(text) > max_len:
        raise invalid(field, f"{label}长度应不超过 {max_len} 个字符")
    return text


_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_day(value):
    """A real calendar day from ``YYYY-MM-DD`` (or an ISO date-time starting with one); None otherwise.

    Stricter than ``date.fromisoformat``, which also takes 20260101 and 2026-W01-1."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    match = _DAY.match(text)
    if match is None:
        return None
    if len(text) > 10:
        try:
            datetime.fromisoformat(text)  # the rest must be a real time of that day
        except ValueError:
            return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None  # 2026-02-30


def date_field(value, field, label, required=True, latest=None):
    """A date input (YYYY-MM-DD, or an ISO date-time cut to its date): required (请填写…) or None when empty;
    not after ``latest`` when given (签订日期, 验收日期 are not in the future)."""
    if value in (None, ""):
        if required:
            raise invalid(field, f"请填写{label}")
        return None
    day = parse_day(value)
    if day is None:
        raise invalid(field, f"{label}格式不正确（应为 YYYY-MM-DD）")
    if latest is not None and day > latest:
        raise invalid(field, f"{label}不能晚于今天")
    return day


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
# The largest amount stored exactly on both databases: NUMERIC(16,2) holds 14 integer digits on PostgreSQL,
# but SQLite keeps numbers as 8-byte floats, exact to 15 significant digits — 13 integer digits and 2 places.
MONEY_MAX = Decimal("9999999999999.99")
MONEY_RANGE_MESSAGE = "金额应不超过 9999999999999.99 元"


def money(value, field="amount", signed=False):
    """Parse a yuan amount: a number with at most two decimal places, within ``MONEY_MAX``; not negative unless
    ``signed``. Refused, never rounded."""
    try:  # typed text as app/models/amounts.py reads it: `450,000`, `45万`; `450,00` refused
        amount = parse_number(value, money=True)
    except AmountError as err:
        message = "金额格式不正确，应为数字" if str(err) == NOT_A_NUMBER else f"金额格式不正确：{err}"
        raise DomainError("INVALID_AMOUNT", message, field=field, status=400) from None
    if not amount.is_finite() or (amount < 0 and not signed):
        raise DomainError("INVALID_AMOUNT", "金额必须为非负数", field=field, status=400)
    if abs(amount) > MONEY_MAX:
        raise DomainError("INVALID_AMOUNT", MONEY_RANGE_MESSAGE, field=field, status=400)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise DomainError("INVALID_AMOUNT", "金额最多保留两位小数", field=field, status=400)
    return amount.quantize(CENT)


class Base(DeclarativeBase):
    pass


class Drafted:
    """A record the clerk drafts and a reviewer reviews: draft 录入中/编辑中 → in_review 审核中 on 提交; back to draft
    with the reviewer's comment on 审核不通过; deleted while a draft. The class provides ``_require``."""

    def submit(self):
        self._require("draft", action="提交")
        self.status, self.review_comment = "in_review", ""

    def return_for_edit(self, comment):
        self._require("in_review", action="退回")
        self.status, self.review_comment = "draft", comment or ""

    def delete(self):
        self._require("draft", action="删除")
        self.status = "deleted"


class Audited:
    """Records whose field changes are written into the instance history (see audit.py)."""

    __audit_fields__ = ()

    def audit_ref(self):
        return f"{self.__tablename__}:{self.id}"
