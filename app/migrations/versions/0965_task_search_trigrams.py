"""Task list indexes: trigrams for the text search on PostgreSQL, partial (assignee|claimed_by, status) (issue 16)

Revision ID: 0965
Revises: 0940
``q=`` on GET /api/tasks and the 工作台 filters with ILIKE '%…%', which no B-tree serves. On PostgreSQL this installs
pg_trgm (``CREATE EXTENSION IF NOT EXISTS``: contrib ships it, it is trusted since PostgreSQL 13) and adds GIN trigram
indexes; where the extension cannot be created the indexes are skipped and the search still works, unindexed
(app/models/trigram.py declares the indexes only where pg_trgm is installed, so models and migrations agree).
SQLite: no trigrams. Both: the indexes on assignee, claimed_by and completed_by become partial (column, status[,
completed_at]) indexes of the rows where the column is set: 我的 and 已办 read them, and their statistics no longer
count the majority of tasks nobody holds (SQLite planned a walk of every open task for one user's few).
"""
import logging

from alembic import op
import sqlalchemy as sa

from app.models.trigram import installed, name_of

revision = '0965'
down_revision = '0940'
branch_labels = None
depends_on = None
irreversible = None

COLUMNS = (("human_task", "name"), ("process_instance", "business_key"), ("project", "number"), ("project", "name"))


# A user's tasks: partial indexes where the user column is set, replacing the plain ones (old name: new, columns).
PARTIAL = {"ix_human_task_assignee": ("ix_human_task_assignee_status", ["assignee", "status"]),
           "ix_human_task_claimed_by": ("ix_human_task_claimed_by_status", ["claimed_by", "status"]),
           "ix_human_task_completed_by": ("ix_human_task_completed_by_status_at",
                                          ["completed_by", "status", "completed_at"])}


def upgrade():
    op.drop_index("ix_human_task_completed_by_status_at", table_name="human_task")  # 0500's, now partial
    for old, (name, columns) in PARTIAL.items():
        op.drop_index(old, table_name="human_task")
        where = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(name, "human_task", columns, sqlite_where=where, postgresql_where=where)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a refused CREATE EXTENSION must not abort the upgrade's transaction
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        logging.getLogger(__name__).warning("pg_trgm unavailable (%s): the task search's trigram indexes are skipped",
                                            type(exc.orig).__name__)
        return
    if not installed(bind):  # installed in a schema off this connection's search path
        logging.getLogger(__name__).warning("pg_trgm is not on the search path: the trigram indexes are skipped")
        return
    for table, column in COLUMNS:
        op.create_index(name_of(table, column), table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    for old, (name, columns) in PARTIAL.items():
        op.drop_index(name, table_name="human_task")
        op.create_index(old, "human_task", columns[:1])
    op.create_index("ix_human_task_completed_by_status_at", "human_task", ["completed_by", "status", "completed_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {name_of(table, column)}")
