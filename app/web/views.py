"""Pages: login, 工作台 (task tabs), task, start a procedure, instance with its diagram, records."""
import math
import re
from datetime import date
from uuid import UUID

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from lxml import etree
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer
from SpiffWorkflow.util.task import TaskState

from ..api.common import now, read_session, transaction
from ..api.instances import visible_instance
from ..api.sessions import end_session, open_session
from ..api.signin import Throttled, authenticate
from ..api.tasks import _visible_task
from ..engine import access, archive, deployments, history, progress, runtime, tasklist
from ..engine.deployments import BPMN_NS
from ..engine.runtime import Step
from ..models import (BudgetLine, Contract, DomainError, HistoryEvent, HumanTask, InstanceRecord, NotFound, Plan,
                      ProcessDefinition, ProcessInstance, Project, Tender, User)
from ..models.agency import visible_clause
from ..models.inputs import parse_id
from . import bp, pickers, present, review
from .common import csrf_token, login_required, refuse, safe_next, web_user, writer_required

PAGE_SIZE = 20
CATEGORY_ORDER = ["项目", "计划", "交易", "合同", "支付", "年终"]
TABS = [("todo", "待处理"), ("mine", "我的"), ("done", "已办"), ("started", "我发起的")]


# -- login / logout -------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if web_user() is not None:
            return redirect(next_url or url_for("web.workbench"))
        return render_template("login.html", next=next_url, username="")
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    try:
        user = authenticate(username, password, "web") if username else None
    except Throttled as err:
        return render_template("login.html", next=next_url, username=username, error=err.message), 429, \
            {"Retry-After": str(err.retry_after)}
    if user is None:
        return render_template("login.html", next=next_url, username=username,
                               error="用户名或密码错误"), 401
    with transaction() as (db_session, _):
        sid = open_session(db_session, user, "web", now())
    session.clear()  # a fresh session (and CSRF token) after signing in
    session.permanent = True
    session["sid"] = sid
    csrf_token()
    return redirect(next_url or url_for("web.workbench"))


