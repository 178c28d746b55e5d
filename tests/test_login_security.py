"""Sign-in throttling (issue 12): per user name and per client address, growing delays, a temporary lock that
an administrator can lift, the same treatment for unknown names, on /api/login, the web login and /engine-rest.
The clock is the app's injected one: tests move it, never sleep, and assert no timing."""
import base64
import json

from helpers import Web

import app.api.signin as signin
import app.models.org as org

OTHER_ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}  # a documentation address (RFC 5737), never contacted


def api_login(app, username, password="demo", environ=None):
    return app.test_client().post("/api/login", json={"username": username, "password": password},
                                  environ_base=environ or {})


def fail(app, username, times, environ=None):
    for _ in range(times):
        response = api_login(app, username, "wrong-password", environ)
        assert response.status_code == 401, response.json
        assert response.json["message"] == "用户名或密码错误"


def test_growing_delays_then_a_success_clears_the_name(app, clock):
    fail(app, "clerk", 4)  # LOGIN_FREE_FAILURES (3) come free; the 4th makes the next attempt wait
    waiting = api_login(app, "clerk")
    assert waiting.status_code == 429 and waiting.json["code"] == "TOO_MANY_ATTEMPTS"
    assert waiting.headers["Retry-After"] == "1" and "秒后再试" in waiting.json["message"]
    clock.advance(seconds=1)
    fail(app, "clerk", 1)
    assert api_login(app, "clerk").headers["Retry-After"] == "2"  # the wait doubles
    clock.advance(seconds=2)
    assert api_login(app, "clerk").status_code == 200
    fail(app, "clerk", 3)  # counting starts again after a success
    assert api_login(app, "clerk").status_code == 200


def lock(app, clock, username, environ=None):
    """Fail until the name is locked (LOGIN_LOCK_FAILURES), waiting out each delay as a patient attacker would."""
    for _ in range(app.config["LOGIN_LOCK_FAILURES"]):
        fail(app, username, 1, environ)
        clock.advance(seconds=app.config["LOGIN_MAX_DELAY_SECONDS"])


def test_a_locked_name_waits_or_an_administrator_unlocks_it(app, clock, login):
    lock(app, clock, "reviewer")
    locked = api_login(app, "reviewer")  # even the right password
    assert locked.status_code == 429 and "已临时锁定" in locked.json["message"] and "联系系统管理员" in locked.json["message"]
    assert int(locked.headers["Retry-After"]) > app.config["LOGIN_MAX_DELAY_SECONDS"]
    assert api_login(app, "reviewer", environ=OTHER_ADDRESS).status_code == 429  # from anywhere

    admin = login("admin")
    throttles = admin.ok(admin.get("/api/login-throttles"))
    row = next(t for t in throttles if t["scope"] == "user" and t["key"] == "reviewer")
    assert row["locked"] and row["failures"] == app.config["LOGIN_LOCK_FAILURES"] and row["locked_until"]
    assert row["retry_after"] == app.config["LOGIN_LOCK_SECONDS"] - app.config["LOGIN_MAX_DELAY_SECONDS"]
    failures = admin.ok(admin.get("/api/login-failures"))
    mine = [f for f in failures if f["username"] == "reviewer"]
    assert len(mine) == app.config["LOGIN_LOCK_FAILURES"] and mine[0]["locked"] and not mine[-1]["locked"]
    assert {f["channel"] for f in mine} == {"api"} and mine[0]["address"] == "127.0.0.1"

    assert login("clerk").get("/api/login-throttles").status_code == 403
    assert login("clerk").client.delete(f"/api/login-throttles/{row['id']}",
                                        headers=login("clerk").headers).status_code == 403
    assert admin.client.delete(f"/api/login-throttles/{row['id']}", headers=admin.headers).status_code == 204
    assert admin.client.delete(f"/api/login-throttles/{row['id']}", headers=admin.headers).status_code == 404
    assert api_login(app, "reviewer").status_code == 200


def test_a_lock_ends_by_itself(app, clock):
    lock(app, clock, "finance")
    assert api_login(app, "finance").status_code == 429
    clock.advance(seconds=app.config["LOGIN_LOCK_SECONDS"])
    assert api_login(app, "finance").status_code == 200


def test_unknown_names_are_refused_exactly_like_known_ones(app, clock, monkeypatch):
    hashed = []
    real = signin.check_password_hash
    monkeypatch.setattr(signin, "check_password_hash", lambda h, p: hashed.append("dummy") or real(h, p))
    real_org = org.check_password_hash
    monkeypatch.setattr(org, "check_password_hash", lambda h, p: hashed.append("user") or real_org(h, p))
    answers = {}
    for name in ("clerk", "no-such-user"):
        hashed.clear()
        first = api_login(app, name, "wrong-password")
        assert hashed in (["user"], ["dummy"])  # one password hash either way: the same work
        fail(app, name, 3)
        answers[name] = (first.status_code, first.json, api_login(app, name).status_code,
                         api_login(app, name).json["message"])
    assert answers["clerk"] == answers["no-such-user"] == (
        401, {"code": "UNAUTHORIZED", "message": "用户名或密码错误"}, 429, "登录失败次数过多，请 1 秒后再试")


