"""Camunda 7's decision-definition REST API under ``/engine-rest/decision-definition`` (issue 18).

- ``GET /decision-definition`` (``/count``) with Camunda's query parameters (decisionDefinitionId(In), key, keyLike,
  name, nameLike, deploymentId, resourceName(Like), version, latestVersion, tenantIdIn / withoutTenantId,
  sortBy / sortOrder, firstResult / maxResults) → ``DecisionDefinitionDto`` list (``{count}``);
- ``GET /decision-definition/{id}`` and ``/key/{key}`` (the latest version) → one ``DecisionDefinitionDto``;
- ``GET …/xml`` → ``{id, dmnXml}``;
- ``POST …/evaluate`` ``{variables: {name: {value, type}}}`` → the matched rules' outputs, one object per rule,
  each output as Camunda's typed JSON (``[{"result": {"type": "String", "value": "…", "valueInfo": {}}}]``).

Ids are Camunda's form ``key:version:number``. Any signed-in user may read and evaluate (the tables are the
rules everybody works by); evaluation runs our safe DMN engine (``engine/dmn.py``), never arbitrary code. This
service has no tenants (``tenantId`` is null) and no decision requirements diagrams: only decision tables."""
from flask import jsonify, request
from sqlalchemy import func, select

from ..engine import dmn, expressions
from ..models import DecisionDefinition, DomainError
from ..models.inputs import parse_id
from .common import read_session
from .engine_rest import CamundaError, _authenticate, _count_param, _flag, bp, decision_dto, variables_to_data
from .engine_rest_external import typed

_SORT = {"id": DecisionDefinition.id, "key": DecisionDefinition.key, "name": DecisionDefinition.name,
         "version": DecisionDefinition.version, "deploymentId": DecisionDefinition.deployment_id,
         "deployTime": DecisionDefinition.deployed_at, "category": DecisionDefinition.id,
         "decisionRequirementsDefinitionKey": DecisionDefinition.id, "tenantId": DecisionDefinition.id,
         "versionTag": DecisionDefinition.id}


def _bad(message):
    return CamundaError(400, "InvalidRequestException", message)


def _not_found(what):
    return CamundaError(404, "RestException", f"没有找到决策定义 {what} / no matching decision definition {what}")


def decision_id(row):
    return f"{row.key}:{row.version}:{row.id}"


def _by_id(session, ident):
    number = parse_id(str(ident).rsplit(":", 1)[-1])
    row = session.get(DecisionDefinition, number) if number is not None else None
    if row is None or (":" in str(ident) and decision_id(row) != ident):
        raise _not_found(f"id {ident[:120]}")
    return row


def _latest(session, key):
    row = session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == key)
                          .order_by(DecisionDefinition.version.desc()).limit(1)).first()
    if row is None:
        raise _not_found(f"key {key[:120]}")
    return row


def _like(column, pattern):
    return column.like(pattern, escape="\\")  # Camunda passes the % wildcards through as given


def _filters(session):
    args, filters = request.args, []
    ids = []
    if args.get("decisionDefinitionId"):
        ids.append(args["decisionDefinitionId"])
    if args.get("decisionDefinitionIdIn"):
        ids.extend(i for i in args["decisionDefinitionIdIn"].split(",") if i)
    if ids:
        numbers = [parse_id(i.rsplit(":", 1)[-1]) for i in ids]
        filters.append(DecisionDefinition.id.in_([n for n in numbers if n is not None] or [-1]))
    for arg, column in (("key", DecisionDefinition.key), ("name", DecisionDefinition.name),
                        ("resourceName", DecisionDefinition.resource_name)):
        if args.get(arg):
            filters.append(column == args[arg])
        if args.get(f"{arg}Like"):
            filters.append(_like(column, args[f"{arg}Like"]))
    if args.get("deploymentId"):
        filters.append(DecisionDefinition.deployment_id == (parse_id(args["deploymentId"]) or -1))
    if args.get("version"):
        version = parse_id(args["version"])
        if version is None:
            raise _bad(f"version 应为正整数 / cannot set query parameter 'version' to value '{args['version'][:40]}'")
        filters.append(DecisionDefinition.version == version)
    if args.get("tenantIdIn"):
        filters.append(DecisionDefinition.id.is_(None))  # no tenants here: a tenant filter matches nothing
    if _flag(args.get("latestVersion")):
        newest = select(DecisionDefinition.key, func.max(DecisionDefinition.version).label("v")) \
            .group_by(DecisionDefinition.key).subquery()
        filters.append(select(newest.c.key).where(newest.c.key == DecisionDefinition.key,
                                                  newest.c.v == DecisionDefinition.version).exists())
    return filters


