"""replay_checkpoint: where the daily verification continues from (issue 16, linear replay)

Revision ID: 0940
Revises: 0800
"""
from alembic import op
import sqlalchemy as sa


revision = '0940'
down_revision = '0800'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_table(
        'replay_checkpoint',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.LargeBinary(), nullable=False),
        sa.Column('state_digest', sa.String(length=64), nullable=False),
        sa.Column('stored_digest', sa.String(length=64), nullable=False),
        sa.Column('context', sa.JSON(), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name='fk_replay_checkpoint_instance_id_process_instance', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', name='pk_replay_checkpoint'),
    )


def downgrade():
    op.drop_table('replay_checkpoint')
