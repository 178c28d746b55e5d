"""A database made by the previous release's code: its files are taken from git (``git archive``) into a temporary
directory and run in a subprocess with this virtualenv, seeding the demo data and the demo's work in progress and
uploading one attachment to its disk store. Tests skip (with the reason) where git history is unavailable."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS_RELEASE = "1d03ee7"  # the last commit before migrations (app/schema.py era); baseline revision 0001
BEFORE_MIGRATIONS = True  # its databases have no alembic_version: set False when PREVIOUS_RELEASE moves past it

SCRIPT = r"""
import json, sys
import app
assert app.__file__.startswith(sys.argv[1]), app.__file__  # the old code, not this checkout's
from app import create_app
from app.demo_activity import seed_activity
from app.models import org
org.PASSWORD_METHOD = "pbkdf2:sha256:1000"
application = create_app({"TESTING": True, "SECRET_KEY": "old", "ATTACHMENTS_DIR": sys.argv[2]})
seed_activity(application)
client = application.test_client()
token = client.post("/api/login", json={"username": "reviewer", "password": "demo"}).json["token"]
headers = {"Authorization": f"Bearer {token}"}
instance = {"id": client.get("/api/tasks", headers=headers).json[0]["instance_id"]}
pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
import io
body = client.post("/api/attachments", headers=headers, content_type="multipart/form-data",
                   data={"file": (io.BytesIO(pdf), "旧版附件.pdf"), "instance_id": str(instance["id"])}).json
application.extensions["db"].dispose()
print(json.dumps({"attachment": body, "instance": instance["id"]}))
"""


def checkout(tmp_path):
    """The previous release's app/, bpmn/ and forms/ in a temporary directory, or skip."""
    try:
        found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"git is not available ({exc}): cannot build the previous release's database")
    if found.returncode != 0:
        pytest.skip(f"commit {PREVIOUS_RELEASE} is not in this checkout's git history (shallow clone?)")
    target = tmp_path / "previous-release"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE, "app", "bpmn", "forms"],
                             capture_output=True, check=True, timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True, timeout=120)
    return target


def build(tmp_path, url):
    """Run the previous release on ``url``; returns ({attachment, instance}, its attachments directory)."""
    code = checkout(tmp_path)
    attachments = tmp_path / "previous-attachments"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(code), "SCHEDULER": "off", "DEMO_DATA": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(code), str(attachments)], cwd=code, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), attachments
