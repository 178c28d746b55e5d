"""Auditing an instance: replay its history, export it (JSON, Excel); verification is in instances.py."""
import io
import json
from datetime import datetime, timedelta, timezone

from flask import Response
from flask_smorest import Blueprint, abort
from marshmallow import fields
from sqlalchemy import select

from ..engine import audit, history
from ..engine.replay import replay
from ..models import HumanTask, InstanceRecord, NotFound, ProcessDefinition, ProcessInstance, User
from ..reports import xlsx_append
from . import schemas
from .common import current_user, db, login_required, now, read_session, to_json
from .schemas import Int

blp = Blueprint("audit", __name__, url_prefix="/api/instances", description="审计：重放与导出")

# Roles that look at every unit's instances as a whole (replay, export): auditors, analysts, administrators.
ORG_WIDE = {"auditor", "analyst", "admin"}


class ReplayStep(schemas.Base):
    seq = Int()
    type = fields.String()
    task = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.String(allow_none=True)
    ok = fields.Boolean()
    expected = fields.Raw(allow_none=True, metadata={"description": "what the history implies"})
    actual = fields.Raw(allow_none=True, metadata={"description": "what the replay did / reached"})
    reason = fields.String()
    position = fields.Dict(metadata={"description": "{completed, active, ready}: BPMN ids on the top-level diagram"})


class ReplayReport(schemas.Base):
    instance_id = Int()
    ok = fields.Boolean()
    events = Int()
    steps = fields.List(fields.Nested(ReplayStep))
    first_divergence = fields.Dict(allow_none=True)
    state = fields.Dict(metadata={"description": "{ok, reason, differences}: replay vs the stored workflow"})
    final = fields.Dict(allow_none=True)


class ExportedInstance(schemas.Base):
    id = Int()
    key = fields.String()
    version = Int()
    status = fields.String()
    business_key = fields.String(allow_none=True)
    unit_id = Int(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = fields.String(metadata={"description": "ISO-8601"})
    ended_at = fields.String(allow_none=True)
    data = fields.Dict()


class ExportedDefinition(schemas.Base):
    id = Int()
    key = fields.String()
    name = fields.String()
    version = Int()
    content_hash = fields.String()
    resource = fields.String(allow_none=True)
    deployed_by = fields.String(allow_none=True)
    deployed_at = fields.String(allow_none=True)


class ExportedEvent(schemas.HistoryEvent):
    at = fields.String(metadata={"description": "ISO-8601"})
    prev_hash = fields.String(allow_none=True)


class Export(schemas.Base):
    """The JSON export (``govproc-instance-history/1``): everything an auditor needs to check one instance offline."""
    format = fields.String(metadata={"description": "govproc-instance-history/1"})
    exported_at = fields.String()
    exported_by = fields.String()
    instance = fields.Nested(ExportedInstance)
    definition = fields.Nested(ExportedDefinition)
    subprocess_definitions = fields.Dict(metadata={"description": "{called key: {id, version, content_hash}}"})
    records = fields.List(fields.String(), metadata={"description": "record:id"})
    tasks = fields.List(fields.Dict(), metadata={"description": "every human task row of the instance"})
    history = fields.List(fields.Nested(ExportedEvent))
    verify = fields.Nested(schemas.Verify)


def instance_for(session, instance_id, roles=None):
    """The instance if the caller may see it: org-wide roles see all, others by unit (else 404)."""
    user = current_user()
    instance = session.get(ProcessInstance, instance_id)
    visible = instance is not None and (bool(user.groups & ORG_WIDE) or instance.unit_id in user.unit_ids(session))
    if not visible:
        raise NotFound("流程实例", instance_id)
    if roles and not (user.groups & roles):
        abort(403, message="只有审计、业务分析或系统管理员可以重放流程历史")
    return instance


@blp.route("/<int:instance_id>/replay", methods=["POST"])
@login_required
@blp.response(200, ReplayReport)
def replay_instance(instance_id):
    """Re-run the instance from its deployed version using only its history (never writes)."""
    with audit.readonly_session(db()) as session:
        return replay(session, instance_for(session, instance_id, ORG_WIDE))


# -- export -------------------------------------------------------------------------------
def export_data(session, instance):
    definition = session.get(ProcessDefinition, instance.definition_id)
    starter = session.get(User, instance.started_by) if instance.started_by else None
    subprocesses = {}
    for key, def_id in (instance.subprocess_definitions or {}).items():
        sub = session.get(ProcessDefinition, def_id)
        subprocesses[key] = {"id": sub.id, "version": sub.version, "content_hash": sub.content_hash} if sub else None
    tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                            .order_by(HumanTask.created_at, HumanTask.id))
    records = session.scalars(select(InstanceRecord).where(InstanceRecord.instance_id == instance.id))
    events = history.events(session, instance.id)
    return to_json({
        "format": "govproc-instance-history/1",
        "exported_at": now(), "exported_by": current_user().username,
        "instance": {"id": instance.id, "key": instance.key, "version": definition.version,
                     "status": instance.status, "business_key": instance.business_key, "unit_id": instance.unit_id,
                     "started_by": starter.username if starter else None, "started_at": instance.started_at,
                     "ended_at": instance.ended_at, "data": instance.data},
        "definition": {"id": definition.id, "key": definition.key, "name": definition.name,
                       "version": definition.version, "content_hash": definition.content_hash,
                       "resource": definition.resource_name, "deployed_by": definition.deployed_by,
                       "deployed_at": definition.deployed_at},
        "subprocess_definitions": subprocesses,
        "records": [f"{r.record_type}:{r.record_id}" for r in records],
        "tasks": [{c.key: getattr(t, c.key) for c in HumanTask.__table__.columns} for t in tasks],
        "history": [{**history.to_dict(e), "prev_hash": e.prev_hash} for e in events],
        "verify": audit.verify(session, instance),
    })


