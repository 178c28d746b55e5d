"""attachment store: attachment bytes in the database, existing files moved there

Revision ID: 0002
Revises: 0001
Adds ``attachment.store`` (``disk`` for every existing row) and the ``attachment_content`` table. When the
deployment's store is ``database`` (ATTACHMENT_STORE, the default) every existing file under ATTACHMENTS_DIR is
copied into ``attachment_content`` and its row switched to ``database``; a file that is missing stays ``disk``
(``python -m app verify`` reports it). The files on disk are left where they were: delete them once the upgraded
service runs and ``python -m app verify`` passes.
"""
import logging
from pathlib import Path

from alembic import context, op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None
irreversible = "附件内容已移入数据库（attachment_content 表），此前的版本只能从磁盘读取附件，降级会使这些附件丢失"

log = logging.getLogger(__name__)
attachment = sa.table("attachment", sa.column("id", sa.Integer), sa.column("path", sa.String),
                      sa.column("store", sa.String))
content = sa.table("attachment_content", sa.column("attachment_id", sa.Integer), sa.column("data", sa.LargeBinary))


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store', sa.String(length=16), server_default='disk', nullable=False))
    op.create_table('attachment_content',
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ),
    sa.PrimaryKeyConstraint('attachment_id')
    )
    from app.ops import settings
    config = context.config.attributes.get("settings") or {}
    if settings.attachment_store(config) == "database":
        move_files_into_database(settings.attachments_dir(config))


def move_files_into_database(root):
    conn = op.get_bind()
    rows = conn.execute(sa.select(attachment.c.id, attachment.c.path).where(attachment.c.store == "disk")
                        .order_by(attachment.c.id)).all()
    moved = 0
    for ident, path in rows:
        file = Path(root) / path
        if not file.is_file():
            log.warning("attachment %s: %s is missing; left in the disk store", ident, file)
            continue
        conn.execute(content.insert().values(attachment_id=ident, data=file.read_bytes()))
        conn.execute(attachment.update().where(attachment.c.id == ident).values(store="database"))
        moved += 1
    if rows:
        log.warning("moved %d of %d attachment file(s) from %s into the database", moved, len(rows), root)


def downgrade():
    raise RuntimeError(irreversible)