@bp.route("/logout", methods=["POST"])
def logout():
    """退出: the server-side session ends, so a copy of this cookie is refused from now on."""
    if session.get("sid"):
        with transaction() as (db_session, _):
            end_session(db_session, session["sid"])
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("web.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """修改密码: the old one, then a new one by the policy; every session ends, so sign in again."""
    if request.method == "GET":
        return render_template("password.html", active=None)
    old, new = request.form.get("old_password") or "", request.form.get("new_password") or ""
    if new != (request.form.get("confirm") or ""):
        return render_template("password.html", active=None, error="两次输入的新密码不一致"), 400
    try:
        with transaction() as (db_session, user):
            if not user.check_password(old):
                raise DomainError("INVALID_INPUT", "原密码不正确", field="old_password", status=400)
            user.change_password(new)
            user.must_change_password = False
    except DomainError as err:
        return render_template("password.html", active=None, error=err.message), err.status
    session.clear()
    flash("密码已修改，请用新密码重新登录。", "success")
    return redirect(url_for("web.login"))


# -- helpers -----------------------------------------------------------------------------
def _args():
    a = request.args
    return {"process": a.get("process", "").strip(), "number": a.get("number", "").strip(),
            "q": a.get("q", "").strip(), "date_from": _parse_date(a.get("date_from")),
            "date_to": _parse_date(a.get("date_to"))}


def _parse_date(text):
    try:
        return date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def _page():
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _paginate(items, page):
    pages = max(1, math.ceil(len(items) / PAGE_SIZE))
    page = min(page, pages)
    return items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], {"page": page, "pages": pages, "total": len(items)}


def _startable_processes(session):
    """[(key, name)] of processes started from the task list (sub-processes such as review excluded)."""
    latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .group_by(ProcessDefinition.key).subquery()
    rows = session.scalars(select(ProcessDefinition).options(defer(ProcessDefinition.bpmn_xml)).join(
        latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.v))
        .order_by(ProcessDefinition.key))
    return [d for d in rows if deployments.parsed(d).startable]


def _task_rows(session, tasks, clock):
    names = present.process_names(session)
    refs = present.records(session, [(t.record_type, t.record_id) for t in tasks])
    # Only the business keys: the instance rows carry the whole serialized workflow.
    keys = dict(session.execute(select(ProcessInstance.id, ProcessInstance.business_key).where(
        ProcessInstance.id.in_({t.instance_id for t in tasks}))).all()) if tasks else {}
    people = present.user_names(session, [t.claimed_by for t in tasks] + [t.assignee for t in tasks]
                                + [t.completed_by for t in tasks])
    units = present.unit_names(session)
    rows = []
    for t in tasks:
        record = present.record_brief(t.record_type, refs.get((t.record_type, t.record_id)))
        rows.append({
            "task": t, "process": names.get(t.process_key, t.process_key), "record": record,
            "business_key": keys.get(t.instance_id),
            "overdue": t.status == "open" and t.due_at is not None and t.due_at < clock,
            "who": people.get(t.assignee) if t.assignee else present.roles(t.candidate_groups),
            "claimed_by": people.get(t.claimed_by, t.claimed_by), "unit": units.get(t.unit_id, ""),
            "completed_by": people.get(t.completed_by, t.completed_by)})
    return rows


def _instance_rows(session, instances):
    names = present.process_names(session)
    links = session.execute(select(InstanceRecord).where(
        InstanceRecord.instance_id.in_([i.id for i in instances]))).scalars().all() if instances else []
    refs = present.records(session, [(link.record_type, link.record_id) for link in links])
    by_instance = {}
    for link in links:
        brief = present.record_brief(link.record_type, refs.get((link.record_type, link.record_id)))
        if brief:
            by_instance.setdefault(link.instance_id, []).append(brief)
    open_tasks = {}
    if instances:
        for t in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_([i.id for i in instances]),
                                                         HumanTask.status == "open")):
            open_tasks.setdefault(t.instance_id, []).append(t)
    for briefs in by_instance.values():
        briefs.sort(key=present.record_priority)
    steps = present.current_steps(session, [i.id for i in instances if i.status == "running"])
    rows = []
    for i in instances:
        label, color = present.INSTANCE_STATUS.get(i.status, (i.status, "gray"))
        rows.append({"instance": i, "process": names.get(i.key, i.key), "status_label": label, "color": color,
                     "records": by_instance.get(i.id, []), "tasks": open_tasks.get(i.id, []),
                     "steps": steps.get(i.id, [])})
    return rows


# -- 工作台 ------------------------------------------------------------------------------
@bp.route("/")
@login_required
def workbench():
    """Four tabs; each reads one page of rows in SQL (app/engine/tasklist.py) and counts the others."""
    session, user, clock = read_session(), web_user(), now()
    f = _args()
    filters = tasklist.Filters(process=f["process"], date_from=f["date_from"], date_to=f["date_to"], q=f["q"],
                               number=f["number"])
    visible = tasklist.visible(session, user)
    # 待处理 is everything waiting for this user: the post's unclaimed tasks and those assigned to or claimed by
    # them (a plan sent to a chosen 下一步审核人, a return to edit) — the tab shown after signing in.
    todo = visible if user.is_auditor else tasklist.filtered(session, user, tasklist.Filters(waiting=True), visible)
    mine = tasklist.filtered(session, user, tasklist.Filters(mine=True), visible)
    done_clauses = [HumanTask.completed_by == user.username, HumanTask.status == "completed"]
    if not user.is_auditor:
        done_clauses.append(tasklist.in_scope(session, user))
    # Every count the page shows, in one statement.
    counts = tasklist.counts(session, {"todo": todo, "mine": mine, "done": done_clauses,
                                       "overdue": [*todo, tasklist.overdue_clause(clock)],
                                       "assigned": [*mine, HumanTask.assignee == user.username]})
    counts["started"] = session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.started_by == user.id))
    tab = request.args.get("tab") or "todo"
    if tab not in dict(TABS):
        tab = "todo"

    overdue = counts["overdue"]
    if tab in ("todo", "mine"):
        shown = todo if tab == "todo" else mine
        clauses = tasklist.filtered(session, user, filters, shown)
        # Unfiltered, the tab's counts above are the page's totals: not counted twice.
        known = {"total": counts[tab], "late_total": overdue if tab == "todo" else None} \
            if len(clauses) == len(shown) else {}
        tasks, pager = tasklist.page_overdue_first(session, clauses, clock, _page(), PAGE_SIZE, **known)
        rows = _task_rows(session, tasks, clock)
    elif tab == "done":
        clauses = tasklist.filtered(session, user, filters, done_clauses, when=HumanTask.completed_at)
        tasks, pager = tasklist.page(session, clauses, [HumanTask.completed_at.desc(), HumanTask.id.desc()],
                                     _page(), PAGE_SIZE)
        rows = _task_rows(session, tasks, clock)
        _add_decisions(session, rows)
    else:
        clauses = tasklist.instances_filtered(filters, [ProcessInstance.started_by == user.id])
        total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*clauses))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        number = min(_page(), pages)
        instances = list(session.scalars(select(ProcessInstance).where(*clauses).order_by(
            ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)))
        rows, pager = _instance_rows(session, instances), {"page": number, "pages": pages, "total": total}
    processes = [(d.key, d.name) for d in _startable_processes(session)]
    assigned = counts["assigned"]
    return render_template("workbench.html", active="workbench", tab=tab, tabs=TABS, counts=counts, rows=rows,
                           assigned=assigned,
                           paging=pager, f=f, processes=processes, overdue=overdue,
                           filtered=any(v for v in f.values()))


def _add_decisions(session, rows):
    """已办: what the user decided on each task of the page (审核通过/不通过 and the comment), from the history."""
    events = {}
    for e in session.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id.in_({r["task"].instance_id for r in rows}),
            HistoryEvent.type == "task_completed").order_by(HistoryEvent.seq)):
        events.setdefault(e.instance_id, []).append(e)
    for r in rows:
        r["decision"], r["tone"], r["comment"] = present.decision(
            _submitted_data(events.get(r["task"].instance_id, []), r["task"]))


# -- task ---------------------------------------------------------------------------------
def _task_data(session, user, row):
    """The data the form is prefilled with: the READY task's data, as GET /api/tasks/<id> returns it."""
    if row.status != "open":
        return {}
    workflow = runtime.load(Step(session, user, now()), session.get(ProcessInstance, row.instance_id))
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.READY:
        return {}
    return history.jsonable(dict(task.data))


def _submitted_data(events, row):
    """What was submitted when the task was completed (from the history), to show a done task's form."""
    if row.status != "completed":
        return {}
    for e in reversed(events):
        if e.type == "task_completed" and e.actor == row.completed_by and (e.task or "").startswith(f"{row.bpmn_id}:"):
            if row.completed_at is None or abs((e.at - row.completed_at).total_seconds()) < 1:
                return (e.data or {}).get("data") or {}
    return {}


def _form_values(schema, attribute):
    """Every value of ``attribute`` (``key``, ``valuesKey``, …) among a Camunda Form's components, nested ones too."""
    found = set()

    def walk(components):
        for c in components or []:
            if c.get(attribute):
                found.add(c[attribute])
            walk(c.get("components"))
    walk((schema or {}).get("components"))
    return found


def _form_keys(schema):
    return _form_values(schema, "key")


def _references(session, user, schema):
    """Lists that help fill a form: the unit's budget lines and registered projects, by the keys the form asks."""
    keys = _form_keys(schema)
    units = user.unit_ids(session)
    refs = {}
    if "budget_line_id" in keys:
        refs["budget_lines"] = list(session.scalars(select(BudgetLine).where(BudgetLine.unit_id.in_(units))
                                                    .order_by(BudgetLine.year.desc(), BudgetLine.code)))
    if "project_id" in keys:
        projects = list(session.scalars(select(Project).where(Project.unit_id.in_(units),
                                                              Project.status == "registered")
                                        .order_by(Project.id.desc()).limit(50)))
        refs["projects"] = [{"p": p, "free": p.free_amount(session)} for p in projects]
    return refs


def _option_lists(session, schema, unit_ids):
    """Options of select fields that name a list (form-js ``valuesKey``), for the form's units: ``unit_reviewers``
    (下一步审核人选择) lists the active reviewers granted one of them; ``agencies`` the active agencies."""
    lists = {}
    if "unit_reviewers" in _form_values(schema, "valuesKey"):
        from ..models import UserRole
        reviewers = session.scalars(select(User).join(UserRole).where(UserRole.role == "reviewer", User.active)
                                    .order_by(User.id))
        lists["unit_reviewers"] = [{"label": f"{u.display_name}（{u.username}）", "value": u.username}
                                   for u in reviewers if u.unit_ids(session) & set(unit_ids)]
    if "agencies" in _form_values(schema, "valuesKey"):  # 代理机构库: the 委托单 names an active agency
        from ..models.agency import options
        lists["agencies"] = options(session)
    return lists


@bp.route("/tasks/<task_id>")
@login_required
def task_detail(task_id):
    session, user = read_session(), web_user()
    row = _visible_task(session, task_id)
    instance = session.get(ProcessInstance, row.instance_id)
    events = history.events(session, row.instance_id)
    form = deployments.latest_form(session, row.form_key) if row.form_key else None
    can_act = row.status == "open" and access.can_act(session, user, row) \
        and row.claimed_by in (None, user.username)
    # a done task's form as its step showed it: the instance's data under what was submitted (review.step_context)
    data = _task_data(session, user, row) if row.status == "open" \
        else {**review.step_context(instance), **_submitted_data(events, row)}
    if form is not None and row.unit_id is not None:
        data.update(_option_lists(session, form.schema, {row.unit_id}))
    record = present.visible_record(session, user, row.record_type, row.record_id)
    request_view = review.request_view(session, row, instance, events)
    if request_view is not None and row.unit_id is not None:
        request_view["data"].update(_option_lists(session, request_view["schema"], {row.unit_id}))
        pickers.with_pickers(session, request_view["schema"], request_view["data"], {row.unit_id})
    schema = present.plain_form(form.schema) if form else None
    if schema is not None and row.unit_id is not None:
        pickers.with_pickers(session, schema, data, {row.unit_id})
        present.with_files(session, schema, data, row.unit_id)
    names = present.process_names(session)
    people = present.user_names(session, [row.claimed_by, row.assignee, row.completed_by])
    return render_template(
        "task.html", active="workbench", row=row, instance=instance, request_view=request_view, process=names.get(row.process_key),
        form=schema, data=data, can_act=can_act,
        can_claim=row.status == "open" and not row.claimed_by and not row.assignee
        and access.can_act(session, user, row),
        can_release=row.status == "open" and row.claimed_by == user.username and not user.is_auditor,
        record=present.record_detail(session, row.record_type, record) if record else None,
        history=present.history_view(session, events), people=people,
        overdue=row.status == "open" and row.due_at is not None and row.due_at < now(),
        refs=_references(session, user, form.schema if form else None) if can_act else {},
        status=present.TASK_STATUS.get(row.status, (row.status, "gray")))


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@writer_required
def task_claim(task_id):
    with transaction() as (session, user):
        runtime.claim_task(session, user, task_id, now())
    flash("已签收，该任务只由您办理；如需他人办理请先释放。", "success")
    return redirect(url_for("web.task_detail", task_id=task_id))


@bp.route("/tasks/<task_id>/release", methods=["POST"])
@writer_required
def task_release(task_id):
    with transaction() as (session, user):
        runtime.claim_task(session, user, task_id, now(), release=True)
    flash("已释放，任务回到待处理列表，同岗位人员均可签收。", "info")
    return redirect(url_for("web.task_detail", task_id=task_id))


def _json_payload():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("data", {}), dict):
        return None
    return payload


