"""Deployed procedures and starting instances of them."""
from flask_smorest import Blueprint
from sqlalchemy import func, select

from ..engine import deployments, runtime
from ..models import NotFound, ProcessDefinition
from . import schemas
from .common import current_user, login_required, now, read_session, transaction, writer_required
from .instances import instance_view

blp = Blueprint("processes", __name__, url_prefix="/api/processes", description="流程定义")


@blp.route("", methods=["GET"])
@login_required
@blp.response(200, schemas.Process(many=True))
def list_processes():
    session = read_session()
    latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .group_by(ProcessDefinition.key).subquery()
    rows = session.scalars(select(ProcessDefinition).join(
        latest, (ProcessDefinition.key == latest.c.key) & (ProcessDefinition.version == latest.c.v))
        .order_by(ProcessDefinition.key))
    user = current_user()
    return [{"key": d.key, "name": d.name, "version": d.version,
             "category": deployments.parsed(d).properties.get("category"),
             "can_start": deployments.can_start(d, user)} for d in rows]


@blp.route("/<key>/versions", methods=["GET"])
@login_required
@blp.response(200, schemas.ProcessVersion(many=True))
def versions(key):
    session = read_session()
    rows = list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                .order_by(ProcessDefinition.version)))
    if not rows:
        raise NotFound("流程", key)
    return [{"id": d.id, "key": d.key, "name": d.name, "version": d.version, "deployed_by": d.deployed_by,
             "deployed_at": d.deployed_at, "content_hash": d.content_hash} for d in rows]


@blp.route("/<key>/instances", methods=["POST"])
@writer_required
@blp.arguments(schemas.StartInstance, error_status_code=400)
@blp.response(201, schemas.Instance)
@blp.alt_response(400, schema=schemas.ApiError)
@blp.alt_response(403, schema=schemas.ApiError)
def start(args, key):
    with transaction() as (session, user):
        instance = runtime.start_instance(session, user, key, args["data"], args.get("business_key"),
                                          args.get("unit_id"), now())
        return instance_view(session, instance)
