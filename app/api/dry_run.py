"""Dry run of a deployment (变更预演, issue 19): what deploying these diagrams and forms would do to running work.

POST /api/deployments/dry-run, multipart, one part per .bpmn / .form file (as Camunda Modeler deploys to
/engine-rest/deployment/create). Nothing is deployed and no instance changes: see ``app.engine.dry_run``.
"""
from flask import jsonify, request
from flask_smorest import Blueprint, abort
from marshmallow import fields
from werkzeug.exceptions import RequestEntityTooLarge

from ..engine import dry_run as engine_dry_run
from ..engine.deployments import DeploymentError
from ..models import DomainError
from ..models.inputs import check_text
from .common import current_user, login_required, transaction
from .schemas import ApiError, Base, Int

blp = Blueprint("dry_run", __name__, url_prefix="/api/deployments", description="部署预演")

ANALYSTS = {"analyst"}
MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 100


class Divergence(Base):
    seq = Int(allow_none=True, metadata={"description": "the history event where it diverges (null: where it stands)"})
    type = fields.String(metadata={"description": "event type, or position (stands elsewhere after the history)"})
    task = fields.String(allow_none=True)
    reason = fields.String()
    expected = fields.Raw(allow_none=True)
    actual = fields.Raw(allow_none=True)


class InstanceResult(Base):
    instance_id = Int()
    key = fields.String()
    business_key = fields.String(allow_none=True)
    status = fields.String()
    from_version = Int()
    events = Int()
    match = fields.Boolean()
    divergence = fields.Nested(Divergence, allow_none=True)
    waiting_on = fields.Raw(metadata={"description": "where the replay stands: active, waiting, ready"})


class Counts(Base):
    checked, match, diverge = Int(), Int(), Int()


class NewVersion(Base):
    key = fields.String()
    name = fields.String(allow_none=True)
    from_version = Int(allow_none=True)
    to_version = Int()


class DryRunReport(Base):
    deploys = fields.List(fields.Nested(NewVersion))
    forms = fields.List(fields.Dict())
    decisions = fields.List(fields.Dict(), metadata={"description": "DMN decisions that would get a new version"})
    warnings = fields.List(fields.Dict())
    running = fields.Nested(Counts)
    completed = fields.Nested(Counts, metadata={"description": "a sample of the most recently ended instances"})
    running_not_checked = Int()
    instances = fields.List(fields.Nested(InstanceResult))
    message = fields.String()


def _bad(field, message, status=400):
    return DomainError("INVALID_INPUT", message, field=field, status=status)


def uploaded_files():
    """[(file name, bytes)] of the request's parts; 400 / 413 in Chinese when there are none or too many."""
    if request.content_length is not None and request.content_length > MAX_BYTES:
        raise _bad("files", f"上传的文件合计超过 {MAX_BYTES // 1024 // 1024} MB", 413)
    request.max_content_length = MAX_BYTES
    try:
        parts = list(request.files.items(multi=True))
        for key, value in request.form.items(multi=True):  # multipart: the request guard leaves these to us
            check_text(key, "form")
            check_text(value, key)
    except RequestEntityTooLarge:
        raise _bad("files", f"上传的文件合计超过 {MAX_BYTES // 1024 // 1024} MB", 413) from None
    files = []
    for field, part in parts:
        name = check_text(part.filename or field, "files").replace("\\", "/").rsplit("/", 1)[-1]
        if not name.endswith((".bpmn", ".dmn", ".form")):
            raise _bad("files", f"只能预演 .bpmn、.dmn 和 .form 文件：{name}")
        files.append((name, part.read()))
    if not files:
        raise _bad("files", "请选择要预演的 .bpmn、.dmn 或 .form 文件")
    if len(files) > MAX_FILES:
        raise _bad("files", f"一次最多预演 {MAX_FILES} 个文件")
    return files


@blp.route("/dry-run", methods=["POST"])
@login_required
@blp.response(200, DryRunReport)
@blp.alt_response(400, schema=ApiError)
@blp.alt_response(403, schema=ApiError)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
              "description": "改动后的 .bpmn / .form 文件（每个文件一个字段）"}}}}}})
def dry_run():
    """部署预演：把改动后的流程图与表单在不部署的前提下，用正在运行的流程实例（及最近结束的一部分）的历史逐一重放，
    报告哪些仍然吻合、哪些会分歧以及在哪一步分歧。不写入任何数据。"""
    if not (current_user().groups & ANALYSTS):
        abort(403, message="只有业务分析（analyst）可以预演部署")
    files = uploaded_files()
    with transaction() as (session, user):
        try:
            report = engine_dry_run.dry_run(session, files, deployed_by=user.username)
        except DeploymentError as err:
            body = {"code": "DEPLOYMENT_REFUSED", "message": f"部署会被拒绝，共 {len(err.problems)} 个问题",
                    "problems": err.problems, "warnings": err.warnings}
            response = jsonify(body)
            response.status_code = 400
            return response
        if not report["deploys"] and not report["forms"] and not report["decisions"]:
            report["message"] = "与已部署的版本相同，部署不会产生新版本"
        return report
