"""Purchase contracts (采购合同), seed 001 ch.5: entry, review, announcement, filing (备案), and what may follow.

States (``Contract.status``) and the procedures that move them:

* draft 录入中 → in_review 审核中 → reviewed 待发布 → published 待备案 → filed 已备案 (contract_filing);
  in_review → draft when the reviewer rejects (with the comment); draft → deleted 已删除.
* filed → terminating 终止中 → terminated 已终止 (contract_termination); terminating → filed if the clerk withdraws.
* filed → revoked 已撤销 (contract_revocation); revoked → draft when contract_filing is started on it again
  (撤销后可以重新公示合同, 001 §5.1.6 注) → … → filed, recorded as a new version (refiling).
* filed → fulfilled 履约完成 (contract_fulfillment).
* filed → filed with ``current_version`` + 1 (contract_change, contract_account_change).

* A change (合同变更) or account change (账户变更) does not introduce a state: the contract stays ``filed`` and
  its ``current_version`` goes up by one; every version's content is kept in ``contract_version`` (version 1
  is written when the contract is first filed), and every field change is in the instance history.
* Requests that need review (change, termination, account change, revocation) are ``contract_request`` rows;
  while one is open (in review or returned to the clerk) ``Contract.pending`` names its kind and no other
  request or fulfilment is accepted. A termination request moves the contract to ``terminating`` at once:
  from the request on no new payment or write-off (001 §6.1 注), until it is approved (``terminated``) or the
  clerk withdraws it (back to ``filed``).
* Financing contracts (融资合同) refuse change, account change and revocation (001 §5.1 注: “不允许变更撤销等操作”;
  the payee account of a financed contract is the one the financing agreement names).
* Money (001 ch.6, app/models/payment.py): ``paid_amount`` is what approved payments paid less approved
  write-offs (冲销); ``reserved_amount`` what payment requests in review hold (reserved when submitted under a
  row lock on the contract, released when returned or cancelled), so paid + reserved never exceeds
  ``total_amount`` = ``amount`` + ``supplement_amount`` (approved 补充合同, app/models/supplement.py).
  ``check_payable`` / ``check_writeoff`` / ``check_acceptance`` are the rules those procedures call.
"""
import re
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from .supplier import credit_code_problem
from .base import (
    Audited, Base, DomainError, Money, UTCDateTime, date_field, money, utcnow, invalid as _bad, text_field as _text)
from .plan import METHODS as PLAN_METHODS, STATUSES as PLAN_STATUSES

STATUSES = {"draft": "录入中", "in_review": "审核中", "reviewed": "待发布", "published": "待备案", "filed": "已备案",
            "terminating": "终止中", "terminated": "已终止", "revoked": "已撤销", "fulfilled": "履约完成",
            "deleted": "已删除"}
# Contracts that take their amount out of their plan; a terminated one keeps only what was paid.
OCCUPYING = ("in_review", "reviewed", "published", "filed", "terminating", "fulfilled")
USABLE_PLAN = ("filed", "used")
# 无系统不交易: these methods go through the transaction system; these plan types need no transaction.
TRANSACTION_METHODS = ("open_tender", "invited_tender", "negotiation", "consultation", "inquiry", "single_source")
HAND_PLAN_TYPES = ("no_process", "emall", "framework", "renewal")
REQUEST_KINDS = {"change": "合同变更", "termination": "合同终止", "account_change": "账户变更", "revocation": "合同撤销"}
REQUEST_STATUSES = {"in_review": "审核中", "returned": "已退回", "approved": "审核通过", "cancelled": "已取消"}
FINANCING_LOCKED = ("change", "account_change", "revocation")
VERSION_KINDS = {"filing": "备案", "change": "合同变更", "account_change": "账户变更", "refiling": "重新备案"}
# What a contract change (合同变更) may alter; the plan, financing flag and payee accounts have their own paths.
CHANGEABLE = ("name", "suppliers", "items", "payment_schedule", "text_ref", "amount", "signed_date")
EDITABLE = CHANGEABLE + ("accounts", "is_financing", "is_multi_year")
CONTENT = ("plan_id",) + EDITABLE

_ACCOUNT_NUMBER = re.compile(r"^[0-9]{6,32}$")


# -- input shapes (400 with the field named) ------------------------------------------------------


def _rows(value, field, label):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise _bad(field, f"{label}格式不正确")
    return value


