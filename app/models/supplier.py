"""供应商库 (seed 003 三(四), 004): suppliers with their 统一社会信用代码, contacts and SME status.

A supplier enters the library through a reviewed step: a clerk or an agency proposes it (待审核), finance or the
administrator approves (已入库) or rejects it (不予入库, with the reason). Every 统一社会信用代码 the service takes —
here, on contracts, awards and subcontracts — is checked against GB 32100-2015: 18 characters of the code's
alphabet and the check digit. A contract or an award naming a supplier the library has refused is refused; one it does not hold yet is proposed
to it for review (``enrol``)."""
from sqlalchemy import Boolean, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime, invalid, text_field, utcnow

# GB 32100-2015 §4: the code's 31 characters (no I, O, S, V, Z) and the weights of positions 1–17.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
STATUSES = {"pending": "待审核", "active": "已入库", "rejected": "不予入库"}


def check_digit(first17):
    remainder = 31 - sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS)) % 31
    return ALPHABET[0 if remainder == 31 else remainder]


def credit_code_problem(code):
    """None for a valid code, else what is wrong with it (Chinese)."""
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return "应为 18 位数字或大写字母"
    if code[17] != check_digit(code[:17]):
        return "校验位不正确（GB 32100），请核对"
    return None


def check_credit_code(value, field, label, required=False):
    """The upper-cased code, '' when empty and not required; 400 for a malformed one or a wrong check digit."""
    code = ("" if value is None else str(value)).strip().upper()
    if not code:
        if required:
            raise invalid(field, f"请填写{label}")
        return ""
    problem = credit_code_problem(code)
    if problem:
        raise invalid(field, f"{label}{problem}")
    return code


def enrol(session, parties, field, actor, now, source):
    """Contracts and awards name suppliers of the library. A supplier the library refused is refused here; one the
    library does not hold yet is proposed to it (待审核, with ``source`` saying which record named it) in the same
    transaction, so finance reviews every new supplier and nothing enters silently. Returns the proposed rows."""
    proposed = []
    for party in parties:
        code, name = (party or {}).get("credit_code"), (party or {}).get("name")
        if not code:
            continue
        row = session.scalars(select(Supplier).where(Supplier.credit_code == code)).first()
        if row is None:
            proposed.append(Supplier.propose(session, {"name": name, "credit_code": code}, actor, now,
                                             note=f"由{source}提交入库"))
        elif row.status == "rejected":
            raise DomainError("SUPPLIER_REJECTED", f"供应商 {name or row.name}（{code}）未通过供应商库审核："
                                                   f"{row.review_comment}", field=field)
    return proposed


class Supplier(Base):
    __tablename__ = "supplier"
    __table_args__ = (UniqueConstraint("credit_code", name="uq_supplier_credit_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18))
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    is_sme: Mapped[bool] = mapped_column(Boolean, default=False)  # 中小企业
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at = mapped_column(UTCDateTime, nullable=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(String(200), default="")  # where a proposal came from (a contract, an award)

    @classmethod
    def propose(cls, session, values, actor, now, note=""):
        code = check_credit_code(values.get("credit_code"), "credit_code", "统一社会信用代码", required=True)
        existing = session.scalars(select(cls).where(cls.credit_code == code)).first()
        if existing is not None:
            raise DomainError("SUPPLIER_EXISTS", f"统一社会信用代码 {code} 已在供应商库中（{existing.name}，"
                                                 f"{STATUSES[existing.status]}）", field="credit_code")
        supplier = cls(name=text_field(values.get("name"), "name", "供应商名称", 200), credit_code=code,
                       contact_name=text_field(values.get("contact_name"), "contact_name", "联系人", 100, required=False),
                       contact_phone=text_field(values.get("contact_phone"), "contact_phone", "联系电话", 40,
                                                required=False),
                       address=text_field(values.get("address"), "address", "地址", 200, required=False),
                       is_sme=bool(values.get("is_sme")), status="pending", proposed_by=actor, proposed_at=now,
                       review_comment="", note=note)
        session.add(supplier)
        session.flush()
        return supplier

    def review(self, approved, comment, actor, now):
        if self.status != "pending":
            raise DomainError("SUPPLIER_STATE", f"供应商 {self.name} 当前为“{STATUSES[self.status]}”，不是待审核")
        comment = (comment or "").strip()
        if not approved and not comment:
            raise invalid("comment", "不予入库须填写原因")
        self.status = "active" if approved else "rejected"
        self.reviewed_by, self.reviewed_at, self.review_comment = actor, now, comment

    def to_dict(self):
        return {"id": self.id, "name": self.name, "credit_code": self.credit_code, "contact_name": self.contact_name,
                "contact_phone": self.contact_phone, "address": self.address, "is_sme": self.is_sme,
                "status": self.status, "status_label": STATUSES[self.status], "proposed_by": self.proposed_by,
                "proposed_at": self.proposed_at, "reviewed_by": self.reviewed_by, "reviewed_at": self.reviewed_at,
                "review_comment": self.review_comment, "note": self.note}
