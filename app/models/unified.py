"""统招分签 (seed 001 §2.1): a lead unit (牵头单位) buys for several member units (分签单位), each of which signs its
own contract. The lead unit's clerk creates the unified plan (基本信息、采购内容清单、项目执行方案、归集范围及响应截止时间);
its reviewer reviews; then each member unit answers in parallel — 响应 (quantities per item for goods, an amount for
every category), reviewed by the member's own reviewer, or 不响应 with a reason — until the response deadline.

    draft 编辑中 → in_review 审核中 → responding 响应中 → aggregated 已归集
                                                  ↘ not_aggregated 未归集 (deadline reached, nobody answered)
    aggregated → responding on 取消归集 (no plan uses it; a new deadline; every member may answer again)
    any state but deleted/terminated → terminated 已终止 (终止, with a reason; no plan uses it)

归集 (001 §2.1.4): early only when every member has answered (已响应 or 不响应); otherwise at the deadline, if at
least one has. A response still in its unit's review at the deadline counts as not answered (未响应).
The lead unit takes part by default (注: 默认牵头单位也参与统招分签).

A plan uses the unified plan through the lead unit's project named on it (``project_id``, optional until the lead
unit applies for the 统招分签 plan, 001 §4.1.4): a live plan of type ``unified`` on that project blocks 取消归集/终止.
"""
import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import (
    Audited, BEIJING, Base, DomainError, Drafted, Money, UTCDateTime, beijing, money, invalid as _bad,
    text_field as _text)

STATUSES = {"draft": "编辑中", "in_review": "审核中", "responding": "响应中", "aggregated": "已归集",
            "not_aggregated": "未归集", "terminated": "已终止", "deleted": "已删除"}
RESPONSE_STATUSES = {"pending": "待响应", "in_review": "审核中", "responded": "已响应", "declined": "不响应",
                     "expired": "未响应"}
ANSWERED = ("responded", "declined")


def parse_deadline(value, now):
    """响应截止时间: an ISO date-time (Beijing time when it has no offset) or a date (its end, 23:59:59 Beijing);
    it must be in the future."""
    text = str(value or "").strip()
    if not text:
        raise _bad("response_deadline", "请填写响应截止时间")
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59), BEIJING)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=BEIJING)
    except ValueError:
        raise _bad("response_deadline", "响应截止时间格式不正确（应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM）") from None
    moment = moment.astimezone(timezone.utc)
    if moment <= now:
        raise _bad("response_deadline", "响应截止时间应晚于当前时间")
    return moment


