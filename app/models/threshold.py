"""Procurement thresholds as data (限额标准), editable by an administrator (``GET/PUT /api/thresholds``).

Two kinds, each an amount per region and category (货物/服务/工程):

- ``decentralized`` 分散采购限额 (seed 001 §2.2.1 注①): when a unit's budgets for a category in one year add up to
  the limit, the purchase is government procurement (是否政府采购 = 是) and, if it is the accumulation rather than
  this project alone that reaches the limit, the clerk explains it (累计达到限额标准相关说明).
  省级、福州、泉州、漳州、三明、莆田 工程 100万 / 货物·服务 50万；平潭、龙岩、宁德、南平 工程 60万 / 货物·服务 50万；
  厦门 工程 200万 / 货物·服务 100万。
- ``transaction`` 交易系统限额 (seed 004 §3, 柳州市柳江区's notice): 货物和服务 30万元（含）以上、工程 400万元（含）
  以上 must be bought through an agency in the transaction system: 自行采购 is refused. It is the 柳江 district's
  rule, not a national one; an administrator may add rows for other regions, or ``*`` for every region.
- ``sme_whole`` / ``sme_share`` 面向中小企业预留 (seed 001 §4.1.1 注; 财库〔2020〕46号, 〔2022〕19号): a plan of at most the
  ``sme_whole`` amount (200万 goods/services, 400万 works, the boundary included: "200万以下") is reserved whole;
  above it at least ``sme_share`` per cent (30 goods/services, 40 works). Region ``*``.

自行采购 (a project's 实施形式 or a plan's method) is allowed below the unit's region's ``transaction`` threshold
where the region has one, otherwise below its 分散采购限额: at or above the limit the purchase is government
procurement and goes through a procurement method (a Fujian provincial unit's 40万 goods project may be 自行采购).

The rules are the DMN decision ``thresholds`` (``bpmn/thresholds.dmn``, the seeds' figures): analysts edit it in
Camunda Modeler, administrators on the 系统设置 限额标准 page; each change is a new version (engine/threshold_decision.py).
Where the seeds are silent: a unit whose region matches no row uses the 省级 limits.
"""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, Money, UTCDateTime

KINDS = {"decentralized": "分散采购限额标准", "transaction": "须委托代理机构采购的限额（交易系统）",
         "sme_whole": "面向中小企业全额预留的金额上限（含）", "sme_share": "超过上限时预留比例下限（%）"}
REGIONAL = ("decentralized", "transaction")  # kinds whose rows are per region; the SME kinds use ``*``
LIUJIANG = "柳江"
CATEGORIES = {"goods": "货物", "services": "服务", "works": "工程"}
ANY_REGION = "*"
PROVINCIAL = "省级"

_WAN = Decimal("10000")
_DECENTRALIZED = [  # (regions, works, goods and services) in 万元, seed 001 §2.2.1 注①
    (("省级", "福州", "泉州", "漳州", "三明", "莆田"), 100, 50),
    (("平潭", "龙岩", "宁德", "南平"), 60, 50),
    (("厦门",), 200, 100),
]
DEFAULTS = [
    *[("decentralized", region, category, Decimal(works if category == "works" else other) * _WAN,
       "001 §2.2.1 注①")
      for regions, works, other in _DECENTRALIZED for region in regions for category in CATEGORIES],
    *[("transaction", LIUJIANG, category, Decimal(400 if category == "works" else 30) * _WAN, "004 §3 柳江区")
      for category in CATEGORIES],
    *[("sme_whole", ANY_REGION, category, Decimal(400 if category == "works" else 200) * _WAN, "财库〔2020〕46号")
      for category in CATEGORIES],
    *[("sme_share", ANY_REGION, category, Decimal(40 if category == "works" else 30), "财库〔2022〕19号")
      for category in CATEGORIES],
]


@dataclass(frozen=True)
class Rule:
    """One row of the decision: an amount for a kind, region (``*`` every region) and category."""
    kind: str
    region: str
    category: str
    amount: Decimal
    source: str = ""
    id: int | None = None
    updated_by: str | None = None
    updated_at: object = None

    @property
    def key(self):
        return self.kind, self.region, self.category

    @staticmethod
    def order_key(kind, region, category):
        return (list(KINDS).index(kind), _REGION_ORDER.get(region, len(_REGION_ORDER)), region,
                list(CATEGORIES).index(category))

    def order(self):
        return Rule.order_key(*self.key)

    def to_dict(self):
        return {"id": self.id, "kind": self.kind, "kind_label": KINDS[self.kind], "region": self.region,
                "category": self.category, "category_label": CATEGORIES[self.category], "amount": self.amount,
                "source": self.source, "updated_by": self.updated_by, "updated_at": self.updated_at}


_REGION_ORDER = {}
for _, _region, *_rest in DEFAULTS:
    _REGION_ORDER.setdefault(_region, len(_REGION_ORDER))

MIGRATED = "已迁入决策："  # the source of a former table row whose amount became a version of the decision


