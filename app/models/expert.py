"""The expert pool (专家库, one of the base libraries of seed 003 三(四)) and expert extraction (专家抽取, 001 ch.10).

An extraction (论证项目需求表) names the purpose (论证方式), the avoided units (回避单位), the avoided experts by
ID number (回避专家身份证号码) and the groups to draw (抽取条件: one expert category, a region and a count per
group, 001 §10.1.5 注). Submitting it draws at random from the pool. ``ExtractionState.status``:
drawn 已抽取 → completed 已确认 (every group has its count of experts who accepted) or revoked 已撤销 (only while
no expert has answered, 001 §10.3).

The draw is random but reproducible. Each draw (the first, and each adjustment that replaces experts who
declined) gets a fresh 64-bit seed from ``secrets``; the draw is the pure function ``draw(pool, avoid_units,
avoid_id_numbers, groups, needs, seed, exclude_ids)`` of the pool snapshot taken at that moment and those inputs.
``ExpertDraw`` stores every input (the snapshot included) and the result, and the handler puts the seed, the
candidate ids per group and the drawn ids in its outputs, so the instance history holds them too: anyone can
draw again from the record and must get the same experts (``ExpertDraw.verify``).

How the function picks: for each group in order, the candidates are the available experts of the group's
category (and region, unless the group says any region) who are not avoided (by unit name or ID number), not
already drawn in this extraction (declined ones included: nobody is asked twice) and not picked by an earlier
group of this draw. Each candidate is ranked by SHA-256 of ``"<seed>:<group index>:<expert id>"`` and the
``need`` lowest ranks are drawn. That needs no random-number generator, so the result does not depend on the
Python version or platform.
"""
import hashlib
import json
import secrets
import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Audited, Base, DomainError, UTCDateTime, utcnow

CATEGORIES = {"it": "信息技术", "education": "教学仪器设备", "medical": "医疗设备", "construction": "建设工程",
              "cost": "工程造价", "finance": "财务会计", "law": "法律", "property": "物业管理"}
ANY_REGION = "不限"
METHODS = {"requirement": "采购需求论证", "single_source": "单一来源论证", "import": "进口产品论证",
           "evaluation": "项目评审"}
STATUSES = {"drawn": "已抽取", "completed": "已确认", "revoked": "已撤销"}
ANSWERS = {"pending": "待应答", "accepted": "同意参加", "declined": "拒绝参加"}
MAX_GROUPS, MAX_COUNT = 10, 50


class PoolShort(DomainError):
    def __init__(self, index, group, need, available):
        region = group.get("region") or ANY_REGION
        super().__init__("POOL_SHORT", f"第 {index + 1} 组（{CATEGORIES.get(group['category'], group['category'])}，"
                                       f"{region}）需抽取 {need} 人，符合条件的专家只有 {available} 人，请调整抽取条件",
                         field="groups")
        self.index, self.need, self.available = index, need, available


def _norm(text):
    return "".join(str(text or "").split())


def _eligible(expert, group, avoid_units, avoid_ids, exclude):
    return (expert["available"] and expert["id"] not in exclude
            and expert["category"] == group["category"]
            and (group.get("region") in (None, "", ANY_REGION) or expert["region"] == group["region"])
            and _norm(expert["unit"]) not in avoid_units and _norm(expert["id_number"]).upper() not in avoid_ids)


def _rank(seed, index, expert_id):
    return hashlib.sha256(f"{seed}:{index}:{expert_id}".encode()).hexdigest()


