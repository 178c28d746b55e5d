"""Units and users from Excel files (系统管理员; a province has hundreds of units): the templates' columns and
the row rules. Same machinery as the budget-line import: all or nothing, a row report in Chinese.

Units are matched by 单位编码 (new or updated; a parent may come later in the file). Users are matched by 用户名:
a new user needs an initial password; an existing user's name, unit, roles and grants are updated and the
password column, if filled, is ignored (passwords are reset on the 系统设置 page)."""
import re

from sqlalchemy import select

from .base import invalid
from .importing import Column, apply_rows, read_rows, text
from .org import LEVELS, ROLES, Unit, User

UNIT_COLUMNS = [
    Column("code", "单位编码", example="350102", note="唯一，不超过 32 个字符"),
    Column("name", "单位名称", example="福州市鼓楼区教育局"),
    Column("level", "级次", example="县级", note="、".join(LEVELS.values())),
    Column("region", "区划", required=False, example="福州市鼓楼区"),
    Column("parent_code", "上级单位编码", required=False, example="350101", note="可为本文件中的单位"),
]
USER_COLUMNS = [
    Column("username", "用户名", example="gl_clerk", note="3–64 位小写字母、数字或 _ . -"),
    Column("display_name", "姓名", example="刘经办"),
    Column("password", "初始密码", required=False, example="Init2026pass", note="新用户必填：至少 8 位，含字母和数字"),
    Column("unit_code", "所属单位编码", required=False, example="350102", note="经办岗、审核岗、需求领导必填"),
    Column("roles", "岗位", example="采购单位经办岗", note="、".join(ROLES.values()) + "；多个以“、”分隔"),
    Column("grant_codes", "授权单位编码", required=False, example="350102",
           note="多个以“、”分隔；不填为所属单位；编码后加“+”含下级单位"),
    Column("agency_code", "所属代理机构信用代码", required=False, example="",
           note="代理机构岗位的用户：所属代理机构的统一社会信用代码（代理机构库），此时可不授权单位"),
]
_LEVEL_BY_LABEL = {v: k for k, v in LEVELS.items()}
_ROLE_BY_LABEL = {v: k for k, v in ROLES.items()}
_SPLIT = re.compile(r"[、,，;；\s]+")


def _unit_id(session, code, field, label):
    unit_id = session.scalar(select(Unit.id).where(Unit.code == code))
    if unit_id is None:
        raise invalid(field, f"{label} {code} 不存在")
    return unit_id


def _ordered(rows):
    """Parents before their children when both are in the file (report rows keep their numbers)."""
    by_code = {}
    for number, values in rows:  # the first row of a code; a repeat is reported by apply_rows
        by_code.setdefault(text(values.get("code")), (number, values))
    out, seen = [], set()

    def visit(code, trail):
        if code in seen or code in trail or code not in by_code:
            return
        parent = text(by_code[code][1].get("parent_code"))
        visit(parent, trail | {code})
        seen.add(code)
        out.append(by_code[code])
    for number, values in rows:
        visit(text(values.get("code")), set())
    listed = {id(v) for _, v in out}
    return out + [(n, v) for n, v in rows if id(v) not in listed]  # duplicates: reported by apply_rows


def import_units(session, data):
    rows = read_rows(data, UNIT_COLUMNS)

    def apply(values):
        code = text(values.get("code"))
        level = text(values.get("level"))
        parent = text(values.get("parent_code"))
        change = {"code": code, "name": text(values.get("name")), "level": _LEVEL_BY_LABEL.get(level, level),
                  "region": text(values.get("region")),
                  "parent_id": _unit_id(session, parent, "parent_code", "上级单位编码") if parent else None}
        if change["level"] not in LEVELS:
            raise invalid("level", f"级次应为{'、'.join(LEVELS.values())}")
        if len(code) > 32 or len(change["name"]) > 200 or len(change["region"]) > 64:
            raise invalid("code" if len(code) > 32 else ("name" if len(change["name"]) > 200 else "region"),
                          "长度超过限制（单位编码 32、单位名称 200、区划 64 个字符）")
        unit = session.scalars(select(Unit).where(Unit.code == code)).first()
        if unit is None:
            Unit.add(session, change)
            return "created"
        before = (unit.name, unit.level, unit.region, unit.parent_id)
        unit.edit(session, change)
        return "updated" if before != (unit.name, unit.level, unit.region, unit.parent_id) else "unchanged"

    outcomes = apply_rows(session, _ordered(rows), UNIT_COLUMNS, apply, unique=("code",))
    return {"rows": len(outcomes), **{k: outcomes.count(k) for k in ("created", "updated", "unchanged")}}


def _roles(value):
    names = [n for n in _SPLIT.split(text(value)) if n]
    roles = [_ROLE_BY_LABEL.get(n, n) for n in names]
    unknown = [n for n, r in zip(names, roles) if r not in ROLES]
    if unknown:
        raise invalid("roles", f"岗位“{'、'.join(unknown)}”不存在，应为{'、'.join(ROLES.values())}")
    if not roles:
        raise invalid("roles", "请填写岗位")
    return roles


def import_users(session, data, actor):
    rows = read_rows(data, USER_COLUMNS)

    def apply(values):
        username = text(values.get("username")).lower()
        unit_code = text(values.get("unit_code"))
        change = {"display_name": text(values.get("display_name")), "roles": _roles(values.get("roles")),
                  "unit_id": _unit_id(session, unit_code, "unit_code", "所属单位编码") if unit_code else None}
        if text(values.get("agency_code")):
            from .agency_import import agency_by_code
            change["agency_id"] = agency_by_code(session, values.get("agency_code"))
        grants = [g for g in _SPLIT.split(text(values.get("grant_codes"))) if g]
        if grants:
            change["grants"] = [{"unit_id": _unit_id(session, g.rstrip("+"), "grant_codes", "授权单位编码"),
                                 "include_children": g.endswith("+")} for g in grants]
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            password = text(values.get("password"))
            if not password:
                raise invalid("password", "新用户须填写初始密码")
            User.add(session, {"username": username, "password": password, **change})
            return "created"
        if "grants" not in change and change["unit_id"]:
            change["grants"] = [{"unit_id": g.unit_id, "include_children": g.include_children} for g in user.grants] \
                or [{"unit_id": change["unit_id"]}]
        user.edit(session, change, actor=actor if actor is not None and actor.id == user.id else None)
        return "updated"

    outcomes = apply_rows(session, rows, USER_COLUMNS, apply, unique=("username",))
    return {"rows": len(outcomes), **{k: outcomes.count(k) for k in ("created", "updated", "unchanged")}}
