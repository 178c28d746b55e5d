"""Camunda 7 REST task endpoints under ``/engine-rest``, so Camunda-7-era task clients keep working.

- ``GET /task`` (``processInstanceId``, ``processDefinitionKey``, ``taskDefinitionKey``, ``assignee``,
  ``candidateGroup``, ``candidateUser``, ``firstResult``, ``maxResults``), ``GET /task/count``, ``GET /task/{id}``:
  Camunda's TaskDto (``delegationState`` PENDING/RESOLVED, ``owner``, ``due``, ``formKey``…), the open tasks the
  caller may see;
- ``POST /task/{id}/claim`` and ``/unclaim``; ``/assignee`` (``{userId}``: 转办), ``/delegate`` (``{userId}``),
  ``/resolve`` (``{variables}``: a ``comment`` variable is the delegate's opinion), ``/complete``
  (``{variables, withVariablesInReturn}``) — 204 No Content as Camunda answers, 200 with the variables when asked.

The rules are the engine's (``runtime``, ``taskops``): a claim is for oneself only (``userId`` another user → 403),
refusals keep Camunda's error shape ``{type, message}`` with our code and Chinese message.
"""
from flask import Blueprint, jsonify, request
from sqlalchemy import select

from ..engine import access, runtime, taskops
from ..models import HumanTask, ProcessDefinition, ProcessInstance
from . import engine_rest
from .common import now, read_session, transaction
from .engine_rest import CamundaError, _authenticate, _camunda_time, _count_param, definition_id, variables_to_data
from .tasks import visible_tasks

bp = Blueprint("engine_rest_tasks", __name__, url_prefix="/engine-rest")
for _kind, _handler in ((engine_rest.CamundaError, engine_rest._camunda_error),
                        (engine_rest.DomainError, engine_rest._domain_error),
                        (engine_rest.HTTPException, engine_rest._http_error), (Exception, engine_rest._unexpected)):
    bp.register_error_handler(_kind, _handler)

STATES = {"pending": "PENDING", "resolved": "RESOLVED"}


def task_dto(row, definitions):
    return {"id": row.id, "name": row.name, "assignee": row.assignee or row.claimed_by, "owner": row.owner,
            "created": _camunda_time(row.created_at), "lastUpdated": None, "due": _camunda_time(row.due_at),
            "followUp": None, "delegationState": STATES.get(row.delegation_state), "description": None,
            "executionId": str(row.instance_id), "parentTaskId": None, "priority": 50,
            "processDefinitionId": definitions.get(row.instance_id), "processInstanceId": str(row.instance_id),
            "taskDefinitionKey": row.bpmn_id, "caseExecutionId": None, "caseInstanceId": None,
            "caseDefinitionId": None, "suspended": False, "formKey": None,
            "camundaFormRef": {"key": row.form_key, "binding": "latest", "version": None} if row.form_key else None,
            "tenantId": None}


def _definitions(session, rows):
    ids = {r.instance_id for r in rows}
    if not ids:
        return {}
    pairs = session.execute(select(ProcessInstance.id, ProcessDefinition).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id).where(ProcessInstance.id.in_(ids)))
    return {instance_id: definition_id(definition) for instance_id, definition in pairs}


def _query_rows():
    user = _authenticate()
    session = read_session()
    rows = visible_tasks(session, user)
    args = request.args
    filters = {"processInstanceId": lambda r, v: str(r.instance_id) == v,
               "processDefinitionKey": lambda r, v: r.process_key == v,
               "taskDefinitionKey": lambda r, v: r.bpmn_id == v,
               "assignee": lambda r, v: (r.assignee or r.claimed_by) == v,
               "candidateGroup": lambda r, v: v in (r.candidate_groups or []) and not r.assignee,
               "candidateUser": lambda r, v: v in (r.candidate_users or [])}
    for name, test in filters.items():
        if args.get(name):
            rows = [r for r in rows if test(r, args[name])]
    return session, sorted(rows, key=lambda r: (r.created_at, r.id))


@bp.route("/task", methods=["GET"])
def list_tasks():
    session, rows = _query_rows()
    first, limit = _count_param("firstResult") or 0, _count_param("maxResults")
    rows = rows[first:] if limit is None else rows[first:first + limit]
    definitions = _definitions(session, rows)
    return jsonify([task_dto(r, definitions) for r in rows])


@bp.route("/task/count", methods=["GET"])
def count_tasks():
    return jsonify({"count": len(_query_rows()[1])})


def _visible(session, user, task_id):
    row = session.get(HumanTask, task_id)
    if row is None or not (user.is_auditor or access.can_see_task(session, user, row)):
        raise CamundaError(404, "InvalidRequestException", f"No matching task with id {task_id} / 任务不存在")
    return row


@bp.route("/task/<task_id>", methods=["GET"])
def get_task(task_id):
    user = _authenticate()
    session = read_session()
    row = _visible(session, user, task_id)
    return jsonify(task_dto(row, _definitions(session, [row])))


def _body():
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise CamundaError(400, "InvalidRequestException", "请求体应为 JSON 对象 / body must be a JSON object")
    return body


def _user_id(body):
    value = body.get("userId")
    if not isinstance(value, str) or not value.strip():
        raise CamundaError(400, "InvalidRequestException", "请提供 userId / userId is required")
    return value.strip()


def _writer():
    user = _authenticate()
    if user.is_auditor:
        raise CamundaError(403, "AuthorizationException", "审计角色只能查看 / auditors read only", userId=user.username)
    return user


def _no_content():
    return "", 204


@bp.route("/task/<task_id>/claim", methods=["POST"])
def claim(task_id):
    user, body = _writer(), _body()
    if _user_id(body) != user.username:
        raise CamundaError(403, "AuthorizationException", "只能为自己签收任务 / a user claims tasks for themselves only",
                           userId=user.username)
    with transaction() as (session, me):
        runtime.claim_task(session, me, task_id, now())
    return _no_content()


@bp.route("/task/<task_id>/unclaim", methods=["POST"])
def unclaim(task_id):
    _writer()
    with transaction() as (session, me):
        runtime.claim_task(session, me, task_id, now(), release=True)
    return _no_content()


@bp.route("/task/<task_id>/assignee", methods=["POST"])
def set_assignee(task_id):
    _writer()
    target = _user_id(_body())
    with transaction() as (session, me):
        taskops.reassign(session, me, task_id, target, None, now())
    return _no_content()


@bp.route("/task/<task_id>/delegate", methods=["POST"])
def delegate(task_id):
    _writer()
    target = _user_id(_body())
    with transaction() as (session, me):
        taskops.delegate(session, me, task_id, target, None, now())
    return _no_content()


@bp.route("/task/<task_id>/resolve", methods=["POST"])
def resolve(task_id):
    _writer()
    data = variables_to_data(_body().get("variables"))
    with transaction() as (session, me):
        taskops.resolve(session, me, task_id, data.get("comment"), now())
    return _no_content()


@bp.route("/task/<task_id>/complete", methods=["POST"])
def complete(task_id):
    _writer()
    body = _body()
    data = variables_to_data(body.get("variables"))
    with transaction() as (session, me):
        instance = runtime.complete_task(session, me, task_id, data, now())
        variables = dict(instance.data or {})
    if body.get("withVariablesInReturn") is True:
        return jsonify({k: {"value": v, "type": _type_of(v), "valueInfo": {}} for k, v in variables.items()})
    return _no_content()


def _type_of(value):
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if -2**31 <= value < 2**31 else "Long"
    if isinstance(value, float):
        return "Double"
    if value is None:
        return "Null"
    if isinstance(value, (dict, list)):
        return "Json"
    return "String"
