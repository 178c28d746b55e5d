"""What a reviewer decides, for every review task of every diagram, without per-procedure templates.

A review task is one whose form asks for ``approved`` (DESIGN.md data convention). The request it decides is the
latest submission before it in the instance's history that is not itself a review: the start form or a task form
(the clerk's 提交, the agency's 终止申请 …). It is shown as that very form, read-only, filled with what was
submitted — so a procedure an analyst adds shows its data without code. For a resubmission, the fields that
changed since the submission the last review saw are listed (old → new).
"""
from sqlalchemy import select

from ..engine import deployments, form_conditions, runtime
from ..models import HumanTask, ProcessDefinition
from . import present


def _keys(schema):
    """Names a form's data is keyed by: field keys and the paths of groups and dynamic lists."""
    return {c.get("key") or c.get("path") for c in _components(schema) if c.get("key") or c.get("path")}


def _components(schema):
    stack = list((schema or {}).get("components") or [])
    while stack:
        c = stack.pop(0)
        yield c
        stack[0:0] = c.get("components") or []


def is_review(schema):
    return "approved" in _keys(schema)


def _labels(schema):
    labels = {}
    for c in _components(schema):
        name = c.get("key") or c.get("path")
        if name and c.get("label") and name not in labels:
            labels[name] = c["label"]
    return labels


def _form_of(session, event, tasks, start_form_key):
    data = event.data or {}
    if event.type == "instance_started":
        return start_form_key
    row = tasks.get(data.get("task_id")) if isinstance(data.get("task_id"), str) else None
    if row is None and event.task:  # an older event without the task id: any row of that BPMN task
        bpmn_id = event.task.split(":", 1)[0]
        row = next((r for r in tasks.values() if r.bpmn_id == bpmn_id), None)
    return row.form_key if row is not None else None


def _start_form_key(session, instance):
    definition = session.get(ProcessDefinition, instance.definition_id)
    start = runtime._start_event(deployments.parsed(definition).spec) if definition is not None else None
    return (start.extensions or {}).get("form_key") if start is not None else None


# What a task's submission is shown with besides its own values: the instance's data as the step showed the form
# (one form serves a procedure's start and edit steps, its conditionals tell them apart: issue 19), without what
# belongs to one moment (a check's error, a review's decision and comment).
_MOMENTARY = {"error_code", "error_message", "approved", "comment"}


def step_context(instance):
    return {k: v for k, v in (instance.data or {}).items() if k not in _MOMENTARY} if instance is not None else {}


def _hidden(component, data):
    hide = (component.get("conditional") or {}).get("hide")
    return bool(hide) and form_conditions.condition(hide, data) is True


def _shown(value, key):
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)) and key.endswith(("amount", "price")):
        return present.money(value)
    if isinstance(value, list):
        return f"{len(value)} 项"
    return str(value)


def _changes(schema, before, after, keys):
    labels = {k: v for k, v in _labels(schema).items() if k in keys}
    rows = []
    for key in sorted(set(before) | set(after), key=lambda k: list(labels).index(k) if k in labels else 999):
        if key not in labels or before.get(key) == after.get(key):
            continue
        old, new = before.get(key), after.get(key)
        if isinstance(old, list) or isinstance(new, list):
            rows.append((labels[key], f"{_shown(old, key)}（已修改）", _shown(new, key)))
        else:
            rows.append((labels[key], _shown(old, key), _shown(new, key)))
    return rows


def request_view(session, row, instance, events):
    """{title, by, at, schema, data, changes, resubmitted} of the request ``row`` (a review task) decides, or None."""
    form = deployments.latest_form(session, row.form_key) if row.form_key else None
    if form is None or not is_review(form.schema):
        return None
    tasks = {t.id: t for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == row.instance_id))}
    start_key = _start_form_key(session, instance)
    # Events up to this task's arrival; later ones (a done task's successors) are not what it decided.
    arrived = row.created_at
    submissions, reviewed = [], []
    for e in events:
        if arrived is not None and e.at is not None and e.at > arrived:
            break
        values = (e.data or {}).get("data") or {}
        if e.type not in ("instance_started", "task_completed") or not isinstance(values, dict):
            continue
        if "approved" in values:
            reviewed.append(len(submissions))  # how many submissions the review had seen
            continue
        key = _form_of(session, e, tasks, start_key)
        if key:
            submissions.append((e, key, values))
    if not submissions:
        return None
    event, key, values = submissions[-1]
    shown = deployments.latest_form(session, key)
    if shown is None:
        return None
    names = present.user_names(session, [event.actor])
    data = dict(values) if event.type == "instance_started" else {**step_context(instance), **values}
    view = {"title": shown.schema.get("title") or _title(shown.schema, key, data),
            "by": names.get(event.actor, event.actor), "at": event.at,
            "schema": present.plain_form(_for_reading(shown.schema, data)), "data": data,
            "files": _files(session, shown.schema, values, instance.unit_id), "changes": [], "resubmitted": False}
    seen = [n for n in reviewed if n > 0]
    if seen and seen[-1] < len(submissions):  # resubmitted after a review: compare with what that review saw
        earlier = submissions[seen[-1] - 1]
        view["resubmitted"] = True
        before = deployments.latest_form(session, earlier[1])
        # Fields both forms ask (a 修改 form may add 重新提交/删除 to the start form's fields).
        common = _keys(shown.schema) & (_keys(before.schema) if before is not None else set())
        view["changes"] = _changes(shown.schema, earlier[2], values, common)
    return view


def _for_reading(schema, data):
    """The form as the reviewer reads it: no file pickers (what was uploaded is listed as download links instead,
    ``_files``), no repeating list the submission left empty, and no 新增/删除 on the lists that have rows."""
    def shown(c):
        if c.get("type") == "filepicker":
            return False
        return c.get("type") != "dynamiclist" or bool(data.get(c.get("path")))

    def keep(components):
        out = []
        for c in filter(shown, components):
            if isinstance(c.get("components"), list):
                c = {**c, "components": keep(c["components"])}
            if c.get("type") == "dynamiclist":
                c = {**c, "allowAddRemove": False, "defaultRepetitions": 0}
            out.append(c)
        return out
    return {**schema, "components": keep(schema.get("components") or [])}


def _files(session, schema, values, unit_id):
    """[(label, [attachment])] of every file picker of the form: the files submitted in it, of the unit."""
    out = []
    for c in _components(schema):
        if c.get("type") == "filepicker" and c.get("key"):
            out.append((c.get("label") or "附件", present.attachments(session, values.get(c["key"]), unit_id)))
    return out


def _title(schema, key, data):
    for c in _components(schema):
        if c.get("type") == "text" and isinstance(c.get("text"), str) and not _hidden(c, data):
            line = c["text"].strip().splitlines()[0].lstrip("#").strip()
            if line:
                return line
    return key