def test_names_that_cannot_exist_are_refused_not_crashed(app):
    for name in ("clerk\x00", "\ud800clerk", "x" * 64):
        body = json.dumps({"username": name, "password": "wrong\ud800password"})  # ASCII, \uXXXX escapes
        response = app.test_client().post("/api/login", data=body, content_type="application/json")
        assert response.status_code in (400, 401), response.json
        if response.status_code == 401:
            assert response.json["message"] == "用户名或密码错误"
        else:  # refused by the request guard before sign-in, naming what is wrong
            assert "无效" in response.json["message"] or response.json["message"] == "提交的数据有误，请检查标红的字段"


def test_one_address_guessing_many_names_is_locked_out(app, clock):
    app.config.update(LOGIN_ADDRESS_FREE_FAILURES=2, LOGIN_ADDRESS_LOCK_FAILURES=4)
    for i in range(4):
        fail(app, f"guess{i}", 1, OTHER_ADDRESS)
        clock.advance(seconds=app.config["LOGIN_MAX_DELAY_SECONDS"])
    refused = api_login(app, "clerk", environ=OTHER_ADDRESS)
    assert refused.status_code == 429 and "已临时锁定" in refused.json["message"]
    assert api_login(app, "clerk").status_code == 200  # the same user from another address


def test_an_office_behind_one_address_is_not_locked_by_its_own_logins(app, clock):
    app.config.update(LOGIN_ADDRESS_FREE_FAILURES=1, LOGIN_ADDRESS_LOCK_FAILURES=3)
    for name in ("clerk", "reviewer", "leader", "finance", "clerk", "agency"):
        assert api_login(app, name).status_code == 200  # successes give their count back
    fail(app, "guess", 2, OTHER_ADDRESS)  # the office's address is now slowed down …
    assert api_login(app, "clerk", environ=OTHER_ADDRESS).status_code == 429
    clock.advance(seconds=1)
    assert api_login(app, "clerk", environ=OTHER_ADDRESS).status_code == 200
    # … and a success in between neither counts nor restarts the wait.
    assert api_login(app, "reviewer", environ=OTHER_ADDRESS).status_code == 200


def test_the_web_login_is_throttled_in_chinese(app, clock):
    for _ in range(4):
        assert Web(app).login("clerk", "wrong-password").status_code == 401
    page = Web(app).login("clerk")
    assert page.status_code == 429 and page.headers["Retry-After"] == "1"
    assert "登录失败次数过多，请 1 秒后再试" in page.data.decode()
    clock.advance(seconds=1)
    assert Web(app).login("clerk").status_code == 302


def test_camunda_modeler_basic_auth_is_throttled(app, clock):
    def basic(password):
        token = base64.b64encode(f"analyst:{password}".encode()).decode()
        return app.test_client().get("/engine-rest/deployment", headers={"Authorization": f"Basic {token}"})

    for _ in range(4):
        assert basic("wrong-password").status_code == 401
    refused = basic("demo")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.json["type"] == "AuthenticationException" and "再试" in refused.json["message"]
    clock.advance(seconds=1)
    assert basic("demo").status_code == 200
    assert api_login(app, "analyst", "wrong-password").status_code == 401  # the same counter for every door


def test_the_admin_page_lists_and_unlocks(app, clock):
    lock(app, clock, "clerk2")
    admin = Web(app, "admin")
    page = admin.get("/admin").data.decode()
    assert "登录安全" in page and "clerk2" in page and "已锁定至" in page and "用户名或密码错误" in page
    row = next(line for line in page.splitlines() if "data-throttle=" in line and "clerk2" in line)
    throttle_id = row.split('data-throttle="')[1].split('"')[0]
    assert admin.client.delete(f"/api/login-throttles/{throttle_id}").status_code == 400  # no CSRF header
    # What the page's 解锁 button sends: the session cookie and the CSRF header.
    response = admin.client.delete(f"/api/login-throttles/{throttle_id}", headers={"X-CSRF-Token": admin.token()})
    assert response.status_code == 204
    assert api_login(app, "clerk2").status_code == 200
    assert "clerk2" not in admin.get("/admin").data.decode().split('data-testid="login-throttles"')[1].split("</table>")[0]


def test_old_failures_are_forgotten(app, clock, login):
    fail(app, "clerk", 2)
    clock.advance(seconds=app.config["LOGIN_LOCK_SECONDS"])
    fail(app, "someone", 1)  # any failure clears what is old enough
    admin = login("admin")
    rows = {(t["scope"], t["key"]): t["failures"] for t in admin.ok(admin.get("/api/login-throttles"))}
    assert rows == {("user", "someone"): 1, ("address", "127.0.0.1"): 1}
    assert len(admin.ok(admin.get("/api/login-failures", query_string={"limit": 2}))) == 2  # the log stays


def test_the_shipped_password_hash_stays_strong(monkeypatch):
    """The suite hashes with 1,000 PBKDF2 rounds to stay fast (tests/conftest.py); what app/models/org.py ships is
    read from its source and used once here: 600,000 rounds of PBKDF2-SHA256, and it verifies."""
    import ast
    from pathlib import Path
    tree = ast.parse(Path(org.__file__).read_text(encoding="utf-8"))
    shipped = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", None) == "PASSWORD_METHOD")
    name, digest, rounds = shipped.split(":")
    assert (name, digest) == ("pbkdf2", "sha256") and int(rounds) >= 600000
    monkeypatch.setattr(org, "PASSWORD_METHOD", shipped)
    user = org.User(username="strong", display_name="", active=True, token_generation=0)
    user.set_password("correct horse")
    assert user.password_hash.startswith(f"pbkdf2:sha256:{rounds}$")
    assert user.check_password("correct horse") and not user.check_password("wrong horse")
