"""Business rule tasks (``camunda:decisionRef``) and the deployed decisions they ask (``dmn.py`` reads the tables).

The task asks its step for the decision (``SafeScriptEngine.evaluate_decision``): live, the step finds the version
the binding names, evaluates it over the task's data and records a ``decision_evaluated`` history event (decision,
version, inputs, matched rules, result); a replay finds that event and evaluates the recorded version again.
"""
from functools import cache
from pathlib import Path

from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin
from sqlalchemy import bindparam, select

from ..models import DecisionDefinition, ProcessDefinition
from . import dmn, expressions, history

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BINDINGS = ("latest", "deployment", "version")


def _attr(node, name):
    return (node.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()


class DecisionTask(BusinessRuleTask):
    """Evaluates the decision ``decision_ref`` and stores the mapped result under ``result_variable``."""

    def __init__(self, wf_spec, bpmn_id, decision_ref="", binding="latest", version=None, result_variable=None,
                 mapping=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, dmnEngine=None, **kwargs)
        self.decision_ref, self.binding, self.version = decision_ref, binding, version
        self.result_variable, self.mapping = result_variable, mapping

    def _run_hook(self, my_task):
        result = my_task.workflow.script_engine.evaluate_decision(my_task, self)
        if self.result_variable:
            my_task.data[self.result_variable] = result
        return super(BusinessRuleTaskMixin, self)._run_hook(my_task)


class DecisionTaskParser(CamundaTaskParser):
    """Reads the Camunda attributes; what is wrong with them is reported by ``check`` at deployment."""

    def create_task(self):
        version = _attr(self.node, "decisionRefVersion")
        return self.spec_class(self.spec, self.bpmn_id, decision_ref=_attr(self.node, "decisionRef"),
                               binding=_attr(self.node, "decisionRefBinding") or "latest",
                               version=int(version) if version.isdigit() else None,
                               result_variable=_attr(self.node, "resultVariable") or None,
                               mapping=_attr(self.node, "mapDecisionResult") or None, **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):  # SpiffWorkflow collects these as dependencies while reading a diagram
        return _attr(node, "decisionRef")


def check(session, trees, filename, deploying, warnings=None):
    """Problems of the business rule tasks in a diagram; ``deploying`` maps decision keys of this deployment to
    the version they will get. A decision not deployed (yet) is a warning, added to ``warnings``: Camunda 7 looks
    the decision up only when the task is reached (the Modeler deploys a .bpmn and its .dmn one at a time), and
    so does this service (``find``: a clear 422 if it is still missing then)."""
    problems = []
    for tree in trees:
        for node in tree.iter(f"{{{BPMN_NS}}}businessRuleTask"):
            later = []
            problems += [{"file": filename, "element": node.get("id"), "message": m}
                         for m in _task_problems(session, node, deploying, later)]
            if warnings is not None:
                warnings += [{"file": filename, "element": node.get("id"), "message": m} for m in later]
    return problems


def _task_problems(session, node, deploying, later):
    label = node.get("name") or node.get("id")
    for java in ("class", "expression", "delegateExpression"):
        if _attr(node, java):
            return [f"业务规则任务 {label} 使用了 camunda:{java}（Java），本服务不执行 Java 代码，请改用 DMN 决策表"
                    f"（camunda:decisionRef） / camunda:{java} is not supported: use a DMN decision"]
    if _attr(node, "type") == "external":
        return [f"业务规则任务 {label} 设为外部任务，请改用服务任务（External）或 DMN 决策表 / "
                f"use a service task for external work"]
    ref, binding = _attr(node, "decisionRef"), _attr(node, "decisionRefBinding") or "latest"
    version, mapping = _attr(node, "decisionRefVersion"), _attr(node, "mapDecisionResult")
    problems = []
    if not ref:
        return [f"业务规则任务 {label} 未设置 camunda:decisionRef（要执行的 DMN 决策 id） / decisionRef missing"]
    if expressions.is_juel(ref):
        return [f"业务规则任务 {label} 的 decisionRef 是表达式 {ref}，请填写决策 id / decisionRef must be a decision id"]
    if binding not in BINDINGS or (binding == "version" and not version.isdigit()):
        problems.append(f"业务规则任务 {label} 的 decisionRefBinding “{binding}” / decisionRefVersion “{version}” 无效"
                        f"（latest、deployment 或 version + 整数版本号） / invalid decisionRefBinding")
    if mapping and mapping not in dmn.MAPPINGS:
        problems.append(f"业务规则任务 {label} 的 mapDecisionResult “{mapping}” 无效，应为 singleEntry、singleResult、"
                        f"collectEntries 或 resultList / invalid mapDecisionResult")
    result_variable = _attr(node, "resultVariable")
    if result_variable and not result_variable.isidentifier():
        problems.append(f"业务规则任务 {label} 的 resultVariable “{result_variable}” 不是有效的变量名 / invalid "
                        f"resultVariable")
    newest = deploying.get(ref) or _max_version(session, ref)
    if not newest:
        later.append(f"业务规则任务 {label} 引用的决策 {ref} 尚未部署，到达该任务前请部署其 .dmn 文件 / "
                     f"decision {ref} is not deployed yet: deploy its .dmn before the task is reached")
    elif binding == "version" and version.isdigit() and int(version) > newest:
        later.append(f"业务规则任务 {label} 引用的决策 {ref} 尚无版本 {version} / decision version not deployed yet")
    return problems


def _max_version(session, key):
    return session.scalar(select(DecisionDefinition.version).where(DecisionDefinition.key == key)
                          .order_by(DecisionDefinition.version.desc()).limit(1))


def latest(session, key):
    return session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == key)
                           .order_by(DecisionDefinition.version.desc()).limit(1)).first()


