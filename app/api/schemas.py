"""Request and response shapes; the OpenAPI document is generated from these."""
import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..models import DomainError, money
from ..models.inputs import INT_MAX, INT_MIN

# Field messages in Chinese, as the rest of the service speaks to clerks.
fields.Field.default_error_messages.update(
    required="此项为必填项", null="此项不能为空", validator_failed="取值不正确")
for _cls, _msg in ((fields.String, "应为文本"), (fields.Integer, "应为整数"), (fields.Dict, "应为 JSON 对象"),
                   (fields.Boolean, "应为是或否"), (fields.List, "应为列表")):
    _cls.default_error_messages["invalid"] = _msg


class Base(Schema):
    class Meta:
        unknown = EXCLUDE


class MoneyField(fields.Decimal):
    """Yuan, two places. Out: a string ("800000.00", documented as string/decimal). In: a number or numeric
    string with at most two places within ``MONEY_MAX`` — refused, never rounded."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "800000.00")
        super().__init__(places=2, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return money(value, attr, signed=True)  # the sign, like any range, is the field's validators' to say
        except DomainError as err:
            raise ValidationError(err.message) from None


Money = MoneyField

_WHOLE = re.compile(r"\s*[+-]?[0-9]{1,100}\s*")


class Int(fields.Integer):
    """A whole number within the 32-bit columns: 2026.5 or "1.5" is refused, never rounded; a query's "12" is 12."""

    def __init__(self, *, minimum=INT_MIN, maximum=INT_MAX, **kwargs):
        rules = kwargs.pop("validate", None) or []
        rules = [rules] if callable(rules) else list(rules)
        bounds = validate.Range(min=minimum, max=maximum, error=f"应为 {minimum} 到 {maximum} 之间的整数")
        super().__init__(validate=[bounds, *rules], **kwargs)

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer() or isinstance(value, str) and not _WHOLE.fullmatch(value):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float):
            value = int(value) if abs(value) < 2**53 else value  # 2026.0 is 2026; 1e300 stays out of range
        return super()._validated(value)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(description, content_type=XLSX):
    """OpenAPI for a 200 that is a file download (Excel export, attachment), for ``@blp.doc(**…)``."""
    return {"responses": {"200": {"description": description, "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}}}}}


class ApiError(Base):
    code = fields.String(metadata={"description": "机器可读的错误代码，如 INVALID_INPUT、NOT_FOUND、DB_UNAVAILABLE"})
    message = fields.String(metadata={"description": "中文说明"})
    errors = fields.Dict(keys=fields.String(), metadata={"description": "{字段: [中文信息]}"})
    request_id = fields.String(metadata={"description": "请求编号（5xx 时给出，与响应头 X-Request-Id 相同）"})
    details = fields.Dict(keys=fields.String(), metadata={"description": "冲突的具体数据（如已占用金额和占用项目）"})


class Login(Base):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64, error="用户名长度不正确"))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200, error="密码长度不正确"))


class User(Base):
    id = Int()
    username = fields.String()
    display_name = fields.String()
    unit_id = Int(allow_none=True)
    groups = fields.List(fields.String())
    must_change_password = fields.Boolean(metadata={"description": "登录响应中：须先修改密码（POST /api/me/password）"})


class Token(Base):
    token = fields.String()
    expires_in = Int(metadata={"description": "seconds"})
    user = fields.Nested(User)


class Process(Base):
    key = fields.String()
    name = fields.String()
    version = Int()
    category = fields.String(allow_none=True, metadata={"description": "项目/计划/交易/合同/支付/年终"})
    can_start = fields.Boolean(metadata={"description": "whether the caller's roles may start it"})


class ProcessVersion(Process):
    id = Int()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    content_hash = fields.String()


class StartInstance(Base):
    business_key = fields.String(validate=validate.Length(max=100, error="业务编号过长"), allow_none=True)
    unit_id = Int(allow_none=True, metadata={"description": "acting unit; defaults to the caller's"})
    data = fields.Dict(load_default=dict)


class Task(Base):
    id = fields.String()
    instance_id = Int()
    process = fields.String(attribute="process_key")
    name = fields.String()
    bpmn_id = fields.String()
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    claimed_by = fields.String(allow_none=True)
    unit_id = Int(allow_none=True)
    status = fields.String()
    record_type = fields.String(allow_none=True)
    record_id = Int(allow_none=True)
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    owner = fields.String(allow_none=True, metadata={"description": "委派人（Camunda 7 owner）"})
    delegation_state = fields.String(allow_none=True, metadata={"description": "pending 委派中 / resolved 已归还"})


class TaskDetail(Task):
    form = fields.Dict(allow_none=True, metadata={"description": "Camunda Form (form-js JSON)"})
    data = fields.Dict()


class Paging(Base):
    """``page`` (from 1) and ``per_page`` (default 50; more than 200 is served as 200): docs/api.md "Paging"."""
    page = Int(minimum=1, load_default=1)
    per_page = Int(minimum=1, load_default=None)


