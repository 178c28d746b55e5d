"""Backup and restore, one command each: a deployment with work in progress and attachments in both stores is backed
up while it runs, wiped, restored from the archive and verified; damaged, truncated or too-new archives and a
non-empty target are refused before anything is written."""
import io
import json
import tarfile

import pytest
from sqlalchemy import inspect, text

from app import create_app
from app.db import Database
from app.manage import main as manage
from app.models import Base
from contract_records import PDF, PNG


def _tables(db):
    """Every row of every table, comparable across a restore."""
    with db.engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(t.select()).all())) for t in Base.metadata.sorted_tables}


def _upload(client, headers, content, name, instance_id):
    response = client.post("/api/attachments", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), name), "instance_id": str(instance_id)})
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.fixture
def deployment(scratch_url, tmp_path, clock, monkeypatch):
    """A running deployment on its own database: demo data, work in progress, one attachment in each store."""
    files = tmp_path / "attachments"
    monkeypatch.setenv("DATABASE_URL", scratch_url)
    monkeypatch.setenv("ATTACHMENTS_DIR", str(files))
    app = create_app({"DATABASE_URL": scratch_url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test",
                      "ATTACHMENTS_DIR": str(files)})
    from app.demo_activity import seed_activity
    seed_activity(app)
    client = app.test_client()
    token = client.post("/api/login", json={"username": "reviewer", "password": "demo"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    instance_id = client.get("/api/tasks", headers=headers).json[0]["instance_id"]
    app.config["ATTACHMENT_STORE"] = "disk"
    on_disk = _upload(client, headers, PDF, "磁盘附件.pdf", instance_id)
    app.config["ATTACHMENT_STORE"] = "database"
    in_db = _upload(client, headers, PNG, "库内附件.png", instance_id)
    app.extensions["db"].dispose()
    return {"url": scratch_url, "files": files, "ids": {on_disk: PDF, in_db: PNG}, "clock": clock}


def test_backup_wipe_restore_verify(deployment, tmp_path, capsys):
    archive = tmp_path / "备份.tar.gz"
    db = Database(deployment["url"])
    before = _tables(db)
    assert manage(["backup", str(archive)]) == 0
    assert "已备份到" in capsys.readouterr().out

    db.drop_all()  # the disk failed: database and files gone
    import shutil
    shutil.rmtree(deployment["files"])
    assert inspect(db.engine).get_table_names() == []

    assert manage(["restore", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "已恢复" in out and "校验通过" in out and "附件 2 个，校验不通过 0 个" in out
    assert _tables(db) == before
    assert manage(["verify"]) == 0

    # The restored service works: the files download, new rows get new ids.
    app = create_app({"DATABASE_URL": deployment["url"], "CLOCK": deployment["clock"], "TESTING": True,
                      "SECRET_KEY": "test", "ATTACHMENTS_DIR": str(deployment["files"])})
    try:
        client = app.test_client()
        token = client.post("/api/login", json={"username": "reviewer", "password": "demo"}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for attachment_id, content in deployment["ids"].items():
            assert client.get(f"/api/attachments/{attachment_id}", headers=headers).data == content
        task = client.get("/api/tasks", headers=headers).json[0]
        new_id = _upload(client, headers, PDF, "恢复后.pdf", task["instance_id"])
        assert new_id > max(deployment["ids"])
        done = client.post(f"/api/tasks/{task['id']}/complete", headers=headers,
                           json={"data": {"approved": "true", "comment": "同意"}})
        assert done.status_code == 200, done.json
    finally:
        app.extensions["db"].dispose()
        db.dispose()


def test_verify_finds_a_damaged_attachment_and_history(deployment, capsys):
    db = Database(deployment["url"])
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE attachment_content SET data = :d"), {"d": b"\x89PNG changed"})
        conn.execute(text("UPDATE history_event SET actor = 'mallory' WHERE id = (SELECT min(id) FROM history_event)"))
    db.dispose()
    assert manage(["verify"]) == 1
    out = capsys.readouterr().out
    assert "与登记的校验值不一致" in out and "历史校验不通过 1 个" in out and "校验未通过" in out


def _repack(archive, target, change):
    """Rewrite ``archive`` member by member into ``target``; ``change(name, data)`` returns new bytes (or the same)."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def _empty_target(url):
    db = Database(url)
    try:
        return inspect(db.engine).get_table_names() == []
    finally:
        db.dispose()


@pytest.fixture
def archived(deployment, tmp_path, capsys):
    archive = tmp_path / "good.tar.gz"
    assert manage(["backup", str(archive)]) == 0
    db = Database(deployment["url"])
    db.drop_all()
    db.dispose()
    capsys.readouterr()
    return archive


def _refused(archive, capsys, *message):
    assert manage(["restore", str(archive)]) == 1
    out = capsys.readouterr().out
    assert "拒绝恢复（目标未作任何改动）" in out
    for part in message:
        assert part in out, out
    return out


def test_a_wrong_checksum_is_refused_before_anything_is_written(archived, deployment, tmp_path, capsys):
    damaged = tmp_path / "damaged.tar.gz"
    _repack(archived, damaged, lambda name, data: data if name == "manifest.json" or not data
            else data[:-1] + bytes([data[-1] ^ 1]) if name.startswith(("database", "tables/attachment_content"))
            else data)
    _refused(damaged, capsys, "校验值不符", "SHA-256")
    assert _empty_target(deployment["url"])


def test_a_truncated_archive_is_refused(archived, deployment, tmp_path, capsys):
    truncated = tmp_path / "truncated.tar.gz"
    data = archived.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    _refused(truncated, capsys, "归档不完整或已损坏（可能被截断）")
    assert _empty_target(deployment["url"])


def test_an_archive_from_a_newer_schema_is_refused(archived, deployment, tmp_path, capsys):
    newer = tmp_path / "newer.tar.gz"

    def bump(name, data):
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "revision": "9999"}).encode()
    _repack(archived, newer, bump)
    _refused(newer, capsys, "归档来自更新的版本（结构版本 9999）")
    assert _empty_target(deployment["url"])


def test_a_foreign_or_reordered_archive_is_refused(archived, tmp_path, capsys):
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as out:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        out.addfile(info, io.BytesIO(b"hi"))
    _refused(plain, capsys, "归档缺少清单")
    _refused(tmp_path / "absent.tar.gz", capsys, "归档文件不存在")


def test_a_non_empty_target_needs_force(deployment, tmp_path, capsys):
    archive = tmp_path / "backup.tar.gz"
    assert manage(["backup", str(archive)]) == 0
    db = Database(deployment["url"])
    with db.engine.begin() as conn:  # a change after the backup
        conn.execute(text("UPDATE unit SET name = '改过的单位' WHERE id = 1"))
    _refused(archive, capsys, "目标数据库不是空库", "--force")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM unit WHERE id = 1")).scalar() == "改过的单位"

    assert manage(["restore", str(archive), "--force"]) == 0
    assert "校验通过" in capsys.readouterr().out
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM unit WHERE id = 1")).scalar() != "改过的单位"
    db.dispose()