def _next_step_message(session, instance):
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                         HumanTask.status == "open")))
    if instance.status == "completed":
        return "流程已办结。"
    if not tasks:
        return "已提交。"
    people = present.user_names(session, [t.assignee for t in tasks])
    parts = [f"{t.name}（{people.get(t.assignee, t.assignee) if t.assignee else present.roles(t.candidate_groups)}）"
             for t in tasks]
    return "已提交，流程已流转至：" + "、".join(parts)


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@writer_required
def task_complete(task_id):
    payload = _json_payload()
    if payload is None:
        return refuse(400, "提交的数据格式不正确")
    with transaction() as (session, user):
        instance = runtime.complete_task(session, user, task_id, payload.get("data") or {}, now())
        message = _next_step_message(session, instance)
    flash(message, "success")
    return jsonify({"ok": True, "message": message,
                    "redirect": url_for("web.instance_detail", instance_id=instance.id)})


# -- start a procedure ----------------------------------------------------------------------
def _documentation(definition):
    try:
        root = etree.fromstring(definition.bpmn_xml.encode("utf-8"),
                                parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return ""
    node = root.find(f"{{{BPMN_NS}}}process[@id='{definition.key}']/{{{BPMN_NS}}}documentation")
    text = (node.text or "").strip() if node is not None else ""
    # Drop the leading seed reference ("001 §2.2.1：", "001 §4.3、000 一(四)步骤三–四：").
    text = re.sub(r"^[^：:。]{0,40}§[^：:。]{0,40}[：:]\s*", "", text)
    return present.plain(text)


@bp.route("/start")
@login_required
def start_list():
    session, user = read_session(), web_user()
    groups = {}
    for d in _startable_processes(session):
        if not deployments.can_start(d, user):
            continue
        category = deployments.parsed(d).properties.get("category") or "其他"
        groups.setdefault(category, []).append({"key": d.key, "name": d.name, "version": d.version,
                                                "doc": _documentation(d)})
    order = CATEGORY_ORDER + sorted(c for c in groups if c not in CATEGORY_ORDER)
    return render_template("start_list.html", active="start",
                           groups=[(c, groups[c]) for c in order if c in groups])


def _startable(session, user, key):
    definition = deployments.latest(session, key)
    if definition is None or not deployments.parsed(definition).startable:
        raise NotFound("流程", key)
    return definition


def _unit_choices(session, user):
    from ..models import Unit
    ids = user.unit_ids(session)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id))) if ids else []


