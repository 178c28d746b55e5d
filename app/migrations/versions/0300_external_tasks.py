"""external_task: service tasks waiting for Camunda 7 external workers (issue 18)

Revision ID: 0300
Revises: 0007
The row is the lock a worker holds (fetchAndLock); see app/models/external.py.
"""
from alembic import op
import sqlalchemy as sa


revision = '0300'
down_revision = '0007'
branch_labels = None
depends_on = None
# A data migration that cannot be undone sets this to why (Chinese); `python -m app db downgrade` then refuses
# to go below this revision, naming it, before anything is changed.
irreversible = None


def upgrade():
    op.create_table('external_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('business_key', sa.String(length=100), nullable=True),
    sa.Column('activity_id', sa.String(length=100), nullable=False),
    sa.Column('activity_name', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('worker_id', sa.String(length=255), nullable=True),
    sa.Column('lock_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_details', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name='fk_external_task_definition_id'),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name='fk_external_task_instance_id'),
    sa.PrimaryKeyConstraint('id', name='pk_external_task')
    )
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_task_lock_expires_at'), ['lock_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_task_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_task_topic'), ['topic'], unique=False)



def downgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_task_topic'))
        batch_op.drop_index(batch_op.f('ix_external_task_status'))
        batch_op.drop_index(batch_op.f('ix_external_task_lock_expires_at'))
        batch_op.drop_index(batch_op.f('ix_external_task_instance_id'))

    op.drop_table('external_task')
