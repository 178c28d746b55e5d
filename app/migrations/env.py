"""Alembic environment: runs on the connection ``app.ops.migrate`` hands over (inside its transaction and lock),
or — for the plain ``alembic`` command — on the app's ``DATABASE_URL``. SQLite uses batch mode so later
revisions can alter tables (SQLite's ALTER TABLE cannot drop or retype a column)."""
from alembic import context

from app.models import Base
from app.models.base import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Revisions never import the models: our own column types are written as the SQLAlchemy types they are."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection):
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite", render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("离线（--sql）模式不受支持 / offline mode is not supported: run against a database")
connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from app.ops.migrate import database_url
    from app.db import make_engine
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or database_url())
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
