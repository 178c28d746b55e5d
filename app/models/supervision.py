"""Supervision warnings (监督预警, seed 001 §11.1): rules with their thresholds in data, and the warnings they raise.

``SupervisionRule`` rows hold each rule's switch and thresholds (``params``); the defaults below are inserted the
first time a scan runs and are never overwritten, so an administrator's changes stay. ``SupervisionWarning``
(table ``warning``) is one finding: the rule, the record it concerns, the purchasing unit, a Chinese message,
open → resolved by the 巡检处理 task of its own ``warning_resolution`` instance.

A warning is raised once. Its ``record_key`` names the record and, where the finding can grow, the facts found
(e.g. the paid amount, or how many registrations make up a split purchase); a finding with the same rule and key
is never raised again, open or resolved, so a daily scan does not repeat itself and a resolved warning stays
resolved until the facts change. ``open_key`` (rule + key while open, NULL once resolved) is unique: two scans
running at once cannot raise the same warning twice.
"""
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, UTCDateTime, utcnow

DEFAULT_RULES = {
    "intent_30_days": ("采购意向公开不足30日", {"min_days": 30},
                       "采购公告发布距采购意向公开不足规定日数，或没有公开采购意向（001 第三章，财库〔2020〕10号）"),
    "contract_not_filed": ("合同未按时备案", {"days": 7},
                           "中标（成交）通知发出后超过规定日数仍没有备案的采购合同，或备案超过规定日数"),
    "payment_over_amount": ("支付超过合同金额", {},
                            "合同已支付金额超过合同金额（含已审核的补充合同金额）；无合同不支付（003 三(二)）"),
    "split_purchase": ("化整为零规避政府采购", {"limit_amount": "1000000.00", "min_count": 2},
                       "同一单位同一年度同一品目类别多次登记采购项目，每次均低于限额、合计达到限额；限额取限额标准表中"
                       "本单位的分散采购限额，没有限额标准表时取本规则的 limit_amount"),
    "year_end_unfiled": ("年末无过程合同未备案", {"days_before_year_end": 30},
                         "本年度无过程采购计划已签订的合同临近年末仍未备案（000 一(三)5：12月31日前备案）"),
}
STATUSES = {"open": "待处理", "resolved": "已处理"}
OUTCOMES = {"rectified": "已整改", "explained": "已说明情况", "false_alarm": "经核实不属于违规"}


# What an administrator may set per parameter: (label, kind, minimum, maximum).
PARAMS = {"min_days": ("最少公开天数", int, 1, 365), "days": ("天数", int, 0, 365),
          "min_count": ("最少登记次数", int, 2, 100), "days_before_year_end": ("年末前天数", int, 1, 365),
          "limit_amount": ("限额金额（元）", Decimal, Decimal("0.01"), Decimal("1000000000000"))}


class SupervisionRule(Base):
    __tablename__ = "supervision_rule"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at = mapped_column(UTCDateTime, nullable=True)

    def configure(self, enabled, params, user, now):
        """An administrator switches the rule on or off and sets its thresholds; the next scan uses them.
        Only the rule's own parameters, each within its range; nothing changes when one is refused."""
        known = DEFAULT_RULES.get(self.code, (None, self.params or {}))[1]
        new = dict(self.params or {})
        for key, raw in (params or {}).items():
            if key not in known:
                allowed = "、".join(known) or "无"
                raise DomainError("INVALID_INPUT", f"规则“{self.name}”没有参数 {key}（可设置：{allowed}）",
                                  field=f"params.{key}", status=400)
            label, kind, low, high = PARAMS[key]
            try:
                value = kind(str(raw)) if kind is Decimal else int(raw)
                if isinstance(raw, bool) or (kind is int and str(raw).strip() != str(value)) \
                        or (kind is Decimal and not value.is_finite()):
                    raise ValueError
            except (ValueError, ArithmeticError, TypeError):
                raise DomainError("INVALID_INPUT", f"{label}应为{'整数' if kind is int else '金额'}",
                                  field=f"params.{key}", status=400) from None
            if not (low <= value <= high) or (kind is Decimal and value != value.quantize(Decimal("0.01"))):
                raise DomainError("INVALID_INPUT", f"{label}应在 {low} 到 {high} 之间"
                                                   f"{'，最多两位小数' if kind is Decimal else ''}",
                                  field=f"params.{key}", status=400)
            new[key] = f"{value:.2f}" if kind is Decimal else value
        if enabled is not None:
            self.enabled = bool(enabled)
        self.params, self.updated_by, self.updated_at = new, user.username, now

    def param(self, key, kind=int):
        value = (self.params or {}).get(key, DEFAULT_RULES.get(self.code, (None, {}))[1].get(key))
        return Decimal(str(value)) if kind is Decimal else kind(value)

    def to_dict(self):
        return {"code": self.code, "name": self.name, "enabled": self.enabled, "params": self.params or {},
                "description": self.description, "updated_by": self.updated_by, "updated_at": self.updated_at}


