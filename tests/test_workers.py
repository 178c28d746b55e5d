"""Two service processes on one database, each with its own instance directory (no shared disk), as on two
machines: an attachment uploaded through one downloads through the other, and /metrics of either counts the
requests of both (prometheus-client's multi-process mode, PROMETHEUS_MULTIPROC_DIR)."""
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from contract_records import PDF

SERVE = r"""
import sys
from werkzeug.serving import make_server
from app import create_app
app = create_app({"SECRET_KEY": "two-workers", "ATTACHMENTS_DIR": sys.argv[1]})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def workers(app, tmp_path):
    """Start two workers on the test's database; yields their base URLs."""
    url = app.config["DATABASE_URL"]
    app.extensions["db"].dispose()
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    env = {**os.environ, "DATABASE_URL": url, "SCHEDULER": "off", "PROMETHEUS_MULTIPROC_DIR": str(metrics),
           "ATTACHMENT_STORE": "database", "LOG_FORMAT": "json"}
    processes, bases = [], []
    try:
        for name in ("worker-a", "worker-b"):
            own = tmp_path / name / "attachments"  # each its own disk: nothing shared but the database
            process = subprocess.Popen([sys.executable, "-c", SERVE, str(own)], env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
            processes.append(process)
            port = process.stdout.readline().strip()
            assert port.isdigit(), process.stderr.read()[-3000:]
            bases.append(f"http://127.0.0.1:{port}")
        yield bases
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
            process.stdout.close()
            process.stderr.close()


def call(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def login(base, username):
    status, _, body = call("POST", f"{base}/api/login", json.dumps({"username": username, "password": "demo"}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['token']}"}


def multipart(fields, filename, content):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode("utf-8") + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_an_attachment_uploaded_through_one_worker_downloads_through_the_other(workers):
    first, second = workers
    headers_a, headers_b = login(first, "reviewer"), login(second, "reviewer")
    body, content_type = multipart({"record_type": "budget_line", "record_id": 1}, "跨机附件.pdf", PDF)
    status, headers, uploaded = call("POST", f"{first}/api/attachments", body,
                                     {**headers_a, "Content-Type": content_type})
    assert status == 201, uploaded
    attachment = json.loads(uploaded)
    assert headers["X-Request-Id"]

    status, headers, downloaded = call("GET", f"{second}/api/attachments/{attachment['id']}", headers=headers_b)
    assert status == 200 and downloaded == PDF
    assert headers["X-Content-SHA256"] == hashlib.sha256(PDF).hexdigest() == attachment["sha256"]

    # Either worker's /metrics sums both workers' counters.
    status, _, text = call("GET", f"{second}/metrics")
    assert status == 200
    upload_line = 'bpm_http_requests_total{method="POST",route="/api/attachments",status="201"} 1.0'
    download_line = ('bpm_http_requests_total{method="GET",route="/api/attachments/<int:attachment_id>",'
                     'status="200"} 1.0')
    assert upload_line in text.decode() and download_line in text.decode()