@bp.route("/start/<key>")
@login_required
def start_form(key):
    session, user = read_session(), web_user()
    definition = _startable(session, user, key)
    if not deployments.can_start(definition, user):
        return refuse(403, f"您的角色不能发起“{definition.name}”")
    start = runtime._start_event(deployments.parsed(definition).spec)
    form_key = (start.extensions or {}).get("form_key") if start is not None else None
    form = deployments.latest_form(session, form_key) if form_key else None
    data = {}
    if form is not None and "year" in _form_keys(form.schema):
        data["year"] = present.local(now()).year
    units = _unit_choices(session, user)
    schema = present.plain_form(form.schema) if form is not None else None
    if form is not None:
        data.update(_option_lists(session, form.schema, {u.id for u in units}))
        pickers.with_pickers(session, schema, data, {u.id for u in units})
    return render_template("start_form.html", active="start", definition=definition,
                           category=deployments.parsed(definition).properties.get("category"),
                           doc=_documentation(definition), form=schema, data=data,
                           units=units, default_unit=user.unit_id if user.unit_id in [u.id for u in units]
                           else (units[0].id if units else None),
                           refs=_references(session, user, form.schema if form else None))


@bp.route("/start/<key>", methods=["POST"])
@writer_required
def start_submit(key):
    payload = _json_payload()
    if payload is None:
        return refuse(400, "提交的数据格式不正确")
    unit_id = payload.get("unit_id")
    if unit_id not in (None, ""):
        unit_id = parse_id(unit_id)
        if unit_id is None:
            return refuse(400, "所选单位无效")
    else:
        unit_id = None
    with transaction() as (session, user):
        instance = runtime.start_instance(session, user, key, payload.get("data") or {}, None, unit_id, now())
        message = _next_step_message(session, instance).replace("已提交", "流程已发起", 1)
        error = (instance.data or {}).get("error_message")
        if error:
            message = f"流程已发起，但未通过检查，已退回您修改：{present.plain(error)}"
    flash(message, "warning" if error else "success")
    return jsonify({"ok": True, "message": message,
                    "redirect": url_for("web.instance_detail", instance_id=instance.id)})


