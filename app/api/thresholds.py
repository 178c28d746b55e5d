"""GET/PUT /api/thresholds: the procurement thresholds (分散采购限额 001 §2.2.1 注①, 交易系统限额 004 §3 柳江区,
面向中小企业预留的金额上限和比例 001 §4.1.1 注) as data.

They are the DMN decision ``thresholds`` (bpmn/thresholds.dmn, engine/threshold_decision.py): a PUT deploys a new
version of it, by the administrator; ``GET /api/thresholds/history`` lists every version with who, when and what
changed. Administrators read and set them; auditors read them (they read everything); anyone else gets 403. Bad values get
400 with Chinese messages under the field names; a refused PUT changes nothing.
"""
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from ..engine import threshold_decision
from ..models.threshold import CATEGORIES, KINDS, all_rows
from . import schemas
from .common import groups_only, login_required, now, read_session, transaction
from .schemas import Int

blp = Blueprint("thresholds", __name__, url_prefix="/api/thresholds", description="限额标准")


class ThresholdSchema(schemas.Base):
    id = Int()
    kind = fields.String(metadata={"description": "decentralized 分散采购限额 / transaction 须委托代理机构的限额 / "
                                                  "sme_whole 全额预留中小企业的金额上限（含）/ sme_share 超过上限时的预留比例（%）"})
    kind_label = fields.String()
    region = fields.String(metadata={"description": "区划（省级、福州、厦门…）；* 为所有区划"})
    category = fields.String(metadata={"description": "goods / services / works"})
    category_label = fields.String()
    amount = schemas.Money()
    source = fields.String()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class ThresholdInput(schemas.Base):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS), error=(
        "限额类型应为 decentralized（分散采购限额）、transaction（须委托代理机构的限额）、"
        "sme_whole（全额预留中小企业的金额上限）或 sme_share（预留比例）")))
    region = fields.String(required=True, validate=[
        validate.Length(min=1, max=32, error="区划应为 1 到 32 个字符"),
        validate.Regexp(r'^[^"\\<>&]+$', error="区划不能包含引号、反斜杠或 < > &")])
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES), error="品目类别应为 goods、services 或 works"))
    amount = schemas.Money(required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=10 ** 12, error="金额应大于 0 元且不超过 1 万亿元"))

    @validates_schema
    def _share_is_a_percentage(self, data, **_):
        if data.get("kind") == "sme_share" and data.get("amount") is not None and data["amount"] > 100:
            raise ValidationError("预留比例应为 0 到 100 之间的百分数", "amount")
        if data.get("kind") in ("sme_whole", "sme_share") and data.get("region") not in (None, "*"):
            raise ValidationError("面向中小企业预留的上限和比例适用于所有区划，区划应为 *", "region")


class ThresholdUpdate(schemas.Base):
    thresholds = fields.List(fields.Nested(ThresholdInput), required=True,
                             validate=validate.Length(min=1, error="请至少提交一条限额"))


@blp.route("", methods=["GET"])
@login_required
@groups_only("admin", "auditor", message="只有系统管理员可以查看和设置限额标准")
@blp.response(200, ThresholdSchema(many=True))
def list_thresholds():
    return [t.to_dict() for t in all_rows(read_session())]


@blp.route("", methods=["PUT"])
@login_required
@groups_only("admin", message="只有系统管理员可以设置限额标准")
@blp.arguments(ThresholdUpdate, error_status_code=400)
@blp.response(200, ThresholdSchema(many=True))
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
def set_thresholds(body):
    """Set amounts by (kind, region, category); a new region adds rows. ``region`` * applies to every region."""
    with transaction() as (session, user):
        threshold_decision.save(session, body["thresholds"], user.username, now())
        return [t.to_dict() for t in all_rows(session)]


class ThresholdChange(schemas.Base):
    kind = fields.String()
    region = fields.String()
    category = fields.String()
    old = schemas.Money(allow_none=True)
    new = schemas.Money(allow_none=True)


class ThresholdVersion(schemas.Base):
    version = Int()
    deployed_by = fields.String()
    deployed_at = fields.DateTime(allow_none=True)
    source = fields.String(metadata={"description": "startup（bpmn/ 文件）、系统设置、Camunda Modeler 等"})
    rules = Int()
    changes = fields.List(fields.Nested(ThresholdChange))


@blp.route("/history", methods=["GET"])
@login_required
@groups_only("admin", "auditor", message="只有系统管理员可以查看和设置限额标准")
@blp.response(200, ThresholdVersion(many=True))
def threshold_history():
    """Every version of the 限额标准 decision, newest first: who deployed it, when, and which amounts changed."""
    return threshold_decision.history(read_session())

