"""The few JUEL method calls Camunda 7 diagrams use, evaluated safely: ``list.size()``, ``text.isEmpty()``,
``x.contains(y)`` and Camunda's ``dateTime()`` / ``now()`` with Joda-style ``plusDays(2)`` … ``toDate()``.

Only the names in ``METHODS`` may be called, only on plain values (texts, lists, mappings) or on the date this
module makes; the expression compiler turns ``a.m(b)`` into ``call(a, "m", b)`` (expressions.py)."""
from datetime import datetime, timedelta, timezone

from . import bounded

_UNITS = {"Seconds": "seconds", "Minutes": "minutes", "Hours": "hours", "Days": "days", "Weeks": "weeks"}
_SHIFTS = {f"{sign}{unit}" for sign in ("plus", "minus") for unit in [*_UNITS, "Months", "Years"]}
METHODS = {"size", "isEmpty", "length", "contains", "toDate", "toString", "getTime"} | _SHIFTS
MAX_SHIFT = 100000  # days, months… a date never moves further in one call


class DateTime(str):
    """An instant as ISO-8601 text (what dueDate and timers read), with Joda-style arithmetic."""

    @classmethod
    def of(cls, moment):
        made = cls(moment.isoformat())
        made.moment = moment
        return made

    def shift(self, name, amount):
        if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > MAX_SHIFT:
            raise ValueError(f"{name} 需要不超过 {MAX_SHIFT} 的整数 / {name} needs a whole number")
        sign = 1 if name.startswith("plus") else -1
        unit = name[4:] if sign == 1 else name[5:]
        moment = self.moment
        if unit in _UNITS:
            return DateTime.of(moment + timedelta(**{_UNITS[unit]: sign * amount}))
        months = sign * amount * (12 if unit == "Years" else 1)
        year, month = divmod(moment.month - 1 + months, 12)
        year += moment.year
        if not 1 <= year <= 9999:
            raise ValueError("日期超出范围 / date out of range")
        day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                               31, 31, 30, 31, 30, 31][month])
        return DateTime.of(moment.replace(year=year, month=month + 1, day=day))


def date_time():
    """Camunda's ``dateTime()``/``now()``: the running step's time (timers.step_clock), else the clock's."""
    from .timers import _now
    moment = _now.get() or datetime.now(timezone.utc)
    return DateTime.of(moment)


def call(obj, name, *args):
    if name not in METHODS:
        raise ValueError(f"不允许调用方法 {name} / method not allowed")
    if isinstance(obj, DateTime):
        if name in _SHIFTS and len(args) == 1:
            return obj.shift(name, args[0])
        if name in ("toDate", "toString") and not args:
            return str(obj)
        if name == "getTime" and not args:
            return int(obj.moment.timestamp() * 1000)
    if isinstance(obj, (str, list, tuple, dict)):
        if name in ("size", "length") and not args:
            return len(obj)
        if name == "isEmpty" and not args:
            return len(obj) == 0
        if name == "contains" and len(args) == 1:
            bounded.check(args[0])
            return args[0] in obj
    raise ValueError(f"不能对 {type(obj).__name__} 调用 {name} / cannot call {name} on this value")
