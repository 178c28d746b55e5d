"""Checks a diagram must pass before it is deployed; each problem names the file, the element and the fix."""
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from sqlalchemy import select

from .. import handlers
from ..models import FormDefinition, ProcessDefinition
from ..models.org import ROLES
from . import expressions
from .specs import ExternalServiceTask, HumanUserTask

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
_LAID_OUT = ("task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
             "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
             "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
             "inclusiveGateway", "eventBasedGateway")


def _known_forms(session, extra):
    return set(extra) | set(session.scalars(select(FormDefinition.key).distinct())) if session else set(extra)


def _known_processes(session, extra):
    return set(extra) | set(session.scalars(select(ProcessDefinition.key).distinct())) if session else set(extra)


def check(session, parser, filename, form_keys=(), process_keys=()):
    problems = []

    def add(element, message):
        problems.append({"file": filename, "element": element, "message": message})

    forms = _known_forms(session, form_keys)
    processes = _known_processes(session, process_keys) | set(parser.process_parsers)
    topics = handlers.topics()
    for process_id in parser.get_process_ids():
        spec = parser.get_spec(process_id)  # embedded sub-processes included
        for ts in spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if isinstance(ts, ExternalServiceTask) and ts.topic and ts.topic not in topics:
                add(bpmn_id, f"Topic “{ts.topic}” 没有已注册的处理程序；请改为已有 Topic（{', '.join(sorted(topics))}）"
                             f" / no handler registered for topic")
            if isinstance(ts, HumanUserTask):
                if ts.form_key and ts.form_key not in forms:
                    add(bpmn_id, f"表单 “{ts.form_key}” 未部署；请同时部署 forms/{ts.form_key}.form / form not deployed")
                for group in ts.candidate_groups:
                    if not expressions.is_juel(group) and group not in ROLES:
                        add(bpmn_id, f"候选组 “{group}” 不是已知角色（{', '.join(ROLES)}） / unknown candidate group")
            form_key = (getattr(ts, "extensions", None) or {}).get("form_key")
            if form_key and not isinstance(ts, HumanUserTask) and form_key not in forms:
                add(bpmn_id, f"开始表单 “{form_key}” 未部署 / start form not deployed")
            if isinstance(ts, CallActivity) and ts.spec not in processes:
                add(bpmn_id, f"调用活动引用的流程 “{ts.spec}” 未部署；请先部署它 / called process not deployed")
    problems.extend(_check_layout(parser, filename))
    return problems


def _check_layout(parser, filename):
    """Every element must have diagram layout, or Camunda Modeler opens the file without it."""
    problems = []
    for tree in parser.trees:
        drawn = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNShape", NS)}
        drawn |= {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
        for tag in _LAID_OUT + ("sequenceFlow",):
            for node in tree.iterfind(f".//bpmn:{tag}", NS):
                if node.get("id") not in drawn:
                    problems.append({"file": filename, "element": node.get("id"),
                                     "message": "缺少图形布局（BPMN DI），请在 Camunda Modeler 中打开并保存 / no diagram layout"})
    return problems
