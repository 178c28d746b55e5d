"""Performance acceptance (履约验收), seed 001 ch.7.

The clerk picks a contract that may be accepted (已备案; not after 履约完成, 001 §5.1.7 注: 履约完成后将无法发起
支付或验收; not terminating, terminated or revoked), fills the result (验收合格 / 验收不合格), the acceptance date,
notes and attachments (验收材料), and submits; the reviewer approves (→ ``accepted`` 已验收, with its result) or
rejects (→ back to the clerk). Refused once the project is closed (001 §2.2.5 注: 未完成资金支付部分不允许发起
…验收). One acceptance of a contract is open at a time.

无验收不结项: ``Acceptance.passed_for_project`` tells project closing whether a filed contract of the project
(or one filed and since fulfilled) has a passed acceptance; ``unaccepted_contracts`` lists those that have none.
"""
from sqlalchemy import Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, date_field
from .contract import Contract
from .reviewed import ReviewedRecord, beijing_today, check_project_open, text

RESULTS = {"pass": "验收合格", "fail": "验收不合格"}
# Contracts whose acceptance counts for closing the project: filed, or filed and since fulfilled.
COUNTED = ("filed", "fulfilled")


class Acceptance(ReviewedRecord, Audited, Base):
    __tablename__ = "acceptance"
    __audit_fields__ = ("status", "result", "accepted_on", "notes", "attachments", "review_comment")
    LABEL = "履约验收"
    PREFIX = "YS"
    DONE = "accepted"
    STATUSES = {"in_review": "审核中", "returned": "已退回", "accepted": "已验收", "cancelled": "已取消"}

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    result: Mapped[str] = mapped_column(String(8))  # pass / fail
    accepted_on = mapped_column(Date, nullable=True)  # 验收日期
    notes: Mapped[str] = mapped_column(Text, default="")  # 验收情况说明

    @classmethod
    def submit(cls, session, contract, project, values, attachments, user_id, now, acceptance=None):
        """提交履约验收; ``contract`` locked by the caller."""
        if acceptance is not None:
            acceptance.check_contract(contract)
            acceptance.require("returned", action="重新提交")
        result = values.get("result")
        if result not in RESULTS:
            raise DomainError("INVALID_INPUT", "请选择验收结论（验收合格或验收不合格）", field="result", status=400)
        accepted_on = date_field(values.get("accepted_on"), "accepted_on", "验收日期", latest=beijing_today(now))
        notes = text(values.get("notes"), "notes", "验收情况说明", 2000)
        contract.check_acceptance()  # filed only: not after 履约完成, not terminating/terminated/revoked
        check_project_open(project, "未完成的部分不允许发起履约验收")
        others = cls.open_for(session, contract.id, exclude_id=acceptance.id if acceptance else None)
        if others:
            other = others[0]
            raise DomainError("ACCEPTANCE_PENDING", f"合同 {contract.number} 有未办结的履约验收 {other.number}"
                                                    f"（{other.status_label}），办结后才能再次发起")
        fields = {"result": result, "accepted_on": accepted_on, "notes": notes, "attachments": attachments}
        if acceptance is None:
            return cls._new(session, contract, user_id, now, project_id=contract.project_id, **fields)
        acceptance.resubmit()
        for key, value in fields.items():
            setattr(acceptance, key, value)
        return acceptance

    def accept(self, contract, project, now):
        """审核通过: the acceptance stands with its result."""
        self.check_contract(contract)
        self.require("in_review", action="审核通过")
        hint = "；请审核不通过，退回经办岗取消该验收"
        try:
            contract.check_acceptance()
            check_project_open(project, "不允许履约验收")
        except DomainError as err:
            raise DomainError(err.code, err.message + hint) from None
        self.approve(now)

    @classmethod
    def passed_for_project(cls, session, project_id):
        """无验收不结项: does a filed (or filed, since fulfilled) contract of the project have a passed acceptance?"""
        return session.scalar(select(cls.id).join(Contract, Contract.id == cls.contract_id).where(
            cls.project_id == project_id, cls.status == "accepted", cls.result == "pass",
            Contract.status.in_(COUNTED)).limit(1)) is not None

    @classmethod
    def unaccepted_contracts(cls, session, project_id):
        """Filed (or fulfilled) contracts of the project without a passed acceptance."""
        passed = select(cls.contract_id).where(cls.status == "accepted", cls.result == "pass")
        return list(session.scalars(select(Contract).where(
            Contract.project_id == project_id, Contract.status.in_(COUNTED), Contract.id.not_in(passed))
            .order_by(Contract.id)))

    def to_dict(self):
        return {**self.base_dict(), "project_id": self.project_id, "result": self.result,
                "result_label": RESULTS.get(self.result), "notes": self.notes,
                "accepted_on": self.accepted_on.isoformat() if self.accepted_on else None}
