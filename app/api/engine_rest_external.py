"""Camunda 7's external-task REST API under ``/engine-rest/external-task`` (what Camunda's worker clients call).

- ``POST /external-task/fetchAndLock`` ``{workerId, maxTasks, usePriority, asyncResponseTimeout, topics: [{topicName,
  lockDuration, variables, localVariables, businessKey, processDefinitionId(In), processDefinitionKey(In),
  processVariables (name → value, all equal), tenantIdIn / withoutTenantId (no tenants here: tenantIdIn matches
  nothing), includeExtensionProperties (the service task's camunda:properties)}]}`` →
  Camunda's ``LockedExternalTaskDto`` list; with ``asyncResponseTimeout`` it waits (long polling) until a task can be
  locked, at most ``EXTERNAL_TASK_MAX_POLL_MS`` (default 20 s) so a server worker is never held for long;
- ``POST /external-task/{id}/complete`` ``{workerId, variables, localVariables}`` → 204;
- ``POST /external-task/{id}/failure`` ``{workerId, errorMessage, errorDetails, retries, retryTimeout}`` → 204
  (retries 0: an incident, the task is not fetched again until ``PUT /external-task/{id}/retries``);
- ``POST /external-task/{id}/bpmnError`` ``{workerId, errorCode, errorMessage, variables}`` → 204;
- ``POST /external-task/{id}/extendLock`` ``{workerId, newDuration}`` and ``POST /external-task/{id}/unlock`` → 204;
- ``GET /external-task`` (``/count``, ``/{id}``, ``/topic-names``) with Camunda's query parameters.

Workers sign in like the Modeler (HTTP basic or a bearer token) as a user with the ``worker`` role (外部任务执行程序)
or ``admin``; variables are Camunda's typed JSON both ways. Semantics are in ``engine/external.py``."""
import json
import time
from datetime import datetime

from flask import current_app, jsonify, request
from sqlalchemy import func, select

from ..engine import external
from ..models import ExternalTask, ProcessDefinition
from .common import now, read_session, transaction
from .engine_rest import CamundaError, _authenticate, _camunda_time, _count_param, bp, definition_id, \
    variables_to_data

WORKER_ROLES = {"worker", "admin"}
MAX_POLL_MS = 20000  # default bound of long polling (Camunda allows 30 min; a sync server worker cannot)
POLL_INTERVAL = 0.25
INT32 = 2 ** 31


def _worker():
    user = _authenticate()
    if not WORKER_ROLES & user.groups:
        raise CamundaError(403, "AuthorizationException",
                           f"用户 {user.username} 不是外部任务执行程序（worker）或系统管理员 / "
                           f"only the worker or admin role may work on external tasks", userId=user.username)
    return user


def _bad(message):
    return CamundaError(400, "InvalidRequestException", message)


def _body():
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _bad("请求体应为 JSON 对象 / body must be a JSON object")
    return body


def _text(body, name, required=False, limit=255):
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"缺少 {name} / {name} is null")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(f"{name} 应为不超过 {limit} 字符的文本 / invalid {name}")
    return value


def _number(body, name, required=False, minimum=0, maximum=None):
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(f"缺少 {name} / {name} is null")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
            (maximum is not None and value > maximum):
        bound = f"到 {maximum} " if maximum is not None else ""
        raise _bad(f"{name} 应为不小于 {minimum}{bound}的整数 / invalid {name}: {value!r}")
    return value


# -- typed variables out ----------------------------------------------------------------------------------------------
def typed(value):
    """A plain value as Camunda's typed JSON."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        return {"type": "Integer" if -INT32 <= value < INT32 else "Long", "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    return {"type": "Json", "value": json.dumps(value, ensure_ascii=False), "valueInfo": {}}


def _variables(row, names, local_only=False):
    """The task's variables (all, or the ``names`` asked for); ``local_only``: only its own (input parameters)."""
    values = row.variables or {}
    if local_only:
        local = set(row.local_names or [])
        values = {k: v for k, v in values.items() if k in local}
    if names is not None:
        values = {k: v for k, v in values.items() if k in names}
    return {k: typed(v) for k, v in values.items()}


def _definition_ids(session, rows):
    ids = {row.definition_id for row in rows}
    return {d.id: d for d in session.scalars(select(ProcessDefinition).where(ProcessDefinition.id.in_(ids)))} \
        if ids else {}


