"""The part of Camunda 7's REST API that Camunda Modeler uses, under ``/engine-rest``.

An analyst points an unmodified Camunda Modeler (target "Camunda Platform 7") at
``http://host:5000/engine-rest`` and logs in with their username and password (HTTP basic) or an API
token (bearer). What the Modeler calls, shaped as Camunda 7 shapes it:

- ``GET /deployment?maxResults=0`` — the connection check (also ``/deployment/count``, ``/deployment/{id}``);
- ``POST /deployment/create`` — multipart: ``deployment-name``, ``deployment-source``, ``deploy-changed-only``
  / ``enable-duplicate-filtering``, optional ``tenant-id`` (accepted, not stored: there are no tenants), and
  one file part per ``.bpmn`` / ``.form``. Only the ``analyst`` role may deploy. The diagrams go through
  ``deployments.deploy`` (lint included); a refusal is Camunda's 400 ``ParseException`` with one error per
  problem under ``details[<file>].errors`` and every problem in ``message``, which the Modeler shows;
- ``POST /process-definition/{id}/start`` (and ``/process-definition/key/{key}/start``) — "Start instance":
  ``{businessKey, variables: {name: {value, type}}}``; starts exactly that version with the same rules as
  ``POST /api/processes/<key>/instances`` (starter groups, unit, start form). A ``unit_id`` variable picks
  the acting unit for users of several units;
- ``GET /process-definition/{id}``, ``GET /process-definition?key=…&latestVersion=true``,
  ``GET /process-instance/{id}``, ``GET /version``.

Process-definition ids are Camunda-style ``<key>:<version>:<our definition id>``; the number after the
last colon alone is accepted too. Errors are Camunda's ``{"type": …, "message": …}``; 401 carries
``WWW-Authenticate: Basic`` so the Modeler asks for credentials.
"""
import math
import re
from datetime import timezone

from flask import Blueprint, g, jsonify, request, url_for
from lxml import etree
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from ..engine import access, deployments, runtime
from ..engine.deployments import BPMN_NS, DeploymentError
from ..engine.parser import CAMUNDA
from ..models import Deployment, DomainError, ProcessDefinition, ProcessInstance, User, inputs
from ..models.inputs import MAX_ID, parse_id
from .common import PASSWORD_CHANGE_MESSAGE, now, password_change_pending, read_session, transaction, user_from_token
from .errors import unexpected
from .signin import Throttled, authenticate

bp = Blueprint("engine_rest", __name__, url_prefix="/engine-rest")

API_LEVEL = "7.22.0"  # the Camunda 7 REST API level this emulates (what /version reports)
DEPLOY_ROLE = "analyst"
PARSE_ERROR_PREFIX = "ENGINE-09005 Could not parse BPMN process."


class CamundaError(Exception):
    def __init__(self, status, type_, message, **extra):
        super().__init__(message)
        self.status, self.type, self.message, self.extra = status, type_, message, extra