def draw(pool, avoid_units, avoid_id_numbers, groups, needs, seed, exclude_ids=()):
    """The experts drawn: a pure function of its arguments.

    ``pool``: the snapshot, a list of {id, category, region, unit, id_number, available};
    ``groups``: [{category, region, count}]; ``needs``: how many to draw per group now; ``seed``: a string;
    ``exclude_ids``: experts already drawn in this extraction. Returns ``[{"candidates": [ids], "drawn": [ids]}]``
    per group, or raises ``PoolShort`` naming the first group the pool cannot satisfy.
    """
    units = {_norm(u) for u in avoid_units if _norm(u)}
    ids = {_norm(i).upper() for i in avoid_id_numbers if _norm(i)}
    taken = set(exclude_ids)
    result = []
    for index, (group, need) in enumerate(zip(groups, needs)):
        if need <= 0:
            result.append({"candidates": [], "drawn": []})
            continue
        candidates = sorted(e["id"] for e in pool if _eligible(e, group, units, ids, taken))
        if len(candidates) < need:
            raise PoolShort(index, group, need, len(candidates))
        drawn = sorted(candidates, key=lambda ident: _rank(seed, index, ident))[:need]
        taken.update(drawn)
        result.append({"candidates": candidates, "drawn": drawn})
    return result


