"""What operations read: the scheduler's heartbeat (``/readyz`` wants a recent one)."""
from datetime import timedelta

from sqlalchemy import String, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime

FORGET_AFTER = timedelta(days=1)  # rows of schedulers that stopped beating are dropped after this


class SchedulerHeartbeat(Base):
    """One row per scheduler process (``host-pid``), stamped at every tick."""

    __tablename__ = "scheduler_heartbeat"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    beat_at = mapped_column(UTCDateTime)

    @classmethod
    def beat(cls, session, owner, now):
        if session.execute(update(cls).where(cls.owner == owner).values(beat_at=now)).rowcount == 0:
            session.add(cls(owner=owner, beat_at=now))
        session.execute(delete(cls).where(cls.beat_at < now - FORGET_AFTER))

    @classmethod
    def latest(cls, session):
        return session.scalar(select(func.max(cls.beat_at)))
