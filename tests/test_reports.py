"""报表服务 (seed 001 §11.2): 政府采购资金情况表 and 单位采购合同信息统计 match the seeded records exactly, as JSON and as
Excel (cells read back with openpyxl); by month and method; only the caller's units."""
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.models import Contract, Plan, Project

D = Decimal


@pytest.fixture
def seeded(app):
    """Projects, plans and contracts with known amounts in both demo units (ids 1 福建省教育厅, 2 福州市教育局)."""
    with app.extensions["db"].Session() as s, s.begin():
        projects = {}
        for key, unit, category in (("p1", 1, "goods"), ("p2", 1, "services"), ("p3", 2, "goods"), ("p4", 1, "works"),
                                    ("p5", 2, "services")):
            projects[key] = Project(number=f"XM-{key}", name=f"项目{key}", unit_id=unit, year=2026, category=category,
                                    amount=D("5000000"), status="registered")
            s.add(projects[key])
        s.flush()

        def plan(key, project, method, amount, status, year=2026):
            p = Plan(number=f"JH-{key}", name=f"计划{key}", unit_id=project.unit_id, year=year, plan_type="project",
                     project_id=project.id, category=project.category, method=method, amount=D(amount), status=status)
            s.add(p)
            s.flush()
            return p

        def contract(key, p, amount, paid, status, signed):
            s.add(Contract(number=f"HT-{key}", unit_id=p.unit_id, plan_id=p.id, project_id=p.project_id,
                           name=f"合同{key}", amount=D(amount), paid_amount=D(paid), status=status,
                           signed_date=signed))

        a = plan("A", projects["p1"], "open_tender", "500000.00", "used")
        contract("C1", a, "480000.00", "100000.00", "filed", date(2026, 3, 15))
        contract("C2", a, "10000.00", "0", "in_review", date(2026, 3, 16))  # not filed: not counted
        plan("B", projects["p1"], "open_tender", "300000.00", "filed")
        c = plan("C", projects["p2"], "inquiry", "120000.50", "used")
        contract("C3", c, "118000.25", "118000.25", "fulfilled", date(2026, 5, 2))
        d = plan("D", projects["p3"], "open_tender", "200000.00", "used")
        contract("C4", d, "190000.00", "50000.00", "terminated", date(2026, 3, 20))
        plan("E", projects["p4"], "single_source", "900000.00", "revoked")  # not live: not counted
        f = plan("F", projects["p1"], "open_tender", "100000.00", "used", year=2025)
        contract("C5", f, "90000.00", "0", "filed", date(2025, 12, 30))  # another year
        g = plan("G", projects["p5"], "consultation", "80000.00", "used")
        contract("C6", g, "79000.00", "0", "filed", date(2027, 1, 5))  # plan of 2026, signed in 2027
    return True


FUNDS = [
    ["福建省教育厅", "货物", "公开招标", 2, D("800000.00"), 1, D("480000.00"), D("20000.00"), D("100000.00")],
    ["福建省教育厅", "服务", "询价", 1, D("120000.50"), 1, D("118000.25"), D("2000.25"), D("118000.25")],
    ["福州市教育局", "货物", "公开招标", 1, D("200000.00"), 1, D("190000.00"), D("10000.00"), D("50000.00")],
    ["福州市教育局", "服务", "竞争性磋商", 1, D("80000.00"), 1, D("79000.00"), D("1000.00"), D("0.00")],
]
FUNDS_TOTAL = ["合计", "", "", 5, D("1200000.50"), 4, D("867000.25"), D("33000.25"), D("268000.25")]
CONTRACTS = [
    ["福建省教育厅", 2, D("598000.25"), D("480000.00"), D("118000.25"), D("0.00"), D("218000.25"), D("380000.00"), 1, 0],
    ["福州市教育局", 1, D("190000.00"), D("190000.00"), D("0.00"), D("0.00"), D("50000.00"), D("140000.00"), 0, 1],
]
CONTRACTS_TOTAL = ["合计", 3, D("788000.25"), D("670000.00"), D("118000.25"), D("0.00"), D("268000.25"),
                   D("520000.00"), 1, 1]


def json_rows(table):
    """Rows as lists in column order, money back to Decimal."""
    keys = [c["key"] for c in table["columns"]]

    def value(v):
        return D(v) if isinstance(v, str) and v.replace(".", "", 1).isdigit() and "." in v else v
    return [[value(row.get(k, "")) for k in keys] for row in table["rows"]], \
        [value(table["total"].get(k, "")) for k in keys]


def xlsx_rows(response):
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(BytesIO(response.data)).active

    def value(v):
        if isinstance(v, float):
            return D(str(v)).quantize(D("0.01"))
        if v is None:
            return ""
        return v
    rows = [[value(c.value) for c in row] for row in ws.iter_rows(min_row=4)]
    money_format = [c.number_format for c in list(ws.iter_rows(min_row=4))[0]]
    return ws, rows[:-1], rows[-1], money_format


