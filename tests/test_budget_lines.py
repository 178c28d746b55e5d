"""预算指标管理 (issue 13): finance's manual entry and correction, the Excel import (all or nothing, a row report
in Chinese), the template, the audited history, and the page."""
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.models import BudgetLine
from app.models.budget import BudgetLineChange
from helpers import Web

HEADER = ["指标编码", "年度", "单位编码", "指标名称", "资金性质", "指标金额（元）", "状态"]


def xlsx(rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api, data, name="lines.xlsx"):
    return api.client.post("/api/budget-lines/import", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def count(app):
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count(BudgetLine.id)))


def test_template_and_a_good_import_then_the_same_file_again(app, login):
    finance = login("finance")
    template = finance.get("/api/budget-lines/import-template")
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.data)).active
    assert [c.value for c in sheet[1]] == HEADER
    rows = [["2026-350001-101", 2026, "350001", "实验室设备购置", "一般公共预算", 900000, "有效"],
            ["2026-350101-101", 2026, 350101, "校车租赁服务", "政府性基金", 120000.5, None],
            ["2026-350001-001", 2026, "350001", "教学设备购置", "一般公共预算", 5200000, "有效"]]  # an existing line, raised
    done = upload(finance, xlsx(rows))
    assert done.status_code == 200, done.json
    assert done.json == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0}
    again = upload(finance, xlsx(rows))
    assert again.json == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3}
    lines = {b["code"]: b for b in finance.ok(finance.get("/api/budget-lines", query_string={"year": 2026}))}
    assert lines["2026-350101-101"]["fund_type"] == "fund" and lines["2026-350101-101"]["amount"] == "120000.50"
    history = finance.ok(finance.get(f"/api/budget-lines/{lines['2026-350001-001']['id']}/history"))
    assert [(c["source_label"], c["actor"], c["changes"]) for c in history["changes"]] == [
        ("Excel 导入", "finance", {"amount": ["5000000.00", "5200000.00"]})]


def test_a_bad_file_is_refused_whole_with_every_problem(app, login):
    finance = login("finance")
    before = count(app)
    rows = [["2026-350001-201", 2026, "350001", "好的一行", "一般公共预算", 1000, "有效"],
            ["2026-350001-202", 2026, "350001", "负数", "一般公共预算", -5, "有效"],
            ["2026-350001-203", 2026, "350001", "三位小数", "一般公共预算", 1.234, "有效"],
            ["2026-350001-204", 2026, "999999", "未知单位", "一般公共预算", 1000, "有效"],
            ["2026-350001-201", 2026, "350001", "重复编码", "一般公共预算", 1000, "有效"],
            ["2026-350001-205", "二〇二六", "350001", "年度错", "一般公共预算", 1000, "作废"]]
    refused = upload(finance, xlsx(rows))
    assert refused.status_code == 400 and refused.json["code"] == "IMPORT_REFUSED"
    assert "整个文件未导入" in refused.json["message"]
    problems = [(p["row"], p["column"], p["message"]) for p in refused.json["details"]["problems"]]
    assert problems == [(3, "指标金额（元）", "金额必须为非负数"), (4, "指标金额（元）", "金额最多保留两位小数"),
                        (5, "单位编码", "单位编码 999999 不存在"), (6, "指标编码", "与第 2 行重复（2026-350001-201、2026）"),
                        (7, "年度", "年度“二〇二六”不是四位年份")]
    assert count(app) == before  # not even the good first row