class UnifiedPlan(Drafted, Audited, Base):
    """统招分签项目 of the lead unit."""

    __tablename__ = "unified_plan"
    __audit_fields__ = ("status", "response_deadline", "round", "total_amount", "review_comment", "termination_reason")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    items: Mapped[list] = mapped_column(JSON, default=list)  # 采购内容清单 [{item_name, unit, spec}]
    execution_plan: Mapped[str] = mapped_column(Text, default="")  # 项目执行方案
    member_unit_ids: Mapped[list] = mapped_column(JSON, default=list)  # 项目归集范围
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))  # the lead's project its plan uses
    response_deadline = mapped_column(UTCDateTime)
    round: Mapped[int] = mapped_column(Integer, default=1)  # one more on each 取消归集
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # 归集金额
    totals: Mapped[list] = mapped_column(JSON, default=list)  # 归集数量 [{item_name, quantity}]
    aggregated_at = mapped_column(UTCDateTime, nullable=True)
    termination_reason: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # 项目终止说明附件
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime)

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("UNIFIED_STATE", f"统招分签项目 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    @classmethod
    def create(cls, session, unit_id, user_id, now):
        plan = cls(number=uuid.uuid4().hex[:20], unit_id=unit_id, name="", year=now.astimezone(BEIJING).year,
                   category="goods", status="draft", round=1, total_amount=Decimal("0"), created_by=user_id,
                   created_at=now, response_deadline=now)
        session.add(plan)
        session.flush()
        plan.number = f"TZ{now.astimezone(BEIJING).year}{plan.id:06d}"
        return plan

    def fill(self, session, values, now):
        """基本信息、采购内容清单、项目执行方案、归集范围（分签单位）、响应截止时间."""
        from .org import Unit
        from .project import CATEGORIES, Project
        self._require("draft", action="修改")
        self.name = _text(values.get("name"), "name", "项目名称", 200)
        year = values.get("year")
        if not str(year or "").isdigit() or not 2000 <= int(year) <= 2100:
            raise _bad("year", "请填写预算年度")
        self.year = int(year)
        if values.get("category") not in CATEGORIES:
            raise _bad("category", "请选择品目类别")
        self.category = values["category"]
        items = []
        for i, row in enumerate((r for r in values.get("items") or [] if isinstance(r, dict) and r.get("item_name")), 1):
            items.append({"item_name": _text(row.get("item_name"), "items", f"第 {i} 项采购内容", 200),
                          "unit": _text(row.get("unit"), "items", f"第 {i} 项的计量单位", 20, required=False),
                          "spec": _text(row.get("spec"), "items", f"第 {i} 项的技术要求", 1000, required=False)})
        if not items:
            raise _bad("items", "请至少填写一项采购内容")
        if len({i["item_name"] for i in items}) != len(items):
            raise _bad("items", "采购内容名称不能重复")
        self.items = items
        self.execution_plan = _text(values.get("execution_plan"), "execution_plan", "项目执行方案", 4000)
        members = []
        for raw in values.get("member_unit_ids") or []:
            ident = raw.get("unit_id") if isinstance(raw, dict) else raw
            if not str(ident or "").isdigit():
                raise _bad("member_unit_ids", f"分签单位编号“{ident}”不正确")
            if session.get(Unit, int(ident)) is None:
                raise _bad("member_unit_ids", f"分签单位 {ident} 不存在")
            if int(ident) not in members:
                members.append(int(ident))
        if not members:
            raise _bad("member_unit_ids", "请选择参与统招分签的单位（默认包括牵头单位）")
        self.member_unit_ids = members
        self.response_deadline = parse_deadline(values.get("response_deadline"), now)
        project_id = values.get("project_id")
        if project_id not in (None, ""):
            project = session.get(Project, int(project_id)) if str(project_id).isdigit() else None
            if project is None or project.unit_id != self.unit_id:
                raise _bad("project_id", f"项目 {project_id} 不存在或不属于牵头单位")
            self.project_id = project.id
        else:
            self.project_id = None

    def responses(self, session, lock=False):
        query = select(UnifiedResponse).where(UnifiedResponse.unified_plan_id == self.id).order_by(UnifiedResponse.id)
        return list(session.scalars(query.with_for_update() if lock else query))

    def open_responses(self, session, now):
        """审核通过 (or 取消归集): every member unit has a response to give by the deadline; returns them."""
        if self.response_deadline <= now:
            raise _bad("response_deadline", f"响应截止时间 {beijing(self.response_deadline)} 已过，请修改后重新提交")
        from .unified_funds import withdraw_response
        existing = {r.unit_id: r for r in self.responses(session, lock=True)}
        opened = []
        for unit_id in self.member_unit_ids:
            response = existing.get(unit_id)
            if response is not None:  # 取消归集: the member answers again, with a new 立项
                withdraw_response(session, response, "取消归集，分签单位重新响应")
            if response is None:
                response = UnifiedResponse(unified_plan_id=self.id, unit_id=unit_id, quantities=[], reason="",
                                           amount=Decimal("0"), review_comment="")
                session.add(response)
            response.status, response.round, response.answered_at = "pending", self.round, None
            opened.append(response)
        self.status = "responding"
        session.flush()
        return opened

    def check_deadline(self, now, action):
        if now >= self.response_deadline:
            raise DomainError("RESPONSE_CLOSED", f"统招分签项目 {self.number} 的响应截止时间 {beijing(self.response_deadline)}"
                                                 f" 已过，不能{action}")

    def aggregate(self, session, now):
        """归集. Before the deadline only when every member has answered; from the deadline on, the unanswered ones
        become 未响应 and, with at least one answer, the plan is aggregated, with none it ends 未归集.
        Returns the new status."""
        self._require("responding", action="归集")
        responses = self.responses(session, lock=True)
        waiting = [r for r in responses if r.status not in ANSWERED]
        if waiting and now < self.response_deadline:
            from .org import Unit
            names = "、".join(session.get(Unit, r.unit_id).name for r in waiting)
            raise DomainError("RESPONSES_MISSING",
                              f"尚有 {len(waiting)} 家单位未响应（{names}），须全部单位响应（已响应或不响应）后才能提前归集，"
                              f"否则在响应截止时间 {beijing(self.response_deadline)} 到达后归集（001 §2.1.4）")
        from .unified_funds import withdraw_response
        for response in waiting:
            response.status = "expired"
            withdraw_response(session, response, "统招分签响应截止，未响应")
        responded = [r for r in responses if r.status == "responded"]
        if not any(r.status in ANSWERED for r in responses):
            self.status, self.total_amount, self.totals = "not_aggregated", Decimal("0"), []
            return self.status
        totals = {item["item_name"]: Decimal("0") for item in self.items}
        for response in responded:
            for row in response.quantities or []:
                if row.get("item_name") in totals:
                    totals[row["item_name"]] += Decimal(str(row.get("quantity") or 0))
        self.totals = [{"item_name": k, "quantity": float(v) if v != v.to_integral_value() else int(v)}
                       for k, v in totals.items()]
        self.total_amount = sum((r.amount for r in responded), Decimal("0"))
        self.status, self.aggregated_at = "aggregated", now
        return self.status

    def plans_using(self, session):
        """Live 统招分签 plans on the lead unit's project named on this unified plan."""
        from .plan import Plan
        if self.project_id is None:
            return []
        return list(session.scalars(select(Plan).where(
            Plan.project_id == self.project_id, Plan.plan_type == "unified",
            Plan.status.in_(("draft", "in_review", "filed", "used")))))

    def _check_unused(self, session, action):
        plans = self.plans_using(session)
        if plans:
            raise DomainError("UNIFIED_IN_USE", f"统招分签项目 {self.number} 已被采购计划 {'、'.join(p.number for p in plans)}"
                                                f" 使用，不能{action}")

    def cancel_aggregation(self, session, deadline, now):
        """取消归集 (001 §2.1.5): aggregated, no plan uses it; members answer again by a new deadline."""
        self._require("aggregated", action="取消归集")
        self._check_unused(session, "取消归集")
        self.response_deadline = parse_deadline(deadline, now)
        self.round += 1
        self.total_amount, self.totals, self.aggregated_at = Decimal("0"), [], None
        return self.open_responses(session, now)

    def terminate(self, session, reason, attachments):
        """终止 (001 §2.1.2): with a reason and the 项目终止说明附件; no plan uses it."""
        self._require("in_review", "responding", "aggregated", "not_aggregated", action="终止")
        self._check_unused(session, "终止")
        self.termination_reason = _text(reason, "reason", "终止原因", 1000)
        self.attachments = list(attachments)
        from .unified_funds import withdraw_response
        for response in self.responses(session, lock=True):
            if response.status in ("pending", "in_review"):
                response.status = "expired"
            withdraw_response(session, response, "统招分签项目已终止")
        self.status = "terminated"

    def to_dict(self, session, unit_ids=None):
        """The lead unit sees every response; a member unit only its own."""
        responses = [r for r in self.responses(session) if unit_ids is None or self.unit_id in unit_ids
                     or r.unit_id in unit_ids]
        return {"id": self.id, "number": self.number, "unit_id": self.unit_id, "name": self.name, "year": self.year,
                "category": self.category, "items": self.items or [], "execution_plan": self.execution_plan,
                "member_unit_ids": self.member_unit_ids or [], "project_id": self.project_id,
                "response_deadline": self.response_deadline, "round": self.round, "status": self.status,
                "status_label": STATUSES[self.status], "review_comment": self.review_comment,
                "total_amount": self.total_amount, "totals": self.totals or [], "aggregated_at": self.aggregated_at,
                "termination_reason": self.termination_reason, "attachments": self.attachments or [],
                "responses": [r.to_dict() for r in responses]}


class UnifiedResponse(Audited, Base):
    """One member unit's answer (响应 / 不响应) to a unified plan."""

    __tablename__ = "unified_response"
    __table_args__ = (UniqueConstraint("unified_plan_id", "unit_id"),)
    __audit_fields__ = ("status", "amount", "reason", "review_comment", "instance_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    unified_plan_id: Mapped[int] = mapped_column(ForeignKey("unified_plan.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    quantities: Mapped[list] = mapped_column(JSON, default=list)  # [{item_name, quantity}]
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reason: Mapped[str] = mapped_column(Text, default="")  # 不响应的原因
    review_comment: Mapped[str] = mapped_column(Text, default="")
    answered_at = mapped_column(UTCDateTime, nullable=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)  # the member unit's response instance of this round
    # The member's own project registered by its response (立项, unified_funds.py): its funds, its contract.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", name="fk_unified_response_project_id"))

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("RESPONSE_STATE", f"本单位的统招分签响应当前状态为“{RESPONSE_STATUSES[self.status]}”，不能{action}")

    def respond(self, plan, quantities, amount, now):
        """响应: goods give a quantity per item (001 §2.1.3: 货物类输入数量，服务类输入总价); every category an amount."""
        plan._require("responding", action="响应")
        plan.check_deadline(now, "响应")
        self._require("pending", action="响应")
        known = [item["item_name"] for item in plan.items]
        rows = []
        for row in quantities or []:
            if not isinstance(row, dict) or not row.get("item_name"):
                continue
            if row["item_name"] not in known:
                raise _bad("quantities", f"采购内容“{row['item_name']}”不在统招分签项目的采购内容清单中")
            try:
                quantity = Decimal(str(row.get("quantity") or 0))
            except Exception:
                raise _bad("quantities", f"“{row['item_name']}”的数量不正确") from None
            if not quantity.is_finite() or quantity < 0:
                raise _bad("quantities", f"“{row['item_name']}”的数量不能为负数")
            if quantity > 0:
                rows.append({"item_name": row["item_name"],
                             "quantity": int(quantity) if quantity == quantity.to_integral_value() else float(quantity)})
        if plan.category == "goods" and not rows:
            raise _bad("quantities", "货物类统招分签请填写各采购内容的响应数量（至少一项大于 0）")
        amount = money(amount if amount not in (None, "") else 0)
        if amount <= 0:
            raise _bad("amount", "请填写响应金额（元）")
        self.quantities, self.amount, self.reason = rows, amount, ""
        self.status, self.review_comment = "in_review", ""

    def decline(self, plan, reason, now):
        """不响应 with a reason: answered at once (再次新增不会有该项目)."""
        plan._require("responding", action="不响应")
        plan.check_deadline(now, "不响应")
        self._require("pending", action="不响应")
        self.reason = _text(reason, "reason", "不响应的原因", 1000)
        self.quantities, self.amount = [], Decimal("0")
        self.status, self.answered_at = "declined", now

    def accept(self, plan, now):
        """The member's reviewer approves the response: it counts (已响应)."""
        plan._require("responding", action="响应")
        plan.check_deadline(now, "确认响应")
        self._require("in_review", action="审核通过")
        self.status, self.answered_at = "responded", now

    def return_for_edit(self, comment):
        self._require("in_review", action="退回")
        self.status, self.review_comment = "pending", comment or ""

    def to_dict(self):
        return {"id": self.id, "unified_plan_id": self.unified_plan_id, "unit_id": self.unit_id, "round": self.round,
                "status": self.status, "status_label": RESPONSE_STATUSES[self.status],
                "quantities": self.quantities or [], "amount": self.amount, "reason": self.reason,
                "review_comment": self.review_comment, "answered_at": self.answered_at, "instance_id": self.instance_id,
                "project_id": self.project_id}