def parse_suppliers(value):
    out = []
    for i, row in enumerate(_rows(value, "suppliers", "供应商"), 1):
        name = _text(row.get("name"), "suppliers", f"第 {i} 个供应商的名称")
        code = _text(row.get("credit_code"), "suppliers", f"第 {i} 个供应商的统一社会信用代码", 18, required=False)
        problem = credit_code_problem(code.upper()) if code else None  # GB 32100: alphabet and check digit
        if problem:
            raise _bad("suppliers", f"第 {i} 个供应商的统一社会信用代码{problem}")
        out.append({"name": name, "credit_code": code.upper()})
    return out


def parse_accounts(value):
    out = []
    for i, row in enumerate(_rows(value, "accounts", "收款账户"), 1):
        bank = _text(row.get("bank"), "accounts", f"第 {i} 个收款账户的开户银行")
        name = _text(row.get("account_name"), "accounts", f"第 {i} 个收款账户的账户名称")
        number = re.sub(r"[\s-]", "", str(row.get("account_number") or ""))
        if not number:
            raise _bad("accounts", f"请填写第 {i} 个收款账户的账号")
        if not _ACCOUNT_NUMBER.match(number):
            raise _bad("accounts", f"第 {i} 个收款账户的账号应为 6 到 32 位数字")
        out.append({"bank": bank, "account_name": name, "account_number": number})
    return out


def parse_items(value):
    out = []
    for i, row in enumerate(_rows(value, "items", "主要标的清单"), 1):
        name = _text(row.get("item_name"), "items", f"第 {i} 项标的的名称")
        quantity = row.get("quantity")
        if quantity not in (None, ""):
            try:
                quantity = Decimal(str(quantity))
            except Exception:
                raise _bad("items", f"第 {i} 项标的的数量格式不正确") from None
            if not quantity.is_finite() or quantity < 0:
                raise _bad("items", f"第 {i} 项标的的数量不能为负数")
            quantity = int(quantity) if quantity == quantity.to_integral_value() else float(quantity)
        else:
            quantity = None
        price = row.get("unit_price")
        price = str(money(price, "items")) if price not in (None, "") else None
        out.append({"item_name": name, "quantity": quantity, "unit_price": price})
    return out


def parse_schedule(value):
    out = []
    for i, row in enumerate(_rows(value, "payment_schedule", "支付计划"), 1):
        phase = _text(row.get("phase"), "payment_schedule", f"第 {i} 期支付的款项名称", 100)
        if row.get("amount") in (None, ""):
            raise _bad("payment_schedule", f"请填写第 {i} 期支付的金额")
        amount = money(row.get("amount"), "payment_schedule")
        if amount <= 0:
            raise _bad("payment_schedule", f"第 {i} 期支付的金额必须大于 0")
        due = date_field(row.get("due_date"), "payment_schedule", f"第 {i} 期支付的计划日期", required=False)
        condition = _text(row.get("condition"), "payment_schedule", f"第 {i} 期支付的条件", 500, required=False)
        out.append({"phase": phase, "amount": str(amount), "due_date": due.isoformat() if due else None,
                    "condition": condition})
    return out


_PARSERS = {
    "name": lambda v: _text(v, "name", "合同名称"),
    "text_ref": lambda v: _text(v, "text_ref", "合同文本", required=False),
    "amount": money,
    "signed_date": lambda v: date_field(v, "signed_date", "合同签订日期", required=False),
    "is_financing": bool,
    "is_multi_year": bool,
    "suppliers": parse_suppliers,
    "accounts": parse_accounts,
    "items": parse_items,
    "payment_schedule": parse_schedule,
}


def parse_values(values):
    """The entries given, checked and converted to attribute values (400 naming the field otherwise)."""
    return {key: _PARSERS[key](value) for key, value in values.items() if key in _PARSERS}


def _stored(key, value):
    """An attribute value as a version's JSON content holds it."""
    if key == "amount":
        return f"{value:.2f}"
    if key == "signed_date":
        return value.isoformat() if value else None
    if isinstance(value, list):
        return list(value)
    return value


def _schedule_total(schedule):
    return sum((Decimal(row["amount"]) for row in schedule), Decimal("0"))


def contracted_amount(session, plan_id, exclude_id=None):
    """What the plan's live contracts take (a terminated contract only what was paid on it)."""
    query = select(Contract.amount, Contract.status, Contract.paid_amount).where(
        Contract.plan_id == plan_id, Contract.status.in_(OCCUPYING + ("terminated",)))
    if exclude_id is not None:
        query = query.where(Contract.id != exclude_id)
    return sum((amount if status in OCCUPYING else paid for amount, status, paid in session.execute(query)),
               Decimal("0"))