@blp.route("/<int:instance_id>/export.json", methods=["GET"])
@login_required
@blp.response(200, Export)
def export_json(instance_id):
    """The instance's full history (and its verification) as one JSON document."""
    session = read_session()
    body = json.dumps(export_data(session, instance_for(session, instance_id)), ensure_ascii=False, indent=1)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="instance-{instance_id}-history.json"'})


_EVENT_LABELS = {"instance_started": "发起流程", "service_task": "服务任务", "task_claimed": "签收任务",
                 "task_released": "释放任务", "task_completed": "办理任务", "message_received": "收到消息",
                 "error_caught": "业务规则拦截",
                 "error_uncaught": "业务错误未被捕获", "timer_fired": "定时器触发", "migrated": "版本迁移",
                 "instance_completed": "流程结束"}


def _text(value):
    return value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)


def _beijing(value):
    """ISO-8601 UTC text → 北京时间 text, as every screen shows times (China has no daylight saving)."""
    if not isinstance(value, str) or not value:
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    return moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")


def _value(value):
    return "空" if value is None or value == "" else _text(value)


def _changes_text(changes):
    lines = []
    for change in changes or []:
        fields_ = "；".join(f"{k}：{_value(v[0]) if isinstance(v, list) else '空'} → "
                            f"{_value(v[1]) if isinstance(v, list) else _value(v)}"
                            for k, v in (change.get("fields") or {}).items())
        lines.append(f"{change.get('record')}{'（新建）' if change.get('new') else ''} {fields_}")
    return "\n".join(lines)


def export_xlsx_bytes(data):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    summary = book.active
    summary.title = "流程实例"
    inst, definition, verify = data["instance"], data["definition"], data["verify"]
    rows = [("流程实例", inst["id"]), ("流程", f"{definition['name']}（{definition['key']}）"),
            ("版本", inst["version"]), ("流程定义哈希", definition["content_hash"]), ("状态", inst["status"]),
            ("业务编号", inst["business_key"]), ("单位", inst["unit_id"]), ("发起人", inst["started_by"]),
            ("发起时间（北京时间）", _beijing(inst["started_at"])), ("结束时间（北京时间）", _beijing(inst["ended_at"])),
            ("哈希链校验", "通过" if verify["chain"]["ok"] else f"失败：事件 {verify['chain']['first_bad_seq']}，"
                                                         f"{verify['chain']['reason']}"),
            ("状态校验（重放）", "通过" if verify["state"]["ok"] else f"失败：{verify['state']['reason']}"),
            ("关联记录", ", ".join(data["records"])), ("导出时间（北京时间）", _beijing(data["exported_at"])),
            ("导出人", data["exported_by"])]
    for label, value in rows:
        xlsx_append(summary, [label, _text(value)])
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 80
    for cell in summary["A"]:
        cell.font = Font(bold=True)

    sheet = book.create_sheet("历史")
    header = ["序号", "时间（北京时间）", "事件代码", "事件", "操作人", "任务", "数据", "记录变更", "前一哈希", "哈希"]
    xlsx_append(sheet, header)
    for e in data["history"]:
        xlsx_append(sheet, [e["seq"], _beijing(e["at"]), e["type"], _EVENT_LABELS.get(e["type"], e["type"]), e["actor"], e["task"],
                      _text(e["data"]), _changes_text(e["changes"]), e["prev_hash"], e["hash"]])
    widths = [6, 30, 18, 12, 12, 28, 60, 50, 20, 20]
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

    tasks = book.create_sheet("任务")
    columns = [("id", "任务编号"), ("name", "任务名称"), ("bpmn_id", "流程节点"), ("status", "状态"),
               ("candidate_groups", "办理岗位"), ("assignee", "指定办理人"), ("claimed_by", "签收人"),
               ("created_at", "到达时间（北京时间）"), ("completed_at", "办结时间（北京时间）"), ("completed_by", "办理人")]
    xlsx_append(tasks, [label for _, label in columns])
    for t in data["tasks"]:
        xlsx_append(tasks, [_beijing(t.get(c)) if c.endswith("_at") else _text(t.get(c)) for c, _ in columns])
    for cell in tasks[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@blp.route("/<int:instance_id>/export.xlsx", methods=["GET"])
@login_required
@blp.doc(**schemas.file_response("Excel 工作簿（流程实例、历史、任务三张表）"))
def export_xlsx(instance_id):
    """The instance's history as an Excel workbook (sheets 流程实例, 历史, 任务)."""
    session = read_session()
    body = export_xlsx_bytes(export_data(session, instance_for(session, instance_id)))
    return Response(body, mimetype=schemas.XLSX, headers={
        "Content-Disposition": f'attachment; filename="instance-{instance_id}-history.xlsx"'})