def ensure_rules(session):
    """Insert the default rules that are missing; existing rows, and their thresholds, are kept. Two scans doing
    this at once both succeed (INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite)."""
    existing = set(session.scalars(select(SupervisionRule.code)))
    missing = [{"code": code, "name": name, "enabled": True, "params": dict(params), "description": description}
               for code, (name, params, description) in DEFAULT_RULES.items() if code not in existing]
    if missing:
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(SupervisionRule).values(missing).on_conflict_do_nothing(index_elements=["code"]))


class SupervisionWarning(Audited, Base):
    """预警记录: one finding of one rule on one record."""

    __tablename__ = "warning"
    __audit_fields__ = ("status", "resolution", "outcome")

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(ForeignKey("supervision_rule.code"), index=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    record_key: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    open_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    raised_at = mapped_column(UTCDateTime, default=utcnow)
    raised_by_instance: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    resolution_instance: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at = mapped_column(UTCDateTime, nullable=True)

    @classmethod
    def raise_once(cls, session, rule, record_type, record_id, record_key, unit_id, message, details, now,
                   instance_id=None):
        """The new warning, or None when this finding was raised before (open or resolved)."""
        key = f"{record_type}:{record_key}"
        seen = session.scalar(select(cls.id).where(cls.rule == rule, cls.record_key == key).limit(1))
        if seen is not None:
            return None
        warning = cls(rule=rule, record_type=record_type, record_id=record_id, record_key=key, unit_id=unit_id,
                      message=message, details=details, status="open", open_key=f"{rule}:{key}", raised_at=now,
                      raised_by_instance=instance_id, resolution="")
        session.add(warning)
        session.flush()
        return warning

    def resolve(self, outcome, resolution, user_id, now):
        """巡检处理: the unit explains or rectifies; the warning is closed."""
        if self.status != "open":
            raise DomainError("WARNING_RESOLVED", f"预警 {self.id} 已处理")
        if outcome not in OUTCOMES:
            raise DomainError("INVALID_INPUT", "请选择处理结果", field="outcome", status=400)
        resolution = str(resolution or "").strip()
        if not resolution:
            raise DomainError("INVALID_INPUT", "请填写处理情况说明", field="resolution", status=400)
        self.status, self.outcome, self.resolution = "resolved", outcome, resolution[:4000]
        self.resolved_by, self.resolved_at, self.open_key = user_id, now, None

    def to_dict(self, rule_name=None):
        return {"id": self.id, "rule": self.rule, "rule_name": rule_name or DEFAULT_RULES.get(self.rule, ("",))[0],
                "record_type": self.record_type, "record_id": self.record_id, "record_key": self.record_key,
                "unit_id": self.unit_id, "message": self.message, "details": self.details or {},
                "status": self.status, "status_label": STATUSES[self.status], "raised_at": self.raised_at,
                "raised_by_instance": self.raised_by_instance, "resolution_instance": self.resolution_instance,
                "outcome": self.outcome, "outcome_label": OUTCOMES.get(self.outcome), "resolution": self.resolution,
                "resolved_at": self.resolved_at}