def task_dto(row, definition, at):
    dto = {"activityId": row.activity_id, "activityInstanceId": f"{row.activity_id}:{row.id}",
           "errorMessage": row.error_message, "executionId": row.id, "id": row.id,
           "lockExpirationTime": _camunda_time(row.lock_expires_at), "createTime": _camunda_time(row.created_at),
           "processDefinitionId": definition_id(definition) if definition else None,
           "processDefinitionKey": row.process_key, "processDefinitionVersionTag": None,
           "processInstanceId": str(row.instance_id), "tenantId": None, "retries": row.retries,
           "suspended": False, "workerId": row.worker_id, "priority": row.priority, "topicName": row.topic,
           "businessKey": row.business_key}
    return dto


# -- fetch and lock ---------------------------------------------------------------------------------------------------
def _topics(session, body):
    topics = body.get("topics")
    if topics is None:
        return []
    if not isinstance(topics, list):
        raise _bad("topics 应为数组 / topics must be an array")
    out = []
    for topic in topics:
        if not isinstance(topic, dict):
            raise _bad("topics 的每一项应为对象 / each topic must be an object")
        name = _text(topic, "topicName", required=True, limit=200)
        duration = _number(topic, "lockDuration", required=True, minimum=1, maximum=10 ** 10)
        names = topic.get("variables")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            raise _bad("variables 应为变量名数组 / variables must be an array of names")
        idents = list(topic.get("processDefinitionIdIn") or []) + ([topic["processDefinitionId"]]
                                                                  if topic.get("processDefinitionId") else [])
        keys_in = topic.get("processDefinitionKeyIn")
        if keys_in is not None and (not isinstance(keys_in, list) or not all(isinstance(k, str) for k in keys_in)):
            raise _bad("processDefinitionKeyIn 应为文本数组 / processDefinitionKeyIn must be an array of keys")
        tenants = topic.get("tenantIdIn")
        if tenants is not None and (not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants)):
            raise _bad("tenantIdIn 应为租户 ID 数组 / tenantIdIn must be an array of tenant ids")
        wanted = topic.get("processVariables")
        if wanted is not None and not isinstance(wanted, dict):
            raise _bad("processVariables 应为对象（变量名 → 值） / processVariables must be an object of name → value")
        for flag in ("localVariables", "withoutTenantId", "includeExtensionProperties", "deserializeValues"):
            if topic.get(flag) is not None and not isinstance(topic[flag], bool):
                raise _bad(f"{flag} 应为 true 或 false / {flag} must be a boolean")
        out.append({"topicName": name, "lockDuration": duration, "variables": names,
                    "localVariables": bool(topic.get("localVariables")), "tenantIdIn": tenants or None,
                    "processVariables": wanted or None,
                    "businessKey": _text(topic, "businessKey", limit=100),
                    "processDefinitionKey": _text(topic, "processDefinitionKey", limit=100),
                    "processDefinitionKeyIn": keys_in, "processDefinitionIdIn": idents or None,
                    "processDefinitionId": None,
                    "definition_ids": external.definition_ids(session, idents) if idents else None,
                    "includeExtensionProperties": bool(topic.get("includeExtensionProperties"))})
    return out


@bp.route("/external-task/fetchAndLock", methods=["POST"])
def fetch_and_lock():
    _worker()
    body = _body()
    worker_id = _text(body, "workerId", required=True)
    max_tasks = _number(body, "maxTasks", required=True, minimum=0, maximum=1000)
    wait_ms = _number(body, "asyncResponseTimeout", minimum=0, maximum=1800000) or 0
    bound = current_app.config.get("EXTERNAL_TASK_MAX_POLL_MS", MAX_POLL_MS)
    deadline = time.monotonic() + min(wait_ms, bound) / 1000
    if body.get("usePriority") is not None and not isinstance(body["usePriority"], bool):
        raise _bad("usePriority 应为 true 或 false / usePriority must be a boolean")
    use_priority = bool(body.get("usePriority"))
    topics = _topics(read_session(), body)
    while True:
        locked = _lock_round(worker_id, max_tasks, topics, use_priority)
        if locked or max_tasks == 0 or not topics or time.monotonic() >= deadline:
            return jsonify(locked)
        time.sleep(POLL_INTERVAL)


