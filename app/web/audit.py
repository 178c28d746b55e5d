"""Audit pages (审计) for auditors, analysts and administrators: every unit's instances, and one instance's
audit page — its history as a timeline beside the bpmn-js diagram, stepping through which shows where the
token stood after each event (from the replay), the two verifications, and the JSON / Excel exports.

Read only: nothing here writes; the replay runs in a read-only session. Registered on the web blueprint
like ``views.py``; the 审计 menu entry appears for the roles that may open it.
"""
import json

from flask import render_template, request
from sqlalchemy import func, select

from ..api.common import db, read_session
from ..engine import audit as audit_engine
from ..engine import history, progress
from ..engine import stranded as stranded_engine
from ..engine.replay import replay
from ..models import Incident, NotFound, ProcessDefinition, ProcessInstance, User, search
from ..models.inputs import parse_id
from . import bp, present
from .common import NAV, login_required, refuse, web_user
from .views import PAGE_SIZE, _page, _paginate

ORG_WIDE = {"auditor", "analyst", "admin"}
NAV.append(("web.audit_list", "审计", "audit", ORG_WIDE))
STATUSES = {"running": "办理中", "completed": "已办结"}


def _allowed():
    user = web_user()
    return user is not None and bool(user.groups & ORG_WIDE)


@bp.route("/audit")
@login_required
def audit_list():
    if not _allowed():
        return refuse(403, "只有审计、业务分析或系统管理员可以查看审计页面")
    session = read_session()
    f = {"process": request.args.get("process", "").strip(), "status": request.args.get("status", "").strip(),
         "unit": request.args.get("unit", "").strip(), "q": request.args.get("q", "").strip()}
    query = select(ProcessInstance).order_by(ProcessInstance.id.desc())
    if f["process"]:
        query = query.where(ProcessInstance.key == f["process"])
    if f["status"] in STATUSES:
        query = query.where(ProcessInstance.status == f["status"])
    if f["unit"]:
        query = query.where(ProcessInstance.unit_id == (parse_id(f["unit"]) or 0))
    if f["q"]:  # id, business key or top-level data values, in SQL (models/search.py)
        query = query.where(search.matching(f["q"]))
    # one page in SQL: a count and the page's rows, never every instance of the province
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(_page(), pages)
    page_items = list(session.scalars(query.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    paging = {"page": number, "pages": pages, "total": total}
    versions = {d.id: d.version for d in session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.id.in_({i.definition_id for i in page_items})))} if page_items else {}
    starters = {u.id: u.display_name for u in session.scalars(select(User).where(
        User.id.in_({i.started_by for i in page_items if i.started_by})))} if page_items else {}
    incidents = list(session.scalars(select(Incident).where(Incident.kind == audit_engine.INCIDENT_KIND,
                                                            Incident.status == "open").order_by(Incident.id)))
    stranded = session.scalar(select(func.count(Incident.id)).where(
        Incident.kind == stranded_engine.INCIDENT_KIND, Incident.status == "open"))
    return render_template("audit_list.html", active="audit", items=page_items, paging=paging, f=f,
                           processes=present.process_names(session), units=present.unit_names(session),
                           versions=versions, starters=starters, statuses=STATUSES, incidents=incidents,
                           stranded=stranded, may_see_stranded=bool(web_user().groups & {"admin", "auditor"}))


def _timeline(session, events, report):
    """Timeline entries with the replay's verdict and token position for each event."""
    steps = {s["seq"]: s for s in report["steps"]}
    entries = present.history_view(session, events)
    out = []
    for event, entry in zip(events, entries):
        step = steps.get(event.seq) or {}
        entry = dict(entry)
        entry.update(seq=event.seq, data=json.dumps(event.data or {}, ensure_ascii=False, indent=1),
                     raw_task=event.task, hash=event.hash, replay_ok=step.get("ok"),
                     replay_reason=step.get("reason"), position=step.get("position"))
        out.append(entry)
    return out


@bp.route("/audit/instances/<int:instance_id>")
@login_required
def audit_instance(instance_id):
    if not _allowed():
        return refuse(403, "只有审计、业务分析或系统管理员可以查看审计页面")
    with audit_engine.readonly_session(db()) as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound("流程实例", instance_id)
        definition = session.get(ProcessDefinition, instance.definition_id)
        events = history.events(session, instance.id)
        chain = history.verify(session, instance)
        report = replay(session, instance)
        state = audit_engine.state_from_report(report)
        timeline = _timeline(session, events, report)
        starter = session.get(User, instance.started_by) if instance.started_by else None
        label, color = present.INSTANCE_STATUS.get(instance.status, (instance.status, "gray"))
        flows = progress.sequence_flows(definition.bpmn_xml, instance.key)
        steps = [{"seq": e["seq"], "position": e["position"] or {}, "ok": e["replay_ok"]} for e in timeline]
        return render_template(
            "audit_instance.html", active="audit", instance=instance, definition=definition, starter=starter,
            status_label=label, status_color=color, unit=present.unit_names(session).get(instance.unit_id, ""),
            timeline=timeline, chain=chain, state=state, report=report,
            diagram={"xml": definition.bpmn_xml, "flows": flows, "steps": steps})


@bp.route("/audit/stranded")
@login_required
def audit_stranded():
    """无人可推进的流程: running instances nobody and nothing can move, with why (``engine/stranded.py``)."""
    user = web_user()
    if not user.groups & {"admin", "auditor"}:
        return refuse(403, "只有系统管理员和审计可以查看无人可推进的流程实例")
    session = read_session()
    from ..api.common import now
    found, paging = _paginate(stranded_engine.find_stranded(session, now()), _page())
    shown = [s["instance_id"] for s in found]
    incidents = {i.instance_id: i for i in session.scalars(select(Incident).where(
        Incident.kind == stranded_engine.INCIDENT_KIND, Incident.status == "open",
        Incident.instance_id.in_(shown)))} if shown else {}
    return render_template("audit_stranded.html", active="audit", items=found, incidents=incidents, paging=paging,
                           units=present.unit_names(session))
