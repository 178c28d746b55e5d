"""The expert pool (专家库) and the caller's units' expert extractions (专家抽取, 001 ch.10), with the check
that every draw comes out the same again from its stored seed and inputs."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import NotFound
from ..models.expert import CATEGORIES, STATUSES, Expert as ExpertRecord, ExpertExtraction
from .common import current_user, groups_only, locked, login_required, now, read_session, transaction
from . import paging
from .schemas import ApiError, Base, Int, Paging

blp = Blueprint("experts", __name__, url_prefix="/api", description="专家库与专家抽取")


class Expert(Base):
    id = Int()
    name = fields.String()
    category = fields.String(metadata={"description": "/".join(CATEGORIES)})
    category_label = fields.String()
    region = fields.String()
    unit_name = fields.String(metadata={"description": "工作单位"})
    id_number = fields.String(metadata={"description": "身份证号码（系统管理员以外脱敏显示）"})
    title = fields.String()
    available = fields.Boolean()


class ExpertAdmin(Expert):
    """What an administrator sees: the full ID number, the phone and who last changed the entry."""
    phone = fields.String()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


def _text(label, max_len, required=True):
    return fields.String(required=required, validate=validate.Length(
        min=1 if required else 0, max=max_len, error=f"{label}应为{'1' if required else '0'}到 {max_len} 个字符"),
        error_messages={"required": f"请填写{label}", "invalid": f"{label}应为文字"})


class ExpertInput(Base):
    """入库 (POST: name, category, region, unit_name and id_number required) or 修改 (PATCH: any of them)."""
    name = _text("姓名", 50)
    category = fields.String(required=True, validate=validate.OneOf(
        list(CATEGORIES), error="专家分类应为 " + "、".join(f"{k}（{v}）" for k, v in CATEGORIES.items())),
        error_messages={"required": "请选择专家分类"})
    region = _text("所在区划", 64)
    unit_name = _text("工作单位", 200)
    id_number = fields.String(required=True, validate=validate.Length(equal=18, error="身份证号码应为 18 位"),
                              error_messages={"required": "请填写身份证号码"})
    title = _text("职称", 50, required=False)
    phone = fields.String(validate=validate.Regexp(r"^[0-9+\-() ]{0,20}$", error="联系电话格式不正确"))
    available = fields.Boolean(metadata={"description": "false：暂停抽取（请假、停用等）"},
                               error_messages={"invalid": "是否可抽取应为 true 或 false"})


class ExpertChange(ExpertInput):
    """修改: any of the fields (used with partial=True)."""


class ExpertQuery(Paging):
    category = fields.String(validate=validate.OneOf(list(CATEGORIES), error="专家分类取值不正确"))
    region = fields.String()
    available = fields.Boolean()


class Group(Base):
    category = fields.String()
    region = fields.String()
    count = Int()


class Draw(Base):
    round = Int()
    seed = fields.String(metadata={"description": "随机种子（16 位十六进制）"})
    pool_digest = fields.String(metadata={"description": "专家库快照的 SHA-256"})
    pool_size = Int()
    needs = fields.List(Int(), metadata={"description": "本次每组抽取人数"})
    exclude_ids = fields.List(Int(), metadata={"description": "本次之前已抽取的专家"})
    result = fields.List(fields.Dict(), metadata={"description": "每组 {candidates: 候选专家编号, drawn: 抽中专家编号}"})
    created_at = fields.DateTime()


class DrawnExpert(Base):
    expert_id = Int()
    name = fields.String()
    unit_name = fields.String()
    title = fields.String()
    category = fields.String()
    region = fields.String()
    group = Int(metadata={"description": "组次（从 1 起）"})
    round = Int(metadata={"description": "第几次抽取"})
    answer = fields.String(metadata={"description": "pending/accepted/declined"})
    answer_label = fields.String()
    replaced = fields.Boolean(metadata={"description": "拒绝参加后已补抽"})


class Extraction(Base):
    id = Int()
    number = fields.String()
    unit_id = Int()
    project_id = Int(allow_none=True)
    title = fields.String()
    method = fields.String()
    method_label = fields.String()
    avoid_units = fields.List(fields.String())
    avoid_id_numbers = fields.List(fields.String())
    groups = fields.List(fields.Nested(Group))
    status = fields.String(metadata={"description": "/".join(STATUSES)})
    status_label = fields.String()
    revoke_reason = fields.String()
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    draws = fields.List(fields.Nested(Draw))


class ExtractionDetail(Extraction):
    experts = fields.List(fields.Nested(DrawnExpert))


class DrawCheck(Base):
    round = Int()
    seed = fields.String()
    pool_digest_ok = fields.Boolean()
    same_result = fields.Boolean()
    ok = fields.Boolean()


class Verification(Base):
    ok = fields.Boolean()
    draws = fields.List(fields.Nested(DrawCheck))


def _extraction(session, ident):
    obj = session.get(ExpertExtraction, ident)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound("专家抽取", ident)
    return obj


@blp.route("/experts", methods=["GET"])
@login_required
@blp.arguments(ExpertQuery, location="query", error_status_code=400)
@blp.response(200, ExpertAdmin(many=True))
def list_experts(args):
    session = read_session()
    query = select(ExpertRecord).order_by(ExpertRecord.id)
    for key in ("category", "region", "available"):
        if args.get(key) is not None:
            query = query.where(getattr(ExpertRecord, key) == args[key])
    reveal = "admin" in current_user().groups
    return paging.of_query(session, query, args, lambda e: e.to_dict(reveal_id=reveal))


ADMIN_ONLY = "只有系统管理员可以维护专家库"


@blp.route("/experts", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(ExpertInput, error_status_code=400)
@blp.response(201, ExpertAdmin)
@blp.alt_response(400, schema=ApiError)
@blp.alt_response(403, schema=ApiError)
@blp.alt_response(409, schema=ApiError)
def add_expert(body):
    """专家入库. The ID number is checked (GB 11643 check character) and must be new to the pool (409)."""
    with transaction() as (session, user):
        return ExpertRecord.add(session, body, user, now()).to_dict(reveal_id=True)


@blp.route("/experts/<int:expert_id>", methods=["PATCH"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.arguments(ExpertChange(partial=True), error_status_code=400)
@blp.response(200, ExpertAdmin)
@blp.alt_response(400, schema=ApiError)
@blp.alt_response(403, schema=ApiError)
@blp.alt_response(404, schema=ApiError)
def edit_expert(body, expert_id):
    """修改专家信息, or ``{"available": false}`` to stop drawing an expert (暂停抽取). Draws already made keep
    their snapshot of the pool."""
    with transaction() as (session, user):
        expert = locked(session, ExpertRecord, expert_id, "专家")
        expert.edit(session, body, user, now())
        return expert.to_dict(reveal_id=True)


@blp.route("/expert-extractions", methods=["GET"])
@login_required
@blp.arguments(Paging, location="query", error_status_code=400)
@blp.response(200, Extraction(many=True))
def list_extractions(args):
    session = read_session()
    return paging.of_query(session, select(ExpertExtraction).where(
        ExpertExtraction.unit_id.in_(current_user().unit_ids(session))).order_by(ExpertExtraction.id), args,
        lambda e: e.to_dict())


@blp.route("/expert-extractions/<int:extraction_id>", methods=["GET"])
@login_required
@blp.response(200, ExtractionDetail)
def get_extraction(extraction_id):
    session = read_session()
    return _extraction(session, extraction_id).to_dict(session)


@blp.route("/expert-extractions/<int:extraction_id>/verify", methods=["GET"])
@login_required
@blp.response(200, Verification)
def verify_extraction(extraction_id):
    """Draw every round again from its stored seed, pool snapshot and inputs; ok when all come out the same."""
    session = read_session()
    checks = [d.verify() for d in _extraction(session, extraction_id).draws]
    return {"ok": all(c["ok"] for c in checks), "draws": checks}