# -- instance -------------------------------------------------------------------------------
def _waiting_messages(session, workflow, user, instance):
    """BPMN messages the instance waits for that this user may send (e.g. 撤回 for the initiator)."""
    if user.is_auditor or instance.status != "running":
        return []
    names = []
    for event in workflow.waiting_events():
        if event.event_type != "MessageEventDefinition" or event.name in [n for n, _ in names]:
            continue
        try:
            runtime._check_sender(session, user, instance, workflow, event.name)  # the engine's own rule
        except DomainError:
            continue
        names.append((event.name, present.MESSAGE_LABELS.get(event.name, event.name)))
    return names


@bp.route("/instances/<int:instance_id>")
@login_required
def instance_detail(instance_id):
    session, user = read_session(), web_user()
    instance = visible_instance(session, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id)
    workflow = runtime.load(Step(session, user, now()), instance)
    marks = progress.progress(workflow, definition.bpmn_xml, instance.key)
    pinned = instance.subprocess_definitions or {}

    def xml_for(key):
        called = session.get(ProcessDefinition, pinned[key]) if key in pinned else None
        return called.bpmn_xml if called is not None else None
    subdiagrams = progress.called(workflow, xml_for)
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                 .order_by(HumanTask.created_at)))
    open_tasks = [t for t in tasks if t.status == "open"]
    links = list(session.scalars(select(InstanceRecord).where(InstanceRecord.instance_id == instance.id)))
    refs = present.records(session, [(link.record_type, link.record_id) for link in links])
    records = sorted((b for b in (present.record_brief(link.record_type, refs.get((link.record_type, link.record_id)))
                                  for link in links) if b), key=present.record_priority)
    starter = session.get(User, instance.started_by) if instance.started_by else None
    label, color = present.INSTANCE_STATUS.get(instance.status, (instance.status, "gray"))
    people = present.user_names(session, [t.assignee for t in tasks] + [t.claimed_by for t in tasks])
    clock = now()
    return render_template(
        "instance.html", active="workbench", instance=instance, definition=definition, marks=marks,
        subdiagrams=subdiagrams, archived_runs=archive.runs(session, instance.id),
        process_names=present.process_names(session),
        open_tasks=[{"task": t, "can_act": access.can_act(session, user, t)
                     and t.claimed_by in (None, user.username),
                     "who": people.get(t.assignee, t.assignee) if t.assignee else present.roles(t.candidate_groups),
                     "claimed_by": people.get(t.claimed_by, t.claimed_by),
                     "overdue": t.due_at is not None and t.due_at < clock} for t in open_tasks],
        records=records, starter=starter, status_label=label, status_color=color,
        unit=present.unit_names(session).get(instance.unit_id, ""),
        history=present.history_view(session, history.events(session, instance.id)),
        messages=_waiting_messages(session, workflow, user, instance),
        notice=(instance.data or {}).get("error_message") if instance.status == "running" else None)


