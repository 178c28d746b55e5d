"""代理机构库 from an Excel file (系统管理员), with the units/users import machinery (models/importing.py): all or
nothing, a row report in Chinese. Agencies are matched by 统一社会信用代码 (new or updated); the code is checked
against GB 32100. Their users are imported with the users' file (column 所属代理机构信用代码, models/org_import.py)."""
from sqlalchemy import select

from .agency import KINDS, Agency
from .base import invalid
from .importing import Column, apply_rows, read_rows, text
from .supplier import check_credit_code

AGENCY_COLUMNS = [
    Column("name", "代理机构名称", example="福建华信招标代理有限公司"),
    Column("credit_code", "统一社会信用代码", example="91350100MA2Y123459", note="18 位，含校验位（GB 32100）；唯一"),
    Column("kind", "机构类型", example="社会代理机构", note="、".join(KINDS.values())),
    Column("region", "所在地区", required=False, example="福州市"),
    Column("contact_name", "联系人", required=False, example="许经理"),
    Column("contact_phone", "联系电话", required=False, example="0591-87000002"),
    Column("active", "是否在用", required=False, example="是", note="是 / 否；不填为是"),
]
_KIND_BY_LABEL = {v: k for k, v in KINDS.items()}
_YES, _NO = {"", "是", "在用", "启用", "true", "1"}, {"否", "停用", "false", "0"}


def import_agencies(session, data):
    rows = read_rows(data, AGENCY_COLUMNS)

    def apply(values):
        kind = text(values.get("kind"))
        active = text(values.get("active")).lower()
        if active not in _YES | _NO:
            raise invalid("active", "是否在用应为“是”或“否”")
        change = {"name": text(values.get("name")), "kind": _KIND_BY_LABEL.get(kind, kind),
                  "credit_code": check_credit_code(values.get("credit_code"), "credit_code", "统一社会信用代码",
                                                   required=True),
                  "region": text(values.get("region")), "contact_name": text(values.get("contact_name")),
                  "contact_phone": text(values.get("contact_phone")), "active": active in _YES}
        agency = session.scalars(select(Agency).where(Agency.credit_code == change["credit_code"])).first()
        if agency is None:
            Agency.add(session, change)
            return "created"
        before = agency.to_dict()
        agency.edit(session, change)
        return "updated" if before != agency.to_dict() else "unchanged"

    outcomes = apply_rows(session, rows, AGENCY_COLUMNS, apply, unique=("credit_code",))
    return {"rows": len(outcomes), **{k: outcomes.count(k) for k in ("created", "updated", "unchanged")}}


def agency_by_code(session, code):
    """The agency id a users' file names by 统一社会信用代码 (400 if none)."""
    code = check_credit_code(code, "agency_code", "所属代理机构信用代码", required=True)
    agency_id = session.scalar(select(Agency.id).where(Agency.credit_code == code))
    if agency_id is None:
        raise invalid("agency_code", f"所属代理机构信用代码 {code} 不在代理机构库中")
    return agency_id
