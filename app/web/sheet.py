"""审批单: for any instance, the record, each step (handler, time, decision, comment), the operations on its tasks and
the history's hash — a print-ready page (/instances/<id>/sheet) and a PDF to file (/instances/<id>/sheet.pdf)."""
from flask import Response, current_app, render_template
from sqlalchemy import select

from ..api.common import now, read_session
from ..api.instances import visible_instance
from ..engine import history
from ..models import InstanceRecord, User
from . import bp, present
from .common import login_required, refuse

STEP_TYPES = {"instance_started", "task_completed", "task_returned", "task_recalled", "task_delegated",
              "task_resolved", "task_reassigned", "message_received", "instance_completed", "instance_cancelled",
              "task_signers_added", "task_signer_answered", "task_signer_removed"}


def sheet_data(session, instance):
    events = history.events(session, instance.id)
    links = list(session.scalars(select(InstanceRecord).where(InstanceRecord.instance_id == instance.id)))
    refs = present.records(session, [(link.record_type, link.record_id) for link in links])
    records = sorted((b for b in (present.record_brief(link.record_type, refs.get((link.record_type, link.record_id)))
                                  for link in links) if b), key=present.record_priority)
    starter = session.get(User, instance.started_by) if instance.started_by else None
    steps = [e for e in present.history_view(session, events) if e["type"] in STEP_TYPES]
    check = history.verify(session, instance)
    return {"instance": instance, "process": present.process_names(session).get(instance.key, instance.key),
            "unit": present.unit_names(session).get(instance.unit_id, ""),
            "starter": starter.display_name if starter else "系统",
            "status": present.INSTANCE_STATUS.get(instance.status, (instance.status, "gray"))[0],
            "records": records, "steps": steps, "hash": instance.last_hash, "events": instance.last_seq,
            "verified": check["ok"], "printed_at": now()}


@bp.route("/instances/<int:instance_id>/sheet")
@login_required
def approval_sheet(instance_id):
    session = read_session()
    return render_template("sheet.html", **sheet_data(session, visible_instance(session, instance_id)))


@bp.route("/instances/<int:instance_id>/sheet.pdf")
@login_required
def approval_sheet_pdf(instance_id):
    from .sheet_pdf import FontMissing, render_pdf
    session = read_session()
    data = sheet_data(session, visible_instance(session, instance_id))
    try:
        body = render_pdf(data, current_app.config.get("PDF_CJK_FONT"))
    except FontMissing as err:
        return refuse(503, str(err))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=approval-sheet-{instance_id}.pdf"})
