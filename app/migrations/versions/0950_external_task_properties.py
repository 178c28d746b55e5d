"""External tasks: the service task's camunda:properties and which variables are the task's own (issue 18)

``fetchAndLock`` answers ``extensionProperties`` (``includeExtensionProperties``) and, with ``localVariables``,
only the task's local variables (its input parameters).

Revision ID: 0950
Revises: 0920
"""
from alembic import op
import sqlalchemy as sa


revision = '0950'
down_revision = '0920'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extension_properties', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('local_names', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_column('local_names')
        batch_op.drop_column('extension_properties')
