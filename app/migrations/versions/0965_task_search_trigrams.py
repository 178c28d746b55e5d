"""Trigram indexes for the task list's text search on PostgreSQL (issue 16)

Revision ID: 0965
Revises: 0940
``q=`` on GET /api/tasks and the 工作台 filters with ILIKE '%…%', which no B-tree serves. On PostgreSQL this installs
pg_trgm (``CREATE EXTENSION IF NOT EXISTS``: contrib ships it, it is trusted since PostgreSQL 13) and adds GIN trigram
indexes; where the extension cannot be created the indexes are skipped and the search still works, unindexed
(app/models/trigram.py declares the indexes only where pg_trgm is installed, so models and migrations agree).
SQLite: nothing to do.
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


def upgrade():
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
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {name_of(table, column)}")
