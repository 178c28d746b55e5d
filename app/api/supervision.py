"""Supervision warnings of the caller's units (预警记录, 001 §11.1.1) and the rules with their thresholds."""
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import NotFound
from ..models.supervision import DEFAULT_RULES, STATUSES, SupervisionRule, SupervisionWarning, ensure_rules
from .common import current_user, groups_only, locked, login_required, now, read_session, transaction
from . import paging
from .schemas import ApiError, Base, Int, Paging

blp = Blueprint("supervision", __name__, url_prefix="/api/supervision", description="监督预警")


class Rule(Base):
    code = fields.String()
    name = fields.String()
    enabled = fields.Boolean()
    params = fields.Dict(metadata={"description": "阈值，如 {\"days\": 7}、{\"limit_amount\": \"1000000.00\"}"})
    description = fields.String()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class RuleInput(Base):
    enabled = fields.Boolean(error_messages={"invalid": "是否启用应为 true 或 false"})
    params = fields.Dict(keys=fields.String(), metadata={"description": "要修改的阈值，如 {\"days\": 10}"},
                         error_messages={"invalid": "阈值应为对象，如 {\"days\": 10}"})


class Warning(Base):
    id = Int()
    rule = fields.String(metadata={"description": "/".join(DEFAULT_RULES)})
    rule_name = fields.String()
    record_type = fields.String(metadata={"description": "tender/contract/unit"})
    record_id = Int()
    record_key = fields.String(metadata={"description": "记录及所发现的事实，同一规则同一 key 只预警一次"})
    unit_id = Int()
    message = fields.String()
    details = fields.Dict()
    status = fields.String(metadata={"description": "open/resolved"})
    status_label = fields.String()
    raised_at = fields.DateTime()
    raised_by_instance = Int(allow_none=True)
    resolution_instance = Int(allow_none=True, metadata={"description": "巡检处理流程实例"})
    outcome = fields.String(allow_none=True)
    outcome_label = fields.String(allow_none=True)
    resolution = fields.String()
    resolved_at = fields.DateTime(allow_none=True)


class WarningQuery(Paging):
    status = fields.String(validate=validate.OneOf(list(STATUSES), error="状态取值不正确"))
    rule = fields.String(validate=validate.OneOf(list(DEFAULT_RULES), error="规则取值不正确"))
    unit_id = Int()


def _names(session):
    return {r.code: r.name for r in session.scalars(select(SupervisionRule))}


@blp.route("/rules", methods=["GET"])
@login_required
@blp.response(200, Rule(many=True))
def rules():
    """The rules and their thresholds; before the first scan, the defaults it will insert."""
    session = read_session()
    rows = {r.code: r for r in session.scalars(select(SupervisionRule))}
    defaults = [rows[code].to_dict() if code in rows else
                {"code": code, "name": name, "enabled": True, "params": params, "description": description}
                for code, (name, params, description) in DEFAULT_RULES.items()]
    return defaults + [r.to_dict() for code, r in rows.items() if code not in DEFAULT_RULES]


@blp.route("/rules/<code>", methods=["PUT"])
@groups_only("admin", message="只有系统管理员可以设置预警规则")
@blp.arguments(RuleInput, error_status_code=400)
@blp.response(200, Rule)
@blp.alt_response(400, schema=ApiError)
@blp.alt_response(403, schema=ApiError)
@blp.alt_response(404, schema=ApiError)
def configure_rule(body, code):
    """启用/停用 a rule and set its thresholds (only the rule's own parameters, each within its range)."""
    with transaction() as (session, user):
        ensure_rules(session)
        rule = locked(session, SupervisionRule, code, "预警规则")
        rule.configure(body.get("enabled"), body.get("params"), user, now())
        return rule.to_dict()


@blp.route("/warnings", methods=["GET"])
@login_required
@blp.arguments(WarningQuery, location="query", error_status_code=400)
@blp.response(200, Warning(many=True))
def warnings(args):
    session = read_session()
    query = select(SupervisionWarning).where(SupervisionWarning.unit_id.in_(current_user().unit_ids(session)))
    for key in ("status", "rule", "unit_id"):
        if args.get(key) is not None:
            query = query.where(getattr(SupervisionWarning, key) == args[key])
    names = _names(session)
    return paging.of_query(session, query.order_by(SupervisionWarning.id), args, lambda w: w.to_dict(names.get(w.rule)))


@blp.route("/warnings/<int:warning_id>", methods=["GET"])
@login_required
@blp.response(200, Warning)
def warning(warning_id):
    session = read_session()
    obj = session.get(SupervisionWarning, warning_id)
    if obj is None or obj.unit_id not in current_user().unit_ids(session):
        raise NotFound("预警", warning_id)
    return obj.to_dict(_names(session).get(obj.rule))

