"""What happens to a registered project besides funds and revocation (seed 001 §2.2.1 注①, §2.2.3, §2.2.5, §2.3):
threshold rules, 采购项目变更 (a new version, the old kept), 项目结项, 实施形式变更, and ``check_open`` for every
procedure that must stop once a project is closed (已结项).

``ProjectLifecycle`` is a mixin of ``Project`` (app/models/project.py); ``ProjectVersion`` keeps every version of the
record: version 1 as registered, then one per approved change, implementation-form change and closing, each with
its reason, attachments and a full snapshot, so the old record stays viewable (``GET /api/projects/<id>/versions``).
"""
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime
from . import threshold as thresholds

VERSION_KINDS = {"registered": "项目登记", "change": "项目变更", "implementation_form": "实施形式变更", "closing": "项目结项"}
PENDING = {"revocation": "撤销", "change": "变更", "closing": "结项"}
# Projects whose budgets count towards the unit's yearly total for the 分散采购限额.
COUNTED = ("in_review", "registered", "closed")
# What a project change (采购项目变更) may alter; the year stays, the implementation form has its own procedure.
CHANGEABLE = ("name", "category", "amount", "region", "items", "is_government_procurement", "justification", "funds")
FIELD_LABELS = {"name": "项目名称", "category": "品目类别", "amount": "项目金额", "region": "项目区划", "items": "采购内容清单",
                "is_government_procurement": "是否政府采购", "justification": "累计达到限额标准相关说明",
                "funds": "资金构成", "implementation_form": "实施形式", "status": "状态"}


def _jsonable(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class ProjectVersion(Base):
    """One version of a project record (采购项目变更: 新版本，旧版本保留可查)."""

    __tablename__ = "project_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # {field: [old, new]}
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # [{attachment_id, name, sha256}]
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime)

    def to_dict(self):
        return {"version": self.version, "kind": self.kind, "kind_label": VERSION_KINDS[self.kind],
                "reason": self.reason, "changes": self.changes or {}, "attachments": self.attachments or [],
                "snapshot": self.snapshot, "instance_id": self.instance_id, "created_by": self.created_by,
                "created_at": self.created_at}