class Contract(Audited, Base):
    __tablename__ = "contract"
    __audit_fields__ = ("status", "pending", "plan_id", "name", "amount", "suppliers", "accounts", "items",
                        "payment_schedule", "text_ref", "signed_date", "is_financing", "current_version",
                        "paid_amount", "review_comment", "performance_note", "supplement_amount", "reserved_amount")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual 手工录入 / award 中标结果
    name: Mapped[str] = mapped_column(String(200), default="")
    suppliers: Mapped[list] = mapped_column(JSON, default=list)  # [{name, credit_code}]
    accounts: Mapped[list] = mapped_column(JSON, default=list)  # 收款账户 [{bank, account_name, account_number}]
    items: Mapped[list] = mapped_column(JSON, default=list)  # 主要标的 [{item_name, quantity, unit_price}]
    payment_schedule: Mapped[list] = mapped_column(JSON, default=list)  # [{phase, amount, due_date, condition}]
    text_ref: Mapped[str] = mapped_column(String(200), default="")  # 合同文本 (stored file reference)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    signed_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_financing: Mapped[bool] = mapped_column(Boolean, default=False)
    is_multi_year: Mapped[bool] = mapped_column(Boolean, default=False)  # 一签多年: a 合同续签 plan may renew it
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    pending: Mapped[str | None] = mapped_column(String(16), nullable=True)  # kind of the open request, if any
    current_version: Mapped[int] = mapped_column(Integer, default=0)  # 0 until first filed
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    supplement_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # approved 补充合同
    reserved_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # payment requests in review
    review_comment: Mapped[str] = mapped_column(Text, default="")
    announcement_title: Mapped[str] = mapped_column(String(200), default="")
    performance_note: Mapped[str] = mapped_column(Text, default="")
    published_at = mapped_column(UTCDateTime, nullable=True)
    filed_at = mapped_column(UTCDateTime, nullable=True)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    versions = relationship("ContractVersion", order_by="ContractVersion.version", cascade="all, delete-orphan")
    requests = relationship("ContractRequest", order_by="ContractRequest.id", cascade="all, delete-orphan")

    # -- creation and entry (录入) -------------------------------------------------------------
    @classmethod
    def new_draft(cls, session, plan, unit_id, values=None, created_by=None, now=None, source="manual"):
        """A draft on a usable plan of the unit with the entries given: by hand (contract_filing), or made by
        another process (e.g. from an award, ``source="award"``) and picked up by id in contract_filing."""
        contract = cls(number=uuid.uuid4().hex[:20], unit_id=unit_id, plan_id=plan.id, project_id=plan.project_id,
                       source=source, status="draft", name="", suppliers=[], accounts=[], items=[],
                       payment_schedule=[], text_ref="", amount=Decimal("0"), is_financing=False,
                       paid_amount=Decimal("0"), supplement_amount=Decimal("0"), reserved_amount=Decimal("0"),
                       current_version=0, review_comment="", announcement_title="",
                       performance_note="", created_by=created_by, created_at=now or utcnow())
        contract.check_plan_usable(plan, session)
        contract._assign(values or {})
        session.add(contract)
        session.flush()
        contract.number = f"HT{plan.year}{contract.id:06d}"
        return contract

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("CONTRACT_STATE", f"合同 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    def check_plan_usable(self, plan, session=None):
        """The unit's own usable plan — or, 统招分签, the lead's plan on the aggregated result this unit responded to:
        the contract is then signed on the unit's own project (its response, its funds)."""
        if plan.unit_id != self.unit_id:
            from .unified_funds import member_of_plan
            member = member_of_plan(session or object_session(plan), plan, self.unit_id)
            if member is None:
                raise DomainError("WRONG_UNIT", f"采购计划 {plan.number} 不属于本单位", field="plan_id", status=403)
            self.project_id = member.id
        if plan.status not in USABLE_PLAN:
            raise DomainError("PLAN_NOT_USABLE",
                              f"采购计划 {plan.number} 当前状态为“{PLAN_STATUSES[plan.status]}”，"
                              "只有已备案（可使用）的采购计划才能签订合同", field="plan_id")
        plan.check_single_source_ready()

    def check_transaction(self, session, plan):
        """无系统不交易 (seed 003 三原则, 004 §三): on a plan whose method needs a transaction, a contract follows an
        award made in the system; by hand only where the plan type or method needs none (自行采购, 无过程, 电子卖场,
        框架协议, 合同续签)."""
        if self.source == "award" or plan.plan_type in HAND_PLAN_TYPES or plan.method not in TRANSACTION_METHODS:
            return
        from .tender import Tender
        awarded = session.scalar(select(Tender.id).where(Tender.plan_id == plan.id, Tender.status == "awarded")
                                 .limit(1))
        if awarded is None:
            raise DomainError("NO_TRANSACTION", f"采购计划 {plan.number} 的采购方式为{PLAN_METHODS[plan.method]}，须在系统中"
                                                "完成交易、确定中标（成交）供应商后才能签订合同（无系统不交易）", field="plan_id")

    def set_plan(self, plan):
        self._require("draft", action="修改")
        self.plan_id, self.project_id = plan.id, plan.project_id
        self.check_plan_usable(plan)

    def edit(self, values):
        """Apply the clerk's entries (only the keys given) while 录入中."""
        self._require("draft", action="修改")
        self._assign(values)

    def _assign(self, values):
        for key, value in parse_values(values).items():
            setattr(self, key, list(value) if isinstance(value, list) else value)  # new lists, so changes are seen

    def check_complete(self, today):
        """Everything 001 §5.1.1 steps 2–7 ask for, and the payment schedule adding up."""
        checks = ((self.name, "name", "请填写合同名称"),
                  (self.suppliers, "suppliers", "请至少添加一个供应商（签订各方信息）"),
                  (self.accounts, "accounts", "请至少添加一个收款账户"),
                  (self.items, "items", "请至少填写一项主要标的"),
                  (self.payment_schedule, "payment_schedule", "请填写合同支付计划"),
                  (self.text_ref, "text_ref", "请上传合同文本"),
                  (self.signed_date, "signed_date", "请填写合同签订日期"))
        for value, field, message in checks:
            if not value:
                raise DomainError("CONTRACT_INCOMPLETE", message, field=field)
        if self.signed_date > today:
            raise DomainError("CONTRACT_INCOMPLETE", "合同签订日期不能晚于今天", field="signed_date")
        if self.amount <= 0:
            raise DomainError("INVALID_AMOUNT", "合同金额必须大于 0", field="amount")
        total = _schedule_total(self.payment_schedule)
        if total != self.amount:
            raise DomainError("SCHEDULE_MISMATCH",
                              f"支付计划合计 {total:,.2f} 元与合同金额 {self.amount:,.2f} 元不一致", field="payment_schedule")

    def check_plan_amount(self, session, plan, amount=None):
        """合同金额不能超过采购计划金额 (together with the plan's other live contracts)."""
        amount = self.amount if amount is None else amount
        if plan.unit_id != self.unit_id:  # 统招分签: a member's contracts stay within its own project
            from .unified_funds import check_member_share
            from .project import Project
            check_member_share(session, self, session.get(Project, self.project_id), amount)
        others = contracted_amount(session, plan.id, exclude_id=self.id)
        if amount + others > plan.amount:
            detail = f"，该计划已签订其他合同 {others:,.2f} 元，可用 {plan.amount - others:,.2f} 元" if others else ""
            raise DomainError("OVER_PLAN_AMOUNT",
                              f"合同金额不能超过采购计划金额：合同金额 {amount:,.2f} 元，采购计划 {plan.number} "
                              f"金额 {plan.amount:,.2f} 元{detail}", field="amount")

    def submit(self, session, plan, today, actor, now):
        """提交: complete, on a usable plan, within its amount, its suppliers in the library (new ones proposed to
        it); then into review. Returns the suppliers proposed to the library."""
        self._require("draft", action="提交审核")
        self.check_complete(today)
        self.check_plan_usable(plan)
        self.check_plan_amount(session, plan)
        self.check_transaction(session, plan)
        from .supplier import enrol  # 供应商库: a refused supplier is no contract party; a new one is reviewed
        proposed = enrol(session, self.suppliers or [], "suppliers", actor, now, f"合同 {self.number}")
        self.status = "in_review"
        self.review_comment = ""
        return proposed

    def return_for_edit(self, comment):
        """审核不通过: back to the entry post with the reviewer's comment."""
        self._require("in_review", action="退回")
        self.status = "draft"
        self.review_comment = comment or ""

    def approve(self):
        """审核通过: the contract announcement waits to be published (待发布)."""
        self._require("in_review", action="审核通过")
        self.status = "reviewed"

    def delete(self):
        self._require("draft", action="删除")
        self.status = "deleted"

    def publish(self, title, now):
        """发布合同公告 (001 §8.1)."""
        self._require("reviewed", action="发布合同公告")
        self.announcement_title = (title or "").strip() or f"{self.name}合同公告"
        self.published_at = now
        self.status = "published"

    def file(self, session, plan, user_id, now):
        """备案 (001 §5.1.2): filed; the plan is used; the filed content becomes a version."""
        self._require("published", action="备案")
        self.check_plan_usable(plan)
        self.check_plan_amount(session, plan)
        plan.mark_used()
        self.status = "filed"
        self.filed_at = now
        self._new_version("refiling" if self.current_version else "filing", user_id, now)

    def reopen(self):
        """A revoked contract may be published again (001 §5.1.6 注): back to 录入中, keeping its versions."""
        self._require("revoked", action="重新录入")
        self.status = "draft"
        self.review_comment = ""
        self.ended_at = None

    def content(self):
        """The contract's content as stored in a version (JSON)."""
        return {key: _stored(key, getattr(self, key)) for key in CONTENT}

    def _new_version(self, kind, user_id, now, reason="", request=None):
        self.current_version = (self.current_version or 0) + 1
        self.versions.append(ContractVersion(version=self.current_version, kind=kind, content=self.content(),
                                             reason=reason or "", request=request, created_by=user_id,
                                             created_at=now))

    # -- requests after filing (001 §5.1.3–5.1.6) -----------------------------------------------
    def _begin(self, kind, request):
        """Check a new request may be made, or that ``request`` is this contract's returned one of that kind."""
        label = REQUEST_KINDS[kind]
        if request is not None:
            if request.contract_id != self.id or request.kind != kind:
                raise DomainError("INVALID_INPUT", f"申请 {request.id} 不是本合同的{label}申请",
                                  field="contract_request_id", status=400)
            request.require("returned", action="重新提交")
            return
        if kind == "termination" and self.status == "terminating":
            raise DomainError("REQUEST_PENDING", f"合同 {self.number} 已发起合同终止，请勿重复申请")
        self._require("filed", action=f"申请{label}")
        if self.is_financing and kind in FINANCING_LOCKED:
            raise DomainError("FINANCING_CONTRACT", f"合同 {self.number} 为融资合同，不允许{label}")
        if self.pending:
            raise DomainError("REQUEST_PENDING",
                              f"合同 {self.number} 有未办结的{REQUEST_KINDS[self.pending]}申请，办结后才能申请{label}")

    def _submit(self, kind, request, user_id, now, **fields):
        if request is None:
            request = ContractRequest(contract_id=self.id, kind=kind, unit_id=self.unit_id, created_by=user_id,
                                      created_at=now)
            self.requests.append(request)
        for key, value in fields.items():
            setattr(request, key, value)
        request.status = "in_review"
        request.review_comment = ""
        self.pending = kind
        return request

    def request_change(self, session, plan, values, explanation, attachment_ref, user_id, now, request=None, attachments=None):
        """合同变更: the new content (keys given replace the current ones) goes to review; nothing changes yet."""
        self._begin("change", request)
        explanation = _text(explanation, "explanation", "变更说明", 2000)
        changes = parse_values({key: value for key, value in values.items() if key in CHANGEABLE})
        proposed = {**self.content(), **{key: _stored(key, value) for key, value in changes.items()}}
        amount = Decimal(proposed["amount"])
        if proposed == self.content():
            raise DomainError("NO_CHANGE", "变更内容与原合同一致，请修改需要变更的内容")
        for key, label in (("name", "合同名称"), ("suppliers", "供应商"), ("items", "主要标的"),
                           ("payment_schedule", "支付计划")):
            if not proposed[key]:
                raise DomainError("CONTRACT_INCOMPLETE", f"变更后的{label}不能为空", field=key)
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "合同金额必须大于 0", field="amount")
        if amount < self.paid_amount:
            raise DomainError("BELOW_PAID", f"变更后的合同金额 {amount:,.2f} 元低于已支付金额 {self.paid_amount:,.2f} 元",
                              field="amount")
        total = _schedule_total(proposed["payment_schedule"])
        if total != amount:
            raise DomainError("SCHEDULE_MISMATCH", f"支付计划合计 {total:,.2f} 元与变更后的合同金额 {amount:,.2f} 元不一致",
                              field="payment_schedule")
        self.check_plan_amount(session, plan, amount)
        return self._submit("change", request, user_id, now, reason="", explanation=explanation,
                            attachment_ref=_text(attachment_ref, "attachment_ref", "变更说明附件", required=False),
                            attachments=list(attachments or []),
                            proposed=proposed)

    def request_termination(self, reason, explanation, attachment_ref, user_id, now, request=None, attachments=None):
        """合同终止: from the request on the contract is 终止中 (no new payment or write-off)."""
        self._begin("termination", request)
        request = self._submit("termination", request, user_id, now,
                               reason=_text(reason, "reason", "终止原因", 500),
                               explanation=_text(explanation, "explanation", "终止情况说明", 2000),
                               attachment_ref=_text(attachment_ref, "attachment_ref", "终止说明附件", required=False),
                               attachments=list(attachments or []),
                               proposed={})
        self.status = "terminating"
        return request

    def request_account_change(self, accounts, reason, attachment_ref, user_id, now, request=None, attachments=None):
        """账户变更: the new payee accounts go to review."""
        self._begin("account_change", request)
        accounts = parse_accounts(accounts)
        if not accounts:
            raise DomainError("INVALID_INPUT", "请至少填写一个新的收款账户", field="accounts", status=400)
        if accounts == list(self.accounts or []):
            raise DomainError("NO_CHANGE", "新的收款账户与原账户相同，无需变更", field="accounts")
        return self._submit("account_change", request, user_id, now, reason=_text(reason, "reason", "变更原因", 500),
                            explanation="",
                            attachment_ref=_text(attachment_ref, "attachment_ref", "账户变更附件", required=False),
                            attachments=list(attachments or []),
                            proposed={"accounts": accounts})

    def request_revocation(self, reason, attachment_ref, user_id, now, request=None, attachments=None):
        """合同撤销: only a contract nothing has been paid on (otherwise 合同终止)."""
        self._begin("revocation", request)
        if self.paid_amount > 0:
            raise DomainError("ALREADY_PAID", f"合同 {self.number} 已支付 {self.paid_amount:,.2f} 元，不能撤销，请办理合同终止")
        return self._submit("revocation", request, user_id, now, reason=_text(reason, "reason", "撤销原因", 500),
                            explanation="",
                            attachment_ref=_text(attachment_ref, "attachment_ref", "撤销说明附件", required=False),
                            attachments=list(attachments or []),
                            proposed={})

    def _decide(self, request, kind):
        if request is None or request.contract_id != self.id or request.kind != kind or self.pending != kind:
            raise DomainError("REQUEST_MISMATCH",
                              f"合同 {self.number} 没有待审核的{REQUEST_KINDS.get(kind, '')}申请")
        request.require("in_review", action="审核")

    def apply_change(self, session, plan, request, user_id, now):
        """变更审核通过: the contract takes the new content as its next version; the old version is kept."""
        self._decide(request, "change")
        self._require("filed", action="变更")
        proposed = request.proposed
        self.check_plan_amount(session, plan, Decimal(proposed["amount"]))
        self._assign({key: proposed[key] for key in CHANGEABLE})
        self.pending = None
        request.approve(now)
        self._new_version("change", user_id, now, reason=request.explanation, request=request)

    def apply_account_change(self, request, user_id, now):
        self._decide(request, "account_change")
        self._require("filed", action="变更收款账户")
        self._assign({"accounts": request.proposed["accounts"]})
        self.pending = None
        request.approve(now)
        self._new_version("account_change", user_id, now, reason=request.reason, request=request)

    def terminate(self, request, now):
        self._decide(request, "termination")
        self._require("terminating", action="终止")
        self.status = "terminated"
        self.pending = None
        self.ended_at = now
        request.approve(now)

    def revoke(self, request, now):
        self._decide(request, "revocation")
        self._require("filed", action="撤销")
        self.status = "revoked"
        self.pending = None
        self.ended_at = now
        request.approve(now)

    def return_request(self, request, comment):
        """审核不通过: the request goes back to the clerk with the comment; the contract keeps it pending."""
        self._decide(request, request.kind if request is not None else self.pending)
        request.status = "returned"
        request.review_comment = comment or ""

    def cancel_request(self, request, now):
        """The clerk withdraws a returned request; a contract that was 终止中 is 已备案 again."""
        if request is None or request.contract_id != self.id or self.pending != request.kind:
            raise DomainError("REQUEST_MISMATCH", f"合同 {self.number} 没有可取消的申请")
        request.require("returned", action="取消")
        request.status = "cancelled"
        request.decided_at = now
        self.pending = None
        if request.kind == "termination":
            self._require("terminating", action="取消终止")
            self.status = "filed"

    # -- fulfilment (001 §5.1.7) -----------------------------------------------------------------
    def fulfil(self, note, now):
        """履约完成: no payment or acceptance afterwards."""
        self._require("filed", action="确认履约完成")
        if self.pending:
            raise DomainError("REQUEST_PENDING",
                              f"合同 {self.number} 有未办结的{REQUEST_KINDS[self.pending]}申请，办结后才能确认履约完成")
        self.performance_note = _text(note, "performance_note", "合同履约情况说明", 2000)
        self.status = "fulfilled"
        self.ended_at = now

    # -- what payments, write-offs and acceptance may do (001 §6.1 注, §5.1.7 注) -----------------
    @property
    def total_amount(self):
        """合同金额 including approved supplementary contracts (补充合同)."""
        return self.amount + (self.supplement_amount or Decimal("0"))

    @property
    def unpaid_amount(self):
        return self.total_amount - self.paid_amount

    @property
    def payable_amount(self):
        """What a new payment request may still ask for: unpaid, less what requests in review hold."""
        return self.unpaid_amount - (self.reserved_amount or Decimal("0"))

    def _refuse_money(self, action):
        messages = {
            "terminating": f"合同 {self.number} 已发起终止，不能发起新的{action}",
            "terminated": f"合同 {self.number} 已终止，不能发起新的{action}",
            "fulfilled": f"合同 {self.number} 已履约完成，不能再发起{action}",
            "revoked": f"合同 {self.number} 已撤销，不能发起{action}",
        }
        message = messages.get(self.status) or \
            f"合同 {self.number} 当前状态为“{STATUSES[self.status]}”，备案后才能发起{action}"
        return DomainError("NOT_PAYABLE", message)

    def can_pay(self):
        return self.status == "filed" and self.payable_amount > 0

    def check_payable(self, amount):
        """A payment of ``amount``: only on a filed contract, at most what is unpaid."""
        if self.status != "filed":
            raise self._refuse_money("支付申请")
        amount = money(amount)
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "支付金额必须大于 0", field="amount", status=400)
        if amount > self.payable_amount:
            reserved = self.reserved_amount or Decimal("0")
            if reserved:
                message = (f"本次支付金额 {amount:,.2f} 元超过合同可支付金额 {self.payable_amount:,.2f} 元"
                           f"（未支付 {self.unpaid_amount:,.2f} 元，其中 {reserved:,.2f} 元已被审核中的支付申请占用）")
            else:
                message = f"本次支付金额 {amount:,.2f} 元超过合同未支付金额 {self.unpaid_amount:,.2f} 元"
            if self.supplement_amount:
                message += (f"；合同金额 {self.amount:,.2f} 元，补充合同 {self.supplement_amount:,.2f} 元，"
                            f"已支付 {self.paid_amount:,.2f} 元")
            raise DomainError("OVER_UNPAID", message, field="amount")
        return amount

    # -- money kept by the payment procedures (app/models/payment.py), under a row lock on the contract ----------
    def reserve_payment(self, amount):
        """提交支付申请: the amount is held until the request is paid, returned or cancelled."""
        amount = self.check_payable(amount)
        self.reserved_amount = (self.reserved_amount or Decimal("0")) + amount
        return amount

    def release_payment(self, amount):
        """审核不通过 or 取消: the held amount is free again."""
        reserved = self.reserved_amount or Decimal("0")
        if amount > reserved:
            raise DomainError("RESERVATION_MISMATCH", f"合同 {self.number} 占用金额 {reserved:,.2f} 元少于要释放的 {amount:,.2f} 元")
        self.reserved_amount = reserved - amount

    def record_payment(self, amount):
        """支付审核通过: the held amount is paid; paid never exceeds the contract amount (with supplements)."""
        reserved = self.reserved_amount or Decimal("0")
        if amount > reserved or self.paid_amount + amount > self.total_amount:
            raise DomainError("OVER_UNPAID", f"支付金额 {amount:,.2f} 元超过合同未支付金额 {self.unpaid_amount:,.2f} 元"
                                             f"（合同金额 {self.total_amount:,.2f} 元，已支付 {self.paid_amount:,.2f} 元）")
        self.reserved_amount = reserved - amount
        self.paid_amount += amount

    def reverse_payment(self, amount):
        """冲销审核通过: what was paid goes down by the amount written off."""
        amount = self.check_writeoff(amount)
        self.paid_amount -= amount
        return amount

    def add_supplement(self, amount):
        """补充合同审核通过: the contract's payable total grows by the supplement."""
        self.supplement_amount = (self.supplement_amount or Decimal("0")) + amount

    def check_writeoff(self, amount):
        """冲销 of ``amount``: only on a filed contract, at most what was paid."""
        if self.status != "filed":
            raise self._refuse_money("冲销")
        amount = money(amount)
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "冲销金额必须大于 0", field="amount", status=400)
        if amount > self.paid_amount:
            raise DomainError("OVER_PAID", f"冲销金额 {amount:,.2f} 元超过已支付金额 {self.paid_amount:,.2f} 元",
                              field="amount")
        return amount

    def check_acceptance(self):
        """履约验收: only on a filed contract (not after 履约完成)."""
        if self.status != "filed":
            raise self._refuse_money("履约验收")

    def to_dict(self, details=False):
        d = {"id": self.id, "number": self.number, "unit_id": self.unit_id, "plan_id": self.plan_id,
             "project_id": self.project_id, "source": self.source, "name": self.name,
             "suppliers": self.suppliers or [], "accounts": self.accounts or [], "items": self.items or [],
             "payment_schedule": self.payment_schedule or [], "text_ref": self.text_ref, "amount": self.amount,
             "paid_amount": self.paid_amount, "unpaid_amount": self.unpaid_amount,
             "supplement_amount": self.supplement_amount or Decimal("0"), "total_amount": self.total_amount,
             "reserved_amount": self.reserved_amount or Decimal("0"), "payable_amount": self.payable_amount,
             "signed_date": self.signed_date.isoformat() if self.signed_date else None,
             "is_financing": self.is_financing, "is_multi_year": bool(self.is_multi_year), "status": self.status, "status_label": STATUSES[self.status],
             "pending": self.pending, "pending_label": REQUEST_KINDS.get(self.pending),
             "current_version": self.current_version, "review_comment": self.review_comment,
             "announcement_title": self.announcement_title, "performance_note": self.performance_note,
             "published_at": self.published_at, "filed_at": self.filed_at, "ended_at": self.ended_at,
             "created_at": self.created_at}
        if details:
            d["versions"] = [v.to_dict() for v in self.versions]
            d["requests"] = [r.to_dict() for r in self.requests]
        return d