def test_wrong_columns_foreign_units_not_an_excel_file_and_50_mb(app, login):
    finance = login("finance")
    wrong = upload(finance, xlsx([["x", 2026, "350001", 1000]], header=["编码", "年度", "单位编码", "金额"]))
    assert wrong.status_code == 400 and "表头与导入模板不一致" in wrong.json["message"]
    messages = {(p["column"], p["message"]) for p in wrong.json["details"]["problems"]}
    assert ("编码", "无法识别的列“编码”，请使用导入模板") in messages
    assert ("指标金额（元）", "缺少必填列“指标金额（元）”，请使用导入模板") in messages
    garbage = upload(finance, b"PK\x03\x04 not really a workbook")
    assert garbage.status_code == 400 and garbage.json["message"] == "文件不是有效的 Excel（.xlsx）文件，未导入"
    huge = upload(finance, b"0" * (50 * 1024 * 1024), "huge.xlsx")
    assert huge.status_code == 400 and "文件过大" in huge.json["message"]
    # finance manages its granted units only; clerk2's unit is granted to finance, a third unit is not
    admin = login("admin")
    unit = admin.ok(admin.post("/api/units", {"code": "350201", "name": "厦门市教育局", "level": "city"}), 201)
    foreign = upload(finance, xlsx([["2026-350201-001", 2026, "350201", "他单位", "一般公共预算", 1, "有效"]]))
    assert foreign.status_code == 400
    assert foreign.json["details"]["problems"][0]["message"] == "不能导入未授权单位的预算指标"
    assert upload(admin, xlsx([["2026-350201-001", 2026, "350201", "他单位", "一般公共预算", 1, "有效"]])).status_code == 200
    assert login("clerk").get("/api/budget-lines").status_code == 403
    assert upload(login("clerk"), xlsx([])).status_code == 403
    assert unit["id"]


def test_manual_entry_correction_and_the_floor_of_what_is_occupied(app, login):
    finance = login("finance")
    body = {"code": "2026-350001-301", "year": 2026, "unit_id": 1, "name": "手工录入", "fund_type": "general",
            "amount": "1000.00"}
    created = finance.client.put("/api/budget-lines", json=body, headers=finance.headers)
    assert created.status_code == 201, created.json
    corrected = finance.client.put("/api/budget-lines", json={**body, "amount": "800.00"}, headers=finance.headers)
    assert corrected.status_code == 200 and corrected.json["changed"]
    with app.extensions["db"].Session() as s, s.begin():
        s.get(BudgetLine, created.json["id"]).used_amount = 500
    below = finance.client.put("/api/budget-lines", json={**body, "amount": "400.00"}, headers=finance.headers)
    assert below.status_code == 409 and below.json["details"]["used_amount"] == "500.00"
    bad = finance.client.put("/api/budget-lines", json={**body, "amount": "1.001"}, headers=finance.headers)
    assert bad.status_code == 400 and bad.json["errors"]["amount"] == ["金额最多保留两位小数"]
    with app.extensions["db"].Session() as s:
        assert [c.action for c in s.scalars(select(BudgetLineChange).where(
            BudgetLineChange.budget_line_id == created.json["id"]).order_by(BudgetLineChange.id))] == ["create", "update"]


def test_budget_lines_page(app, login):
    web = Web(app, "finance")
    page = web.client.get("/budget-lines")
    html = page.data.decode()
    assert page.status_code == 200 and "预算指标管理" in html and "下载导入模板" in html and "2026-350001-001" in html
    token = web.csrf()
    rows = [["2026-350001-401", 2026, "350001", "页面导入", "一般公共预算", -1, "有效"]]
    refused = web.client.post("/budget-lines/import", data={"csrf_token": token,
                                                            "file": (io.BytesIO(xlsx(rows)), "a.xlsx")},
                              content_type="multipart/form-data")
    html = refused.data.decode()
    assert refused.status_code == 400 and "整个文件未导入" in html and "第 2 行" in html and "金额必须为非负数" in html
    rows[0][5] = 100
    done = web.client.post("/budget-lines/import", data={"csrf_token": token, "file": (io.BytesIO(xlsx(rows)), "a.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert done.status_code == 200 and "已导入 1 行" in done.data.decode()
    saved = web.client.post("/budget-lines", data={"csrf_token": token, "code": "2026-350001-402", "year": "2026",
                                                   "unit_id": "1", "name": "页面录入", "fund_type": "general",
                                                   "amount": "300", "status": "active"}, follow_redirects=True)
    assert saved.status_code == 200 and "已保存" in saved.data.decode()
    with app.extensions["db"].Session() as s:
        line = s.scalars(select(BudgetLine).where(BudgetLine.code == "2026-350001-402")).one()
    detail = web.client.get(f"/budget-lines/{line.id}").data.decode()
    assert "变更记录" in detail and "手工录入" in detail and "页面录入" in detail
    assert Web(app, "clerk").client.get("/budget-lines").status_code == 403
    assert "预算指标管理" not in Web(app, "clerk").client.get("/").data.decode()