def test_funds_table_matches_the_records(seeded, login):
    auditor = login("auditor")
    table = auditor.ok(auditor.get("/api/reports/funds", query_string={"year": 2026}))
    assert table["title"] == "政府采购资金情况表" and table["year"] == 2026
    assert [c["label"] for c in table["columns"]] == ["采购单位", "品目类别", "采购方式", "计划数", "计划金额（元）", "合同数",
                                                      "合同金额（元）", "节约资金（元）", "已支付金额（元）"]
    rows, total = json_rows(table)
    assert rows == FUNDS and total == FUNDS_TOTAL
    assert table["rows"][0]["plan_amount"] == "800000.00"  # money as two-place strings, as on records

    ws, rows, total, formats = xlsx_rows(auditor.get("/api/reports/funds.xlsx", query_string={"year": 2026}))
    assert ws.title == "政府采购资金情况表" and ws["A1"].value == "政府采购资金情况表"
    assert ws["A2"].value == "年度：2026    范围：全部单位"
    assert [c.value for c in ws[3]] == [c["label"] for c in table["columns"]]
    # Whole-yuan amounts come back from Excel as int, the others as float: equal to the exact decimals either way.
    assert rows == FUNDS and total == FUNDS_TOTAL
    assert formats[4] == "#,##0.00"


def test_contract_table_matches_the_records(seeded, login):
    finance = login("finance")  # granted both units
    table = finance.ok(finance.get("/api/reports/contracts", query_string={"year": 2026}))
    rows, total = json_rows(table)
    assert rows == CONTRACTS and total == CONTRACTS_TOTAL
    ws, rows, total, _ = xlsx_rows(finance.get("/api/reports/contracts.xlsx", query_string={"year": 2026}))
    assert ws["A2"].value == "年度：2026    范围：全部可见单位"
    assert rows == CONTRACTS and total == CONTRACTS_TOTAL
    # Another year: only what was signed then.
    rows, total = json_rows(finance.ok(finance.get("/api/reports/contracts", query_string={"year": 2027})))
    assert rows == [["福州市教育局", 1, D("79000.00"), D("0.00"), D("79000.00"), D("0.00"), D("0.00"), D("79000.00"),
                     0, 0]]


def test_filters_and_visibility(seeded, login, clock):
    clerk, clerk2, auditor = login("clerk"), login("clerk2"), login("auditor")
    rows, total = json_rows(clerk.ok(clerk.get("/api/reports/funds")))  # year defaults to the clock's (2026)
    assert rows == FUNDS[:2] and total[3:5] == [3, D("920000.50")]
    rows, _ = json_rows(clerk2.ok(clerk2.get("/api/reports/contracts", query_string={"year": 2026})))
    assert rows == CONTRACTS[1:]
    rows, _ = json_rows(auditor.ok(auditor.get("/api/reports/funds", query_string={"year": 2026, "unit_id": 2})))
    assert rows == FUNDS[2:]
    ws, rows, _, _ = xlsx_rows(auditor.get("/api/reports/funds.xlsx", query_string={"year": 2026, "unit_id": 2}))
    assert ws["A2"].value == "年度：2026    范围：福州市教育局" and len(rows) == 2
    # A unit the caller cannot see is unknown to them, as records are.
    assert clerk.get("/api/reports/funds", query_string={"unit_id": 2}).status_code == 404
    assert clerk.get("/api/reports/contracts.xlsx", query_string={"unit_id": 99}).status_code == 404
    bad = clerk.get("/api/reports/funds", query_string={"year": "abc"})
    assert bad.status_code == 400 and "year" in bad.json["errors"]
    rows, total = json_rows(clerk.ok(clerk.get("/api/reports/funds", query_string={"year": 2024})))
    assert rows == [] and total == ["合计", "", "", 0, D("0.00"), 0, D("0.00"), D("0.00"), D("0.00")]
    assert login("clerk").client.get("/api/reports/funds").status_code == 401


def test_monthly_by_method(seeded, login):
    auditor = login("auditor")
    chart = auditor.ok(auditor.get("/api/reports/monthly", query_string={"year": 2026}))
    assert chart["months"] == list(range(1, 13))
    series = {s["method"]: s["amounts"] for s in chart["series"]}
    assert set(series) == {"open_tender", "inquiry"}
    assert series["open_tender"][2] == "670000.00" and series["inquiry"][4] == "118000.25"
    assert chart["totals"][2] == "670000.00" and chart["totals"][0] == "0.00"
    assert sum(D(v) for v in chart["totals"]) == D("788000.25")


def test_reports_page_draws_the_year_by_month_and_method(app, seeded):
    from test_web import Web
    web = Web(app, "auditor")
    page = web.get("/reports?year=2026")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'data-nav="reports"' in html and "<svg" in html
    chart = html[html.index('role="img" aria-label='):]
    chart = chart[:chart.index("</svg>")]  # the chart itself (the menu's icons are SVG too)
    assert chart.count("<rect ") == 2  # March (公开招标) and May (询价)
    assert "3月 公开招标：670,000.00 元" in html and "5月 询价：118,000.25 元" in html
    assert "867,000.25 元" in html and "788,000.25 元" in html  # the two tables' totals
    assert 'href="/api/reports/funds.xlsx?year=2026"' in html
    # The Excel link works with the web session (GET needs no CSRF token).
    _, rows, _, _ = xlsx_rows(web.get("/api/reports/funds.xlsx?year=2026"))
    assert rows == FUNDS
    clerk2 = Web(app, "clerk2").get("/reports?year=2026&unit_id=1").data.decode()  # unit 1 is not clerk2's
    assert "福建省教育厅" not in clerk2 and "190,000.00 元" in clerk2
    assert Web(app).get("/reports").status_code in (302, 401)
