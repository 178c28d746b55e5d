"""Schema migrations (Alembic): the revisions build exactly the models; start-up at head costs one query; a database
the previous release made is recognised, stamped and upgraded with its records and histories intact; a downgrade
past an irreversible data migration is refused, naming it, before anything changes."""
import hashlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, select, text

import previous_release
from app import create_app
from app.db import Database
from app.manage import main as manage
from app.models import Base, trigram
from app.ops import migrate


def test_the_revisions_build_exactly_the_models(app):
    """The test database was made by the migrations alone: nothing differs from the models (tables, columns, types,
    indexes, constraints). A model change without its revision fails here. The trigram indexes exist only on
    PostgreSQL with pg_trgm (app/models/trigram.py): elsewhere their absence is no difference."""
    db = app.extensions["db"]
    with db.engine.connect() as conn:
        def include(item, name, type_, reflected, _compare_to):
            return not trigram.absent_here(item, name, type_, reflected, conn)
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        assert compare_metadata(context, Base.metadata) == []
    assert migrate.current(db) == migrate.head()


def test_one_head_and_every_revision_says_whether_it_can_be_undone():
    scripts = list(migrate.scripts().walk_revisions())
    assert len(migrate.scripts().get_heads()) == 1
    assert scripts[-1].revision == migrate.BASELINE and scripts[-1].down_revision is None
    for script in scripts:
        assert hasattr(script.module, "irreversible"), script.revision


def test_start_up_at_head_costs_one_query(app):
    db = app.extensions["db"]
    statements = []

    def record(conn, cursor, statement, *args):
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            statements.append(statement)
    for engine in {db.engine, db.read_engine}:
        event.listen(engine, "before_cursor_execute", record)
    try:
        assert db.create_all(app.config) == []
    finally:
        for engine in {db.engine, db.read_engine}:
            event.remove(engine, "before_cursor_execute", record)
    assert statements == ["SELECT version_num FROM alembic_version"]


def _row_counts(db, tables):
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}


def test_a_database_of_the_previous_release_is_upgraded_with_its_data(scratch_url, tmp_path, clock):
    made, old_files = previous_release.build(tmp_path, scratch_url)
    db = Database(scratch_url)
    with db.engine.connect() as conn:
        assert inspect(conn).has_table("alembic_version") != previous_release.BEFORE_MIGRATIONS
    tables = sorted(migrate.baseline_columns())
    before = _row_counts(db, tables)
    assert before["process_instance"] > 0 and before["history_event"] > 0 and before["attachment"] == 1

    upgraded = create_app({"DATABASE_URL": scratch_url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test",
                           "ATTACHMENTS_DIR": str(old_files), "DEPLOY_ON_START": False})
    try:
        assert migrate.current(db) == migrate.head()
        # Every record is still there and nothing is added: the thresholds are the DMN decision ``thresholds`` now
        # (bpmn/thresholds.dmn); the former table stays as history.
        assert _row_counts(db, tables) == before

        from app.engine import audit
        from app.models import Attachment, AttachmentContent, ProcessInstance
        with audit.readonly_session(db) as session:
            for instance in session.scalars(select(ProcessInstance)):
                result = audit.verify(session, instance)
                assert result["ok"], (instance.id, result)
            row = session.get(Attachment, made["attachment"]["id"])
            assert row.store == "database"  # moved by revision 0002 into the default store
            data = session.get(AttachmentContent, row.id).data
            assert hashlib.sha256(data).hexdigest() == row.sha256 == made["attachment"]["sha256"]
            attachment_id = row.id

        # The service works on it: the attachment downloads, the reviewer completes the next task.
        client = upgraded.test_client()
        token = client.post("/api/login", json={"username": "reviewer", "password": "demo"}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/api/attachments/{attachment_id}", headers=headers).data == data
        task = client.get("/api/tasks", headers=headers).json[0]
        done = client.post(f"/api/tasks/{task['id']}/complete", headers=headers,
                           json={"data": {"approved": "true", "comment": "同意"}})
        assert done.status_code == 200, done.json
        history = client.get(f"/api/instances/{task['instance_id']}/history", headers=headers).json
        assert history[-1]["request_id"] and all(e.get("request_id") is None for e in history[:2])
        assert client.get(f"/api/instances/{task['instance_id']}/verify", headers=headers).json["ok"]
    finally:
        upgraded.extensions["db"].dispose()
        db.dispose()


def test_a_database_made_from_the_models_is_stamped_at_head(scratch_url):
    db = Database(scratch_url)
    Base.metadata.create_all(db.engine)
    try:
        assert migrate.current(db) is None
        assert db.create_all() == []
        assert migrate.current(db) == migrate.head()
    finally:
        db.dispose()


def test_an_unknown_database_is_refused_naming_what_is_missing(scratch_url):
    db = Database(scratch_url)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE unit (id INTEGER PRIMARY KEY, name VARCHAR(10))"))
    try:
        with pytest.raises(migrate.MigrationError, match="不是上一版本建立的库.*app_user"):
            db.create_all()
        with db.engine.connect() as conn:  # nothing was created or stamped
            assert inspect(conn).get_table_names() == ["unit"]
    finally:
        db.dispose()


def test_downgrade_one_step_then_refused_at_the_irreversible_data_migration(scratch_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    assert manage(["db", "upgrade", "0003"]) == 0
    db = Database(scratch_url)
    try:
        assert migrate.current(db) == "0003"
        assert manage(["db", "downgrade", "-1"]) == 0
        assert migrate.current(db) == "0002"
        with db.engine.connect() as conn:
            assert not inspect(conn).has_table("scheduler_heartbeat")
            assert "request_id" not in {c["name"] for c in inspect(conn).get_columns("history_event")}
        capsys.readouterr()

        assert manage(["db", "downgrade", "base"]) == 1
        refused = capsys.readouterr().err
        assert "版本 0002（attachment store" in refused and "数据迁移不可逆" in refused
        assert migrate.current(db) == "0002"  # nothing changed
        with db.engine.connect() as conn:
            assert inspect(conn).has_table("attachment_content")

        assert manage(["db", "upgrade"]) == 0
        assert migrate.current(db) == migrate.head()
        assert manage(["db", "current"]) == 0 and "（最新）" in capsys.readouterr().out
        assert manage(["db", "history"]) == 0
        out = capsys.readouterr().out
        assert "0001 -> 0002" in out and "不可逆" in out and "base -> 0001" in out
    finally:
        db.dispose()


def test_downgrade_to_an_unknown_revision_is_refused(scratch_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    assert manage(["db", "upgrade"]) == 0
    assert manage(["db", "downgrade", "9999"]) == 1
    assert "未知的结构版本“9999”" in capsys.readouterr().err


def test_two_processes_upgrading_one_empty_database_at_once_both_succeed(scratch_url):
    """Workers starting together: one upgrades under the lock, the other then finds the schema at head."""
    import os
    import subprocess
    import sys
    env = {**os.environ, "DATABASE_URL": scratch_url}
    processes = [subprocess.Popen([sys.executable, "-m", "app", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    assert said[0].startswith("已升级：0001, 0002, 0003") and said[1].startswith("已是目标版本"), said
    db = Database(scratch_url)
    try:
        assert migrate.current(db) == migrate.head()
    finally:
        db.dispose()
