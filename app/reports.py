"""Standard report tables (报表服务, seed 001 §11.2) computed from the records, as data and as Excel workbooks.

- 政府采购资金情况表 (财政部标准套表 01, 001 §11.2.1): the year's live purchase plans (可使用/已使用) by purchasing
  unit, category (品目类别) and procurement method: how many, the planned amount (采购预算), the amount of their
  filed contracts (合同金额), the savings (节约资金: plan amount less contract amount, over the plans that have a
  filed contract) and what was paid.
- 单位采购合同信息统计 (财政部数据导出 表一, 001 §11.2.2): the filed contracts signed in the year, per unit: how
  many, their amount by category, paid and unpaid, fulfilled and terminated.
- By month and method: the filed contracts' amounts by signing month and the plan's method (the UI's chart).

A contract counts once it is filed (备案): filed, terminating, terminated or fulfilled. Its amount is the contract
amount as filed or last changed (补充合同 are not added). Figures are exact decimals; nothing is rounded.
Callers pass the unit ids the reader may see (an auditor sees all); the tables never show other units.
"""
import re
from decimal import Decimal
from io import BytesIO

from sqlalchemy import extract, select

from .models import Contract, Plan, Unit
from .models.plan import METHODS
from .models.project import CATEGORIES

FILED = ("filed", "terminating", "terminated", "fulfilled")
LIVE_PLANS = ("filed", "used")
ZERO = Decimal("0")


def _units(session, unit_ids):
    return {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}


def funds(session, year, unit_ids):
    """政府采购资金情况表: rows by (unit, category, method), sorted, with a total."""
    units = _units(session, unit_ids)
    plans = list(session.scalars(select(Plan).where(Plan.year == year, Plan.unit_id.in_(unit_ids),
                                                    Plan.status.in_(LIVE_PLANS))))
    contracts = {}
    if plans:
        for c in session.scalars(select(Contract).where(Contract.plan_id.in_([p.id for p in plans]),
                                                        Contract.status.in_(FILED))):
            contracts.setdefault(c.plan_id, []).append(c)
    rows = {}
    for plan in plans:
        key = (plan.unit_id, plan.category, plan.method)
        row = rows.setdefault(key, {"unit_id": plan.unit_id, "unit_name": units[plan.unit_id].name,
                                    "category": plan.category, "category_label": CATEGORIES.get(plan.category),
                                    "method": plan.method, "method_label": METHODS.get(plan.method),
                                    "plan_count": 0, "plan_amount": ZERO, "contract_count": 0,
                                    "contract_amount": ZERO, "savings_amount": ZERO, "paid_amount": ZERO})
        row["plan_count"] += 1
        row["plan_amount"] += plan.amount
        mine = contracts.get(plan.id, [])
        if mine:
            contracted = sum((c.amount for c in mine), ZERO)
            row["contract_count"] += len(mine)
            row["contract_amount"] += contracted
            row["savings_amount"] += plan.amount - contracted
            row["paid_amount"] += sum((c.paid_amount for c in mine), ZERO)
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (units[k[0]].code, k[1], k[2]))]
    return _table("政府采购资金情况表", year, FUNDS_COLUMNS, ordered)


def contracts(session, year, unit_ids):
    """单位采购合同信息统计: one row per unit with filed contracts signed in the year, with a total."""
    units = _units(session, unit_ids)
    query = (select(Contract, Plan.category).join(Plan, Plan.id == Contract.plan_id)
             .where(Contract.unit_id.in_(unit_ids), Contract.status.in_(FILED),
                    extract("year", Contract.signed_date) == year))
    rows = {}
    for contract, category in session.execute(query):
        row = rows.setdefault(contract.unit_id, {
            "unit_id": contract.unit_id, "unit_name": units[contract.unit_id].name, "contract_count": 0,
            "contract_amount": ZERO, "goods_amount": ZERO, "services_amount": ZERO, "works_amount": ZERO,
            "paid_amount": ZERO, "unpaid_amount": ZERO, "fulfilled_count": 0, "terminated_count": 0})
        row["contract_count"] += 1
        row["contract_amount"] += contract.amount
        row[f"{category}_amount"] += contract.amount
        row["paid_amount"] += contract.paid_amount
        row["unpaid_amount"] += contract.amount - contract.paid_amount
        row["fulfilled_count"] += contract.status == "fulfilled"
        row["terminated_count"] += contract.status == "terminated"
    ordered = [rows[k] for k in sorted(rows, key=lambda k: units[k].code)]
    return _table("单位采购合同信息统计", year, CONTRACT_COLUMNS, ordered)


