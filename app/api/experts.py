"""The expert pool (专家库) and the caller's units' expert extractions (专家抽取, 001 ch.10), with the check
that every draw comes out the same again from its stored seed and inputs."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import NotFound
from ..models.expert import CATEGORIES, STATUSES, Expert as ExpertRecord, ExpertExtraction
from .common import current_user, login_required, read_session
from .schemas import Base

blp = Blueprint("experts", __name__, url_prefix="/api", description="专家库与专家抽取")


class Expert(Base):
    id = fields.Integer()
    name = fields.String()
    category = fields.String(metadata={"description": "/".join(CATEGORIES)})
    category_label = fields.String()
    region = fields.String()
    unit_name = fields.String(metadata={"description": "工作单位"})
    id_number = fields.String(metadata={"description": "身份证号码（系统管理员以外脱敏显示）"})
    title = fields.String()
    available = fields.Boolean()


class ExpertQuery(Base):
    category = fields.String(validate=validate.OneOf(list(CATEGORIES), error="专家分类取值不正确"))
    region = fields.String()
    available = fields.Boolean()


class Group(Base):
    category = fields.String()
    region = fields.String()
    count = fields.Integer()


class Draw(Base):
    round = fields.Integer()
    seed = fields.String(metadata={"description": "随机种子（16 位十六进制）"})
    pool_digest = fields.String(metadata={"description": "专家库快照的 SHA-256"})
    pool_size = fields.Integer()
    needs = fields.List(fields.Integer(), metadata={"description": "本次每组抽取人数"})
    exclude_ids = fields.List(fields.Integer(), metadata={"description": "本次之前已抽取的专家"})
    result = fields.List(fields.Dict(), metadata={"description": "每组 {candidates: 候选专家编号, drawn: 抽中专家编号}"})
    created_at = fields.DateTime()


class DrawnExpert(Base):
    expert_id = fields.Integer()
    name = fields.String()
    unit_name = fields.String()
    title = fields.String()
    category = fields.String()
    region = fields.String()
    group = fields.Integer(metadata={"description": "组次（从 1 起）"})
    round = fields.Integer(metadata={"description": "第几次抽取"})
    answer = fields.String(metadata={"description": "pending/accepted/declined"})
    answer_label = fields.String()
    replaced = fields.Boolean(metadata={"description": "拒绝参加后已补抽"})


class Extraction(Base):
    id = fields.Integer()
    number = fields.String()
    unit_id = fields.Integer()
    project_id = fields.Integer(allow_none=True)
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
    round = fields.Integer()
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
@blp.response(200, Expert(many=True))
def list_experts(args):
    session = read_session()
    query = select(ExpertRecord).order_by(ExpertRecord.id)
    for key in ("category", "region", "available"):
        if args.get(key) is not None:
            query = query.where(getattr(ExpertRecord, key) == args[key])
    reveal = "admin" in current_user().groups
    return [e.to_dict(reveal_id=reveal) for e in session.scalars(query)]


@blp.route("/expert-extractions", methods=["GET"])
@login_required
@blp.response(200, Extraction(many=True))
def list_extractions():
    session = read_session()
    return [e.to_dict() for e in session.scalars(select(ExpertExtraction).where(
        ExpertExtraction.unit_id.in_(current_user().unit_ids(session))).order_by(ExpertExtraction.id))]


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
