"""thresholds per region: the 004 §3 transaction threshold is 柳江区's rule; SME reservation rows (issue 13)

Revision ID: 0110
Revises: 0700
Data only. The seeded transaction-system thresholds (region * = every region, source 004 §3) become the 柳江
district's rows, so a Fujian unit is judged by its own 分散采购限额; rows an administrator set are kept. The SME
reservation rows (sme_whole / sme_share) are written at start-up by ``seed_defaults`` like every missing default.
"""
from alembic import op
import sqlalchemy as sa


revision = '0110'
down_revision = '0700'
branch_labels = None
depends_on = None
# A data migration that cannot be undone sets this to why (Chinese); `python -m app db downgrade` then refuses
# to go below this revision, naming it, before anything is changed.
irreversible = None

threshold = sa.table('threshold', sa.column('kind', sa.String), sa.column('region', sa.String),
                     sa.column('source', sa.String), sa.column('updated_by', sa.String))


def upgrade():
    op.execute(threshold.update().where(
        threshold.c.kind == 'transaction', threshold.c.region == '*', threshold.c.source == '004 §3',
        threshold.c.updated_by.is_(None)).values(region='柳江', source='004 §3 柳江区'))


def downgrade():
    # The previous release knows neither the SME kinds nor a regional transaction rule.
    op.execute(threshold.delete().where(threshold.c.kind.in_(('sme_whole', 'sme_share'))))
    op.execute(threshold.update().where(
        threshold.c.kind == 'transaction', threshold.c.region == '柳江', threshold.c.source == '004 §3 柳江区')
        .values(region='*', source='004 §3'))
