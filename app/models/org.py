"""Purchasing units (a tree), users, their roles and unit grants."""
from sqlalchemy import Boolean, ForeignKey, Integer, String, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

import re

from .base import Base, DomainError

ROLES = {
    "clerk": "采购单位经办岗",
    "reviewer": "采购单位审核岗",
    "leader": "需求领导",
    "finance": "财政部门",
    "agency": "代理机构",
    "auditor": "审计",
    "analyst": "业务分析",
    "admin": "系统管理员",
    "worker": "外部任务执行程序",  # Camunda 7 external-task workers (/engine-rest/external-task, issue 18)
}

# Who holds a user task whose diagram names no assignee and no known group (Camunda 7 shows it to authorised
# users): the administrators of any unit, beside the process's starters (engine.access.unassigned_fallback).
UNASSIGNED_GROUP = "admin"

LEVELS = {"provincial": "省级", "city": "市级", "county": "县级"}
# Roles that act for purchasing units: they need the units granted (and clerks, reviewers, leaders a home unit).
UNIT_ROLES = {"clerk", "reviewer", "leader", "finance", "agency"}
HOME_ROLES = {"clerk", "reviewer", "leader"}
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


def _invalid(field, message):
    return DomainError("INVALID_INPUT", message, field=field, status=400)