class ProjectLifecycle:
    """Rules of ``Project`` beyond registration, funds and revocation."""

    # -- 已结项 -------------------------------------------------------------------------------------------------
    def check_open(self, action):
        """001 §2.2.5 注: 已结项的采购项目不允许再次进行资金追加、替换、回收，签订补充合同等操作，未完成资金支付部分不允许
        发起支付或验收. Every procedure acting on a project calls this with what it is about to do."""
        if self.status == "closed":
            raise DomainError("PROJECT_CLOSED", f"项目 {self.number} 已结项，不能{action}（001 §2.2.5）")

    def _check_no_pending(self, action):
        if self.pending_action:
            raise DomainError("PROJECT_PENDING", f"项目 {self.number} 有待审核的{PENDING.get(self.pending_action, '')}申请，"
                                                 f"办结后才能{action}")

    def _check_unused(self, session, action):
        plans = self.live_plans(session)
        if plans:
            raise DomainError("PROJECT_IN_USE", f"项目 {self.number} 已被采购计划 {'、'.join(p.number for p in plans)} "
                                                f"使用，不能{action}（须项目未被使用）")

    # -- 限额标准 (001 §2.2.1 注①, 004 §3) ---------------------------------------------------------------------
    def yearly_total(self, session, category=None):
        """The unit's other projects of the year and category that count towards the 分散采购限额."""
        from .project import Project
        total = session.scalar(select(func.coalesce(func.sum(Project.amount), 0)).where(
            Project.unit_id == self.unit_id, Project.year == self.year, Project.category == (category or self.category),
            Project.status.in_(COUNTED), Project.id != self.id))
        return Decimal(str(total)).quantize(Decimal("0.01"))

    def check_thresholds(self, session, category=None, amount=None, is_government_procurement=None,
                         justification=None, region=None, implementation_form=None):
        """Registration and change: the 分散采购限额 (is-government-procurement, and the justification when the
        accumulation reaches the limit) and 自行采购 below the transaction threshold only. Proposed values
        default to the record's."""
        from .org import Unit
        category = category or self.category
        amount = Decimal(amount if amount is not None else self.amount)
        is_gov = self.is_government_procurement if is_government_procurement is None else is_government_procurement
        justification = self.justification if justification is None else justification
        region_name, limit = thresholds.decentralized_limit(session, session.get(Unit, self.unit_id), category,
                                                            region if region is not None else self.region)
        if limit is not None:
            total = self.yearly_total(session, category) + amount
            if total >= limit:
                head = (f"本单位 {self.year} 年度{thresholds.CATEGORIES[category]}类采购预算累计 {total:,.2f} 元"
                        f"（含本项目 {amount:,.2f} 元），已达到{region_name}分散采购限额 {thresholds.wan(limit)}"
                        "（001 §2.2.1 注①）")
                if not is_gov:
                    raise DomainError("DECENTRALIZED_LIMIT", f"{head}，属于政府采购，“是否政府采购”应选择“是”",
                                      field="is_government_procurement", status=400)
                if amount < limit and not (justification or "").strip():
                    raise DomainError("DECENTRALIZED_LIMIT", f"{head}，请填写“累计达到限额标准相关说明”"
                                                             "（已执行的项目、品目、预算金额、采购计划完成时间等）",
                                      field="justification", status=400)
        self.check_implementation_form(session, form=implementation_form, category=category, amount=amount,
                                       region=region)

    def check_implementation_form(self, session, form=None, category=None, amount=None, method=None, what="项目",
                                  region=None):
        """实施形式 against the transaction threshold (004 §3): at or above it 自行采购 (as the project's form, or as
        a plan's method) is refused. Plan application calls it with the plan's amount and method."""
        form = form or self.implementation_form
        if form == "self" or method == "self":
            from .org import Unit
            thresholds.check_self_procurement(session, category or self.category,
                                              amount if amount is not None else self.amount, what,
                                              session.get(Unit, self.unit_id),
                                              region if region is not None else self.region,
                                              field="implementation_form" if form == "self" else "method")

    # -- versions ---------------------------------------------------------------------------------------------
    def snapshot(self):
        return _jsonable({"name": self.name, "year": self.year, "category": self.category, "amount": self.amount,
                          "region": self.region, "implementation_form": self.implementation_form,
                          "is_government_procurement": self.is_government_procurement,
                          "justification": self.justification, "items": self.items or [],
                          "funds": [{"budget_line_id": f.budget_line_id, "amount": f.amount} for f in self.funds],
                          "status": self.status})

    def versions(self, session):
        """Every version, oldest first; a project never changed has its current record as version 1."""
        rows = list(session.scalars(select(ProjectVersion).where(ProjectVersion.project_id == self.id)
                                    .order_by(ProjectVersion.version)))
        if rows:
            return [r.to_dict() for r in rows]
        return [{"version": 1, "kind": "registered", "kind_label": VERSION_KINDS["registered"], "reason": "",
                 "changes": {}, "attachments": [], "snapshot": self.snapshot(), "instance_id": None,
                 "created_by": self.created_by, "created_at": self.created_at}]

    def _add_version(self, session, kind, before, reason, user_id, now, instance_id, attachments=()):
        """Record the record as it now is; the first time, the record as registered becomes version 1."""
        latest = session.scalar(select(func.max(ProjectVersion.version)).where(ProjectVersion.project_id == self.id))
        if latest is None:
            session.add(ProjectVersion(project_id=self.id, version=1, kind="registered", reason="", changes={},
                                       attachments=[], snapshot=before, created_by=self.created_by,
                                       created_at=self.created_at))
            latest = 1
        after = self.snapshot()
        changes = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
        version = ProjectVersion(project_id=self.id, version=latest + 1, kind=kind, reason=reason, changes=changes,
                                 attachments=list(attachments), snapshot=after, instance_id=instance_id,
                                 created_by=user_id, created_at=now)
        session.add(version)
        session.flush()
        return version

    # -- 采购项目变更 (001 §2.2.3) --------------------------------------------------------------------------------
    def check_change(self, session, values):
        """A change the clerk proposes: only a registered project no live plan uses (项目未被使用); the new funds
        must fit the budget lines (what this project occupies on a line counts as free for it), the limits
        hold for the new values, and something must change. Returns the new fund rows (not yet attached)."""
        self.check_open("变更")
        self._require("registered", action="变更")
        self._check_no_pending("变更")
        self._check_unused(session, "变更")
        amount = Decimal(values["amount"])
        if amount <= 0:
            raise DomainError("INVALID_AMOUNT", "项目金额必须大于 0", field="amount", status=400)
        funds = self._parse_funds(session, values["funds"], amount)
        own = {}
        for fund in self.funds:
            own[fund.budget_line_id] = own.get(fund.budget_line_id, Decimal("0")) + fund.amount
        need = {}
        for fund in funds:
            need[fund.budget_line_id] = need.get(fund.budget_line_id, Decimal("0")) + fund.amount
        from .budget import BudgetLine
        BudgetLine.check_all([(self._line(session, line_id), wanted - own.get(line_id, Decimal("0")))
                              for line_id, wanted in need.items() if wanted > own.get(line_id, Decimal("0"))])
        self.check_thresholds(session, category=values["category"], amount=amount,
                              is_government_procurement=values["is_government_procurement"],
                              justification=values["justification"], region=values["region"])
        proposed = _jsonable({**{k: values[k] for k in CHANGEABLE if k != "funds"}, "amount": amount,
                              "funds": [{"budget_line_id": f.budget_line_id, "amount": f.amount} for f in funds]})
        current = self.snapshot()
        if all(current[k] == proposed[k] for k in CHANGEABLE):
            raise DomainError("NO_CHANGE", "变更内容与项目当前内容相同，请修改需要变更的内容", status=400)
        return funds

    def request_change(self, session, values, reason):
        """变更申请 submitted: the leader (需求领导) reviews; the project is locked for other requests meanwhile."""
        if not (reason or "").strip():
            raise DomainError("REASON_REQUIRED", "请填写变更原因", field="change_reason", status=400)
        self.check_change(session, values)
        self.pending_action = "change"

    def apply_change(self, session, values, reason, user_id, now, instance_id=None):
        """变更审核通过: a new version of the record; the budget occupation moves with the changed funds."""
        if self.pending_action != "change":
            raise DomainError("NO_CHANGE_REQUEST", f"项目 {self.number} 没有待审核的变更申请")
        self.pending_action = None
        funds = self.check_change(session, values)
        before = self.snapshot()
        self._release_funds(session, "项目变更")
        for key in ("name", "category", "region", "items", "is_government_procurement", "justification"):
            setattr(self, key, values[key])
        self.amount = Decimal(values["amount"])
        self.funds = funds
        self._occupy_funds(session, "项目变更")
        session.flush()
        return self._add_version(session, "change", before, reason, user_id, now, instance_id)

    # -- 实施形式变更 (001 §2.3) ---------------------------------------------------------------------------------
    def change_implementation_form(self, session, form, reason, user_id, now, instance_id=None):
        """选择的实施形式不符合规则则无法保存: refused with the rule; otherwise a new version."""
        from .project import IMPLEMENTATION_FORMS
        self.check_open("变更实施形式")
        self._require("registered", action="变更实施形式")
        self._check_no_pending("变更实施形式")
        self._check_unused(session, "变更实施形式")
        if form not in IMPLEMENTATION_FORMS:
            raise DomainError("INVALID_INPUT", "请选择实施形式（自行采购、委托代理机构采购或集中采购机构采购）",
                              field="implementation_form", status=400)
        if form == self.implementation_form:
            raise DomainError("NO_CHANGE", f"项目 {self.number} 的实施形式已是“{IMPLEMENTATION_FORMS[form]}”",
                              field="implementation_form", status=400)
        self.check_implementation_form(session, form=form)
        before = self.snapshot()
        self.implementation_form = form
        session.flush()
        return self._add_version(session, "implementation_form", before, reason or "", user_id, now, instance_id)

    # -- 项目结项 (001 §2.2.5, 003 无验收不结项) ------------------------------------------------------------------
    def check_closable(self, session):
        """合同已备案 and every filed contract accepted (履约验收合格); no contract still on its way to filing."""
        from .acceptance import Acceptance
        from .contract import STATUSES as CONTRACT_STATUSES, Contract
        if self.status == "closed":
            raise DomainError("PROJECT_CLOSED", f"项目 {self.number} 已结项")
        self._require("registered", action="结项")
        self._check_no_pending("结项")
        contracts = list(session.scalars(select(Contract).where(Contract.project_id == self.id).order_by(Contract.id)))
        pending = [c for c in contracts if c.status in ("draft", "in_review", "reviewed", "published", "terminating")]
        if pending:
            raise DomainError("CONTRACT_PENDING", "合同 " + "、".join(
                f"{c.number}（{CONTRACT_STATUSES[c.status]}）" for c in pending) + " 尚未办结，不能结项")
        if not any(c.status in ("filed", "fulfilled") for c in contracts):
            raise DomainError("NO_FILED_CONTRACT", f"项目 {self.number} 没有已备案的合同，不能结项（001 §2.2.5：合同已备案）")
        unaccepted = Acceptance.unaccepted_contracts(session, self.id)
        if unaccepted or not Acceptance.passed_for_project(session, self.id):
            raise DomainError("NOT_ACCEPTED", "合同 " + "、".join(c.number for c in unaccepted)
                              + " 尚未履约验收合格，不能结项（无验收不结项）")

    def request_closing(self, session, reason):
        if not (reason or "").strip():
            raise DomainError("REASON_REQUIRED", "请填写结项原因", field="reason", status=400)
        self.check_closable(session)
        self.pending_action, self.closing_reason = "closing", reason.strip()

    def close(self, session, reason, attachments, user_id, now, instance_id=None):
        """结项审核通过: the project is closed (已结项); from now on ``check_open`` refuses."""
        if self.pending_action != "closing":
            raise DomainError("NO_CLOSING_REQUEST", f"项目 {self.number} 没有待审核的结项申请")
        self.pending_action = None
        self.check_closable(session)
        before = self.snapshot()
        self.status, self.closing_reason = "closed", (reason or "").strip()
        session.flush()
        return self._add_version(session, "closing", before, self.closing_reason, user_id, now, instance_id,
                                 attachments)
