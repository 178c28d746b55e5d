"""Task operations (issue 17): notices, copies, saved comments, added signers; Camunda 7 delegation on human_task

Revision ID: 0600
Revises: 0100
The three default saved comments (常用意见) are written here once; administrators edit them afterwards.
"""
from alembic import op
import sqlalchemy as sa


revision = '0600'
down_revision = '0100'
branch_labels = None
depends_on = None
# A data migration that cannot be undone sets this to why (Chinese); `python -m app db downgrade` then refuses
# to go below this revision, naming it, before anything is changed.
irreversible = None


def upgrade():
    op.create_table('saved_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name='pk_saved_comment')
    )
    with op.batch_alter_table('saved_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_comment_username'), ['username'], unique=False)
    comments = sa.table('saved_comment', sa.column('username', sa.String), sa.column('text', sa.String),
                        sa.column('position', sa.Integer))
    op.bulk_insert(comments, [{'username': None, 'text': text, 'position': i}
                              for i, text in enumerate(('同意', '情况属实，同意', '不同意，请修改后重新提交'))])

    op.create_table('instance_copy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('copied_by', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=200), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name='fk_instance_copy_instance_id'),
    sa.PrimaryKeyConstraint('id', name='pk_instance_copy'),
    sa.UniqueConstraint('instance_id', 'username', name='uq_instance_copy_instance_user')
    )
    with op.batch_alter_table('instance_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_copy_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_copy_username'), ['username'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name='fk_notice_instance_id'),
    sa.PrimaryKeyConstraint('id', name='pk_notice')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_delivery'), ['delivery'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_username'), ['username'], unique=False)

    op.create_table('task_signer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name='fk_task_signer_instance_id'),
    sa.PrimaryKeyConstraint('id', name='pk_task_signer')
    )
    with op.batch_alter_table('task_signer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_signer_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_signer_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_signer_username'), ['username'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_signer_status'), ['status'], unique=False)

    op.create_table('notice_preference',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('username', name='pk_notice_preference')
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('delegation_state', sa.String(length=16), nullable=True))



def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('delegation_state')
        batch_op.drop_column('owner')

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_username'))
        batch_op.drop_index(batch_op.f('ix_notice_task_id'))
        batch_op.drop_index(batch_op.f('ix_notice_instance_id'))
        batch_op.drop_index(batch_op.f('ix_notice_delivery'))

    op.drop_table('notice_preference')
    with op.batch_alter_table('task_signer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_signer_status'))
        batch_op.drop_index(batch_op.f('ix_task_signer_username'))
        batch_op.drop_index(batch_op.f('ix_task_signer_instance_id'))
        batch_op.drop_index(batch_op.f('ix_task_signer_task_id'))
    op.drop_table('task_signer')
    op.drop_table('notice')
    with op.batch_alter_table('instance_copy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_copy_username'))
        batch_op.drop_index(batch_op.f('ix_instance_copy_instance_id'))

    op.drop_table('instance_copy')
    with op.batch_alter_table('saved_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_comment_username'))

    op.drop_table('saved_comment')
