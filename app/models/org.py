"""Purchasing units (a tree), users, their roles and unit grants."""
from sqlalchemy import Boolean, ForeignKey, String, Integer, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base

ROLES = {
    "clerk": "采购单位经办岗",
    "reviewer": "采购单位审核岗",
    "leader": "需求领导",
    "finance": "财政部门",
    "agency": "代理机构",
    "auditor": "审计",
    "analyst": "业务分析",
    "admin": "系统管理员",
}

LEVELS = {"provincial": "省级", "city": "市级", "county": "县级"}


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
                "region": self.region, "parent_id": self.parent_id}


# Overridable for test suites only; production keeps the strong default.
PASSWORD_METHOD = "pbkdf2:sha256:600000"


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or logout-everywhere; tokens carry it and die with it.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)

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
                "unit_id": self.unit_id, "groups": sorted(self.groups)}


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class UnitGrant(Base):
    __tablename__ = "unit_grant"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    include_children: Mapped[bool] = mapped_column(Boolean, default=False)
