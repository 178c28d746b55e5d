"""replay_checkpoint (where the daily verification continues from) and process_instance.search_text (issue 16)

Revision ID: 0940
Revises: 0910
"""
from alembic import op
import sqlalchemy as sa


revision = '0940'
down_revision = '0910'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    op.create_table(
        'replay_checkpoint',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.LargeBinary(), nullable=False),
        sa.Column('state_digest', sa.String(length=64), nullable=False),
        sa.Column('stored_digest', sa.String(length=64), nullable=False),
        sa.Column('context', sa.JSON(), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name='fk_replay_checkpoint_instance_id_process_instance', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', name='pk_replay_checkpoint'),
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    _fill_search_text()


def _fill_search_text():
    """What models/search.py keeps from now on, for the instances already there."""
    import json
    from app.models.search import text_of
    bind = op.get_bind()
    table = sa.table('process_instance', sa.column('id', sa.Integer), sa.column('business_key', sa.String),
                     sa.column('data', sa.JSON), sa.column('search_text', sa.Text))
    last = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, table.c.business_key, table.c.data).where(table.c.id > last)
                            .order_by(table.c.id).limit(1000)).all()
        if not rows:
            return
        for ident, key, data in rows:
            data = json.loads(data) if isinstance(data, str) else data
            bind.execute(table.update().where(table.c.id == ident).values(
                search_text=text_of(key, data if isinstance(data, dict) else {})))
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('search_text')
    op.drop_table('replay_checkpoint')
