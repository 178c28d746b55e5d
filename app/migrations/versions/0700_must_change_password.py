"""app_user.must_change_password: a password an administrator chose is changed at the first web sign-in (issue 15)

Revision ID: 0700
Revises: 0101
Existing users keep signing in as before (false); new users and administrator resets set it.
"""
from alembic import op
import sqlalchemy as sa

revision = '0700'
down_revision = '0101'
branch_labels = None
depends_on = None
irreversible = None


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
