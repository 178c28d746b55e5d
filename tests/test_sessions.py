"""Server-side sessions (issue 12): 退出 and POST /api/logout end the session for every copy of the cookie or
token; expiry, a password change and deactivation end it too; the table never holds a usable session id."""
from datetime import timedelta

from helpers import Web

from app.models import AuthSession, User


def copied_cookie(web):
    """The browser's session cookie, as someone who copied it would replay it."""
    return web.client.get_cookie("session").value


def replay(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def test_a_copied_cookie_is_refused_after_logout(app):
    web = Web(app, "clerk")
    cookie = copied_cookie(web)
    assert replay(app, cookie).get("/").status_code == 200
    assert replay(app, cookie).get("/api/tasks").status_code == 200
    logout = web.post_form("/logout")
    assert logout.status_code == 302 and logout.headers["Location"] == "/login"
    page = replay(app, cookie).get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert replay(app, cookie).get("/api/tasks").status_code == 401
    assert web.get("/").status_code == 302


def test_logout_ends_only_that_session(app):
    first, second = Web(app, "clerk"), Web(app, "clerk")
    first.post_form("/logout")
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 200


def test_api_logout_ends_the_token(app, login):
    clerk = login("clerk")
    other = Web(app, "clerk")
    assert clerk.get("/api/tasks").status_code == 200
    assert clerk.post("/api/logout").status_code == 204
    refused = clerk.get("/api/tasks")
    assert refused.status_code == 401 and refused.json["message"] == "登录凭证无效或已退出，请重新登录"
    assert clerk.post("/api/logout").status_code == 401
    assert other.get("/").status_code == 200  # the browser session of the same user goes on
    assert app.test_client().post("/api/logout").status_code == 401


def test_api_logout_with_the_cookie_ends_the_web_session(app):
    web = Web(app, "clerk")
    cookie = copied_cookie(web)
    assert web.client.post("/api/logout").status_code == 400  # a cookie write needs the CSRF header
    assert web.client.post("/api/logout", headers={"X-CSRF-Token": web.token()}).status_code == 204
    assert replay(app, cookie).get("/").status_code == 302


def test_sessions_and_tokens_expire(app, clock, login):
    app.config["TOKEN_TTL_SECONDS"] = 8 * 3600  # the default (the suite's app lets sessions outlive its tests)
    web, clerk = Web(app, "clerk"), login("clerk")
    clock.advance(seconds=app.config["TOKEN_TTL_SECONDS"] - 60)
    assert web.get("/").status_code == 200 and clerk.get("/api/tasks").status_code == 200
    clock.advance(seconds=60)
    assert web.get("/").status_code == 302 and clerk.get("/api/tasks").status_code == 401
    Web(app, "reviewer")  # a new sign-in clears expired rows
    with app.extensions["db"].Session() as session:
        assert session.query(AuthSession).filter(AuthSession.expires_at <= clock()).count() == 0


def test_password_change_and_deactivation_end_sessions_and_tokens(app, login):
    web, token = Web(app, "clerk"), login("clerk")
    assert token.post("/api/me/password", {"old_password": "demo", "new_password": "NewPassw0rd"}).status_code == 204
    assert web.get("/").status_code == 302 and token.get("/api/tasks").status_code == 401
    web, token = Web(app, "reviewer"), login("reviewer")
    admin = login("admin")
    with app.extensions["db"].Session() as session:
        reviewer_id = session.query(User).filter_by(username="reviewer").one().id
    assert admin.client.patch(f"/api/users/{reviewer_id}", json={"active": False}, headers=admin.headers).status_code == 200
    assert web.get("/").status_code == 302 and token.get("/api/tasks").status_code == 401


def test_the_table_keeps_no_usable_session_id(app):
    web = Web(app, "clerk")
    with web.client.session_transaction() as cookie:
        sid = cookie["sid"]
    with app.extensions["db"].Session() as session:
        digests = [row.digest for row in session.query(AuthSession)]
        row = session.query(AuthSession).filter(AuthSession.kind == "web").one()
    assert sid not in digests and len(row.digest) == 64
    assert row.expires_at - row.created_at == timedelta(seconds=app.config["TOKEN_TTL_SECONDS"])
