"""Request and response shapes; the OpenAPI document is generated from these."""
from marshmallow import EXCLUDE, Schema, fields, validate

# Field messages in Chinese, as the rest of the service speaks to clerks.
fields.Field.default_error_messages.update(
    required="此项为必填项", null="此项不能为空", validator_failed="取值不正确")
for _cls, _msg in ((fields.String, "应为文本"), (fields.Integer, "应为整数"), (fields.Dict, "应为 JSON 对象"),
                   (fields.Boolean, "应为是或否"), (fields.List, "应为列表")):
    _cls.default_error_messages["invalid"] = _msg


class Base(Schema):
    class Meta:
        unknown = EXCLUDE


Money = lambda **kw: fields.Decimal(places=2, as_string=True, **kw)  # noqa: E731 - yuan, two places, as text


class ApiError(Base):
    code = fields.String()
    message = fields.String(metadata={"description": "中文说明"})
    errors = fields.Dict(keys=fields.String(), metadata={"description": "{字段: [中文信息]}"})


class Login(Base):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64, error="用户名长度不正确"))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200, error="密码长度不正确"))


class User(Base):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    unit_id = fields.Integer(allow_none=True)
    groups = fields.List(fields.String())


class Token(Base):
    token = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds"})
    user = fields.Nested(User)


class Process(Base):
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    category = fields.String(allow_none=True, metadata={"description": "项目/计划/交易/合同/支付/年终"})
    can_start = fields.Boolean(metadata={"description": "whether the caller's roles may start it"})


class ProcessVersion(Process):
    id = fields.Integer()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    content_hash = fields.String()


class StartInstance(Base):
    business_key = fields.String(validate=validate.Length(max=100, error="业务编号过长"), allow_none=True)
    unit_id = fields.Integer(allow_none=True, metadata={"description": "acting unit; defaults to the caller's"})
    data = fields.Dict(load_default=dict)


class Task(Base):
    id = fields.String()
    instance_id = fields.Integer()
    process = fields.String(attribute="process_key")
    name = fields.String()
    bpmn_id = fields.String()
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    claimed_by = fields.String(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    status = fields.String()
    record_type = fields.String(allow_none=True)
    record_id = fields.Integer(allow_none=True)
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class TaskDetail(Task):
    form = fields.Dict(allow_none=True, metadata={"description": "Camunda Form (form-js JSON)"})
    data = fields.Dict()


class TaskQuery(Base):
    process = fields.String()
    group = fields.String()
    assigned = fields.String(validate=validate.OneOf(["me"], error="assigned 只能为 me"))


class Complete(Base):
    data = fields.Dict(load_default=dict)


class Instance(Base):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    status = fields.String()
    business_key = fields.String(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    data = fields.Dict()
    tasks = fields.List(fields.Nested(Task))


class Message(Base):
    data = fields.Dict(load_default=dict)


class HistoryEvent(Base):
    seq = fields.Integer()
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
    checked = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    chain = fields.Dict(metadata={"description": "hash chain: {ok, checked, first_bad_seq, reason}"})
    state = fields.Dict(metadata={"description": "stored workflow vs its replayed history: {ok, reason, seq, "
                                                 "differences}"})


class Budget(Base):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    unit_id = fields.Integer()
    year = fields.Integer()
    fund_type = fields.String()
    amount = Money()
    used_amount = Money()
    free_amount = Money()


class Fund(Base):
    budget_line_id = fields.Integer()
    amount = Money()


class Project(Base):
    id = fields.Integer()
    number = fields.String()
    name = fields.String()
    unit_id = fields.Integer()
    year = fields.Integer()
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
    id = fields.Integer()
    number = fields.String()
    name = fields.String()
    unit_id = fields.Integer()
    year = fields.Integer()
    plan_type = fields.String()
    project_id = fields.Integer()
    budget_line_id = fields.Integer(allow_none=True)
    category = fields.String()
    method = fields.String()
    amount = Money()
    sme_reserved_amount = Money()
    sme_reason = fields.String()
    is_import = fields.Boolean()
    import_approval_id = fields.Integer(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    review_comment = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    returned = fields.Boolean(metadata={"description": "退回至采购监管子系统"})
    pending_action = fields.String(allow_none=True, metadata={"description": "revocation / termination / "
                                                                           "method_change in review"})
    closing_reason = fields.String()
    items = fields.List(fields.Dict(), metadata={"description": "采购内容清单 rows the plan buys (电子卖场: one)"})
    original_contract_id = fields.Integer(allow_none=True, metadata={"description": "合同续签: the original contract"})
    members = fields.List(fields.Dict(), metadata={"description": "联合采购: [{unit_id, project_id, amount}]"})


class Tender(Base):
    id = fields.Integer()
    number = fields.String()
    title = fields.String()
    plan_id = fields.Integer()
    unit_id = fields.Integer()
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
