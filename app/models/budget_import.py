"""Budget lines from an Excel file (finance, administrator): the template's columns and the row rules."""
from sqlalchemy import select

from .base import invalid
from .budget import FUND_TYPES, STATUSES, BudgetLine
from .importing import Column, apply_rows, read_rows, text
from .org import Unit

COLUMNS = [
    Column("code", "指标编码", example="2026-350001-101", note="预算管理一体化系统中的指标编码，同一年度内唯一"),
    Column("year", "年度", example=2026, note="四位年份，如 2026"),
    Column("unit_code", "单位编码", example="350001", note="预算单位编码，须已在系统设置中添加"),
    Column("name", "指标名称", example="实验室设备购置", note="不超过 200 个字符"),
    Column("fund_type", "资金性质", example="一般公共预算", note="、".join(FUND_TYPES.values())),
    Column("amount", "指标金额（元）", example=900000, note="不小于 0，最多两位小数；不能低于已占用金额"),
    Column("status", "状态", required=False, example="有效", note="有效、冻结或收回；不填为有效"),
]
_FUND_BY_LABEL = {v: k for k, v in FUND_TYPES.items()}
_STATUS_BY_LABEL = {v: k for k, v in STATUSES.items()}


def _year(value):
    raw = text(value)
    if not raw.isdigit():
        raise invalid("year", f"年度“{raw}”不是四位年份")
    return int(raw)


def _amount(value):
    # A number cell arrives as a float: its shortest repr is what the user typed (1.234 stays 1.234, refused).
    return repr(value) if isinstance(value, float) else text(value)


def row_values(session, values, units):
    """A sheet row → BudgetLine.upsert's values (labels accepted for 资金性质 and 状态)."""
    unit_code = text(values.get("unit_code"))
    if not unit_code:
        raise invalid("unit_code", "请填写单位编码")
    if unit_code not in units:
        units[unit_code] = session.scalar(select(Unit.id).where(Unit.code == unit_code))
    if units[unit_code] is None:
        raise invalid("unit_code", f"单位编码 {unit_code} 不存在")
    fund = text(values.get("fund_type"))
    status = text(values.get("status")) or "有效"
    return {"code": text(values.get("code")), "year": _year(values.get("year")), "unit_id": units[unit_code],
            "name": text(values.get("name")), "fund_type": _FUND_BY_LABEL.get(fund, fund),
            "amount": _amount(values.get("amount")), "status": _STATUS_BY_LABEL.get(status, status)}


def import_lines(session, data, actor, now, allowed=None):
    """All rows or none: {rows, created, updated, unchanged}; ImportRefused with the row report otherwise.
    ``allowed``: the unit ids the importer manages (None: all)."""
    rows = read_rows(data, COLUMNS)
    units = {}

    def apply(values):
        values = row_values(session, values, units)
        if allowed is not None:
            existing = session.scalar(select(BudgetLine.unit_id).where(BudgetLine.code == values["code"],
                                                                       BudgetLine.year == values["year"]))
            if values["unit_id"] not in allowed or (existing is not None and existing not in allowed):
                raise invalid("unit_code", "不能导入未授权单位的预算指标")
        line, created, changes = BudgetLine.upsert(session, values, actor, "import", now)
        return "created" if created else ("updated" if changes else "unchanged")

    outcomes = apply_rows(session, rows, COLUMNS, apply, unique=("code", "year"))
    return {"rows": len(outcomes), **{k: outcomes.count(k) for k in ("created", "updated", "unchanged")}}
