"""Incidents for an administrator to see, retry (failed timers) or mark resolved: failed timers, steps stopped by
a limit (a loop without a wait state, an expression too big, a timer too short), broken histories."""
from flask_smorest import Blueprint, abort
from marshmallow import fields
from sqlalchemy import select

from ..engine import timers
from ..models import DomainError, Incident
from . import paging, schemas
from .common import current_user, locked, login_required, now, read_session, transaction
from .schemas import Int

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents", description="异常事件")


class IncidentSchema(schemas.Base):
    id = Int()
    instance_id = Int(allow_none=True)
    task = fields.String(allow_none=True)
    kind = fields.String()
    error = fields.String()
    status = fields.String()
    timer_id = Int(allow_none=True)
    definition_id = Int(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


def _require(*groups):
    if not (current_user().groups & set(groups)):
        abort(403, message="只有系统管理员可以处理异常事件")


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(schemas.Paging, location="query", error_status_code=400)
@blp.response(200, IncidentSchema(many=True))
def list_incidents(args):
    """Newest first, one page at a time (docs/api.md "Paging")."""
    _require("admin", "auditor")
    return paging.of_query(read_session(), select(Incident).order_by(Incident.id.desc()), args)


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@login_required
@blp.response(200, IncidentSchema)
def retry(incident_id):
    _require("admin")
    with transaction() as (session, _user):
        incident = locked(session, Incident, incident_id, "异常事件")
        timers.retry(session, incident, now())
        return incident


@blp.route("/<int:incident_id>/resolve", methods=["POST"])
@login_required
@blp.response(200, IncidentSchema)
def resolve(incident_id):
    """Mark an incident dealt with (e.g. the diagram that looped has been corrected and redeployed)."""
    _require("admin")
    with transaction() as (session, _user):
        incident = locked(session, Incident, incident_id, "异常事件")
        if incident.status != "open":
            raise DomainError("NOT_OPEN", "该异常事件已处理", status=409)
        incident.status, incident.resolved_at = "resolved", now()
        return incident
