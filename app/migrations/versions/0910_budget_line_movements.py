"""budget line ledger per line (资金构成); a 统招分签 member's response names its own project (issue 13)

Revision ID: 0910
Revises: 0930
A project is funded by one or more budget lines (``project_fund`` rows); each line is occupied and released
separately, and now every movement is a row of ``budget_line_movement`` (the line's 台账: which project, how
much, why, the occupied amount after it). The data step opens each line's ledger with the occupations it holds
today: one row per fund row of a project that still occupies its lines (审核中、已登记、已结项), in project order,
so a line's ledger adds up to its ``used_amount``.
``unified_response.project_id``: a member unit's response registers its own project with its own funds (立项);
responses given before stay without one.
"""
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


revision = '0910'
down_revision = '0930'
branch_labels = None
depends_on = None
irreversible = None

HOLDING = ("in_review", "registered", "closed")
OPENING = "期初占用（升级迁移）"


def upgrade():
    op.create_table(
        'budget_line_movement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('budget_line_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column('used_after', sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['budget_line_id'], ['budget_line.id'], name='fk_budget_line_movement_budget_line_id'),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name='fk_budget_line_movement_project_id'),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('budget_line_movement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_line_movement_budget_line_id'), ['budget_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_budget_line_movement_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('unified_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_unified_response_project_id', 'project', ['project_id'], ['id'])

    conn = op.get_bind()
    fund = sa.table('project_fund', sa.column('project_id'), sa.column('budget_line_id'), sa.column('amount'),
                    sa.column('id'))
    project = sa.table('project', sa.column('id'), sa.column('status'),
                       sa.column('created_at', sa.DateTime(timezone=True)))
    movement = sa.table('budget_line_movement', sa.column('budget_line_id'), sa.column('project_id'),
                        sa.column('kind'), sa.column('amount', sa.Numeric(16, 2)),
                        sa.column('used_after', sa.Numeric(16, 2)), sa.column('reason'),
                        sa.column('at', sa.DateTime(timezone=True)))
    rows = conn.execute(sa.select(fund.c.budget_line_id, fund.c.project_id, fund.c.amount, project.c.created_at)
                        .join(project, project.c.id == fund.c.project_id)
                        .where(project.c.status.in_(HOLDING)).order_by(fund.c.project_id, fund.c.id)).all()
    used = {}
    for line_id, project_id, amount, created_at in rows:
        amount = Decimal(str(amount))
        used[line_id] = used.get(line_id, Decimal("0")) + amount
        conn.execute(movement.insert().values(budget_line_id=line_id, project_id=project_id, kind="occupy",
                                              amount=amount, used_after=used[line_id], reason=OPENING,
                                              at=created_at))


def downgrade():
    with op.batch_alter_table('unified_response', schema=None) as batch_op:
        batch_op.drop_constraint('fk_unified_response_project_id', type_='foreignkey')
        batch_op.drop_column('project_id')
    with op.batch_alter_table('budget_line_movement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_line_movement_project_id'))
        batch_op.drop_index(batch_op.f('ix_budget_line_movement_budget_line_id'))
    op.drop_table('budget_line_movement')
