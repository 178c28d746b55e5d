"""How records, history events and tasks read to a clerk: Chinese labels, money in 元, local times."""
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from flask import url_for
from sqlalchemy import select

from ..models import Base, BudgetLine, HumanTask, InstanceRecord, ProcessDefinition, ProcessInstance, ROLES, Unit, User

# China has no daylight saving: a fixed UTC+8 is exact.
LOCAL_TZ = timezone(timedelta(hours=8), "CST")

RECORD_LABELS = {"project": "采购项目", "plan": "采购计划", "budget_line": "采购预算", "tender": "交易项目",
                 "contract": "合同", "payment": "支付", "acceptance": "履约验收", "requirement": "采购需求",
                 "intent": "采购意向", "import_approval": "进口产品审批", "supplementary_contract": "补充合同"}
# Records with their own page in the UI.
RECORD_PAGES = {"project": "web.project_detail", "plan": "web.plan_detail", "tender": "web.tender_detail",
                "contract": "web.contract_detail"}
INSTANCE_STATUS = {"running": ("办理中", "blue"), "completed": ("已办结", "green"), "cancelled": ("已取消", "gray"),
                   "error": ("异常", "red"), "suspended": ("已挂起", "orange")}
TASK_STATUS = {"open": ("待处理", "blue"), "completed": ("已办结", "green"), "cancelled": ("已取消", "gray")}
EVENT_LABELS = {"instance_started": "发起流程", "task_completed": "办理", "task_claimed": "签收任务",
                "task_released": "释放任务", "service_task": "系统处理", "error_caught": "业务规则拦截",
                "error_uncaught": "业务错误未被捕获，该路径结束", "message_received": "收到操作", "instance_completed": "流程结束", "timer_fired": "定时触发",
                "instance_cancelled": "流程取消", "incident": "异常",
                # task operations (issue 17)
                "task_reassigned": "转办", "task_delegated": "委派", "task_resolved": "委派办理后归还",
                "task_urged": "催办", "instance_copied": "抄送", "task_returned": "退回", "task_recalled": "撤回",
                "task_signers_added": "加签", "task_signer_answered": "加签意见", "task_signer_removed": "减签"}
OPERATION_TEXT = ("reason", "comment", "message")  # what an operation's event says, shown as its comment
FIELD_LABELS = {"status": "状态", "amount": "金额", "name": "名称", "category": "品目类别", "method": "采购方式",
                "used_amount": "已占用金额", "returned": "已退回", "pending_action": "待审核申请",
                "termination": "终止", "cancel_requested": "取消采购", "recovered_amount": "已回收金额",
                "accepted_on": "验收日期", "account": "收款账户", "accounts": "收款账户", "answer": "应答",
                "assignee_id": "经办人", "attachments": "附件", "award_amount": "中标金额", "content": "内容",
                "documents_ref": "采购文件", "experts": "专家", "failure_requested": "已申请废标", "items": "采购内容清单",
                "kind": "类型", "new_method": "变更后采购方式", "note": "说明", "notes": "说明", "outcome": "结论",
                "pending": "有未办结的申请", "period_end": "截止日期", "period_start": "起始日期", "phase": "期次",
                "plan_id": "采购计划", "plan_type": "计划类型", "project_id": "采购项目", "published_at": "发布时间",
                "reason": "原因", "replaced": "已被替换", "requirements": "采购需求", "reserved_amount": "预留金额",
                "resolution": "处理结果", "response_deadline": "应答截止", "result": "结果", "review_comment": "审核意见",
                "revoke_reason": "撤销原因", "round": "轮次", "signed_date": "签订日期", "supplier": "供应商",
                "suppliers": "供应商", "tender_id": "交易项目", "termination_reason": "终止原因",
                "total_amount": "总金额", "version": "版本", "winner": "中标供应商", "subcontractor_name": "分包供应商",
                "groups": "分组", "avoid_units": "回避单位", "avoid_id_numbers": "回避人员"}
# Codes that mean "nothing" in a record field, shown as a dash rather than None/none.
_EMPTY = (None, "", "none", "None", [], {})
MESSAGE_LABELS = {"withdraw": "撤回"}
STATUS_COLORS = {"draft": "gray", "in_review": "blue", "registered": "green", "filed": "green", "used": "teal",
                 "closed": "gray", "revoked": "red", "deleted": "red", "terminated": "red", "announced": "blue",
                 "opened": "blue", "awarded": "green", "failed": "red", "cancelled": "gray", "paid": "green",
                 "accepted": "green", "fulfilled": "green", "returned": "orange", "terminating": "orange"}


