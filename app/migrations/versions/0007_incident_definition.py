"""incident.definition_id: the diagram version a limit stopped (issue 12)

Revision ID: 0007
Revises: 0006
A step stopped by a limit may leave no instance (a start rolled back whole): the incident then names the
definition, so the analyst knows which diagram to correct.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_incident_definition_id', 'process_definition', ['definition_id'], ['id'])


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint('fk_incident_definition_id', type_='foreignkey')
        batch_op.drop_column('definition_id')
