"""GET /api/projects/<id>/versions: every version of a project record (采购项目变更 keeps the old ones, 001 §2.2.3)."""
from flask_smorest import Blueprint
from marshmallow import fields

from ..models import NotFound, Project
from . import schemas
from .common import current_user, login_required, read_session
from .schemas import Int

blp = Blueprint("project_versions", __name__, url_prefix="/api/projects", description="采购项目版本")


class VersionSchema(schemas.Base):
    version = Int()
    kind = fields.String(metadata={"description": "registered / change / implementation_form / closing"})
    kind_label = fields.String()
    reason = fields.String()
    changes = fields.Dict(metadata={"description": "{字段: [变更前, 变更后]}"})
    attachments = fields.List(fields.Dict())
    snapshot = fields.Dict(metadata={"description": "该版本的完整项目内容"})
    instance_id = Int(allow_none=True)
    created_by = Int(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    current = fields.Boolean()


@blp.route("/<int:project_id>/versions", methods=["GET"])
@login_required
@blp.response(200, VersionSchema(many=True))
def versions(project_id):
    session = read_session()
    project = session.get(Project, project_id)
    if project is None or project.unit_id not in current_user().unit_ids(session):
        raise NotFound("项目", project_id)
    rows = project.versions(session)
    for row in rows:
        row["current"] = row is rows[-1]
    return rows