# -- formatting ---------------------------------------------------------------
def money(value):
    """1,234,567.89 元 — the one display format of an amount (the domain messages use it too)."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f} 元"


def wan(value):
    """An amount people read at a glance, in 万元 too: 800,000.00 元（80 万元）; exact, never rounded."""
    text = money(value)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return text
    if abs(amount) < 10000:
        return text
    scaled = (amount / 10000).quantize(Decimal("0.000001")).normalize()
    return f"{text}（{scaled:,f} 万元）"


# Seed citations ("001 §2.2.1 注①", "000 一(四)") and developer notes ("GET /api/…", `plan_type`) in texts
# written for analysts; what a clerk reads keeps the sentence without them.
_CITE = r"(?:\d{3}\s*(?:§\s*[\d.–-]+|第[一二三四五六七八九十]+章|[一二三四五六七八九十]+[(（][一二三四五六七八九十]+[)）])" \
        r"(?:\s*注\s*[①-⑩]?)?|§\s*[\d.–-]+(?:\s*注\s*[①-⑩]?)?|PROCEDURES\s*\S*?)"
_PAREN_DEV = re.compile(r"\s*[（(][^（）()]*?(?:§|/api|GET |POST |[A-Za-z]+_[A-Za-z_]+|\b[a-z]{3,}\b)[^（）()]*[）)]")
_CITES = re.compile(r"\s*" + _CITE + r"(?:\s*[、，,]\s*" + _CITE + r")*\s*[：:]?")
_CODE = re.compile(r"\s*(?:GET|POST|PUT|DELETE)\s+/\S+|`[^`]*`|\b[a-z]+(?:_[a-z]+)+\b(?:\s*=\s*\S+)?")


def plain(text):
    """``text`` without seed citations, API paths or snake_case keys; '' for None."""
    if not text:
        return text or ""
    out = _PAREN_DEV.sub("", str(text))
    out = _CITES.sub("", out)
    out = _CODE.sub("", out)
    out = re.sub(r"[（(]\s*[）)]", "", out)
    out = re.sub(r"\s*([，、；。：])\s*[，、；]+", r"\1", out)
    return re.sub(r"^[，、；。：\s]+", "", out).strip()


def plain_form(schema):
    """A Camunda Form for people: its texts and descriptions without citations or keys (templated ones kept)."""
    def clean(component):
        out = dict(component)
        for attr in ("text", "description"):
            if isinstance(out.get(attr), str) and "{{" not in out[attr] and not out[attr].startswith("="):
                out[attr] = "\n".join(plain(line) if line.strip() else line for line in out[attr].split("\n"))
        if isinstance(out.get("components"), list):
            out["components"] = [clean(c) for c in out["components"]]
        return out
    return clean(schema) if isinstance(schema, dict) else schema


def local(value):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL_TZ)


def dt(value, fmt="%Y-%m-%d %H:%M"):
    value = local(value)
    return value.strftime(fmt) if value else "—"


def date(value):
    return dt(value, "%Y-%m-%d")


def roles(groups):
    return "、".join(ROLES.get(g, g) for g in (groups or [])) or "—"


def status_color(status):
    return STATUS_COLORS.get(status, "gray")


FILTERS = {"money": money, "wan": wan, "plain": plain, "dt": dt, "date": date, "roles": roles, "status_color": status_color}


# -- lookups (per request, batched) ------------------------------------------
# The most values one IN (...) carries: PostgreSQL's driver refuses more than 65,535 parameters in a statement
# and SQLite's limit is 32,766; longer lists are looked up in chunks of this many.
CHUNK = 1000


def chunks(values):
    values = sorted(values)
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def process_names(session):
    """{key: name} of every deployed process, the latest version's name."""
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                           .order_by(ProcessDefinition.key, ProcessDefinition.version))
    return {key: name for key, name in rows}


def user_names(session, usernames):
    usernames = {u for u in usernames if u}
    if not usernames:
        return {}
    return {u: f"{d}（{u}）" for part in chunks(usernames)
            for u, d in session.execute(select(User.username, User.display_name).where(User.username.in_(part)))}


def users_by_id(session, ids):
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u for part in chunks(ids) for u in session.scalars(select(User).where(User.id.in_(part)))}


def unit_names(session):
    return {u.id: u.name for u in session.scalars(select(Unit))}


