"""Incidents: failed timers (and, later, broken histories) for an administrator to see and retry."""
from flask_smorest import Blueprint, abort
from marshmallow import fields
from sqlalchemy import select

from ..engine import timers
from ..models import Incident, NotFound
from . import schemas
from .common import current_user, login_required, now, read_session, transaction
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
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


def _require(*groups):
    if not (current_user().groups & set(groups)):
        abort(403, message="只有系统管理员可以处理异常事件")


@blp.route("", methods=["GET"])
@login_required
@blp.response(200, IncidentSchema(many=True))
def list_incidents():
    _require("admin", "auditor")
    return list(read_session().scalars(select(Incident).order_by(Incident.id.desc())))


@blp.route("/<int:incident_id>/retry", methods=["POST"])
@login_required
@blp.response(200, IncidentSchema)
def retry(incident_id):
    _require("admin")
    with transaction() as (session, _user):
        incident = session.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise NotFound("异常事件", incident_id)
        timers.retry(session, incident, now())
        return incident
