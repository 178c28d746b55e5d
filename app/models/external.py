"""External tasks (Camunda 7): a service task whose topic has no built-in handler waits here for a worker.

The row is the lock: a worker's ``fetchAndLock`` sets ``worker_id`` and ``lock_expires_at`` on rows it selects
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers never take the same task). The workflow keeps
the task STARTED until a worker completes it or reports a BPMN error; failures only change this row."""
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ExternalTask(Base):
    __tablename__ = "external_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(100))
    activity_id: Mapped[str] = mapped_column(String(100))
    activity_name: Mapped[str] = mapped_column(String(200), default="")
    topic: Mapped[str] = mapped_column(String(200), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    variables: Mapped[dict] = mapped_column(JSON, default=dict)  # the task's variables as of the last step
    local_names = mapped_column(JSON, nullable=True)  # which of them are the task's own (its input parameters)
    extension_properties = mapped_column(JSON, nullable=True)  # the service task's camunda:properties
    worker_id: Mapped[str | None] = mapped_column(String(255))
    lock_expires_at = mapped_column(UTCDateTime, nullable=True, index=True)
    retries: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None until a worker reports a failure
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open / completed / cancelled
    created_at = mapped_column(UTCDateTime, default=utcnow)
    ended_at = mapped_column(UTCDateTime, nullable=True)