class ContractRequest(Audited, Base):
    """A change, termination, account-change or revocation request (合同变更/终止/账户变更/撤销申请) under review."""

    __tablename__ = "contract_request"
    __audit_fields__ = ("kind", "status", "review_comment")

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in_review", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    attachment_ref: Mapped[str] = mapped_column(String(200), default="")  # a typed reference (older API callers)
    attachments: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # [{attachment_id, name, sha256}]
    proposed: Mapped[dict] = mapped_column(JSON, default=dict)  # change: new content; account change: {accounts}
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    decided_at = mapped_column(UTCDateTime, nullable=True)

    def require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("REQUEST_STATE", f"{REQUEST_KINDS[self.kind]}申请 {self.id} 当前状态为"
                                               f"“{REQUEST_STATUSES[self.status]}”，不能{action}")

    def approve(self, now):
        self.status = "approved"
        self.decided_at = now

    def to_dict(self):
        return {"id": self.id, "contract_id": self.contract_id, "kind": self.kind,
                "kind_label": REQUEST_KINDS[self.kind], "status": self.status,
                "status_label": REQUEST_STATUSES[self.status], "reason": self.reason, "explanation": self.explanation,
                "attachment_ref": self.attachment_ref, "attachments": self.attachments or [], "proposed": self.proposed or {},
                "review_comment": self.review_comment, "created_at": self.created_at, "decided_at": self.decided_at}


class ContractVersion(Audited, Base):
    """The content of a contract as filed (version 1) and after each approved change or account change."""

    __tablename__ = "contract_version"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)
    __audit_fields__ = ("version", "kind")

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("contract_request.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    request = relationship(ContractRequest)

    def to_dict(self):
        return {"version": self.version, "kind": self.kind, "kind_label": VERSION_KINDS[self.kind],
                "content": self.content, "reason": self.reason, "request_id": self.request_id,
                "created_at": self.created_at}