def statuses(model):
    """The record's STATUSES map: the class's own (payments, acceptances, …) or its module's (project, plan, …)."""
    own = getattr(model, "STATUSES", None)
    return own if isinstance(own, dict) else getattr(sys.modules.get(model.__module__), "STATUSES", {})


def model_for(record_type):
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == record_type:
            return mapper.class_
    return None


def records(session, refs):
    """{(type, id): record object} for (type, id) pairs, one query per type."""
    by_type = {}
    for record_type, record_id in refs:
        if record_type and record_id:
            by_type.setdefault(record_type, set()).add(record_id)
    found = {}
    for record_type, ids in by_type.items():
        model = model_for(record_type)
        if model is None:
            continue
        for part in chunks(ids):
            for obj in session.scalars(select(model).where(model.id.in_(part))):
                found[(record_type, obj.id)] = obj
    return found


def record_priority(brief):
    """Sort key: the record an instance is about first (contract, tender, plan, project), budget lines last."""
    order = ["contract", "tender", "plan", "project", "budget_line"]
    kind = brief["type"]
    return (order.index(kind) if kind in order else len(order) - 1, brief["id"])


def record_url(record_type, record_id):
    endpoint = RECORD_PAGES.get(record_type)
    return url_for(endpoint, record_id=record_id) if endpoint else None


def record_brief(record_type, obj):
    """{type, label, number, name, amount, status, status_label, url} of any record with the usual columns."""
    if obj is None:
        return None
    status = getattr(obj, "status", None)
    status_label = None
    if status is not None:
        status_label = statuses(type(obj)).get(status, status)
    return {"type": record_type, "id": obj.id, "label": RECORD_LABELS.get(record_type, record_type),
            "number": getattr(obj, "number", None) or getattr(obj, "code", None) or f"#{obj.id}",
            "name": getattr(obj, "name", None) or getattr(obj, "title", None) or getattr(obj, "phase", None) or "",
            "amount": getattr(obj, "registered_amount", getattr(obj, "amount", None)), "status": status, "status_label": status_label,
            "url": record_url(record_type, obj.id)}


def visible_record(session, user, record_type, record_id):
    """The record if the user may see it (its unit is theirs; auditors all), else None."""
    model = model_for(record_type)
    obj = session.get(model, record_id) if model is not None and record_id else None
    if obj is None:
        return None
    from ..models.agency import sees_record
    return obj if sees_record(session, user, obj) else None


def attachments(session, value, unit_id=None):
    """The attachments a form value names (a list of ids, or of {attachment_id}), of ``unit_id``: [{id, name, size,
    url}] in the order given; ids that are not (or no longer) the unit's are left out."""
    from ..models import Attachment
    ids = []
    for item in value if isinstance(value, list) else [value]:
        ident = item.get("attachment_id", item.get("id")) if isinstance(item, dict) else item
        if isinstance(ident, int) and not isinstance(ident, bool) or (isinstance(ident, str) and ident.isdigit()):
            ids.append(int(ident))
    if not ids:
        return []
    rows = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    return [file_link(rows[i]) for i in dict.fromkeys(ids) if i in rows and (unit_id is None or rows[i].unit_id == unit_id)]


def with_files(session, schema, data, unit_id):
    """For a form's file pickers holding ids already uploaded (an edit task, a done task): ``_files_<key>`` in
    ``data``, the files' names and links, so the page shows them beside the picker (filepicker.js)."""
    stack = list((schema or {}).get("components") or [])
    while stack:
        c = stack.pop()
        stack.extend(c.get("components") or [])
        key = c.get("key")
        if c.get("type") == "filepicker" and key and isinstance(data.get(key), list) and data[key]:
            data[f"_files_{key}"] = [{k: v for k, v in f.items() if k != "at"}
                                     for f in attachments(session, data[key], unit_id)]
    return data


def file_link(row):
    from ..models.attachment import size_text
    return {"id": row.id, "name": row.name, "size": size_text(row.size) if row.size >= 1024 else f"{row.size} 字节",
            "at": row.uploaded_at,
            "url": url_for("attachments.download", attachment_id=row.id)}


def record_files(session, record_type, obj):
    """Files uploaded for a record (against it, or bound to it when the request they document was submitted)."""
    from ..models import Attachment
    rows = session.scalars(select(Attachment).where(Attachment.record_type == record_type,
                                                    Attachment.record_id == obj.id).order_by(Attachment.id))
    return [file_link(r) for r in rows]


