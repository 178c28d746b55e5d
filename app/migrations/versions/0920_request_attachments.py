"""attachments on requests that had a typed 附件 reference: uploaded files instead (issue 15 item 8)

Revision ID: 0920
Revises: 0991
contract_request, import_approval, plan_method_change, single_source_publicity and sme_reservation_report get
``attachments``: the files uploaded in the form, [{attachment_id, name, sha256}] as ``Attachment.resolve`` returns
them. The old ``attachment_ref`` text stays (earlier rows and API callers that still send a reference).
"""
from alembic import op
import sqlalchemy as sa

revision = '0920'
down_revision = '0991'
branch_labels = None
depends_on = None
irreversible = None

TABLES = ('contract_request', 'import_approval', 'plan_method_change', 'single_source_publicity',
          'sme_reservation_report')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('attachments', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('attachments')
