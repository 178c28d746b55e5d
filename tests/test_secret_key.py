"""The signing key (issue 12): never a constant. Without SECRET_KEY an installation generates one on its first
start and keeps it (SQLite: a 0600 file beside the database; PostgreSQL: the app_secret table), so separate
processes accept each other's tokens while another installation refuses them; rotation keeps or drops old keys."""
import os
import stat
import subprocess
import sys

import pytest
from servers import ROOT, empty_database, environment
from sqlalchemy import func, select

from app import create_app
from app.models import AppSecret
from app.secret_key import key_file, rotate

PASSWORD = "Admin-Passw0rd"
# One process of an installation: sign in as admin (prints a token) or use a token (prints the status).
SCRIPT = """
import sys
from app import create_app
app = create_app({"DEPLOY_ON_START": False, "SCHEDULER": "off"})
client = app.test_client()
if sys.argv[1] == "login":
    print(client.post("/api/login", json={"username": "admin", "password": sys.argv[2]}).json["token"])
else:
    print(client.get("/api/users", headers={"Authorization": "Bearer " + sys.argv[2]}).status_code)
"""


def run(url, *args):
    env = environment(url, DEMO_DATA=0, ADMIN_PASSWORD=PASSWORD, SCHEDULER="off")
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_processes_of_one_installation_share_its_generated_key_and_others_refuse_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with empty_database(tmp_path) as url:
        token = run(url, "login", PASSWORD)
        assert run(url, "check", token) == "200"  # another process, the same installation
        app = create_app({"DATABASE_URL": url, "TESTING": True, "DEPLOY_ON_START": False, "DEMO_DATA": False,
                          "ADMIN_PASSWORD": PASSWORD})
        db = app.extensions["db"]
        path = key_file(db)
        if path is not None:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert len(path.read_text().split()) == 1
        else:
            with db.Session() as session:
                assert session.scalar(select(func.count(AppSecret.id))) == 1
        assert len(app.config["SECRET_KEY"]) >= 64
        db.dispose()
        other = tmp_path / "other"
        other.mkdir()
        with empty_database(other) as other_url:
            assert run(other_url, "check", token) == "401"  # another installation


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """An app of an empty installation started without SECRET_KEY; called again, a restart of it."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    apps = []
    with empty_database(tmp_path) as url:
        def start():
            app = create_app({"DATABASE_URL": url, "TESTING": True, "DEPLOY_ON_START": False, "DEMO_DATA": False,
                              "ADMIN_PASSWORD": PASSWORD})
            apps.append(app)
            return app
        yield start
        for app in apps:
            app.extensions["db"].dispose()


def token_of(app):
    return app.test_client().post("/api/login", json={"username": "admin", "password": PASSWORD}).json["token"]


def status(app, token):
    return app.test_client().get("/api/users", headers={"Authorization": f"Bearer {token}"}).status_code


def test_rotation_keeps_the_previous_key_until_dropped(fresh_app):
    first = fresh_app()
    old_token = token_of(first)
    assert rotate(first.extensions["db"]) == 1
    second = fresh_app()  # the restart after rotating
    assert second.config["SECRET_KEY"] != first.config["SECRET_KEY"]
    assert second.config["SECRET_KEY_FALLBACKS"] == [first.config["SECRET_KEY"]]
    new_token = token_of(second)
    assert status(second, old_token) == 200 and status(second, new_token) == 200
    assert status(first, new_token) == 401  # signed with a key the old process never knew

    assert rotate(second.extensions["db"], drop_old=True) == 0  # after a leak: only the new key
    third = fresh_app()
    assert third.config["SECRET_KEY_FALLBACKS"] == []
    assert status(third, old_token) == 401 and status(third, new_token) == 401
    assert status(third, token_of(third)) == 200


def test_a_key_from_the_environment_wins_and_is_rotated_there(fresh_app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "old-key-1, old-key-2")
    app = fresh_app()
    assert app.config["SECRET_KEY"] == "k" * 64
    assert sorted(app.config["SECRET_KEY_FALLBACKS"]) == ["old-key-1", "old-key-2"]
    with pytest.raises(RuntimeError, match="SECRET_KEY_FALLBACKS"):
        rotate(app.extensions["db"])