def record_detail(session, record_type, obj):
    """Label/value rows describing a record, for the task and record pages."""
    brief = record_brief(record_type, obj)
    rows = []
    if record_type == "project":
        from ..models import project as m
        rows = [("项目编号", obj.number), ("项目名称", obj.name), ("预算年度", obj.year),
                ("品目类别", m.CATEGORIES.get(obj.category, obj.category)), ("项目金额", wan(obj.registered_amount))]
        if obj.recovered_amount:
            rows += [("资金回收", money(obj.recovered_amount)), ("仍占用预算指标", money(obj.amount))]
        rows += [("计划占用", money(obj.planned_amount(session))), ("可用金额", money(obj.free_amount(session))),
                ("实施形式", m.IMPLEMENTATION_FORMS.get(obj.implementation_form, obj.implementation_form)),
                ("项目区划", obj.region or "—"), ("属于政府采购", "是" if obj.is_government_procurement else "否")]
        if obj.justification:
            rows.append(("说明", obj.justification))
    elif record_type == "plan":
        from ..models import plan as m
        rows = [("计划编号", obj.number), ("计划名称", obj.name), ("计划年度", obj.year),
                ("计划类型", m.PLAN_TYPES.get(obj.plan_type, obj.plan_type)),
                ("采购方式", m.METHODS.get(obj.method, obj.method)), ("计划金额", wan(obj.amount)),
                ("面向中小企业预留", money(obj.sme_reserved_amount)),
                ("采购进口产品", "是" if obj.is_import else "否")]
        if obj.sme_reason:
            rows.append(("未按政策预留的原因", obj.sme_reason))
    elif record_type == "tender":
        from ..models import tender as m
        rows = [("交易编号", obj.number), ("项目名称", obj.title), ("公告发布", dt(obj.announced_at)),
                ("开标", dt(obj.opened_at)), ("结束", dt(obj.closed_at)),
                ("终止", m.TERMINATION.get(obj.termination, obj.termination))]
        if obj.reason:
            rows.append(("原因", obj.reason))
        if obj.intent_gap_reason:
            rows.append(("意向未满30天的理由", obj.intent_gap_reason))
    elif record_type == "contract":
        rows = [("合同编号", obj.number), ("合同名称", obj.name),
                ("供应商", "、".join(s.get("name", "") for s in obj.suppliers or []) or "—"),
                ("合同金额", wan(obj.amount)), ("补充合同金额", money(obj.supplement_amount)),
                ("已支付", money(obj.paid_amount)), ("签订日期", obj.signed_date or "—"),
                ("备案时间", dt(obj.filed_at)), ("一签多年", "是" if obj.is_multi_year else "否"),
                ("融资合同", "是" if obj.is_financing else "否")]
    elif record_type == "budget_line":
        from ..models import budget as m
        rows = [("指标编码", obj.code), ("指标名称", obj.name), ("年度", obj.year),
                ("资金性质", m.FUND_TYPES.get(obj.fund_type, obj.fund_type)), ("指标金额", wan(obj.amount)),
                ("已占用", money(obj.used_amount)), ("可用余额", money(obj.free_amount))]
    else:
        rows = [("编号", brief["number"]), ("名称", brief["name"])]
        if brief["amount"] is not None:
            rows.append(("金额", wan(brief["amount"])))
    comment = getattr(obj, "review_comment", None)
    if comment:
        rows.append(("审核意见", comment))
    extra = {}
    if record_type == "project":
        lines = {b.id: b for b in session.scalars(select(BudgetLine).where(
            BudgetLine.id.in_([f.budget_line_id for f in obj.funds])))} if obj.funds else {}
        from ..models.budget import STATUSES as LINE_STATUSES
        extra["funds"] = [{"line": lines.get(f.budget_line_id), "amount": f.amount,
                           "status_label": LINE_STATUSES.get(getattr(lines.get(f.budget_line_id), "status", None)
                                                             or "active")} for f in obj.funds]
        extra["item_rows"] = obj.items or []
    if record_type == "plan" and obj.project_id:
        from ..models import Project
        extra["project"] = record_brief("project", session.get(Project, obj.project_id))
    extra["sections"] = related(session, record_type, obj)
    extra["files"] = record_files(session, record_type, obj)
    return {**brief, "rows": rows, **extra}


def _briefs(session, record_type, model, *where, order=None):
    rows = session.scalars(select(model).where(*where).order_by(order if order is not None else model.id))
    return [record_brief(record_type, r) for r in rows]


