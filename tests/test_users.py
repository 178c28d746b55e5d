"""系统管理员: users, roles, units; passwords by policy, hashed; deactivation and password changes end sessions."""


def put(user, path, body, method="post"):
    return getattr(user.client, method)(path, headers=user.headers, json=body)


def _first_sign_in(app, username, password, new_password):
    """A password the administrator chose: the API refuses everything but 修改密码 and 退出 until it is changed;
    returns a token of the new password."""
    client = app.test_client()
    signed_in = client.post("/api/login", json={"username": username, "password": password}).json
    assert signed_in["user"]["must_change_password"] is True
    headers = {"Authorization": f"Bearer {signed_in['token']}"}
    for response in (client.get("/api/tasks", headers=headers),
                     client.post("/api/processes/project_registration/instances", headers=headers, json={"data": {}}),
                     client.get("/engine-rest/process-definition", headers=headers)):
        assert response.status_code == 403, response.json
        assert "请先修改密码" in str(response.json.get("message")), response.json
    changed = client.post("/api/me/password", headers=headers,
                          json={"old_password": password, "new_password": new_password})
    assert changed.status_code == 204, changed.json
    again = client.post("/api/login", json={"username": username, "password": new_password}).json
    assert again["user"]["must_change_password"] is False
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {again['token']}"}).status_code == 200
    return again["token"]


NEW = {"username": "Clerk3", "display_name": "黄经办", "password": "Caigou2026", "unit_id": 2, "roles": ["clerk"]}


def test_the_administrator_adds_a_clerk_who_works_in_the_granted_unit(app, login):
    from helpers import PROJECT
    admin = login("admin")
    for user in ("clerk", "auditor"):
        response = put(login(user), "/api/users", NEW)
        assert response.status_code == 403 and response.json["message"] == "只有系统管理员可以管理用户和单位"
    bad = put(admin, "/api/users", {"username": "x", "display_name": "", "password": "short", "roles": ["boss"]})
    assert bad.status_code == 400 and set(bad.json["errors"]) == {"display_name", "roles"}
    weak = put(admin, "/api/users", {**NEW, "password": "abcdefgh"})
    assert weak.json["errors"] == {"password": ["密码至少 8 位，且须同时包含字母和数字"]}
    assert put(admin, "/api/users", {**NEW, "username": "a!"}).json["errors"]["username"][0].startswith("用户名为")
    homeless = put(admin, "/api/users", {**NEW, "unit_id": None})
    assert homeless.json["errors"] == {"unit_id": ["经办岗、审核岗和需求领导须指定所属单位"]}

    added = put(admin, "/api/users", NEW)
    assert added.status_code == 201, added.json
    user = added.json
    assert user["username"] == "clerk3" and user["groups"] == ["clerk"] and user["active"] is True
    assert user["grants"] == [{"unit_id": 2, "include_children": False}] and "password" not in user
    assert put(admin, "/api/users", NEW).status_code == 409  # the user name is taken

    token = _first_sign_in(app, "clerk3", "Caigou2026", "Caigou2027")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    started = client.post("/api/processes/project_registration/instances", headers=headers,
                          json={"data": {**PROJECT, "budget_line_id": 4, "amount": 300000, "region": "福州市"}})
    assert started.status_code == 201, started.json  # a clerk of 福州市教育局: its budget line
    assert client.get("/api/units", headers=headers).json == [
        {"id": 2, "code": "350101", "name": "福州市教育局", "level": "city", "level_label": "市级", "region": "福州市",
         "parent_id": None}]

    # 停用: the token stops working at once, and signing in is refused.
    done = put(admin, f"/api/users/{user['id']}", {"active": False}, "patch")
    assert done.status_code == 200 and done.json["active"] is False
    assert client.get("/api/tasks", headers=headers).status_code == 401
    assert app.test_client().post("/api/login", json={"username": "clerk3", "password": "Caigou2027"}).status_code == 401
    # 启用 and 重置密码.
    put(admin, f"/api/users/{user['id']}", {"active": True, "password": "Xin2026mima"}, "patch")
    assert app.test_client().post("/api/login", json={"username": "clerk3", "password": "Xin2026mima"}).status_code == 200
    # The administrator cannot lock themselves out.
    me = next(u for u in admin.ok(admin.get("/api/users")) if u["username"] == "admin")
    assert put(admin, f"/api/users/{me['id']}", {"active": False}, "patch").json["code"] == "SELF_LOCKOUT"
    assert put(admin, f"/api/users/{me['id']}", {"roles": ["auditor"]}, "patch").json["code"] == "SELF_LOCKOUT"
    assert put(admin, "/api/users/9999", {"active": False}, "patch").status_code == 404