def _latest_where(*clauses):
    return (select(DecisionDefinition).where(DecisionDefinition.key == bindparam("key"), *clauses)
            .order_by(DecisionDefinition.version.desc()).limit(1))


@cache
def _find_queries():
    """``find``'s statements by what narrows the key, built once (a reused statement keeps its cache key: a step
    skips building the query and its key)."""
    return {None: _latest_where(),
            "version": _latest_where(DecisionDefinition.version == bindparam("version")),
            "deployment": _latest_where(DecisionDefinition.deployment_id <= bindparam("deployment"))}


def find(session, spec, definition_id):
    """The decision version a task's binding names: ``deployment`` is the version current when the instance's
    process version was deployed (deployed with it, or before it)."""
    params, narrow = {"key": spec.decision_ref}, None
    if spec.binding == "version":
        params["version"], narrow = spec.version, "version"
    elif spec.binding == "deployment" and definition_id is not None:
        process = session.get(ProcessDefinition, definition_id)
        if process is not None and process.deployment_id is not None:
            params["deployment"], narrow = process.deployment_id, "deployment"
    row = session.scalars(_find_queries()[narrow], params).first()
    if row is None:
        raise dmn.DecisionError(f"业务规则任务 {spec.bpmn_id} 引用的决策 {spec.decision_ref} 未部署 / decision not "
                                f"deployed")
    return row


def evaluate(row, spec, data):
    """What a step records for one evaluation; ``result`` is exactly what the task stores (JSON values)."""
    outcome = dmn.evaluate(dmn.table_of(row), data)
    return history.jsonable({"decision": row.key, "version": row.version, "inputs": outcome["inputs"],
                             "matched": outcome["matched"], "result_variable": spec.result_variable,
                             "result": dmn.map_result(outcome["results"], spec.mapping, row.key)})


def deployment_of(session, data):
    """The deployment of the latest decision deployed from exactly this .dmn content, if any."""
    from .deployments import _decode_xml, content_hash
    try:
        digest = content_hash(_decode_xml(data))
    except ValueError:
        return None
    row = session.scalars(select(DecisionDefinition).where(DecisionDefinition.content_hash == digest)
                          .order_by(DecisionDefinition.id.desc()).limit(1)).first()
    return row.deployment if row is not None else None


def collect(text, filename):
    """(tables, problems) of a .dmn file being deployed."""
    return dmn.parse(text, filename)


def new_versions(session, files, changed_only, deployment, deployed_by, content_hash, known_is_unchanged=False):
    """DecisionDefinition rows for the decisions of ``files`` [(filename, text, tables)] that changed;
    ``known_is_unchanged`` (start-up): content deployed before under that key is no change either, so a version
    deployed later (from the Modeler or the 系统设置 page) stays the latest."""
    rows = []
    for filename, text, tables in files:
        digest = content_hash(text)
        for table in tables:
            current = latest(session, table.key)
            if current is not None and changed_only and (current.content_hash == digest or (
                    known_is_unchanged and session.scalar(select(DecisionDefinition.id).where(
                        DecisionDefinition.key == table.key, DecisionDefinition.content_hash == digest).limit(1)))):
                continue
            rows.append(DecisionDefinition(key=table.key, name=table.name[:200], dmn_xml=text, content_hash=digest,
                                           resource_name=Path(filename).name[:200], deployment=deployment,
                                           deployed_by=deployed_by,
                                           version=(current.version + 1) if current else 1))
    return rows
