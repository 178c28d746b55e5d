"""agency library: 代理机构库 — agencies as organisations with their own users (issue 13)

Revision ID: 0900
Revises: 0950
Adds the ``agency`` table and ``agency_id`` on users (agency staff), on the 委托单 (entrustment), on the tender it
produces and on open tasks (``human_task``: the engine's visibility rule for every diagram).

Data: before this revision an agency was a user in group ``agency`` granted purchaser units. Each such user now
belongs to an agency: users with the same display name (e.g. the demo's 福建省采购中心) share one agency named so;
its kind is 集中采购机构 when the name says 采购中心 or 集中采购, else 社会代理机构. The 统一社会信用代码 is not known
then: a placeholder with a valid check digit (``91000000MA`` + the agency number) is written, which the
administrator replaces on 系统设置 → 代理机构. Migrated users keep their unit grants, so work already under way (its
tasks name no agency) stays with them; entrustments and tenders made before keep no agency (unit rules apply).
"""
from alembic import op
import sqlalchemy as sa


revision = '0900'
down_revision = '0950'
branch_labels = None
depends_on = None
irreversible = None

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _placeholder_code(number):
    first = f"91000000MA{number:07d}"
    remainder = 31 - sum(_ALPHABET.index(c) * w for c, w in zip(first, _WEIGHTS)) % 31
    return first + _ALPHABET[0 if remainder == 31 else remainder]


def upgrade():
    op.create_table(
        'agency',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('credit_code', sa.String(length=18), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('region', sa.String(length=64), nullable=False),
        sa.Column('contact_name', sa.String(length=100), nullable=False),
        sa.Column('contact_phone', sa.String(length=40), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credit_code', name='uq_agency_credit_code'),
    )
    for table in ('app_user', 'entrustment', 'tender', 'human_task'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
            batch_op.create_index(f'ix_{table}_agency_id', ['agency_id'], unique=False)
            batch_op.create_foreign_key(f'fk_{table}_agency_id_agency', 'agency', ['agency_id'], ['id'])

    conn = op.get_bind()
    users = conn.execute(sa.text(
        "SELECT u.id, u.display_name FROM app_user u JOIN user_role r ON r.user_id = u.id "
        "WHERE r.role = 'agency' ORDER BY u.id")).fetchall()
    agencies = {}
    agency = sa.table('agency', sa.column('id', sa.Integer), sa.column('name', sa.String),
                      sa.column('credit_code', sa.String), sa.column('kind', sa.String), sa.column('region', sa.String),
                      sa.column('contact_name', sa.String), sa.column('contact_phone', sa.String),
                      sa.column('active', sa.Boolean))
    for user_id, name in users:
        name = (name or "").strip() or f"代理机构 {user_id}"
        if name not in agencies:
            kind = "central" if ("采购中心" in name or "集中采购" in name) else "social"
            conn.execute(agency.insert().values(name=name, credit_code=_placeholder_code(len(agencies) + 1), kind=kind,
                                                region="", contact_name="", contact_phone="", active=True))
            agencies[name] = conn.execute(sa.text("SELECT id FROM agency WHERE name = :n"), {"n": name}).scalar()
        conn.execute(sa.text("UPDATE app_user SET agency_id = :a WHERE id = :u"), {"a": agencies[name], "u": user_id})


def downgrade():
    for table in ('human_task', 'tender', 'entrustment', 'app_user'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_agency_id_agency', type_='foreignkey')
            batch_op.drop_index(f'ix_{table}_agency_id')
            batch_op.drop_column('agency_id')
    op.drop_table('agency')
