"""integration_client.key_expires_at: an API key expires (issue 13)

Revision ID: 0990
Revises: 0800
Keys issued before this revision expire a year after they were issued (the new default), so no key lives forever.
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

revision = '0990'
down_revision = '0800'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_expires_at', sa.DateTime(timezone=True), nullable=True))
    table = sa.table('integration_client', sa.column('id', sa.Integer), sa.column('key_issued_at', sa.DateTime),
                     sa.column('key_expires_at', sa.DateTime))
    connection = op.get_bind()
    for row in connection.execute(sa.select(table.c.id, table.c.key_issued_at)).all():
        if row.key_issued_at is not None:
            connection.execute(table.update().where(table.c.id == row.id)
                               .values(key_expires_at=row.key_issued_at + timedelta(days=365)))


def downgrade():
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.drop_column('key_expires_at')
