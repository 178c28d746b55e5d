"""What the records entered on a filed contract share (补充合同, 分包合同, 支付, 冲销, 履约验收, 001 ch.5–7):
the clerk submits, the reviewer approves or rejects; rejected, the record goes back to the clerk (``returned``),
who edits and submits again or cancels it.

    in_review 审核中 → <DONE> (approved / paid / reversed / accepted) on 审核通过
    in_review → returned 已退回 on 审核不通过 (with the comment) → in_review on 重新提交, or → cancelled 已取消
"""
import uuid
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import BEIJING, DomainError, UTCDateTime, text_field as text, utcnow  # text: re-exported

OPEN = ("in_review", "returned")


def beijing_today(now):
    """Dates people write (签订日期, 验收日期) are Beijing dates; the clock is UTC."""
    return now.astimezone(BEIJING).date()




def credit_code(value, field, label):
    code = text(value, field, label, 18, required=False).upper()
    from .supplier import credit_code_problem  # GB 32100: alphabet and check digit
    problem = credit_code_problem(code) if code else None
    if problem:
        raise DomainError("INVALID_INPUT", f"{label}{problem}", field=field, status=400)
    return code


class ReviewedRecord:
    """Columns and state rules of a record that goes through review. Subclasses set ``LABEL`` (中文),
    ``PREFIX`` (number prefix), ``DONE`` (the state 审核通过 leads to) and ``STATUSES``."""

    LABEL = "记录"
    PREFIX = "JL"
    DONE = "approved"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "approved": "审核通过", "cancelled": "已取消"}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_review", index=True)
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # [{attachment_id, name, sha256}]
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    decided_at = mapped_column(UTCDateTime, nullable=True)

    @classmethod
    def _new(cls, session, contract, user_id, now, **values):
        record = cls(number=uuid.uuid4().hex[:20], contract_id=contract.id, unit_id=contract.unit_id,
                     status="in_review", review_comment="", created_by=user_id, created_at=now, **values)
        session.add(record)
        session.flush()
        record.number = f"{cls.PREFIX}{beijing_today(now).year}{record.id:06d}"
        return record

    @classmethod
    def open_for(cls, session, contract_id, exclude_id=None):
        """This kind's records of the contract that are still open (in review or returned)."""
        query = select(cls).where(cls.contract_id == contract_id, cls.status.in_(OPEN))
        if exclude_id is not None:
            query = query.where(cls.id != exclude_id)
        return list(session.scalars(query.order_by(cls.id)))

    @classmethod
    def total(cls, session, contract_id, statuses, exclude_id=None, column="amount"):
        query = select(func.coalesce(func.sum(getattr(cls, column)), 0)).where(
            cls.contract_id == contract_id, cls.status.in_(statuses))
        if exclude_id is not None:
            query = query.where(cls.id != exclude_id)
        return Decimal(str(session.scalar(query))).quantize(Decimal("0.01"))

    @property
    def status_label(self):
        return self.STATUSES[self.status]

    def require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError(f"{self.PREFIX}_STATE",
                              f"{self.LABEL} {self.number} 当前状态为“{self.status_label}”，不能{action}")

    def check_contract(self, contract):
        if contract is None or contract.id != self.contract_id:
            raise DomainError("INVALID_INPUT", f"{self.LABEL} {self.number} 不属于该合同", status=400)

    def resubmit(self):
        """重新提交 after 审核不通过: only a returned record."""
        self.require("returned", action="重新提交")
        self.status = "in_review"
        self.review_comment = ""

    def return_for_edit(self, comment):
        """审核不通过: back to the clerk with the comment."""
        self.require("in_review", action="退回")
        self.status = "returned"
        self.review_comment = comment or ""

    def cancel(self, now):
        """The clerk withdraws a returned record (取消)."""
        self.require("returned", action="取消")
        self.status = "cancelled"
        self.decided_at = now

    def approve(self, now):
        self.require("in_review", action="审核通过")
        self.status = self.DONE
        self.decided_at = now

    def base_dict(self):
        return {"id": self.id, "number": self.number, "contract_id": self.contract_id, "unit_id": self.unit_id,
                "status": self.status, "status_label": self.status_label, "attachments": self.attachments or [],
                "review_comment": self.review_comment, "created_at": self.created_at, "decided_at": self.decided_at}


def check_project_open(project, what):
    """001 §2.2.5 注: 已结项的采购项目，不允许…签订补充合同等操作，未完成资金支付部分不允许发起支付或验收."""
    if project is not None and project.status == "closed":
        raise DomainError("PROJECT_CLOSED", f"项目 {project.number} 已结项，{what}")
