"""supplier library: 供应商库 (issue 13)

Revision ID: 0101
Revises: 0500
Suppliers with their 统一社会信用代码 (unique, GB 32100 checked by the model), contacts, SME status and the review
that admits them (待审核 → 已入库 / 不予入库).
"""
from alembic import op
import sqlalchemy as sa


revision = '0101'
down_revision = '0500'
branch_labels = None
depends_on = None
# A data migration that cannot be undone sets this to why (Chinese); `python -m app db downgrade` then refuses
# to go below this revision, naming it, before anything is changed.
irreversible = None


def upgrade():
    op.create_table('supplier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('is_sme', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code', name='uq_supplier_credit_code')
    )
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_status'))

    op.drop_table('supplier')
