"""Units and users from Excel by the administrator (issue 13): all or nothing with the row report."""
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.models import Unit, User
from helpers import Web

UNITS = ["单位编码", "单位名称", "级次", "区划", "上级单位编码"]
USERS = ["用户名", "姓名", "初始密码", "所属单位编码", "岗位", "授权单位编码"]


def xlsx(header, rows):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api, path, data):
    return api.client.post(path, headers=api.headers, data={"file": (io.BytesIO(data), "f.xlsx")},
                           content_type="multipart/form-data")


def counts(app):
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count(Unit.id))), s.scalar(select(func.count(User.id)))


def test_units_then_users_import_and_sign_in(app, login):
    admin = login("admin")
    template = load_workbook(io.BytesIO(admin.get("/api/units/import-template").data)).active
    assert [c.value for c in template[1]] == UNITS
    units = [["350102", "鼓楼区教育局", "县级", "福州市鼓楼区", "350100"],  # its parent comes later in the file
             ["350100", "福州市本级", "市级", "福州市", None],
             [350103, "台江区教育局", "县级", "福州市台江区", 350100]]
    done = upload(admin, "/api/units/import", xlsx(UNITS, units))
    assert done.status_code == 200, done.json
    assert done.json == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}
    assert upload(admin, "/api/units/import", xlsx(UNITS, units)).json["unchanged"] == 3
    by_code = {u["code"]: u for u in admin.ok(admin.get("/api/units"))}
    assert by_code["350102"]["parent_id"] == by_code["350100"]["id"]
    users = [["gl_clerk", "刘经办", "Init2026pass", "350102", "采购单位经办岗", None],
             ["gl_reviewer", "郑审核", "Init2026pass", "350102", "采购单位审核岗", "350102"],
             ["fz_finance", "何财政", "Init2026pass", None, "财政部门", "350100+"]]
    done = upload(admin, "/api/users/import", xlsx(USERS, users))
    assert done.status_code == 200, done.json
    assert done.json["created"] == 3
    client = app.test_client()
    assert client.post("/api/login", json={"username": "gl_clerk", "password": "Init2026pass"}).status_code == 200
    finance = next(u for u in admin.ok(admin.get("/api/users")) if u["username"] == "fz_finance")
    assert finance["grants"] == [{"unit_id": by_code["350100"]["id"], "include_children": True}]


def test_bad_unit_and_user_files_are_refused_whole(app, login):
    admin = login("admin")
    before = counts(app)
    units = [["350102", "鼓楼区教育局", "区级", None, None],
             ["350103", "台江区教育局", "县级", None, "999999"],
             ["350103", "重复", "县级", None, None],
             ["350104", "好的一行", "县级", None, None]]
    refused = upload(admin, "/api/units/import", xlsx(UNITS, units))
    assert refused.status_code == 400
    assert [(p["row"], p["column"], p["message"]) for p in refused.json["details"]["problems"]] == [
        (2, "级次", "级次应为省级、市级、县级"), (3, "上级单位编码", "上级单位编码 999999 不存在"),
        (4, "单位编码", "与第 3 行重复（350103）")]
    users = [["x", "短名", "Init2026pass", "350001", "采购单位经办岗", None],
             ["new_clerk", "新经办", "", "350001", "采购单位经办岗", None],
             ["bad_role", "岗位错", "Init2026pass", "350001", "局长", None],
             ["weak", "弱密码", "12345678", "350001", "采购单位经办岗", None],
             ["no_unit", "无单位", "Init2026pass", None, "采购单位经办岗", None]]
    refused = upload(admin, "/api/users/import", xlsx(USERS, users))
    assert refused.status_code == 400
    problems = [(p["row"], p["column"]) for p in refused.json["details"]["problems"]]
    assert problems == [(2, "用户名"), (3, "初始密码"), (4, "岗位"), (5, "初始密码"), (6, "所属单位编码")]
    assert "局长" in refused.json["details"]["problems"][2]["message"]
    wrong = upload(admin, "/api/users/import", xlsx(["用户名", "密码"], [["a", "b"]]))
    assert wrong.status_code == 400 and "表头与导入模板不一致" in wrong.json["message"]
    assert counts(app) == before
    assert upload(login("finance"), "/api/units/import", xlsx(UNITS, [])).status_code == 403


def test_org_import_page(app):
    web = Web(app, "admin")
    page = web.client.get("/org-import").data.decode()
    assert "单位与用户导入" in page and "下载单位导入模板" in page and "下载用户导入模板" in page
    token = web.csrf()
    bad = web.client.post("/org-import/units", data={"csrf_token": token, "file": (
        io.BytesIO(xlsx(UNITS, [["350199", "某单位", "乡级", None, None]])), "u.xlsx")}, content_type="multipart/form-data")
    assert bad.status_code == 400 and "第 2 行" in bad.data.decode() and "级次应为省级、市级、县级" in bad.data.decode()
    good = web.client.post("/org-import/units", data={"csrf_token": token, "file": (
        io.BytesIO(xlsx(UNITS, [["350199", "某单位", "县级", None, None]])), "u.xlsx")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert good.status_code == 200 and "单位已导入 1 行" in good.data.decode()
    assert Web(app, "finance").client.get("/org-import").status_code == 403