def _lock_round(worker_id, max_tasks, topics, use_priority):
    session = read_session()
    at = now()
    found = max_tasks > 0 and external.any_fetchable(session, topics, at)
    session.rollback()  # a long poll must not keep one read transaction open across rounds
    if not found:
        return []
    with transaction() as (session, _user):
        pairs = external.fetch_and_lock(session, worker_id, max_tasks, topics, at, use_priority)
        definitions = _definition_ids(session, [row for row, _ in pairs])
        out = []
        for row, topic in pairs:
            dto = task_dto(row, definitions.get(row.definition_id), at)
            dto["variables"] = _variables(row, topic["variables"], topic["localVariables"])
            dto["errorDetails"] = row.error_details
            if topic["includeExtensionProperties"]:
                dto["extensionProperties"] = dict(row.extension_properties or {})
            out.append(dto)
        return out


# -- a worker's answers ---------------------------------------------------------------------------------------------
def _task_id(task_id):
    if len(task_id) > 36:
        raise CamundaError(404, "RestException", f"Cannot find external task with id {task_id[:40]}")
    return task_id


def _no_content():
    return "", 204


def _vars(body, name):
    values = variables_to_data(body.get(name))
    return values


@bp.route("/external-task/<task_id>/complete", methods=["POST"])
def complete(task_id):
    _worker()
    body = _body()
    worker_id = _text(body, "workerId", required=True)
    variables = {**_vars(body, "variables"), **_vars(body, "localVariables")}
    with transaction() as (session, user):
        external.complete(session, user, _task_id(task_id), worker_id, variables, now())
    return _no_content()


@bp.route("/external-task/<task_id>/bpmnError", methods=["POST"])
def bpmn_error(task_id):
    _worker()
    body = _body()
    worker_id = _text(body, "workerId", required=True)
    code = _text(body, "errorCode", required=True, limit=200)
    message = _text(body, "errorMessage", limit=4000)
    variables = _vars(body, "variables")
    with transaction() as (session, user):
        external.bpmn_error(session, user, _task_id(task_id), worker_id, code, message, variables, now())
    return _no_content()


@bp.route("/external-task/<task_id>/failure", methods=["POST"])
def failure(task_id):
    user = _worker()
    body = _body()
    worker_id = _text(body, "workerId", required=True)
    message = _text(body, "errorMessage", limit=4000)
    details = body.get("errorDetails")
    details = details if details is None or isinstance(details, str) else json.dumps(details, ensure_ascii=False)
    retries = _number(body, "retries", required=True, maximum=INT32 - 1)
    timeout = _number(body, "retryTimeout", maximum=10 ** 10) or 0
    with transaction() as (session, _user):
        external.failure(session, _task_id(task_id), worker_id, message, (details or "")[:100000] or None, retries,
                         timeout, now(), user.username)
    return _no_content()


@bp.route("/external-task/<task_id>/extendLock", methods=["POST"])
def extend_lock(task_id):
    _worker()
    body = _body()
    worker_id = _text(body, "workerId", required=True)
    duration = _number(body, "newDuration", required=True, minimum=1, maximum=10 ** 10)
    with transaction() as (session, _user):
        external.extend_lock(session, _task_id(task_id), worker_id, duration, now())
    return _no_content()


@bp.route("/external-task/<task_id>/unlock", methods=["POST"])
def unlock(task_id):
    _worker()
    with transaction() as (session, _user):
        external.unlock(session, _task_id(task_id))
    return _no_content()


@bp.route("/external-task/<task_id>/retries", methods=["PUT"])
def set_retries(task_id):
    _worker()
    retries = _number(_body(), "retries", required=True, maximum=INT32 - 1)
    with transaction() as (session, user):
        external.set_retries(session, user, _task_id(task_id), retries, now())
    return _no_content()


# -- queries ----------------------------------------------------------------------------------------------------------
def _flag(name):
    return str(request.args.get(name, "")).lower() == "true"


def _date_arg(name):
    text = request.args.get(name)
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise _bad(f"{name} 应为日期 yyyy-MM-dd'T'HH:mm:ss.SSSZ / cannot set query parameter '{name}' to value '{text}'")