def test_everyone_changes_their_own_password_and_signs_in_again(app, login):
    clerk = login("clerk")
    wrong = put(clerk, "/api/me/password", {"old_password": "nope", "new_password": "Zhang2026x"})
    assert wrong.status_code == 400 and wrong.json["errors"] == {"old_password": ["原密码不正确"]}
    same = put(clerk, "/api/me/password", {"old_password": "demo", "new_password": "clerk"})
    assert same.status_code == 400 and "password" in same.json["errors"]
    assert put(clerk, "/api/me/password", {"old_password": "demo", "new_password": "Zhang2026x"}).status_code == 204
    assert clerk.get("/api/tasks").status_code == 401  # the old token ended with the old password
    assert app.test_client().post("/api/login", json={"username": "clerk", "password": "Zhang2026x"}).status_code == 200


def test_units_form_a_tree_without_cycles(login):
    admin = login("admin")
    county = put(admin, "/api/units", {"code": "350121", "name": "闽侯县教育局", "level": "county", "region": "福州市闽侯县",
                                       "parent_id": 2})
    assert county.status_code == 201 and county.json["parent_id"] == 2
    assert put(admin, "/api/units", {"code": "350121", "name": "重复", "level": "county"}).status_code == 409
    bad = put(admin, "/api/units", {"code": "", "name": "x", "level": "village"})
    assert bad.status_code == 400 and set(bad.json["errors"]) == {"code", "level"}
    cycle = put(admin, "/api/units/2", {"parent_id": county.json["id"]}, "patch")
    assert cycle.status_code == 400 and cycle.json["errors"] == {"parent_id": ["上级单位不能是本单位或其下级单位"]}
    # A grant with its children reaches the new county unit.
    reviewer2 = next(u for u in admin.ok(admin.get("/api/users")) if u["username"] == "reviewer2")
    put(admin, f"/api/users/{reviewer2['id']}", {"grants": [{"unit_id": 2, "include_children": True}]}, "patch")
    assert [u["id"] for u in login("reviewer2").ok(login("reviewer2").get("/api/units"))] == [2, county.json["id"]]


def test_a_real_deployment_starts_with_one_administrator(tmp_path, clock):
    import pytest
    from app import create_app
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    with pytest.raises(RuntimeError, match="ADMIN_PASSWORD"):
        create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "DEMO_DATA": False})
    with pytest.raises(Exception, match="密码至少 8 位"):
        create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "DEMO_DATA": False, "ADMIN_PASSWORD": "x"})
    app = create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "DEMO_DATA": False,
                      "ADMIN_PASSWORD": "Start2026admin"})
    try:
        client = app.test_client()
        assert client.post("/api/login", json={"username": "clerk", "password": "demo"}).status_code == 401
        token = client.post("/api/login", json={"username": "admin", "password": "Start2026admin"}).json["token"]
        users = client.get("/api/users", headers={"Authorization": f"Bearer {token}"}).json
        assert [(u["username"], u["groups"]) for u in users] == [("admin", ["admin"])]
    finally:
        app.extensions["db"].dispose()


def test_a_reset_password_blocks_the_api_until_changed_but_signing_out_works(app, login):
    admin = login("admin")
    clerk = next(u for u in admin.ok(admin.get("/api/users")) if u["username"] == "clerk")
    assert put(admin, f"/api/users/{clerk['id']}", {"password": "Chongzhi2026"}, "patch").status_code == 200
    client = app.test_client()
    token = client.post("/api/login", json={"username": "clerk", "password": "Chongzhi2026"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.get("/api/units", headers=headers)
    assert refused.status_code == 403 and refused.json["message"].startswith("首次登录或密码已被管理员重置，请先修改密码")
    assert client.post("/api/logout", headers=headers).status_code == 204
    assert client.get("/api/tasks", headers=headers).status_code == 401
    _first_sign_in(app, "clerk", "Chongzhi2026", "Zhang2026x")