def _error_response(status, type_, message, **extra):
    response = jsonify({"type": type_, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="govproc"'
    if status == 429 and "retryAfter" in extra:
        response.headers["Retry-After"] = str(extra["retryAfter"])
    return response


@bp.errorhandler(CamundaError)
def _camunda_error(err):
    return _error_response(err.status, err.type, err.message, **err.extra)


@bp.errorhandler(DomainError)
def _domain_error(err):
    return _domain_response(err)


@bp.errorhandler(Exception)
def _unexpected(exc):
    return _domain_response(unexpected(exc))  # 503 for a database that cannot answer, else 500; never its text


@bp.errorhandler(HTTPException)
def _http_error(exc):
    message = (getattr(exc, "data", None) or {}).get("message") or exc.description
    kind = {401: "AuthenticationException", 403: "AuthorizationException"}.get(exc.code, "RestException")
    return _error_response(exc.code, kind, message)


def _domain_response(err):
    kind = {400: "InvalidRequestException", 401: "AuthenticationException",
            403: "AuthorizationException"}.get(err.status, "RestException")
    message = err.message
    errors = getattr(err, "errors", None)
    if isinstance(errors, dict) and errors:
        message += "：" + "；".join(f"{field} {('、'.join(map(str, msgs)) if isinstance(msgs, list) else msgs)}"
                                   for field, msgs in errors.items())
    extra = {"code": err.code}
    if errors:
        extra["errors"] = errors
    return _error_response(err.status, kind, message, **extra)


# -- authentication ------------------------------------------------------------------------
def _authenticate():
    """The caller from HTTP basic (our username/password) or a bearer API token; 401 otherwise."""
    session = read_session()
    auth = request.authorization
    user = None
    if auth is not None and auth.type == "basic":
        try:  # throttled per user name and address like every sign-in (app/api/signin.py)
            user = authenticate(auth.username or "", auth.password or "", "engine-rest")
        except Throttled as err:
            raise CamundaError(429, "AuthenticationException", err.message, retryAfter=err.retry_after) from None
        if user is None:
            raise CamundaError(401, "AuthenticationException", "用户名或密码错误 / wrong username or password")
        user = session.get(User, user.id)
    elif auth is not None and auth.type == "bearer":
        try:
            user = user_from_token(session, auth.token or "")
        except HTTPException as exc:
            raise CamundaError(401, "AuthenticationException",
                               (getattr(exc, "data", None) or {}).get("message") or "登录凭证无效") from exc
    if user is None:
        raise CamundaError(401, "AuthenticationException", "请先登录 / authentication required")
    if password_change_pending(user):
        raise CamundaError(403, "AuthorizationException", PASSWORD_CHANGE_MESSAGE)
    g.user, g.user_id = user, user.id
    return user


def _require_deployer(user):
    if DEPLOY_ROLE not in user.groups:
        raise CamundaError(403, "AuthorizationException",
                           f"用户 {user.username} 没有部署权限：只有业务分析（analyst）角色可以部署流程 / "
                           f"only the analyst role may deploy", userId=user.username)


# -- shapes --------------------------------------------------------------------------------
def _camunda_time(value):
    """Camunda's default date format: 2013-04-23T13:42:43.000+0000."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def definition_id(definition):
    return f"{definition.key}:{definition.version}:{definition.id}"


def _find_definition(session, ident):
    number = parse_id(str(ident).rsplit(":", 1)[-1])
    definition = session.get(ProcessDefinition, number) if number is not None else None
    if definition is None or (":" in str(ident) and definition_id(definition) != ident):
        raise CamundaError(404, "RestException", f"没有 id 为 {ident} 的流程定义 / "
                                                 f"no matching process definition with id {ident}")
    return definition


def _process_node(definition):
    root = etree.fromstring(definition.bpmn_xml.encode("utf-8"),
                            parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return root, root.find(f"{{{BPMN_NS}}}process[@id='{definition.key}']")


def _ttl_days(value):
    if not value:
        return None
    if value.isdigit():
        return int(value)
    match = re.fullmatch(r"P(\d+)D", value.strip().upper())
    return int(match.group(1)) if match else None


def definition_dto(definition):
    root, node = _process_node(definition)
    node = node if node is not None else root
    doc = node.find(f"{{{BPMN_NS}}}documentation")
    return {"id": definition_id(definition), "key": definition.key, "category": root.get("targetNamespace"),
            "description": (doc.text or "").strip() if doc is not None else None, "name": definition.name,
            "version": definition.version, "resource": definition.resource_name,
            "deploymentId": str(definition.deployment_id) if definition.deployment_id else None,
            "diagram": None, "suspended": False, "tenantId": None, "versionTag": node.get(f"{CAMUNDA}versionTag"),
            "historyTimeToLive": _ttl_days(node.get(f"{CAMUNDA}historyTimeToLive")),
            "startableInTasklist": deployments.parsed(definition).startable}


def deployment_dto(deployment, definitions=None, tenant_id=None, with_definitions=False):
    dto = {"links": [{"method": "GET", "href": url_for("engine_rest.get_deployment", deployment_id=deployment.id,
                                                       _external=True), "rel": "self"}],
           "id": str(deployment.id), "name": deployment.name, "source": deployment.source or None,
           "deploymentTime": _camunda_time(deployment.deployed_at), "tenantId": tenant_id}
    if with_definitions:
        dto.update({"deployedProcessDefinitions": {definition_id(d): definition_dto(d) for d in definitions}
                    if definitions else None,
                    "deployedCaseDefinitions": None,
                    "deployedDecisionDefinitions": {f"{d.key}:{d.version}:{d.id}": decision_dto(d) for d in decisions}
                    if (decisions := getattr(deployment, "decisions", None)) else None,
                    "deployedDecisionRequirementsDefinitions": None})
    return dto


def decision_dto(decision):
    """Camunda 7's DecisionDefinitionDto."""
    return {"id": f"{decision.key}:{decision.version}:{decision.id}", "key": decision.key,
            "category": "http://camunda.org/schema/1.0/dmn", "name": decision.name, "version": decision.version,
            "resource": decision.resource_name, "deploymentId": str(decision.deployment_id),
            "decisionRequirementsDefinitionId": None, "decisionRequirementsDefinitionKey": None, "tenantId": None,
            "versionTag": None, "historyTimeToLive": None}


def instance_dto(session, instance):
    definition = session.get(ProcessDefinition, instance.definition_id)
    return {"links": [{"method": "GET", "href": url_for("engine_rest.get_process_instance",
                                                        instance_id=instance.id, _external=True), "rel": "self"}],
            "id": str(instance.id), "definitionId": definition_id(definition),
            "businessKey": instance.business_key, "caseInstanceId": None,
            "ended": instance.status == "completed", "suspended": False, "tenantId": None}


def _source_lines(files):
    """{(file, element id): line} so the Modeler's problem list can point into the XML."""
    lines = {}
    for filename, data in files:
        if not filename.endswith((".bpmn", ".xml", ".dmn")):
            continue
        try:
            root = etree.fromstring(data if isinstance(data, bytes) else data.encode("utf-8"),
                                    parser=etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            lines[(filename, None)] = (exc.lineno, exc.offset)
            continue
        for node in root.iter():
            if isinstance(node.tag, str) and node.get("id"):
                lines[(filename, node.get("id"))] = (node.sourceline, 0)
    return lines


def parse_exception(err, files):
    """DeploymentError → Camunda's ParseException: every problem in ``message`` and per resource in ``details``."""
    lines = _source_lines(files)
    details, bullets = {}, []
    for problem in err.problems:
        element = problem.get("element")
        line, column = lines.get((problem["file"], element)) or lines.get((problem["file"], None)) or (0, 0)
        report = details.setdefault(problem["file"], {"errors": [], "warnings": []})
        report["errors"].append({"message": problem["message"], "line": line or 0, "column": column or 0,
                                 "mainElementId": element, "elementIds": [element] if element else []})
        where = f" | element {element}" if element else ""
        bullets.append(f"* {problem['message']} | resource {problem['file']}{where} | line {line or 0}")
    for warning in getattr(err, "warnings", None) or []:
        element = warning.get("element")
        line, column = lines.get((warning["file"], element)) or (0, 0)
        details.setdefault(warning["file"], {"errors": [], "warnings": []})["warnings"].append(
            {"message": warning["message"], "line": line or 0, "column": column or 0, "mainElementId": element,
             "elementIds": [element] if element else []})
    message = f"{PARSE_ERROR_PREFIX} 部署被拒绝，共 {len(err.problems)} 个问题 / deployment refused, " \
              f"{len(err.problems)} problem(s):\n" + "\n".join(bullets)
    return _error_response(400, "ParseException", message, code=0, details=details)


# -- endpoints -------------------------------------------------------------------------------
@bp.route("/version", methods=["GET"])
def version():
    _authenticate()
    return jsonify({"version": API_LEVEL})


def _count_param(name):
    """A paging parameter (firstResult, maxResults): a non-negative whole number, or None when absent."""
    text = request.args.get(name)
    if text in (None, ""):
        return None
    if text.strip() == "0":
        return 0
    number = parse_id(text)
    if number is None:
        raise CamundaError(400, "InvalidRequestException", f"{name} 应为 0 到 {MAX_ID} 之间的整数 / "
                                                           f"cannot set query parameter '{name}' to value '{text}'")
    return number


def _paged(query):
    first, limit = _count_param("firstResult"), _count_param("maxResults")
    query = query.offset(first or 0)
    if limit is not None:
        query = query.limit(limit)
    return query


@bp.route("/deployment", methods=["GET"])
def list_deployments():
    _authenticate()
    session = read_session()
    query = select(Deployment).order_by(Deployment.id)
    if request.args.get("name"):
        query = query.where(Deployment.name == request.args["name"])
    if request.args.get("source"):
        query = query.where(Deployment.source == request.args["source"])
    if _count_param("maxResults") == 0:
        _count_param("firstResult")
        return jsonify([])
    return jsonify([deployment_dto(d) for d in session.scalars(_paged(query))])


@bp.route("/deployment/count", methods=["GET"])
def count_deployments():
    _authenticate()
    return jsonify({"count": read_session().scalar(select(func.count()).select_from(Deployment))})


@bp.route("/deployment/<int:deployment_id>", methods=["GET"])
def get_deployment(deployment_id):
    _authenticate()
    deployment = read_session().get(Deployment, deployment_id)
    if deployment is None:
        raise CamundaError(404, "InvalidRequestException", f"部署 {deployment_id} 不存在 / "
                                                           f"deployment with id '{deployment_id}' does not exist")
    return jsonify(deployment_dto(deployment))


def _flag(value):
    return str(value or "").strip().lower() == "true"


def _uploaded_files():
    for field, value in request.form.items(multi=True):  # the guard reads url-encoded forms, not multipart
        inputs.check_text(field, "form")
        inputs.check_text(value, field)
    files = [(inputs.check_text(part.filename or field, field), part.read())
             for field, part in request.files.items(multi=True)]
    # A part sent without a filename arrives as a form field; take it when its name is a resource name.
    for field, value in request.form.items(multi=True):
        if field.endswith((".bpmn", ".dmn", ".form", ".bpmn20.xml")):
            files.append((field, value.encode("utf-8")))
    return [(name.replace("\\", "/").rsplit("/", 1)[-1], data) for name, data in files]


def _process_keys(files):
    keys = []
    for filename, data in files:
        if filename.endswith((".bpmn", ".xml")):
            try:
                root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError:
                continue
            keys += [p.get("id") for p in root.iterfind(f"{{{BPMN_NS}}}process") if p.get("id")]
    return keys


def _unchanged_deployment(session, files):
    """Nothing changed: Camunda answers with the deployment that holds the current resources."""
    for key in _process_keys(files):
        current = deployments.latest(session, key)
        if current is not None and current.deployment is not None:
            return current.deployment
    for filename, data in files:
        if filename.endswith(".dmn"):  # the deployment that holds this file's current decisions
            from ..engine import dmn_task
            current = dmn_task.deployment_of(session, data)
            if current is not None:
                return current
        if filename.endswith(".form"):
            current = deployments.latest_form(session, filename.rsplit("/", 1)[-1][:-5])
            if current is not None and current.deployment is not None:
                return current.deployment
    return None


@bp.route("/deployment/create", methods=["POST"])
def create_deployment():
    _require_deployer(_authenticate())
    form = request.form
    files = _uploaded_files()
    if not files:
        raise CamundaError(400, "InvalidRequestException",
                           "没有上传任何部署文件 / no deployment resources contained in the form upload")
    name = (form.get("deployment-name") or "Camunda Modeler")[:200]
    source = (form.get("deployment-source") or "")[:100]
    changed_only = _flag(form.get("deploy-changed-only")) or _flag(form.get("enable-duplicate-filtering"))
    tenant_id = form.get("tenant-id") or None
    if _flag(form.get("dry-run")):  # not Camunda's: the analyst's impact check first (issue 19), nothing deployed
        from ..engine import dry_run
        with transaction() as (session, user):
            try:
                return jsonify(dry_run.dry_run(session, files, deployed_by=user.username))
            except DeploymentError as err:
                return parse_exception(err, files)
    with transaction() as (session, user):
        try:
            deployment, definitions, _forms = deployments.deploy(session, files, deployed_by=user.username,
                                                                 name=name, source=source, changed_only=changed_only,
                                                                 now=now())
        except DeploymentError as err:
            return parse_exception(err, files)
        if deployment is None:
            deployment = _unchanged_deployment(session, files)
            if deployment is None:
                raise CamundaError(400, "InvalidRequestException", "没有可部署的内容 / nothing to deploy")
            return jsonify(deployment_dto(deployment, [], tenant_id, with_definitions=True))
        return jsonify(deployment_dto(deployment, definitions, tenant_id, with_definitions=True))


@bp.route("/process-definition", methods=["GET"])
def list_definitions():
    _authenticate()
    session = read_session()
    query = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
    if request.args.get("key"):
        query = query.where(ProcessDefinition.key == request.args["key"])
    if request.args.get("deploymentId"):
        query = query.where(ProcessDefinition.deployment_id == (parse_id(request.args["deploymentId"]) or 0))
    rows = list(session.scalars(query))
    if _flag(request.args.get("latestVersion")):
        latest = {}
        for row in rows:
            latest[row.key] = row
        rows = list(latest.values())
    first, limit = _count_param("firstResult") or 0, _count_param("maxResults")
    rows = rows[first:first + limit] if limit is not None else rows[first:]
    return jsonify([definition_dto(d) for d in rows])


@bp.route("/process-definition/<path:ident>", methods=["GET"])
def get_definition(ident):
    _authenticate()
    return jsonify(definition_dto(_find_definition(read_session(), ident)))


_TYPES_INT = {"integer", "long", "short"}


def variables_to_data(variables):
    """Camunda typed variables → plain values: {"amount": {"value": 1, "type": "Integer"}} → {"amount": 1}."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise CamundaError(400, "InvalidRequestException", "variables 应为 JSON 对象 / variables must be an object")
    data, errors = {}, []
    for name, var in variables.items():
        if not isinstance(var, dict):
            errors.append(f"{name}: 应为 {{value, type}}")
            continue
        kind, value = str(var.get("type") or "").lower(), var.get("value")
        try:
            if value is None or kind == "null":
                data[name] = None
            elif kind in ("", "string"):
                data[name] = value if kind == "" or isinstance(value, str) else str(value)
            elif kind in _TYPES_INT:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                data[name] = int(value)
            elif kind == "double":
                if isinstance(value, bool) or not math.isfinite(float(value)):
                    raise ValueError
                data[name] = float(value)
            elif kind == "boolean":
                if isinstance(value, bool):
                    data[name] = value
                elif str(value).lower() in ("true", "false"):
                    data[name] = str(value).lower() == "true"
                else:
                    raise ValueError
            elif kind == "date":
                data[name] = str(value)
            elif kind == "json" or (kind == "object" and "json" in str(
                    (var.get("valueInfo") or {}).get("serializationDataFormat", ""))):
                data[name] = inputs.loads(value, field=name) if isinstance(value, str) else value
            else:
                errors.append(f"{name}: 不支持的变量类型 {var.get('type')} / unsupported variable type")
        except (TypeError, ValueError):
            errors.append(f"{name}: 无法把 {value!r} 转换为 {var.get('type')} / cannot convert value")
    if errors:
        raise CamundaError(400, "InvalidRequestException", "变量有误 / invalid variables: " + "；".join(errors))
    return data


def _start(definition_lookup):
    _authenticate()
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise CamundaError(400, "InvalidRequestException", "请求体应为 JSON 对象 / body must be a JSON object")
    data = variables_to_data(body.get("variables"))
    business_key = body.get("businessKey")
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 100):
        raise CamundaError(400, "InvalidRequestException", "businessKey 应为不超过 100 字符的文本 / invalid businessKey")
    unit_id = data.pop("unit_id", None)
    if unit_id is not None and not isinstance(unit_id, int):
        raise CamundaError(400, "InvalidRequestException", "unit_id 应为整数 / unit_id must be an Integer")
    with transaction() as (session, user):
        definition = definition_lookup(session)
        instance = runtime.start_instance(session, user, definition.key, data, business_key or None, unit_id, now(),
                                          definition=definition)
        return jsonify(instance_dto(session, instance))


@bp.route("/process-definition/key/<key>/start", methods=["POST"])
def start_by_key(key):
    def lookup(session):
        definition = deployments.latest(session, key)
        if definition is None:
            raise CamundaError(404, "RestException", f"没有 key 为 {key} 的流程定义 / no process definition with key {key}")
        return definition
    return _start(lookup)


@bp.route("/process-definition/<path:ident>/start", methods=["POST"])
def start_instance(ident):
    return _start(lambda session: _find_definition(session, ident))


@bp.route("/process-instance/<int:instance_id>", methods=["GET"])
def get_process_instance(instance_id):
    user = _authenticate()
    session = read_session()
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not (user.is_auditor or DEPLOY_ROLE in user.groups
                                or access.can_see_instance(session, user, instance)):
        raise CamundaError(404, "InvalidRequestException", f"流程实例 {instance_id} 不存在 / "
                                                           f"process instance with id {instance_id} does not exist")
    return jsonify(instance_dto(session, instance))