@bp.route("/decision-definition", methods=["GET"])
def list_decisions():
    _authenticate()
    session = read_session()
    sort_by, order = request.args.get("sortBy"), request.args.get("sortOrder")
    if bool(sort_by) != bool(order) or (sort_by and sort_by not in _SORT) or order not in (None, "asc", "desc"):
        raise _bad("sortBy 与 sortOrder 须同时给出且取值有效 / Only a single sorting parameter specified, or an "
                   "invalid sortBy / sortOrder")
    column = _SORT.get(sort_by) if sort_by else None
    ordering = [column.desc() if order == "desc" else column] if column is not None else []
    query = select(DecisionDefinition).where(*_filters(session)).order_by(
        *ordering, DecisionDefinition.key, DecisionDefinition.version)
    first, limit = _count_param("firstResult"), _count_param("maxResults")
    query = query.offset(first or 0)
    if limit is not None:
        query = query.limit(limit)
    return jsonify([decision_dto(row) for row in session.scalars(query)])


@bp.route("/decision-definition/count", methods=["GET"])
def count_decisions():
    _authenticate()
    session = read_session()
    return jsonify({"count": session.scalar(select(func.count()).select_from(DecisionDefinition)
                                            .where(*_filters(session)))})


@bp.route("/decision-definition/key/<key>", methods=["GET"])
def get_decision_by_key(key):
    _authenticate()
    return jsonify(decision_dto(_latest(read_session(), key)))


@bp.route("/decision-definition/<ident>", methods=["GET"])
def get_decision(ident):
    _authenticate()
    return jsonify(decision_dto(_by_id(read_session(), ident)))


def _xml(row):
    return jsonify({"id": decision_id(row), "dmnXml": row.dmn_xml})


@bp.route("/decision-definition/key/<key>/xml", methods=["GET"])
def decision_xml_by_key(key):
    _authenticate()
    return _xml(_latest(read_session(), key))


@bp.route("/decision-definition/<ident>/xml", methods=["GET"])
def decision_xml(ident):
    _authenticate()
    return _xml(_by_id(read_session(), ident))


def _evaluate(row):
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _bad("请求体应为 JSON 对象 / body must be a JSON object")
    data = variables_to_data(body.get("variables"))
    try:
        outcome = dmn.evaluate(dmn.table_of(row), data)
    except DomainError as err:  # e.g. two rules of a UNIQUE table matched
        raise CamundaError(400, "RestException", f"决策 {row.key} 无法求值：{err.message} / cannot evaluate decision "
                                                 f"{decision_id(row)}") from err
    except expressions.ExpressionError as err:  # an expression that fails on these inputs: the caller's data
        raise CamundaError(400, "RestException", f"决策 {row.key} 无法求值：输入变量不满足表达式 / cannot evaluate "
                                                 f"decision {decision_id(row)}") from err
    return jsonify([{name: typed(value) for name, value in result.items()} for result in outcome["results"]])


@bp.route("/decision-definition/key/<key>/evaluate", methods=["POST"])
def evaluate_by_key(key):
    _authenticate()
    return _evaluate(_latest(read_session(), key))


@bp.route("/decision-definition/<ident>/evaluate", methods=["POST"])
def evaluate(ident):
    _authenticate()
    return _evaluate(_by_id(read_session(), ident))
