"""human_task by (record_type, record_id): the text search looks up the tasks of matching records (issue 16)

``tasklist.text_filter`` looks tasks up by (record_type, record_id) for the matching records' ids instead of testing
every open task.

Revision ID: 0975
Revises: 0965
"""
from alembic import op


revision = '0975'
down_revision = '0965'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_index('ix_human_task_record', 'human_task', ['record_type', 'record_id'])


def downgrade():
    op.drop_index('ix_human_task_record', table_name='human_task')