def check_password_policy(password, username=""):
    """At least 8 characters with letters and digits, not the user name (passwords are stored hashed)."""
    if len(password or "") < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise _invalid("password", "密码至少 8 位，且须同时包含字母和数字")
    if username and password.lower() == username.lower():
        raise _invalid("password", "密码不能与用户名相同")


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # provincial / city / county
    region: Mapped[str] = mapped_column(String(64), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    parent = relationship("Unit", remote_side=[id])

    def to_dict(self):
        return {"id": self.id, "code": self.code, "name": self.name, "level": self.level,
                "level_label": LEVELS.get(self.level, self.level), "region": self.region,
                "parent_id": self.parent_id}

    @classmethod
    def add(cls, session, values):
        unit = cls(code="", name="", level="city", region="")
        unit.edit(session, values)
        session.add(unit)
        session.flush()
        return unit

    def edit(self, session, values):
        """Code (unique), name, level, region and parent (上级单位; the tree admits no cycle)."""
        if "code" in values:
            code = values["code"].strip()
            other = session.scalar(select(Unit.id).where(Unit.code == code, Unit.id != self.id))
            if other is not None:
                raise DomainError("UNIT_EXISTS", f"单位编码 {code} 已被单位 {other} 使用", field="code")
            self.code = code
        for key in ("name", "level", "region"):
            if key in values:
                setattr(self, key, values[key].strip())
        if "parent_id" in values:
            parent_id = values["parent_id"]
            if parent_id is not None:
                _unit(session, parent_id, "parent_id")
                seen, current = {self.id}, parent_id
                while current is not None:
                    if current in seen:
                        raise _invalid("parent_id", "上级单位不能是本单位或其下级单位")
                    seen.add(current)
                    current = session.get(Unit, current).parent_id
            self.parent_id = parent_id
        if not self.code or not self.name:
            raise _invalid("code" if not self.code else "name", "请填写单位编码和单位名称")


# Overridable for test suites only; production keeps the strong default.
PASSWORD_METHOD = "pbkdf2:sha256:600000"


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # 代理机构库: staff of this agency (models/agency.py) act on the work entrusted to it, not by purchaser units.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or logout-everywhere; tokens carry it and die with it.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Set when an administrator chose the password (new user, reset): the web asks for a new one at sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    unit = relationship(Unit)
    roles = relationship("UserRole", cascade="all, delete-orphan", lazy="selectin")
    grants = relationship("UnitGrant", cascade="all, delete-orphan", lazy="selectin")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @property
    def groups(self):
        return {r.role for r in self.roles}

    @property
    def is_auditor(self):
        return "auditor" in self.groups

    def unit_ids(self, session):
        """Units this user may see and act in: granted units and, where the grant says so, their subtrees."""
        if self.is_auditor:
            return set(session.scalars(select(Unit.id)))
        ids = {g.unit_id for g in self.grants}
        subtree_roots = [g.unit_id for g in self.grants if g.include_children]
        if subtree_roots:
            children = {}
            for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
                children.setdefault(parent, []).append(uid)
            stack = list(subtree_roots)
            while stack:
                for child in children.get(stack.pop(), []):
                    if child not in ids:
                        ids.add(child)
                        stack.append(child)
        return ids

    def to_dict(self):
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "unit_id": self.unit_id, "agency_id": self.agency_id, "groups": sorted(self.groups)}

    def admin_dict(self):
        return {**self.to_dict(), "active": self.active,
                "grants": [{"unit_id": g.unit_id, "include_children": g.include_children}
                           for g in sorted(self.grants, key=lambda g: g.unit_id)]}

    # -- administration (系统管理员: users, units, roles) ------------------------------------------------
    @classmethod
    def add(cls, session, values):
        """A new user: unique lower-case user name, a password that meets the policy, roles and units."""
        username = values["username"].strip().lower()
        if not _USERNAME.match(username):
            raise _invalid("username", "用户名为 3–64 位小写字母、数字或 _ . -，以字母或数字开头")
        if session.scalar(select(cls.id).where(cls.username == username)) is not None:
            raise DomainError("USER_EXISTS", f"用户名 {username} 已存在", field="username")
        check_password_policy(values["password"], username)
        user = cls(username=username, display_name="", active=True, token_generation=0)
        user.set_password(values["password"])
        user.must_change_password = True
        user.edit(session, {"grants": None, **values}, actor=None)
        session.add(user)
        session.flush()
        return user

    def edit(self, session, values, actor):
        """Name, home unit, roles, granted units, active. An administrator cannot lock themselves out."""
        if "display_name" in values:
            self.display_name = values["display_name"].strip()
        if "unit_id" in values:
            self.unit_id = _unit(session, values["unit_id"], "unit_id") if values["unit_id"] else None
        if "agency_id" in values and values["agency_id"] != self.agency_id:  # 代理机构库: staff of an active agency
            from .agency import active_agency
            self.agency_id = active_agency(session, values["agency_id"]).id if values["agency_id"] else None
        if "roles" in values:
            roles = list(dict.fromkeys(values["roles"]))
            if not roles:
                raise _invalid("roles", "请至少选择一个岗位")
            if actor is self and "admin" not in roles:
                raise DomainError("SELF_LOCKOUT", "不能取消自己的系统管理员岗位", field="roles")
            self.roles = [UserRole(role=r) for r in roles]
        if "grants" in values:
            grants = values["grants"]
            if grants is None:  # a new user: the home unit
                grants = [{"unit_id": self.unit_id}] if self.unit_id else []
            seen = {}
            for grant in grants:
                unit_id = _unit(session, grant["unit_id"], "grants")
                seen[unit_id] = UnitGrant(unit_id=unit_id, include_children=bool(grant.get("include_children")))
            self.grants = list(seen.values())
        if "active" in values and not values["active"]:
            if actor is self:
                raise DomainError("SELF_LOCKOUT", "不能停用自己的账号", field="active")
            if self.active:
                self.token_generation += 1  # signed-in sessions and tokens end now
        if "active" in values:
            self.active = bool(values["active"])
        if not self.display_name:
            raise _invalid("display_name", "请填写姓名")
        groups = self.groups
        if groups & HOME_ROLES and not self.unit_id:
            raise _invalid("unit_id", "经办岗、审核岗和需求领导须指定所属单位")
        if self.agency_id is not None and "agency" not in groups:
            raise _invalid("roles", "代理机构的用户须有代理机构岗位")
        if groups & UNIT_ROLES and not self.grants and not (groups <= {"agency"} and self.agency_id):
            raise _invalid("grants", "该岗位须授权至少一个单位（代理机构岗位可改为指定所属代理机构）")

    @classmethod
    def chosen_reviewer(cls, session, username, unit_id, group="reviewer"):
        """下一步审核人选择 (002 §1 7)): an active user of ``group`` granted ``unit_id``, or None when none was
        chosen (then anyone of the group may review)."""
        username = (username or "").strip().lower()
        if not username:
            return None
        user = session.scalar(select(cls).where(cls.username == username))
        if user is None or not user.active or group not in user.groups or unit_id not in user.unit_ids(session):
            raise _invalid("next_reviewer", f"下一步审核人 {username} 不是本单位在岗的{ROLES[group]}，请重新选择")
        return user.username

    def change_password(self, password):
        """New password (policy checked); every token and session of the user ends."""
        check_password_policy(password, self.username)
        self.set_password(password)
        self.token_generation += 1


def _unit(session, unit_id, field):
    if session.get(Unit, unit_id) is None:
        raise _invalid(field, f"单位 {unit_id} 不存在")
    return unit_id


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class UnitGrant(Base):
    __tablename__ = "unit_grant"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    include_children: Mapped[bool] = mapped_column(Boolean, default=False)


def ensure_admin(session, password):
    """A database without any user (no demo data): the first administrator ``admin`` with ``password``
    (ADMIN_PASSWORD), who then adds units and users. Returns True when one was created."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return False
    if not password:
        raise RuntimeError("数据库中还没有用户：首次启动（DEMO_DATA=0）请设置 ADMIN_PASSWORD 以创建系统管理员 admin / "
                           "no users yet: set ADMIN_PASSWORD to create the administrator 'admin'")
    admin = User.add(session, {"username": "admin", "display_name": "系统管理员", "password": password,
                               "roles": ["admin"]})
    admin.must_change_password = False  # the deployer chose it for themselves, no administrator for another
    return True