@bp.route("/instances/<int:instance_id>/messages/<name>", methods=["POST"])
@writer_required
def instance_message(instance_id, name):
    with transaction() as (session, user):
        runtime.send_message(session, user, instance_id, name, {}, now())
    flash(f"已{present.MESSAGE_LABELS.get(name, name)}。", "success")
    return redirect(url_for("web.instance_detail", instance_id=instance_id))


# -- records -----------------------------------------------------------------------------------
def _record_list(model, record_type, order, active, **extra):
    """A page of the user's units' records (``<active>.html``), filtered by status and number/name in SQL."""
    session, user = read_session(), web_user()
    # Auditors: every unit's records (without an IN list of all units).
    clauses = [visible_clause(session, user, model)]  # 代理机构库: an agency's staff see its work, not another's
    statuses = present.statuses(model) or None
    status = request.args.get("status", "")
    if status and statuses:
        clauses.append(model.status == status)
    q = request.args.get("q", "").strip()
    if q:
        needle = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(or_(*[getattr(model, a).ilike(needle, escape="\\") for a in ("number", "code", "name", "title")
                             if hasattr(model, a)]))
    total = session.scalar(select(func.count()).select_from(model).where(*clauses))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(_page(), pages)
    items = list(session.scalars(select(model).where(*clauses).order_by(*order)
                                 .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    pager = {"page": page, "pages": pages, "total": total}
    return render_template(f"{active}.html", active=active, items=items, paging=pager, record_type=record_type,
                           linked=present.instances_of(session, [(record_type, o.id) for o in items]),
                           f={"status": status, "q": q}, units=present.unit_names(session), statuses=statuses,
                           **extra)


@bp.route("/budgets")
@login_required
def budgets():
    from ..models.budget import FUND_TYPES
    return _record_list(BudgetLine, "budget_line", (BudgetLine.year.desc(), BudgetLine.code), "budgets",
                        fund_types=FUND_TYPES)


@bp.route("/projects")
@login_required
def projects():
    from ..models.project import CATEGORIES
    return _record_list(Project, "project", (Project.id.desc(),), "projects", categories=CATEGORIES)


@bp.route("/plans")
@login_required
def plans():
    from ..models.plan import METHODS, PLAN_TYPES
    return _record_list(Plan, "plan", (Plan.id.desc(),), "plans", methods=METHODS, plan_types=PLAN_TYPES)


@bp.route("/tenders")
@login_required
def tenders():
    return _record_list(Tender, "tender", (Tender.id.desc(),), "tenders")


@bp.route("/contracts")
@login_required
def contracts():
    return _record_list(Contract, "contract", (Contract.id.desc(),), "contracts")


def _record_page(record_type, record_id, active):
    session, user = read_session(), web_user()
    obj = present.visible_record(session, user, record_type, record_id)
    if obj is None:
        raise NotFound(present.RECORD_LABELS[record_type], record_id)
    detail = present.record_detail(session, record_type, obj)
    linked = present.instances_of(session, [(record_type, obj.id)]).get((record_type, obj.id), [])
    return render_template("record.html", active=active, record=detail, linked=linked,
                           unit=present.unit_names(session).get(obj.unit_id, ""))


@bp.route("/projects/<int:record_id>")
@login_required
def project_detail(record_id):
    return _record_page("project", record_id, "projects")


@bp.route("/plans/<int:record_id>")
@login_required
def plan_detail(record_id):
    return _record_page("plan", record_id, "plans")


@bp.route("/tenders/<int:record_id>")
@login_required
def tender_detail(record_id):
    return _record_page("tender", record_id, "tenders")


@bp.route("/contracts/<int:record_id>")
@login_required
def contract_detail(record_id):
    return _record_page("contract", record_id, "contracts")
