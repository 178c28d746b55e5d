"""supplier.note: where a proposal to the 供应商库 came from (a contract, an award) (issue 13)

Revision ID: 0991
Revises: 0990
"""
from alembic import op
import sqlalchemy as sa

revision = '0991'
down_revision = '0990'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=200), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('supplier', schema=None) as batch_op:
        batch_op.drop_column('note')
