"""站内通知 (issue 17): notices when a task arrives, is returned or passes its due date; unread count, mark-as-read;
e-mail through SMTP when configured (a local aiosmtpd server), none by default."""
import socket
from datetime import timedelta

import pytest

from app.engine import notices
from taskops_helpers import deploy_taskops, start_to_review


@pytest.fixture(autouse=True)
def _diagram(app, clock):
    deploy_taskops(app, clock)


def _notices(user, **params):
    return user.ok(user.get("/api/notices", query_string=params))


def test_task_arrival_notifies_its_group_in_its_unit_only(app, login):
    clerk, reviewer, reviewer2 = login("clerk"), login("reviewer"), login("reviewer2")
    before = _notices(reviewer)["unread"]
    instance = start_to_review(clerk)
    mine = _notices(reviewer)
    assert mine["unread"] == before + 1
    top = mine["items"][0]
    assert top["kind"] == "arrived" and top["instance_id"] == instance["id"] and "审核岗审核" in top["title"]
    assert "请于" in top["title"]  # its due date (camunda:dueDate P2D)
    assert all(n["instance_id"] != instance["id"] for n in _notices(reviewer2)["items"])  # another unit
    # the clerk's own 录入 arrived by the clerk's own act: no notice to oneself
    assert all(n["instance_id"] != instance["id"] for n in _notices(clerk)["items"])


def test_rejection_back_to_entry_is_a_return_notice_and_mark_read(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    task = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.complete(task["id"], {"approved": "false", "comment": "金额有误"})
    got = _notices(clerk, unread="true")
    returned = [n for n in got["items"] if n["instance_id"] == instance["id"]]
    assert [n["kind"] for n in returned] == ["returned"] and "退回" in returned[0]["title"]
    done = clerk.ok(clerk.post("/api/notices/read", {"ids": [returned[0]["id"]]}))
    assert done["marked"] == 1 and done["unread"] == got["unread"] - 1
    # one cannot mark another person's notice
    other = _notices(reviewer)["items"][0]["id"]
    assert clerk.ok(clerk.post("/api/notices/read", {"ids": [other]}))["marked"] == 0
    assert clerk.ok(clerk.post("/api/notices/read", {}))["unread"] == 0
    assert clerk.post("/api/notices/read", {"ids": ["x"]}).status_code == 400


def test_overdue_notice_once_after_due_date(app, clock, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    db = app.extensions["db"]
    assert notices.tick(db, app.config, clock()) == 0
    with db.Session() as s, s.begin():
        assert notices.scan_overdue(s, clock()) == 0
    clock.advance(days=2, minutes=1)
    with db.Session() as s, s.begin():
        assert notices.scan_overdue(s, clock()) >= 1
    with db.Session() as s, s.begin():
        assert notices.scan_overdue(s, clock()) == 0  # told once
    overdue = [n for n in _notices(reviewer)["items"] if n["kind"] == "overdue"]
    assert [n["instance_id"] for n in overdue] == [instance["id"]] and "逾期" in overdue[0]["title"]


def test_email_preference_is_validated(app, login):
    clerk = login("clerk")
    bad = clerk.client.put("/api/notices/preference", json={"email": "不是邮箱"}, headers=clerk.headers)
    assert bad.status_code == 400 and "邮箱" in bad.json["message"]
    ok = clerk.client.put("/api/notices/preference", json={"email": "clerk@example.gov.cn"}, headers=clerk.headers)
    assert ok.status_code == 200
    assert clerk.ok(clerk.get("/api/notices/preference"))["email"] == "clerk@example.gov.cn"


def test_default_channel_sends_nothing(app, clock, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    reviewer.client.put("/api/notices/preference", json={"email": "r@example.gov.cn"}, headers=reviewer.headers)
    start_to_review(clerk)
    assert notices.deliver_pending(app.extensions["db"], app.config, clock()) == 0
    from app.models import Notice
    from sqlalchemy import select
    with app.extensions["db"].Session() as s:
        assert set(s.scalars(select(Notice.delivery))) == {"none"}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_smtp_channel_delivers_to_a_local_server(app, clock, login):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    port = _free_port()
    server = aiosmtpd.Controller(Keep(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        clerk, reviewer = login("clerk"), login("reviewer")
        reviewer.client.put("/api/notices/preference", json={"email": "reviewer@example.gov.cn"},
                            headers=reviewer.headers)
        start_to_review(clerk)
        config = {**app.config, "NOTICE_CHANNEL": "smtp", "NOTICE_SMTP_HOST": "127.0.0.1", "NOTICE_SMTP_PORT": port,
                  "NOTICE_SMTP_FROM": "bpm@example.gov.cn"}
        assert notices.deliver_pending(app.extensions["db"], config, clock()) == 1
    finally:
        server.stop()
    assert len(received) == 1
    message = received[0]
    assert message["To"] == "reviewer@example.gov.cn"
    from email.header import decode_header, make_header
    assert "审核岗审核" in str(make_header(decode_header(message["Subject"])))


def test_unknown_channel_is_refused(app, clock):
    with pytest.raises(ValueError, match="NOTICE_CHANNEL"):
        notices.channel_for({"NOTICE_CHANNEL": "pigeon"})


def test_notices_page_badge_and_mark_read(app, login):
    from helpers import Web
    clerk = login("clerk")
    start_to_review(clerk)
    web = Web(app, "reviewer")
    page = web.get("/").data.decode()
    assert 'data-testid="notice-badge"' in page and 'class="notice-count"' in page
    listing = web.get("/notices").data.decode()
    assert "审核岗审核" in listing and "标为已读" in listing
    done = web.post_form("/notices/read")
    assert done.status_code == 302
    assert 'class="notice-count"' not in web.get("/notices").data.decode()
