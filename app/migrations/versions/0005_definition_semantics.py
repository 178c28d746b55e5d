"""process_definition.semantics: how variables pass between a process, its call activities and user tasks

Revision ID: 0005
Revises: 0004
Definitions deployed before this revision ran with SpiffWorkflow's variable passing (everything flows into a
called process and back; user-task input parameters stay): they keep it (1), so their running instances go on
and replay exactly as they started. Definitions deployed from now on get Camunda 7's passing (2).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('semantics', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('semantics')
