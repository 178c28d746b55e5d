"""integration clients, budget line status and history (issue 13)

Revision ID: 0100
Revises: 0300
Machine clients of the integration API (hashed keys) and their call log; a budget line's status
(有效/冻结/收回), its last change time (the budget system reads lines changed since) and the audited history
of its fields; the budget system's acknowledgement of a year-end request.
"""
from alembic import op
import sqlalchemy as sa


revision = '0100'
down_revision = '0300'
branch_labels = None
depends_on = None
# A data migration that cannot be undone sets this to why (Chinese); `python -m app db downgrade` then refuses
# to go below this revision, naming it, before anything is changed.
irreversible = None

def upgrade():
    op.create_table('integration_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('key_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_id', name='uq_integration_client_key_id'),
    sa.UniqueConstraint('name', name='uq_integration_client_name')
    )
    op.create_table('integration_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=300), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['integration_client.id'], name='fk_integration_call_client_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('integration_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_call_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_call_client_id'), ['client_id'], unique=False)

    op.create_table('budget_line_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_line_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['budget_line_id'], ['budget_line.id'], name='fk_budget_line_change_budget_line_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('budget_line_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_line_change_budget_line_id'), ['budget_line_id'], unique=False)

    with op.batch_alter_table('budget_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_budget_line_updated_at'), ['updated_at'], unique=False)
    op.execute("UPDATE budget_line SET updated_at = CURRENT_TIMESTAMP")  # existing lines: changed now

    with op.batch_alter_table('budget_system_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('acknowledgement', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('budget_system_request', schema=None) as batch_op:
        batch_op.drop_column('acknowledgement')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')

    with op.batch_alter_table('budget_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_line_updated_at'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('status')

    with op.batch_alter_table('budget_line_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_line_change_budget_line_id'))

    op.drop_table('budget_line_change')
    with op.batch_alter_table('integration_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_call_client_id'))
        batch_op.drop_index(batch_op.f('ix_integration_call_at'))

    op.drop_table('integration_call')
    op.drop_table('integration_client')