class Threshold(Base):
    """The former settings table, kept as history: start-up moves what administrators set here into the decision
    (``engine/threshold_decision.adopt_table``) and marks those rows; nothing reads it for a rule any more."""
    __tablename__ = "threshold"
    __table_args__ = (UniqueConstraint("kind", "region", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(64), default="")
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at = mapped_column(UTCDateTime, nullable=True)


# The decision is evaluated by the engine (app/engine/threshold_decision.py), which registers here at start-up:
# models never import the engine. Before a decision is deployed (or without the engine), the seeds' figures hold.
NOT_DEPLOYED = object()
_decision = {"lookup": None, "rules": None}


def use_decision(lookup, rules):
    """``lookup(session, kind, region, category)`` → amount, None (no rule) or NOT_DEPLOYED; ``rules(session)`` →
    [Rule] or None (not deployed)."""
    _decision.update(lookup=lookup, rules=rules)


def _defaults():
    return [Rule(*d, id=i) for i, d in enumerate(DEFAULTS, start=1)]


def all_rows(session):
    """The decision's rules as rows (the seeds' figures before it is deployed), in the page's order."""
    found = _decision["rules"](session) if _decision["rules"] else None
    return sorted(found if found is not None else _defaults(), key=Rule.order)


def _amount(session, kind, region, category):
    if _decision["lookup"] is not None:
        found = _decision["lookup"](session, kind, region, category)
        if found is not NOT_DEPLOYED:
            return found
    for d_kind, d_region, d_category, amount, _ in DEFAULTS:
        if (d_kind, d_category) == (kind, category) and d_region in (region, ANY_REGION):
            return amount
    return None


def _named_region(session, kind, unit, texts):
    """The first of ``kind``'s regions named in the unit's region or the project's 项目区划 (福州市 → 福州)."""
    regions = sorted({r.region for r in all_rows(session) if r.kind == kind and r.region != ANY_REGION},
                     key=len, reverse=True)
    for text in ((unit.region if unit is not None else None), *texts):
        text = text or ""
        if kind == "decentralized" and ("省本级" in text or "省级" in text):
            return PROVINCIAL
        for region in regions:
            if region in text:
                return region
    return None


def region_of(session, unit, *texts):
    """The 分散限额 region of a unit: 省级 for provincial units, else the first region named in the unit's region
    (or the project's 项目区划), e.g. 福州市 → 福州; 省级 when nothing matches (the seeds are silent)."""
    if unit is not None and unit.level == "provincial":
        return PROVINCIAL
    return _named_region(session, "decentralized", unit, texts) or PROVINCIAL


def decentralized_limit(session, unit, category, region_text=None):
    """(region, 分散采购限额) for a unit and category."""
    region = region_of(session, unit, region_text)
    return region, _amount(session, "decentralized", region, category)


def transaction_threshold(session, category, unit=None, region_text=None):
    """(region, amount) at and above which the unit's purchase must go through an agency in the transaction
    system (004 §3: the 柳江 district's rule), or (None, None) where the unit's region has no such rule. A rule
    for every region (``*``) applies where the region has none of its own."""
    region = _named_region(session, "transaction", unit, (region_text,)) or ANY_REGION
    amount = _amount(session, "transaction", region, category)
    if amount is None:
        return None, None
    if region != ANY_REGION and not any(r.key == ("transaction", region, category) for r in all_rows(session)):
        region = ANY_REGION  # the rule that matched is the one for every region
    return region, amount


def sme_rule(session, category):
    """(全额预留的金额上限, 超过上限时的预留比例 0..1) for a category (001 §4.1.1 注)."""
    whole, share = _amount(session, "sme_whole", ANY_REGION, category), _amount(session, "sme_share", ANY_REGION, category)
    return whole, share / 100


def wan(amount):
    """Yuan as 万元 text: 300000 → 30万元, 1234567.89 → 123.456789万元."""
    value = (Decimal(amount) / _WAN).normalize()
    return f"{value:f}万元"


def check_self_procurement(session, category, amount, what, unit, region_text=None, field="implementation_form"):
    """自行采购 at or above the unit's region's transaction threshold (004 §3) or, where its region has none, at or
    above its 分散采购限额 (001 §2.2.1 注①) is refused; the message names the rule and the region."""
    amount, label = Decimal(amount), CATEGORIES.get(category, category)
    region, limit = transaction_threshold(session, category, unit, region_text)
    if limit is not None:
        if amount >= limit:
            where = "所有区划" if region == ANY_REGION else f"{region}区划"
            raise DomainError(
                "AGENCY_REQUIRED",
                f"{label}类{what}金额 {amount:,.2f} 元，达到{where}交易系统限额 {wan(limit)}（含）以上，"
                f"须委托代理机构或集中采购机构通过交易系统采购，不能自行采购（004 §3）", field=field, status=400)
        return
    region, limit = decentralized_limit(session, unit, category, region_text)
    if limit is not None and amount >= limit:
        raise DomainError(
            "AGENCY_REQUIRED",
            f"{label}类{what}金额 {amount:,.2f} 元，达到{region}分散采购限额 {wan(limit)}（含）以上，属于政府采购，"
            f"须按政府采购方式采购，不能自行采购（001 §2.2.1 注①）", field=field, status=400)
