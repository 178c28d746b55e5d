"""Replay checkpoints: where the last verification of an instance's history ended (issue 16; docs/replay.md)."""
from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ReplayCheckpoint(Base):
    """One per instance: the replayed workflow after event ``seq``, bound to the hash chain by ``event_hash`` and
    to the installation's key by ``mac`` (HMAC-SHA256 over every other column), so the daily verification can
    continue from it instead of replaying from event 1. Written only by a verification that passed."""

    __tablename__ = "replay_checkpoint"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the last event the checkpoint has replayed
    event_hash: Mapped[str] = mapped_column(String(64))  # that event's chain hash
    state: Mapped[bytes] = mapped_column(LargeBinary)  # the replayed workflow then (serializer.dumps)
    state_digest: Mapped[str] = mapped_column(String(64))  # sha256 of state
    stored_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the instance's stored blob it was checked with
    context: Mapped[dict] = mapped_column(JSON, default=dict)  # the replayer's own state (versions, timers seen…)
    mac: Mapped[str] = mapped_column(String(64))
    verified_at = mapped_column(UTCDateTime, default=utcnow)