class TaskQuery(Paging):
    process = fields.String()
    group = fields.String()
    assigned = fields.String(validate=validate.OneOf(["me"], error="assigned 只能为 me"))
    assignee = fields.String(metadata={"description": "指定办理人或签收人（用户名）"})
    unit_id = Int(minimum=1)
    created_from = fields.Date(error_messages={"invalid": "应为日期（YYYY-MM-DD）"})
    created_to = fields.Date(error_messages={"invalid": "应为日期（YYYY-MM-DD）"})
    q = fields.String(validate=validate.Length(max=100, error="搜索文本不能超过 100 个字"),
                      metadata={"description": "任务名称、流程名称、业务编号、实例号、记录编号或名称中的文字"})


class Complete(Base):
    data = fields.Dict(load_default=dict)


class Instance(Base):
    id = Int()
    key = fields.String()
    version = Int()
    status = fields.String()
    business_key = fields.String(allow_none=True)
    unit_id = Int(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    data = fields.Dict()
    tasks = fields.List(fields.Nested(Task))


class Message(Base):
    data = fields.Dict(load_default=dict)


class HistoryEvent(Base):
    seq = Int()
    type = fields.String()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    task = fields.String(allow_none=True)
    data = fields.Dict()
    changes = fields.List(fields.Dict())
    hash = fields.String()
    request_id = fields.String(allow_none=True, metadata={"description": "写入该事件的请求编号（X-Request-Id），用于查日志；不参与哈希"})


class Verify(Base):
    ok = fields.Boolean()
    checked = Int()
    first_bad_seq = Int(allow_none=True)
    reason = fields.String(allow_none=True)
    chain = fields.Dict(metadata={"description": "hash chain: {ok, checked, first_bad_seq, reason}"})
    state = fields.Dict(metadata={"description": "stored workflow vs its replayed history: {ok, reason, seq, "
                                                 "differences}"})


class Budget(Base):
    id = Int()
    code = fields.String()
    name = fields.String()
    unit_id = Int()
    year = Int()
    fund_type = fields.String()
    amount = Money()
    used_amount = Money()
    free_amount = Money()


class Fund(Base):
    budget_line_id = Int()
    amount = Money()


class Project(Base):
    id = Int()
    number = fields.String()
    name = fields.String()
    unit_id = Int()
    year = Int()
    category = fields.String()
    amount = Money()
    planned_amount = Money()
    free_amount = Money()
    region = fields.String()
    implementation_form = fields.String()
    is_government_procurement = fields.Boolean()
    justification = fields.String()
    items = fields.List(fields.Dict())
    funds = fields.List(fields.Nested(Fund))
    status = fields.String()
    status_label = fields.String()
    review_comment = fields.String()
    recovered_amount = Money()
    pending_action = fields.String(allow_none=True, metadata={"description": "revocation / change / closing in review"})
    closing_reason = fields.String(metadata={"description": "撤销或结项原因"})


class Plan(Base):
    id = Int()
    number = fields.String()
    name = fields.String()
    unit_id = Int()
    year = Int()
    plan_type = fields.String()
    project_id = Int()
    budget_line_id = Int(allow_none=True)
    category = fields.String()
    method = fields.String()
    amount = Money()
    sme_reserved_amount = Money()
    sme_reason = fields.String()
    is_import = fields.Boolean()
    import_approval_id = Int(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    review_comment = fields.String()
    assignee_id = Int(allow_none=True)
    returned = fields.Boolean(metadata={"description": "退回至采购监管子系统"})
    pending_action = fields.String(allow_none=True, metadata={"description": "revocation / termination / "
                                                                           "method_change in review"})
    closing_reason = fields.String()
    items = fields.List(fields.Dict(), metadata={"description": "采购内容清单 rows the plan buys (电子卖场: one)"})
    original_contract_id = Int(allow_none=True, metadata={"description": "合同续签: the original contract"})
    members = fields.List(fields.Dict(), metadata={"description": "联合采购: [{unit_id, project_id, amount}]"})


class Tender(Base):
    id = Int()
    number = fields.String()
    title = fields.String()
    plan_id = Int()
    unit_id = Int()
    agency_id = Int(allow_none=True, metadata={"description": "办理该交易项目的代理机构（代理机构库）"})
    status = fields.String()
    status_label = fields.String()
    cancel_requested = fields.Boolean(metadata={"description": "已发起取消采购任务，待采购人确认"})
    failure_requested = fields.Boolean(metadata={"description": "废标公告已提交，待采购人确认后发布"})
    result = fields.String(metadata={"description": "评标结果：none / awarded / failed"})
    termination = fields.String()
    termination_label = fields.String()
    reason = fields.String()
    intent_gap_reason = fields.String(metadata={"description": "意向未满30天的理由（001 §3.1 注①）"})
    announced_at = fields.DateTime()
    opened_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
