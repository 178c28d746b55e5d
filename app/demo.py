"""Demo data: two purchasing units with budgets and one user per role. Password `demo` — demo only."""
from decimal import Decimal

from sqlalchemy import select

from .models import Agency, BudgetLine, Unit, UnitGrant, User, UserRole

UNITS = [
    {"code": "350001", "name": "福建省教育厅", "level": "provincial", "region": "福建省本级"},
    {"code": "350101", "name": "福州市教育局", "level": "city", "region": "福州市"},
]
# 代理机构库: the 集中采购机构 and a 社会代理机构 (统一社会信用代码 with valid GB 32100 check digits).
AGENCIES = [
    {"name": "福建省政府采购中心", "credit_code": "12350000MB0123456W", "kind": "central", "region": "福建省本级",
     "contact_name": "郑主任", "contact_phone": "0591-87000001"},
    {"name": "福建华信招标代理有限公司", "credit_code": "91350100MA2Y123459", "kind": "social", "region": "福州市",
     "contact_name": "许经理", "contact_phone": "0591-87000002"},
]
# username → agency index (agency staff). ``agency`` also keeps its unit grants: it runs 交易执行 started directly
# on the units' plans (the demo activity); ``agency2`` has none and sees only the work entrusted to its agency.
AGENCY_STAFF = {"agency": 0, "agency2": 1}
# username, display name, home unit index, roles, granted unit indexes
USERS = [
    ("clerk", "张经办", 0, ["clerk"], [0]),
    ("reviewer", "李审核", 0, ["reviewer"], [0]),
    ("leader", "王领导", 0, ["leader"], [0]),
    ("finance", "赵财政", 0, ["finance"], [0, 1]),
    ("clerk2", "陈经办", 1, ["clerk"], [1]),
    ("reviewer2", "林审核", 1, ["reviewer"], [1]),
    ("leader2", "黄领导", 1, ["leader"], [1]),
    ("agency", "福建省采购中心", None, ["agency"], [0, 1]),
    ("agency2", "华信招标代理", None, ["agency"], []),
    ("auditor", "周审计", None, ["auditor"], []),
    ("analyst", "吴分析", None, ["analyst"], []),
    ("admin", "系统管理员", None, ["admin"], []),
]
BUDGETS = [
    (0, "2026-350001-001", "教学设备购置", "general", "5000000.00"),
    (0, "2026-350001-002", "信息化运维服务", "general", "1200000.00"),
    (0, "2026-350001-003", "校舍维修工程", "fund", "8000000.00"),
    (1, "2026-350101-001", "中小学课桌椅购置", "general", "1500000.00"),
    (1, "2026-350101-002", "物业管理服务", "general", "600000.00"),
]
PASSWORD = "demo"


def seed(session, year=2026):
    """Create the demo records once; later starts keep whatever is there."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return False
    units = []
    for spec in UNITS:
        unit = Unit(**spec)
        session.add(unit)
        units.append(unit)
    session.flush()
    agencies = [Agency.add(session, spec) for spec in AGENCIES]
    for username, name, home, roles, grants in USERS:
        user = User(username=username, display_name=name, unit_id=units[home].id if home is not None else None)
        if username in AGENCY_STAFF:
            user.agency_id = agencies[AGENCY_STAFF[username]].id
        user.set_password(PASSWORD)
        user.roles = [UserRole(role=r) for r in roles]
        user.grants = [UnitGrant(unit_id=units[i].id) for i in grants]
        session.add(user)
    for home, code, name, fund_type, amount in BUDGETS:
        session.add(BudgetLine(code=code.replace("2026", str(year), 1), name=name, unit_id=units[home].id, year=year,
                               fund_type=fund_type, amount=Decimal(amount), used_amount=Decimal("0")))
    session.flush()
    from .models.expert import seed_demo_experts
    seed_demo_experts(session)  # 专家库: about forty demo experts for 专家抽取
    return True
