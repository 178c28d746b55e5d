"""Task lists in SQL: human_task.candidate_keys and composite indexes (issue 16)

Revision ID: 0500
Revises: 0600
The task list filters candidate groups and users in SQL on ``candidate_keys`` (",g:reviewer,u:alice,"), filled
here from the JSON lists of the existing rows; the indexes match app/engine/tasklist.py's queries.
"""
from alembic import op
import sqlalchemy as sa

revision = '0500'
down_revision = '0600'
branch_labels = None
depends_on = None
irreversible = None

INDEXES = {
    "ix_human_task_status_unit_created": ["status", "unit_id", "created_at"],
    "ix_human_task_status_created": ["status", "created_at"],
    "ix_human_task_status_due": ["status", "due_at"],
    "ix_human_task_status_process_created": ["status", "process_key", "created_at"],
    "ix_human_task_completed_by_status_at": ["completed_by", "status", "completed_at"],
}


def _keys(groups, users):
    keys = [f"g:{g}" for g in groups or []] + [f"u:{u}" for u in users or []]
    return f",{','.join(keys)}," if keys else ""


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate_keys', sa.Text(), server_default='', nullable=False))
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    task = sa.table('human_task', sa.column('id', sa.String), sa.column('candidate_groups', sa.JSON),
                    sa.column('candidate_users', sa.JSON), sa.column('candidate_keys', sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.select(task.c.id, task.c.candidate_groups, task.c.candidate_users)).all()
    for start in range(0, len(rows), 1000):
        conn.execute(task.update().where(task.c.id == sa.bindparam('b_id')).values(candidate_keys=sa.bindparam('keys')),
                     [{"b_id": r.id, "keys": _keys(r.candidate_groups, r.candidate_users)}
                      for r in rows[start:start + 1000]])


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column('candidate_keys')
