"""Engine tables: definitions, instances, the task list, the history, timers and incidents."""
from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import trigram
from .base import Base, UTCDateTime, utcnow


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    resource_name: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    deployed_by: Mapped[str] = mapped_column(String(64), default="system")
    deployed_at = mapped_column(UTCDateTime, default=utcnow)
    # How variables pass between the process, its call activities and user tasks (engine.specs.SEMANTICS): kept
    # per version, so running instances go on as they started after an upgrade changes the engine's default.
    semantics: Mapped[int] = mapped_column(Integer, default=2)

    deployment = relationship("Deployment")


class Deployment(Base):
    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(100), default="")
    deployed_by: Mapped[str] = mapped_column(String(64), default="system")
    deployed_at = mapped_column(UTCDateTime, default=utcnow)


class DecisionDefinition(Base):
    """A DMN decision (one per ``<decision>`` of a deployed .dmn file), versioned like diagrams; business rule tasks
    find it by ``camunda:decisionRef`` (engine/dmn.py)."""

    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_decision_definition_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    dmn_xml: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    resource_name: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    deployed_by: Mapped[str] = mapped_column(String(64), default="system")
    deployed_at = mapped_column(UTCDateTime, default=utcnow)

    deployment = relationship("Deployment")


class FormDefinition(Base):
    """A Camunda Form (form-js JSON), versioned like diagrams; user tasks bind to the latest (binding latest)."""

    __tablename__ = "form_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    schema: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    deployed_at = mapped_column(UTCDateTime, default=utcnow)

    deployment = relationship("Deployment")


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (trigram.index("process_instance", "business_key"),)  # the task list's text search

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    # Called processes resolved at start, so a running instance keeps the versions it began with.
    subprocess_definitions: Mapped[dict] = mapped_column(JSON, default=dict)
    key: Mapped[str] = mapped_column(String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    started_at = mapped_column(UTCDateTime, default=utcnow)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    workflow: Mapped[bytes] = mapped_column(LargeBinary)  # serialized without its spec
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # snapshot of the top-level data, for reading
    # What the audit list's text search (/audit?q=) looks in, lower-cased: the business key and the data's top-level
    # text and number values; kept by ``models/search.py`` whenever data or business_key is set (issue 16).
    search_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class WorkflowArchive(Base):
    """What left an instance's live serialized workflow (engine/compaction.py): a finished run of a call activity
    or sub-process, or finished tasks spliced out of a long task tree. Written in the step's transaction, in order
    (``seq`` per instance); the replay produces the same pieces and compares them (docs/engine-state.md)."""

    __tablename__ = "workflow_archive"
    __table_args__ = (UniqueConstraint("instance_id", "seq", name="uq_workflow_archive_instance_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # subprocess / tasks
    element: Mapped[str | None] = mapped_column(String(200))  # the call activity (bpmn id), or the workflow scope
    at_seq: Mapped[int] = mapped_column(Integer)  # the instance's last history event when it was archived
    body: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed JSON, the serializer's form
    created_at = mapped_column(UTCDateTime, default=utcnow)


# human_task's partial indexes on who holds or completed a task (revision 0965).
USER_INDEXES = {"ix_human_task_assignee_status": ("assignee", "status"),
                "ix_human_task_claimed_by_status": ("claimed_by", "status"),
                "ix_human_task_completed_by_status_at": ("completed_by", "status", "completed_at")}


class HumanTask(Base):
    """One row per user task the engine has made ready; the task list reads only this table."""

    __tablename__ = "human_task"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    candidate_groups: Mapped[list] = mapped_column(JSON, default=list)
    candidate_users: Mapped[list] = mapped_column(JSON, default=list)
    assignee: Mapped[str | None] = mapped_column(String(64))  # indexed below, with status, where set
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # 代理机构库: the agency the task's data names (variable ``agency_id``); staff of other agencies never hold it.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True, nullable=True)
    form_key: Mapped[str | None] = mapped_column(String(100))
    record_type: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open / completed / cancelled
    created_at = mapped_column(UTCDateTime, default=utcnow)
    due_at = mapped_column(UTCDateTime, nullable=True)
    completed_at = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(64))  # indexed below, where set
    # Camunda 7 delegation (委派): the holder who delegated, and pending until the delegate resolves it.
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    delegation_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # candidate_groups and candidate_users as ",g:reviewer,u:alice,": the task list matches them in SQL
    # (app/engine/tasklist.py). Kept from the two lists on every insert and update, never set by hand.
    candidate_keys: Mapped[str] = mapped_column(Text, default="", server_default="", nullable=False)

    __table_args__ = (
        # Open tasks of some units, newest first (clerks); all open tasks newest first (auditors);
        # overdue first; by process; a user's completed tasks (已办). Matching app/engine/tasklist.py.
        Index("ix_human_task_status_unit_created", "status", "unit_id", "created_at"),
        Index("ix_human_task_status_created", "status", "created_at"),
        Index("ix_human_task_status_due", "status", "due_at"),
        Index("ix_human_task_status_process_created", "status", "process_key", "created_at"),
        Index("ix_human_task_record", "record_type", "record_id"),  # the text search's record matches (0975)
        # A user's tasks (我的: claimed or assigned; 已办: completed): partial indexes of the rows where the user
        # column is set. Most tasks have none: a plain index's statistics count the NULLs and make SQLite walk every
        # open task for one user's few.
        *[Index(name, *columns, sqlite_where=text(f"{columns[0]} IS NOT NULL"),
                postgresql_where=text(f"{columns[0]} IS NOT NULL")) for name, columns in USER_INDEXES.items()],
        trigram.index("human_task", "name"),  # the text search (q=), PostgreSQL with pg_trgm only
    )


def candidate_key(kind, name):
    """How one candidate group (kind "g") or user ("u") reads inside ``HumanTask.candidate_keys``."""
    return f",{kind}:{name},"


def candidate_keys(groups, users):
    keys = [f"g:{g}" for g in groups or []] + [f"u:{u}" for u in users or []]
    return f",{','.join(keys)}," if keys else ""


@event.listens_for(HumanTask, "before_insert")
@event.listens_for(HumanTask, "before_update")
def _keep_candidate_keys(_mapper, _connection, row):
    row.candidate_keys = candidate_keys(row.candidate_groups, row.candidate_users)


class InstanceRecord(Base):
    """Which records an instance touched (from its handlers' audited changes): record pages link to instances."""

    __tablename__ = "instance_record"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class HistoryEvent(Base):
    """Append-only; each event's hash covers its content and the previous event's hash."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))
    at = mapped_column(UTCDateTime, default=utcnow)
    task: Mapped[str | None] = mapped_column(String(200))  # bpmn id and name of the task concerned
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    changes: Mapped[list] = mapped_column(JSON, default=list)
    prev_hash: Mapped[str] = mapped_column(String(64))
    # sentinel: a value we compute, unique per row, by which SQLAlchemy matches the ids a multi-row INSERT returns to
    # its rows, so a step's events go in one statement on SQLite too (PostgreSQL has a sentinel of its own)
    hash: Mapped[str] = mapped_column(String(64), insert_sentinel=True)
    # The request that wrote it (X-Request-Id, app/request_id.py), to find its log lines; outside the hash.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Timer(Base):
    """The truth about every timer: APScheduler only ticks; a row fires once, in the step's transaction.

    kind ``event``: a waiting timer event of an instance (boundary, intermediate); kind ``start``: a
    timer start event of a deployed process, which starts a new instance when due.
    """

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("kind", "instance_id", "definition_key", "bpmn_id", "task_id", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="event")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    definition_key: Mapped[str | None] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100), default="")
    due_at = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending/fired/cancelled/failed
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fired_at = mapped_column(UTCDateTime, nullable=True)


class StartRequest(Base):
    """An instance a handler asked for (e.g. one cleanup instance per year-end item).

    The dispatcher starts them in batches of their own transactions, so a campaign of thousands
    of items never holds one giant lock and resumes where it stopped; (process, business key) is
    unique, so asking twice starts nothing twice.
    """

    __tablename__ = "start_request"
    __table_args__ = (UniqueConstraint("process_key", "business_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending/started/failed
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / resolved
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timer.id"))
    # The diagram version whose step failed: an instance that never started (its start was rolled back) has
    # no instance_id, so this is what names the diagram then.
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
