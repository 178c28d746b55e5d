"""tender.failure_requested: a 废标公告 awaiting the purchaser's confirmation (issue 14)

Revision ID: 0004
Revises: 0003
Existing tenders have no notice pending, so they get false.
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_requested', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.drop_column('failure_requested')
