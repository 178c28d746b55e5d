"""workflow_archive: finished sub-process runs and spliced finished tasks leave the live workflow (issue 16)

Revision ID: 0930
Revises: 0900
Existing instances keep their full state; the next step of each compacts it (engine/compaction.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0930'
down_revision = '0900'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_table(
        'workflow_archive',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('element', sa.String(200), nullable=True),
        sa.Column('at_seq', sa.Integer(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('instance_id', 'seq', name='uq_workflow_archive_instance_seq'),
    )
    op.create_index('ix_workflow_archive_instance_id', 'workflow_archive', ['instance_id'])


def downgrade():
    op.drop_index('ix_workflow_archive_instance_id', table_name='workflow_archive')
    op.drop_table('workflow_archive')
