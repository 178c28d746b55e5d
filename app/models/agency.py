"""代理机构库 (seed 003 三(四), issue 13): agencies are organisations with their own users.

A purchaser entrusts one agency on its 委托单 (``Entrustment.agency_id``); the tender the agency runs carries the same
agency. Agency staff are users with ``User.agency_id`` set: they see and act on the work entrusted to their agency,
and never on another agency's work, whatever units they may otherwise be granted. The engine holds the rule for
every diagram: a user task whose data names an ``agency_id`` carries it (``HumanTask.agency_id``), and staff of any
other agency neither see nor act on it (app/engine/runtime.py ``can_see_task``, app/engine/tasklist.py).

The 集中采购机构 (centralised purchasing body) is an agency of kind ``central``; 社会代理机构 are kind ``social``.
"""
from sqlalchemy import Boolean, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime, invalid, text_field, utcnow
from .supplier import check_credit_code

KINDS = {"social": "社会代理机构", "central": "集中采购机构"}


class Agency(Base):
    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("credit_code", name="uq_agency_credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18))  # 统一社会信用代码 (GB 32100)
    kind: Mapped[str] = mapped_column(String(16), default="social")
    region: Mapped[str] = mapped_column(String(64), default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def add(cls, session, values):
        agency = cls(name="", credit_code="", kind="social", region="", contact_name="", contact_phone="", active=True)
        agency.edit(session, {"kind": "social", **values}, new=True)
        session.add(agency)
        session.flush()
        return agency

    def edit(self, session, values, new=False):
        """Name, 统一社会信用代码 (GB 32100 check digit; unique: 409), kind, region, contact, active."""
        if new or "name" in values:
            self.name = text_field(values.get("name"), "name", "代理机构名称", 200)
        if new or "credit_code" in values:
            code = check_credit_code(values.get("credit_code"), "credit_code", "统一社会信用代码", required=True)
            query = select(Agency.name).where(Agency.credit_code == code)
            other = session.scalar(query if self.id is None else query.where(Agency.id != self.id))
            if other is not None:
                raise DomainError("AGENCY_EXISTS", f"统一社会信用代码 {code} 已登记为代理机构“{other}”",
                                  field="credit_code", status=409)
            self.credit_code = code
        if "kind" in values:
            if values["kind"] not in KINDS:
                raise invalid("kind", "机构类型应为 social（社会代理机构）或 central（集中采购机构）")
            self.kind = values["kind"]
        if "region" in values:
            self.region = text_field(values.get("region"), "region", "所在地区", 64, required=False)
        if "contact_name" in values:
            self.contact_name = text_field(values.get("contact_name"), "contact_name", "联系人", 100, required=False)
        if "contact_phone" in values:
            self.contact_phone = text_field(values.get("contact_phone"), "contact_phone", "联系电话", 40, required=False)
        if "active" in values:
            self.active = bool(values["active"])

    def to_dict(self, session=None):
        out = {"id": self.id, "name": self.name, "credit_code": self.credit_code, "kind": self.kind,
               "kind_label": KINDS.get(self.kind, self.kind), "region": self.region,
               "contact_name": self.contact_name, "contact_phone": self.contact_phone, "active": self.active}
        if session is not None:
            from .org import User
            out["users"] = [{"id": u.id, "username": u.username, "display_name": u.display_name, "active": u.active}
                            for u in session.scalars(select(User).where(User.agency_id == self.id).order_by(User.id))]
        return out

    @property
    def label(self):
        return f"{self.name}（{KINDS.get(self.kind, self.kind)}）"


def agency_id_of(value):
    """An agency id from form or request data (int or digit string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def active_agency(session, value, field="agency_id", kind=None):
    """The active agency ``value`` names (for a 委托单 or a user), else 400 with a Chinese message."""
    if value in (None, ""):
        raise invalid(field, "请选择代理机构")
    ident = agency_id_of(value)
    agency = session.get(Agency, ident) if ident is not None else None
    if agency is None:
        raise invalid(field, f"代理机构 {value} 不存在")
    if not agency.active:
        raise invalid(field, f"代理机构“{agency.name}”已停用，请选择其他代理机构")
    if kind is not None and agency.kind != kind:
        raise invalid(field, f"代理机构“{agency.name}”不是{KINDS[kind]}")
    return agency


def central_agency(session):
    """The 集中采购机构 (the first active one), or None when the library has none."""
    return session.scalars(select(Agency).where(Agency.kind == "central", Agency.active.is_(True))
                           .order_by(Agency.id).limit(1)).first()


def options(session):
    """Active agencies as form-js select options (the 委托单's picker)."""
    return [{"label": a.label, "value": a.id}
            for a in session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.kind, Agency.name))]


def sees_record(session, user, obj):
    """May ``user`` read ``obj`` (a record with ``unit_id``, maybe ``agency_id``)? Auditors all; staff of an agency
    the work entrusted to it, never another agency's; everyone else by unit (as before agencies existed)."""
    if user.is_auditor:
        return True
    record_agency = getattr(obj, "agency_id", None)
    if user.agency_id is not None and record_agency is not None:
        return record_agency == user.agency_id
    unit_id = getattr(obj, "unit_id", None)
    return unit_id is None or unit_id in user.unit_ids(session)


def visible_clause(session, user, model, unit_ids=None):
    """``sees_record`` in SQL for a list of ``model`` rows (auditors: every unit's)."""
    from sqlalchemy import and_, bindparam, or_
    if user.is_auditor:
        return model.unit_id.is_not(None)
    units = sorted(user.unit_ids(session) if unit_ids is None else unit_ids)
    in_units = model.unit_id.in_(bindparam("unit_ids", units, expanding=True, literal_execute=True))
    if user.agency_id is None or not hasattr(model, "agency_id"):
        return in_units
    return or_(model.agency_id == user.agency_id, and_(model.agency_id.is_(None), in_units))