def related(session, record_type, obj):
    """[(title, [brief])] of the records hanging off this one: a project's plans, a plan's tenders and
    contracts, a tender's contracts, a contract's payments, acceptances and supplementary contracts."""
    from ..models import Acceptance, Contract, Payment, Plan, Project, SupplementaryContract, Tender
    if record_type == "project":
        return [("使用该项目的采购计划", _briefs(session, "plan", Plan, Plan.project_id == obj.id))]
    if record_type == "plan":
        return [("交易项目", _briefs(session, "tender", Tender, Tender.plan_id == obj.id)),
                ("合同", _briefs(session, "contract", Contract, Contract.plan_id == obj.id))]
    if record_type == "tender":
        return [("采购计划", [record_brief("plan", session.get(Plan, obj.plan_id))]),
                ("合同", _briefs(session, "contract", Contract, Contract.plan_id == obj.plan_id))]
    if record_type == "contract":
        return [("所属计划与项目", [record_brief("plan", session.get(Plan, obj.plan_id)),
                              record_brief("project", session.get(Project, obj.project_id))]),
                ("支付", _briefs(session, "payment", Payment, Payment.contract_id == obj.id)),
                ("履约验收", _briefs(session, "acceptance", Acceptance, Acceptance.contract_id == obj.id)),
                ("补充合同", _briefs(session, "supplementary_contract", SupplementaryContract,
                                 SupplementaryContract.contract_id == obj.id))]
    return []


def instances_of(session, refs):
    """{(type, id): [instance brief]} from instance_record, newest first."""
    refs = [(t, i) for t, i in refs if t and i]
    if not refs:
        return {}
    types = {t for t, _ in refs}
    rows = [row for part in chunks({i for _, i in refs}) for row in session.execute(
        select(InstanceRecord.record_type, InstanceRecord.record_id, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == InstanceRecord.instance_id)
        .where(InstanceRecord.record_type.in_(types), InstanceRecord.record_id.in_(part)))]
    rows.sort(key=lambda row: -row[2].id)  # newest first across the chunks
    names = process_names(session)
    rows = list(rows)
    steps = current_steps(session, [instance.id for _, _, instance in rows if instance.status == "running"])
    out = {}
    for record_type, record_id, instance in rows:
        label, color = INSTANCE_STATUS.get(instance.status, (instance.status, "gray"))
        out.setdefault((record_type, record_id), []).append(
            {"id": instance.id, "name": names.get(instance.key, instance.key), "status": instance.status,
             "status_label": label, "color": color, "started_at": instance.started_at,
             "steps": steps.get(instance.id, [])})
    return out


def current_steps(session, instance_ids):
    """{instance id: ["审核岗审核（李审核）", …]}: each open task and who holds it — the person who claimed it or
    is assigned, else the post — so a list says where a procedure waits without opening it (追踪)."""
    if not instance_ids:
        return {}
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(set(instance_ids)),
                                                         HumanTask.status == "open").order_by(HumanTask.created_at)))
    people = user_names(session, [t.claimed_by or t.assignee for t in tasks])
    out = {}
    for t in tasks:
        who = t.claimed_by or t.assignee
        holder = people.get(who, who) if who else roles(t.candidate_groups)
        out.setdefault(t.instance_id, []).append(f"{t.name}（{holder}）")
    return out


# -- history ------------------------------------------------------------------
def _task_name(label):
    if not label:
        return None
    return label.split(":", 1)[1] if ":" in label else label


def _value_labels(model, field):
    """Chinese labels for coded values (品目类别, 采购方式, …) from the model module's maps."""
    module = sys.modules.get(model.__module__) if model is not None else None
    names = {"category": "CATEGORIES", "method": "METHODS", "plan_type": "PLAN_TYPES",
             "implementation_form": "IMPLEMENTATION_FORMS", "fund_type": "FUND_TYPES", "termination": "TERMINATION"}
    return getattr(module, names.get(field, ""), None) or {}


