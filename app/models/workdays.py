"""The working-day calendar (工作日): Monday to Friday, except the statutory holidays (法定节假日) and the weekend
days worked instead (调休上班) an administrator enters each year from the State Council's notice.

Periods the seeds count in working days — the single-source publicity's 5 working days (001 §8.2) — use it. A
year nobody entered counts plain weekdays (the seeds give no calendar; the service cannot know the next year's
holidays before they are announced).
"""
from datetime import date, timedelta

from sqlalchemy import Date, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime

KINDS = {"holiday": "法定节假日（休息）", "workday": "调休上班"}


class CalendarDay(Base):
    """A day that is not what its weekday says: a holiday on a weekday, or a weekend day worked."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50), default="")  # 国庆节, 春节调休, …
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at = mapped_column(UTCDateTime, nullable=True)

    def to_dict(self):
        return {"date": self.day.isoformat(), "kind": self.kind, "kind_label": KINDS[self.kind], "name": self.name,
                "updated_by": self.updated_by, "updated_at": self.updated_at}


def overrides(session):
    """{day: is a working day} for every entered day (a few dozen rows a year)."""
    return {d.day: d.kind == "workday" for d in session.scalars(select(CalendarDay))}


def is_working(day, entered=None):
    if entered and day in entered:
        return entered[day]
    return day.weekday() < 5


def working_days_after(day, count, entered=None):
    """The ``count``-th working day after ``day``."""
    current, left = day, count
    while left > 0:
        current += timedelta(days=1)
        if is_working(current, entered):
            left -= 1
    return current


def _in_year(year):
    return CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def year_days(session, year):
    return list(session.scalars(select(CalendarDay).where(_in_year(year)).order_by(CalendarDay.day)))


def set_year(session, year, days, user, now):
    """Replace ``year``'s entered days with ``days`` [{date, kind, name}] (dates already parsed by the API).
    Refused, with nothing changed, for a day outside the year, a day given twice, or a 调休上班 on a weekday."""
    seen = set()
    for i, row in enumerate(days):
        day = row["date"]
        if day.year != year:
            raise DomainError("INVALID_INPUT", f"第 {i + 1} 行：{day} 不在 {year} 年", field=f"days.{i}.date", status=400)
        if day in seen:
            raise DomainError("INVALID_INPUT", f"第 {i + 1} 行：{day} 重复", field=f"days.{i}.date", status=400)
        if row["kind"] == "workday" and day.weekday() < 5:
            raise DomainError("INVALID_INPUT", f"第 {i + 1} 行：{day} 是工作日，调休上班只能设在周末",
                              field=f"days.{i}.kind", status=400)
        seen.add(day)
    session.execute(delete(CalendarDay).where(_in_year(year)))
    for row in days:
        session.add(CalendarDay(day=row["date"], kind=row["kind"], name=row.get("name") or "",
                                updated_by=user.username, updated_at=now))
    session.flush()
    return year_days(session, year)
