"""What the task operations keep besides the history: notices (站内通知), copies (抄送) and saved comments (常用意见).

The history stays the record of what happened (each operation is a history event); these tables are what
people read: a notice is a person's unread line, a copy what 抄送我的 lists, a saved comment one click's text.
"""
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

NOTICE_KINDS = {"arrived": "待办到达", "returned": "退回", "urged": "催办", "overdue": "逾期", "copied": "抄送",
                "delegated": "委派", "resolved": "委派完成", "reassigned": "转办", "recalled": "撤回",
                "signers": "加签"}
DEFAULT_COMMENTS = ("同意", "情况属实，同意", "不同意，请修改后重新提交")


class Notice(Base):
    """One line in one person's notices; ``delivered_at``/``delivery`` say what the external channel did."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    read_at = mapped_column(UTCDateTime, nullable=True)
    delivery: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending/sent/failed/none
    delivered_at = mapped_column(UTCDateTime, nullable=True)

    @classmethod
    def unread(cls, session, username):
        return session.scalar(select(func.count(cls.id)).where(cls.username == username, cls.read_at.is_(None)))

    @classmethod
    def mark_read(cls, session, username, now, ids=None):
        """Only one's own notices; ``ids`` None marks them all. Returns how many changed."""
        query = update(cls).where(cls.username == username, cls.read_at.is_(None))
        if ids is not None:
            query = query.where(cls.id.in_(ids))
        return session.execute(query.values(read_at=now)).rowcount

    def to_dict(self):
        return {"id": self.id, "kind": self.kind, "kind_label": NOTICE_KINDS.get(self.kind, self.kind),
                "title": self.title, "body": self.body, "instance_id": self.instance_id, "task_id": self.task_id,
                "actor": self.actor, "created_at": self.created_at, "read": self.read_at is not None}


class InstanceCopy(Base):
    """抄送: a read-only copy of an instance for one person (listed under 抄送我的)."""

    __tablename__ = "instance_copy"
    __table_args__ = (UniqueConstraint("instance_id", "username", name="uq_instance_copy_instance_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    copied_by: Mapped[str] = mapped_column(String(64))
    task: Mapped[str | None] = mapped_column(String(200))  # the step it was copied at
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    read_at = mapped_column(UTCDateTime, nullable=True)


class SavedComment(Base):
    """常用意见: a user's own (``username``) or the administrator's defaults for everyone (``username`` NULL)."""

    __tablename__ = "saved_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def visible(cls, session, username):
        """The defaults (seeded or the administrator's), then the user's own, each in order."""
        rows = list(session.scalars(select(cls).where((cls.username == username) | cls.username.is_(None))
                                    .order_by(cls.username.is_not(None), cls.position, cls.id)))
        return rows

    def to_dict(self):
        return {"id": self.id, "text": self.text, "mine": self.username is not None, "position": self.position}


class NoticePreference(Base):
    """Where a person's notices go beyond the browser: an e-mail address when the service has SMTP configured."""

    __tablename__ = "notice_preference"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)


class TaskSigner(Base):
    """加签: one added signer of an open task. ``mode`` before (前加签: the holder waits for them) or after
    (后加签: the holder decided — ``decision`` — and the flow waits for them); ``kind`` all (会签) or any (或签).
    Rows added together share ``round``; ``status`` pending / approved / rejected / removed (减签) / skipped."""

    __tablename__ = "task_signer"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at = mapped_column(UTCDateTime, default=utcnow)
    answered_at = mapped_column(UTCDateTime, nullable=True)

    def to_dict(self):
        return {"id": self.id, "task_id": self.task_id, "instance_id": self.instance_id, "round": self.round,
                "username": self.username, "mode": self.mode, "kind": self.kind, "status": self.status,
                "comment": self.comment, "added_by": self.added_by, "added_at": self.added_at,
                "answered_at": self.answered_at}