def _change_text(change):
    record_type, _, record_id = change.get("record", "").partition(":")
    model = model_for(record_type)
    labels = statuses(model) if model is not None else {}
    parts = []
    for field, values in (change.get("fields") or {}).items():
        old, new = (values + [None, None])[:2] if isinstance(values, list) else (None, values)
        if field == "status":
            old, new = labels.get(old, old), labels.get(new, new)
        elif field.endswith("amount"):
            old, new = money(old) if old is not None else None, money(new)
        elif _value_labels(model, field):
            labels = _value_labels(model, field)
            old, new = labels.get(old, old), labels.get(new, new)
        elif isinstance(new, bool):
            old, new = ("是" if old else "否") if old is not None else None, "是" if new else "否"
        if field not in FIELD_LABELS:
            continue  # an internal field: the audit pages show it, the clerk's timeline does not
        new = "—" if new in _EMPTY else (f"{len(new)} 项" if isinstance(new, list) else new)
        if isinstance(old, list):
            old = f"{len(old)} 项"
        parts.append(f"{FIELD_LABELS[field]}：{old} → {new}" if old not in _EMPTY else f"{FIELD_LABELS[field]}：{new}")
    what = RECORD_LABELS.get(record_type, record_type)
    return f"{what} #{record_id}{'（新建）' if change.get('new') else ''} " + "；".join(parts)


def _task_titles(session, events):
    """The task-list name of each user-task event (e.g. 审核岗审核 for the shared review's 审核)."""
    if not events:
        return {}
    rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == events[0].instance_id)))
    by_id = {r.id: r for r in rows}
    titles = {}
    for e in events:
        data = e.data or {}
        row = by_id.get(data.get("task_id")) if isinstance(data.get("task_id"), str) else None
        if row is None and e.type == "task_completed" and e.task:
            bpmn_id = e.task.split(":", 1)[0]
            row = next((r for r in rows if r.bpmn_id == bpmn_id and r.completed_by == e.actor
                        and r.completed_at is not None and abs((r.completed_at - e.at).total_seconds()) < 1), None)
        if row is not None:
            titles[e.seq] = row.name
    return titles


ACTIONS = {"submit": "重新提交", "delete": "删除", "draft": "暂存", "abandon": "放弃"}


def decision(values):
    """(decision, tone, comment) of a completed task's submitted data: 审核通过/不通过, or the chosen action."""
    text, tone = None, "default"
    if "approved" in values:
        text, tone = ("审核通过", "ok") if values["approved"] is True else ("审核不通过", "bad")
    if values.get("action") in ACTIONS:
        text = ACTIONS[values["action"]]
    return text, tone, values.get("comment") or None


def history_view(session, events):
    """Timeline entries: {at, kind, title, actor, task, comment, decision, details[], muted}."""
    names = user_names(session, [e.actor for e in events])
    titles = _task_titles(session, events)
    out = []
    for e in events:
        data = e.data or {}
        entry = {"seq": e.seq, "at": e.at, "type": e.type, "title": EVENT_LABELS.get(e.type, e.type),
                 "actor": names.get(e.actor, "系统" if e.actor in (None, "system") else e.actor),
                 "task": titles.get(e.seq) or _task_name(e.task), "comment": None, "decision": None, "details": [],
                 "muted": e.type in ("service_task", "task_claimed", "task_released"), "tone": "default"}
        if e.type == "task_completed":
            entry["decision"], entry["tone"], entry["comment"] = decision(data.get("data") or {})
        elif e.type == "instance_started":
            if data.get("business_key"):
                entry["details"].append(f"业务编号 {data['business_key']}")
        elif e.type in ("error_caught", "error_uncaught"):
            entry["comment"] = plain(data.get("message"))
            entry["tone"] = "bad"
            entry["muted"] = False
        elif e.type == "message_received":
            entry["title"] = MESSAGE_LABELS.get(data.get("name"), data.get("name") or entry["title"])
            payload = data.get("data") or {}
            entry["comment"] = payload.get("reason") or payload.get("comment")
        elif e.type == "instance_completed":
            entry["tone"] = "ok"
        elif e.type in ("task_reassigned", "task_delegated", "task_resolved", "task_urged", "instance_copied",
                        "task_returned", "task_recalled", "task_signers_added", "task_signer_answered",
                        "task_signer_removed"):
            if e.type == "task_signer_answered":
                entry["decision"] = "同意" if data.get("approved") else "不同意"
            entry["comment"] = next((data[k] for k in OPERATION_TEXT if data.get(k)), None)
            target = data.get("to") or data.get("target")
            if target:
                who = user_names(session, target if isinstance(target, list) else [target])
                entry["details"].append("对象：" + "、".join(who.get(t, t) for t in (
                    target if isinstance(target, list) else [target])))
            entry["tone"] = "bad" if e.type in ("task_returned", "task_recalled") else "default"
        for change in e.changes or []:
            entry["details"].append(_change_text(change))
        out.append(entry)
    return out
