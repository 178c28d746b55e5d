"""operations: the scheduler heartbeat, the request id of each history event

Revision ID: 0003
Revises: 0002
``scheduler_heartbeat`` (one row per scheduler process, stamped every tick; /readyz reads it) and
``history_event.request_id`` (the X-Request-Id of the request that wrote the event; not part of its hash).
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_table('scheduler_heartbeat',
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('owner')
    )
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    op.drop_table('scheduler_heartbeat')