def monthly(session, year, unit_ids):
    """The filed contracts' amounts by signing month (1–12) and the plan's procurement method."""
    query = (select(Contract.signed_date, Contract.amount, Plan.method).join(Plan, Plan.id == Contract.plan_id)
             .where(Contract.unit_id.in_(unit_ids), Contract.status.in_(FILED),
                    extract("year", Contract.signed_date) == year))
    series = {}
    for signed, amount, method in session.execute(query):
        months = series.setdefault(method, [ZERO] * 12)
        months[signed.month - 1] += amount
    methods = [m for m in METHODS if m in series]
    return {"title": f"{year} 年政府采购合同金额（按月、按采购方式）", "year": year,
            "months": list(range(1, 13)),
            "series": [{"method": m, "method_label": METHODS[m], "amounts": series[m]} for m in methods],
            "totals": [sum((series[m][i] for m in methods), ZERO) for i in range(12)]}


FUNDS_COLUMNS = [("unit_name", "采购单位"), ("category_label", "品目类别"), ("method_label", "采购方式"),
                 ("plan_count", "计划数"), ("plan_amount", "计划金额（元）"), ("contract_count", "合同数"),
                 ("contract_amount", "合同金额（元）"), ("savings_amount", "节约资金（元）"),
                 ("paid_amount", "已支付金额（元）")]
CONTRACT_COLUMNS = [("unit_name", "采购单位"), ("contract_count", "合同数"), ("contract_amount", "合同金额（元）"),
                    ("goods_amount", "其中：货物（元）"), ("services_amount", "其中：服务（元）"),
                    ("works_amount", "其中：工程（元）"), ("paid_amount", "已支付金额（元）"),
                    ("unpaid_amount", "未支付金额（元）"), ("fulfilled_count", "履约完成数"),
                    ("terminated_count", "终止数")]


def _table(title, year, columns, rows):
    total = {columns[0][0]: "合计"}
    for key, _ in columns:
        if key.endswith("_amount"):
            total[key] = sum((row[key] for row in rows), ZERO)
        elif key.endswith("_count"):
            total[key] = sum(row[key] for row in rows)
    return {"title": title, "year": year, "columns": [{"key": k, "label": label} for k, label in columns],
            "rows": rows, "total": total}


# Characters an .xlsx cell cannot hold (XML 1.0 forbids C0 controls but tab, LF, CR; UTF-8 no lone surrogates).
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
XLSX_CELL_MAX = 32767  # Excel's limit per cell
_CUT = "…（内容过长已截断，完整内容见 JSON 导出）"


def xlsx_value(value):
    """A value every .xlsx reader opens: illegal characters written as visible escapes (\\u0007), text cut at
    Excel's cell limit."""
    if not isinstance(value, str):
        return value
    text = _XLSX_ILLEGAL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return text if len(text) <= XLSX_CELL_MAX else text[:XLSX_CELL_MAX - len(_CUT)] + _CUT


def xlsx_append(sheet, values):
    """Append a row of data: cleaned values, and text is text — "=…" a clerk typed never becomes a formula."""
    sheet.append([xlsx_value(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def to_xlsx(table, scope):
    """The table as an Excel workbook (bytes): title, scope line, header, rows, total; money as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/*?:\[\]]", "", xlsx_value(table["title"]))[:31] or "报表"
    columns = table["columns"]
    xlsx_append(ws, [table["title"]])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    xlsx_append(ws, [f"年度：{table['year']}    范围：{scope}"])
    xlsx_append(ws, [c["label"] for c in columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in table["rows"] + [table["total"]]:
        xlsx_append(ws, [row.get(c["key"], "") for c in columns])
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for i, column in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = 24 if i == 1 else max(12, len(column["label"]) * 2 + 2)
    ws.freeze_panes = "A4"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
