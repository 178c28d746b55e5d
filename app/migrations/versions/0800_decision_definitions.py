"""DMN decision definitions, versioned like process definitions (issues 18/19)

Revision ID: 0800
Revises: 0110
"""
from alembic import op
import sqlalchemy as sa


revision = '0800'
down_revision = '0110'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_table(
        'decision_definition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('dmn_xml', sa.Text(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('resource_name', sa.String(length=200), nullable=False),
        sa.Column('deployment_id', sa.Integer(), nullable=True),
        sa.Column('deployed_by', sa.String(length=64), nullable=False),
        sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'],
                                name='fk_decision_definition_deployment_id_deployment'),
        sa.PrimaryKeyConstraint('id', name='pk_decision_definition'),
        sa.UniqueConstraint('key', 'version', name='uq_decision_definition_key_version'),
    )
    with op.batch_alter_table('decision_definition', schema=None) as batch_op:
        batch_op.create_index('ix_decision_definition_key', ['key'], unique=False)


def downgrade():
    with op.batch_alter_table('decision_definition', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_definition_key')
    op.drop_table('decision_definition')