def pool_digest(pool):
    return hashlib.sha256(json.dumps(pool, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def new_seed():
    """64 random bits, as 16 hex digits (a JSON number would lose bits in a browser)."""
    return f"{secrets.randbits(64):016x}"


class Expert(Base):
    """评审专家 in the pool. ``available`` false: suspended, on leave, or otherwise not to be drawn."""

    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    category: Mapped[str] = mapped_column(String(32), index=True)
    region: Mapped[str] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(String(200))  # 工作单位
    id_number: Mapped[str] = mapped_column(String(18), unique=True)  # 身份证号码
    title: Mapped[str] = mapped_column(String(50), default="")  # 职称
    phone: Mapped[str] = mapped_column(String(20), default="")
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(64))  # the administrator who last added or changed it
    updated_at = mapped_column(UTCDateTime, nullable=True)

    EDITABLE = ("name", "category", "region", "unit_name", "id_number", "title", "phone", "available")

    @classmethod
    def add(cls, session, values, user, now):
        """入库: a new expert of the pool (``values`` already checked for shape by the API)."""
        expert = cls(available=True, title="", phone="")
        expert.edit(session, values, user, now)
        session.add(expert)
        session.flush()
        return expert

    def edit(self, session, values, user, now):
        """Change what ``values`` names. Draws already made keep their snapshot of the pool, so their
        verification is unaffected; the next draw sees the change (e.g. ``available`` false: not drawn)."""
        if "id_number" in values:
            number = values["id_number"].upper()
            check_id_number(number)
            other = session.scalar(select(Expert.id).where(Expert.id_number == number, Expert.id != self.id))
            if other is not None:
                raise DomainError("EXPERT_EXISTS", f"身份证号码 {number[:3]}***********{number[-4:]} 的专家已在专家库中"
                                                   f"（编号 {other}）", field="id_number")
            values = {**values, "id_number": number}
        if values.get("region") == ANY_REGION:
            raise DomainError("INVALID_INPUT", f"专家所在区划不能是“{ANY_REGION}”", field="region", status=400)
        for key in self.EDITABLE:
            if key in values:
                setattr(self, key, values[key])
        self.updated_by, self.updated_at = user.username, now

    def snapshot(self):
        return {"id": self.id, "category": self.category, "region": self.region, "unit": self.unit_name,
                "id_number": self.id_number, "available": bool(self.available)}

    def to_dict(self, reveal_id=False):
        masked = self.id_number if reveal_id else f"{self.id_number[:3]}{'*' * 11}{self.id_number[-4:]}"
        return {"id": self.id, "name": self.name, "category": self.category,
                "category_label": CATEGORIES.get(self.category, self.category), "region": self.region,
                "unit_name": self.unit_name, "id_number": masked, "title": self.title, "available": self.available,
                **({"phone": self.phone, "updated_by": self.updated_by, "updated_at": self.updated_at}
                   if reveal_id else {})}


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check(body):
    """The check character of a resident ID number's first 17 digits (GB 11643-1999)."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def check_id_number(number):
    """A mainland resident ID number: 17 digits and the check character computed from them."""
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise DomainError("INVALID_INPUT", "身份证号码应为 18 位（前 17 位为数字，最后一位为数字或 X）",
                          field="id_number", status=400)
    if number[17] != id_check(number[:17]):
        raise DomainError("INVALID_INPUT", "身份证号码校验位不正确，请核对", field="id_number", status=400)


def pool_snapshot(session):
    return [e.snapshot() for e in session.scalars(select(Expert).order_by(Expert.id))]


def parse_groups(value):
    """抽取条件 [{category, region, count}]; one category per group (001 §10.1.5 注)."""
    if not isinstance(value, list) or not value:
        raise DomainError("INVALID_INPUT", "请至少添加一组抽取条件", field="groups", status=400)
    if len(value) > MAX_GROUPS:
        raise DomainError("INVALID_INPUT", f"抽取条件最多 {MAX_GROUPS} 组", field="groups", status=400)
    groups = []
    for i, row in enumerate(value, 1):
        row = row if isinstance(row, dict) else {}
        category = row.get("category")
        if category not in CATEGORIES:
            raise DomainError("INVALID_INPUT", f"第 {i} 组的专家分类不正确", field="groups", status=400)
        region = str(row.get("region") or "").strip() or ANY_REGION
        try:
            count = int(row.get("count"))
        except (TypeError, ValueError):
            raise DomainError("INVALID_INPUT", f"请填写第 {i} 组的抽取人数", field="groups", status=400) from None
        if not 1 <= count <= MAX_COUNT:
            raise DomainError("INVALID_INPUT", f"第 {i} 组的抽取人数应在 1 到 {MAX_COUNT} 之间", field="groups",
                              status=400)
        groups.append({"category": category, "region": region, "count": count})
    return groups


def _strings(value, key, field, label, max_len):
    """A dynamic list [{key: text}] (or plain strings) → distinct non-empty texts."""
    out = []
    for row in value or []:
        text = (row.get(key) if isinstance(row, dict) else row) or ""
        text = str(text).strip()
        if not text:
            continue
        if len(text) > max_len:
            raise DomainError("INVALID_INPUT", f"{label}“{text[:20]}…”过长", field=field, status=400)
        if text not in out:
            out.append(text)
    return out


def parse_id_numbers(value):
    numbers = [n.upper() for n in _strings(value, "id_number", "avoid_id_numbers", "回避专家身份证号码", 18)]
    for number in numbers:
        if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            raise DomainError("INVALID_INPUT", f"回避专家身份证号码 {number} 格式不正确（应为 18 位）",
                              field="avoid_id_numbers", status=400)
    return numbers


class ExpertExtraction(Audited, Base):
    """专家抽取需求表 (论证项目需求表申请) of a purchasing unit."""

    __tablename__ = "expert_extraction"
    __audit_fields__ = ("status", "groups", "avoid_units", "avoid_id_numbers", "revoke_reason")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    title: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(32))
    avoid_units: Mapped[list] = mapped_column(JSON, default=list)
    avoid_id_numbers: Mapped[list] = mapped_column(JSON, default=list)
    groups: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="drawn", index=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    ended_at = mapped_column(UTCDateTime, nullable=True)

    draws = relationship("ExpertDraw", order_by="ExpertDraw.round", cascade="all, delete-orphan")
    experts = relationship("ExtractedExpert", order_by="ExtractedExpert.id", cascade="all, delete-orphan")

    @classmethod
    def create(cls, session, unit, values, created_by, now):
        """Check the requirement table and make the first draw."""
        from .project import Project
        title = str(values.get("title") or "").strip()
        if not title or len(title) > 200:
            raise DomainError("INVALID_INPUT", "请填写项目名称（不超过 200 字）", field="title", status=400)
        method = values.get("method")
        if method not in METHODS:
            raise DomainError("INVALID_INPUT", "请选择论证方式", field="method", status=400)
        project_id = values.get("project_id")
        if project_id not in (None, ""):
            project = session.get(Project, int(project_id))
            if project is None or project.unit_id != unit.id:
                raise DomainError("INVALID_INPUT", "所选采购项目不属于本单位", field="project_id", status=400)
            project_id = project.id
        else:
            project_id = None
        avoid_units = _strings(values.get("avoid_units"), "unit_name", "avoid_units", "回避单位", 200)
        if unit.name not in avoid_units:  # 采购人本单位的人员不得作为评审专家
            avoid_units.insert(0, unit.name)
        extraction = cls(number=uuid.uuid4().hex[:20], unit_id=unit.id, project_id=project_id, title=title,
                         method=method, avoid_units=avoid_units,
                         avoid_id_numbers=parse_id_numbers(values.get("avoid_id_numbers")),
                         groups=parse_groups(values.get("groups")), status="drawn", revoke_reason="",
                         created_by=created_by, created_at=now)
        result = extraction._draw(session, [g["count"] for g in extraction.groups], now)
        session.add(extraction)
        session.flush()
        extraction.number = f"ZJ{now.year}{extraction.id:06d}"
        return extraction, result

    def _require(self, *statuses, action):
        if self.status not in statuses:
            raise DomainError("EXTRACTION_STATE", f"专家抽取 {self.number} 当前状态为“{STATUSES[self.status]}”，不能{action}")

    def _draw(self, session, needs, now):
        pool = pool_snapshot(session)
        seed = new_seed()
        exclude = sorted(e.expert_id for e in self.experts)
        result = draw(pool, self.avoid_units, self.avoid_id_numbers, self.groups, needs, seed, exclude)
        record = ExpertDraw(round=len(self.draws) + 1, seed=seed, pool=pool, pool_digest=pool_digest(pool),
                            params={"avoid_units": list(self.avoid_units),
                                    "avoid_id_numbers": list(self.avoid_id_numbers),
                                    "groups": [dict(g) for g in self.groups], "needs": list(needs),
                                    "exclude_ids": exclude},
                            result=result, created_at=now)
        self.draws.append(record)
        for index, group in enumerate(result):
            for expert_id in group["drawn"]:
                self.experts.append(ExtractedExpert(expert_id=expert_id, group_index=index, draw=record,
                                                    answer="pending", replaced=False))
        return record

    def current(self):
        """The drawn experts still in the list (declined ones that were replaced are not)."""
        return [e for e in self.experts if not e.replaced]

    def _shortfalls(self):
        active = [0] * len(self.groups)
        for e in self.current():
            if e.answer != "declined" and e.group_index < len(active):
                active[e.group_index] += 1
        return [max(g["count"] - a, 0) for g, a in zip(self.groups, active)], active

    def record_answers(self, answers, now):
        """应答: each drawn expert accepts or declines once."""
        self._require("drawn", action="登记专家应答")
        by_expert = {e.expert_id: e for e in self.current()}
        if not answers:
            raise DomainError("INVALID_INPUT", "请填写至少一位专家的应答", field="answers", status=400)
        for row in answers:
            row = row if isinstance(row, dict) else {}
            try:
                expert_id = int(row.get("expert_id"))
            except (TypeError, ValueError):
                raise DomainError("INVALID_INPUT", "应答的专家编号不正确", field="answers", status=400) from None
            answer = row.get("answer")
            if answer not in ("accepted", "declined"):
                raise DomainError("INVALID_INPUT", f"专家 {expert_id} 的应答应为同意参加或拒绝参加", field="answers",
                                  status=400)
            extracted = by_expert.get(expert_id)
            if extracted is None:
                raise DomainError("INVALID_INPUT", f"专家 {expert_id} 不在本次抽取的专家名单中", field="answers",
                                  status=400)
            if extracted.answer != "pending":
                raise DomainError("ALREADY_ANSWERED", f"专家 {expert_id} 已应答（{ANSWERS[extracted.answer]}）",
                                  field="answers")
            extracted.answer, extracted.answered_at = answer, now

    def adjust(self, session, groups, now):
        """调整专家需求表 (001 §10.2): replace the experts who declined and draw for raised counts or added groups,
        with a new seed. Existing groups keep their category and region and cannot go below what is drawn."""
        self._require("drawn", action="调整")
        if groups is not None:
            groups = parse_groups(groups)
            _, active = self._shortfalls()
            if len(groups) < len(self.groups):
                raise DomainError("INVALID_INPUT", "调整时不能删除已有的抽取条件", field="groups", status=400)
            for i, (old, new) in enumerate(zip(self.groups, groups)):
                if (old["category"], old["region"]) != (new["category"], new["region"]):
                    raise DomainError("INVALID_INPUT", f"第 {i + 1} 组已抽取专家，不能更改专家分类或区域（可新增一组）",
                                      field="groups", status=400)
                if new["count"] < active[i]:
                    raise DomainError("INVALID_INPUT", f"第 {i + 1} 组已有 {active[i]} 位专家，人数不能减少到 {new['count']}",
                                      field="groups", status=400)
            self.groups = groups
        needs, _ = self._shortfalls()
        if not any(needs):
            raise DomainError("NOTHING_TO_DRAW", "没有拒绝参加的专家，也没有增加抽取人数，无需补抽")
        declined = [e for e in self.current() if e.answer == "declined"]
        record = self._draw(session, needs, now)
        for e in declined:
            e.replaced = True
        return record, declined

    def revoke(self, reason, now):
        """撤销需求表: only while no expert has answered (001 §10.3)."""
        self._require("drawn", action="撤销")
        answered = [e for e in self.experts if e.answer != "pending"]
        if answered:
            raise DomainError("EXPERTS_ANSWERED", f"已有 {len(answered)} 位专家应答，不能撤销抽取需求表")
        reason = str(reason or "").strip()
        if not reason:
            raise DomainError("REASON_REQUIRED", "请填写撤销原因", field="revoke_reason", status=400)
        self.status, self.revoke_reason, self.ended_at = "revoked", reason[:2000], now

    def complete(self, now):
        """确认名单: every group has its count of experts who accepted."""
        self._require("drawn", action="确认")
        missing = []
        accepted = [0] * len(self.groups)
        for e in self.current():
            if e.answer == "accepted":
                accepted[e.group_index] += 1
        for i, (group, count) in enumerate(zip(self.groups, accepted)):
            if count < group["count"]:
                missing.append(f"第 {i + 1} 组还差 {group['count'] - count} 人")
        if missing:
            raise DomainError("EXPERTS_MISSING", "专家应答未齐：" + "；".join(missing) + "（拒绝参加的请先补抽）")
        self.status, self.ended_at = "completed", now

    def listing(self, session):
        """The list of drawn experts (评审专家名单) with their answers."""
        experts = {e.id: e for e in session.scalars(select(Expert).where(
            Expert.id.in_([x.expert_id for x in self.experts])))}
        return [{"expert_id": x.expert_id, "name": experts[x.expert_id].name,
                 "unit_name": experts[x.expert_id].unit_name, "title": experts[x.expert_id].title,
                 "category": experts[x.expert_id].category, "region": experts[x.expert_id].region,
                 "group": x.group_index + 1, "round": x.draw.round, "answer": x.answer,
                 "answer_label": ANSWERS[x.answer], "replaced": x.replaced} for x in self.experts]

    def to_dict(self, session=None):
        d = {"id": self.id, "number": self.number, "unit_id": self.unit_id, "project_id": self.project_id,
             "title": self.title, "method": self.method, "method_label": METHODS[self.method],
             "avoid_units": self.avoid_units or [], "avoid_id_numbers": self.avoid_id_numbers or [],
             "groups": self.groups or [], "status": self.status, "status_label": STATUSES[self.status],
             "revoke_reason": self.revoke_reason, "created_at": self.created_at, "ended_at": self.ended_at,
             "draws": [d.to_dict() for d in self.draws]}
        if session is not None:
            d["experts"] = self.listing(session)
        return d


class ExpertDraw(Audited, Base):
    """One draw: its seed, every input (the pool snapshot included) and the result."""

    __tablename__ = "expert_draw"
    __table_args__ = (UniqueConstraint("extraction_id", "round"),)
    __audit_fields__ = ("round", "seed", "pool_digest", "result")

    id: Mapped[int] = mapped_column(primary_key=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("expert_extraction.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(32))
    pool: Mapped[list] = mapped_column(JSON)  # snapshot: [{id, category, region, unit, id_number, available}]
    pool_digest: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)  # avoid_units, avoid_id_numbers, groups, needs, exclude_ids
    result: Mapped[list] = mapped_column(JSON)  # per group {candidates, drawn}
    created_at = mapped_column(UTCDateTime, default=utcnow)

    def replay(self):
        p = self.params
        return draw(self.pool, p["avoid_units"], p["avoid_id_numbers"], p["groups"], p["needs"], self.seed,
                    p["exclude_ids"])

    def verify(self):
        """Draw again from the stored inputs; the same experts must come out."""
        again = self.replay()
        return {"round": self.round, "seed": self.seed, "pool_digest_ok": pool_digest(self.pool) == self.pool_digest,
                "same_result": again == self.result, "ok": again == self.result
                and pool_digest(self.pool) == self.pool_digest}

    def outputs(self):
        """What the handler returns for the history: seed, candidates and drawn ids per group."""
        return {"draw_round": self.round, "draw_seed": self.seed, "pool_digest": self.pool_digest,
                "candidate_ids": [g["candidates"] for g in self.result],
                "drawn_expert_ids": [g["drawn"] for g in self.result]}

    def to_dict(self):
        return {"round": self.round, "seed": self.seed, "pool_digest": self.pool_digest,
                "pool_size": len(self.pool or []), "needs": (self.params or {}).get("needs"),
                "exclude_ids": (self.params or {}).get("exclude_ids"), "result": self.result,
                "created_at": self.created_at}


class ExtractedExpert(Audited, Base):
    """An expert drawn for an extraction, with the answer (应答)."""

    __tablename__ = "extracted_expert"
    __table_args__ = (UniqueConstraint("extraction_id", "expert_id"),)
    __audit_fields__ = ("answer", "replaced")

    id: Mapped[int] = mapped_column(primary_key=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("expert_extraction.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("expert_draw.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    group_index: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(16), default="pending")
    answered_at = mapped_column(UTCDateTime, nullable=True)
    replaced: Mapped[bool] = mapped_column(Boolean, default=False)

    draw = relationship(ExpertDraw)


# -- demo pool (app/demo.py) -------------------------------------------------------------------------
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ["建国", "海燕", "志强", "丽华", "文斌", "秀英", "晓东", "雪梅", "国平", "春生"]
_DEMO_UNITS = ["福州大学", "福建师范大学", "福建省建筑设计研究院", "厦门大学", "福建省立医院", "福建省教育厅",
               "福州市城建集团", "华侨大学"]
_DEMO_REGIONS = ["福建省本级", "福州市", "厦门市", "泉州市"]
_DEMO_TITLES = ["教授", "高级工程师", "副教授", "正高级会计师", "律师", "主任医师"]


def seed_demo_experts(session, count=40):
    """About forty demo experts, deterministic, spread over categories, regions and units (demo only).
    A few are unavailable and one works at 福建省教育厅 (a demo purchasing unit) to show the avoidances."""
    if session.scalar(select(Expert.id).limit(1)) is not None:
        return 0
    categories = list(CATEGORIES)
    for i in range(count):
        name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 7) % len(_GIVEN)]
        birth = f"19{60 + i % 30:02d}{1 + i % 12:02d}{1 + i % 28:02d}"
        body = f"350{100 + i:03d}{birth}{i:03d}"
        session.add(Expert(name=name, category=categories[i % len(categories)],
                           region=_DEMO_REGIONS[(i // len(categories)) % len(_DEMO_REGIONS)],
                           unit_name=_DEMO_UNITS[(i * 3 + i // 8) % len(_DEMO_UNITS)], id_number=body + id_check(body),
                           title=_DEMO_TITLES[i % len(_DEMO_TITLES)], phone=f"1380000{i:04d}",
                           available=i % 13 != 12))
    session.flush()
    return count