def _query():
    at = now()
    args = request.args
    filters = [ExternalTask.status == "open"]
    if args.get("externalTaskId"):
        filters.append(ExternalTask.id == args["externalTaskId"])
    if args.get("externalTaskIdIn"):
        filters.append(ExternalTask.id.in_(args["externalTaskIdIn"].split(",")))
    for arg, column in (("topicName", ExternalTask.topic), ("workerId", ExternalTask.worker_id),
                        ("activityId", ExternalTask.activity_id), ("executionId", ExternalTask.id)):
        if args.get(arg):
            filters.append(column == args[arg])
    if args.get("activityIdIn"):
        filters.append(ExternalTask.activity_id.in_(args["activityIdIn"].split(",")))
    for arg in ("processInstanceId", "processInstanceIdIn"):
        if args.get(arg):
            ids = [int(i) for i in args[arg].split(",") if i.strip().isdigit()]
            filters.append(ExternalTask.instance_id.in_(ids or [-1]))
    if args.get("processDefinitionId"):
        filters.append(ExternalTask.definition_id.in_(
            external.definition_ids(read_session(), [args["processDefinitionId"]])))
    if _flag("locked"):
        filters.append(ExternalTask.lock_expires_at > at)
    if _flag("notLocked"):
        filters.append((ExternalTask.lock_expires_at.is_(None)) | (ExternalTask.lock_expires_at <= at))
    if _flag("withRetriesLeft"):
        filters.append((ExternalTask.retries.is_(None)) | (ExternalTask.retries > 0))
    if _flag("noRetriesLeft"):
        filters.append(ExternalTask.retries == 0)
    if _flag("suspended"):
        filters.append(ExternalTask.id.is_(None))  # nothing is ever suspended here
    after, before = _date_arg("lockExpirationAfter"), _date_arg("lockExpirationBefore")
    if after:
        filters.append(ExternalTask.lock_expires_at > after)
    if before:
        filters.append(ExternalTask.lock_expires_at < before)
    return filters


_SORT = {"id": ExternalTask.id, "lockExpirationTime": ExternalTask.lock_expires_at,
         "processInstanceId": ExternalTask.instance_id, "processDefinitionId": ExternalTask.definition_id,
         "processDefinitionKey": ExternalTask.process_key, "taskPriority": ExternalTask.priority,
         "createTime": ExternalTask.created_at}


@bp.route("/external-task", methods=["GET"])
def list_external_tasks():
    _worker()
    session = read_session()
    sort_by, order = request.args.get("sortBy"), request.args.get("sortOrder")
    if bool(sort_by) != bool(order) or (sort_by and sort_by not in _SORT) or order not in (None, "asc", "desc"):
        raise _bad("sortBy 与 sortOrder 须同时给出且取值有效 / Only a single sorting parameter specified, or an "
                   "invalid sortBy / sortOrder")
    column = _SORT.get(sort_by, ExternalTask.created_at)
    query = select(ExternalTask).where(*_query()).order_by(column.desc() if order == "desc" else column,
                                                           ExternalTask.id)
    first, limit = _count_param("firstResult"), _count_param("maxResults")
    query = query.offset(first or 0)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    definitions = _definition_ids(session, rows)
    return jsonify([task_dto(r, definitions.get(r.definition_id), now()) for r in rows])


@bp.route("/external-task/count", methods=["GET"])
def count_external_tasks():
    _worker()
    count = read_session().scalar(select(func.count()).select_from(ExternalTask).where(*_query()))
    return jsonify({"count": count})


@bp.route("/external-task/topic-names", methods=["GET"])
def topic_names():
    _worker()
    at = now()
    filters = [ExternalTask.status == "open"]
    if _flag("withLockedTasks"):
        filters.append(ExternalTask.lock_expires_at > at)
    if _flag("withUnlockedTasks"):
        filters.append((ExternalTask.lock_expires_at.is_(None)) | (ExternalTask.lock_expires_at <= at))
    if _flag("withRetriesLeft"):
        filters.append((ExternalTask.retries.is_(None)) | (ExternalTask.retries > 0))
    names = read_session().scalars(select(ExternalTask.topic).where(*filters).distinct().order_by(ExternalTask.topic))
    return jsonify(list(names))


@bp.route("/external-task/<task_id>", methods=["GET"])
def get_external_task(task_id):
    _worker()
    session = read_session()
    row = session.get(ExternalTask, _task_id(task_id))
    if row is None or row.status != "open":
        raise CamundaError(404, "RestException", f"External task with id {task_id} does not exist")
    return jsonify(task_dto(row, session.get(ProcessDefinition, row.definition_id), now()))


@bp.route("/external-task/<task_id>/errorDetails", methods=["GET"])
def error_details(task_id):
    _worker()
    row = read_session().get(ExternalTask, _task_id(task_id))
    if row is None:
        raise CamundaError(404, "RestException", f"External task with id {task_id} does not exist")
    return current_app.response_class(row.error_details or "", mimetype="text/plain")
