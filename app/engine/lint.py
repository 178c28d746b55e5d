"""Checks a diagram must pass before it is deployed; each problem names the file, the element and the fix.
``cycle_warnings`` finds what is allowed but suspicious (a cycle with no wait state): reported, not refused."""
import ast
import difflib

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition, TimeDateEventDefinition,
                                                              TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from sqlalchemy import select

from .. import handlers
from ..models import FormDefinition, ProcessDefinition
from ..models.integration import MACHINE_ROLES
from ..models.org import ROLES
from . import expressions, lint_geometry, timers
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


def _form_version_exists(session, key, version):
    return session.scalar(select(FormDefinition.id).where(FormDefinition.key == key,
                                                          FormDefinition.version == version).limit(1)) is not None


def assignment_warnings(parser, filename):
    """Allowed but worth saying: user tasks nobody named holds (the fallback holders take them, runtime
    ``unassigned_fallback``), candidate groups that are no role here, embedded HTML forms this service lacks."""
    warnings = []

    def warn(element, message):
        warnings.append({"file": filename, "element": element, "message": message})
    for process_id in parser.get_process_ids():
        for ts in parser.get_spec(process_id).task_specs.values():
            if not isinstance(ts, HumanUserTask):
                continue
            unknown = [g for g in ts.candidate_groups if not expressions.is_juel(g) and g not in ROLES]
            for group in unknown:
                warn(ts.bpmn_id, f"候选组 “{group}” 不是本服务的角色（{', '.join(ROLES)}） / unknown candidate group")
            known = [g for g in ts.candidate_groups if g not in unknown]
            if not (known or ts.candidate_users or ts.assignee):
                warn(ts.bpmn_id, "用户任务没有处理人、候选用户或本服务已知的候选组：由系统管理员、流程的发起岗位"
                                 "（candidateStarterGroups）和发起人办理；请设置 candidateGroups / user task without "
                                 "assignee or known candidate group: administrators, starter groups and the initiator "
                                 "hold it")
            if getattr(ts, "html_form", None):
                warn(ts.bpmn_id, f"嵌入式 HTML 表单 “{ts.html_form}” 属于 Java 应用，本服务不提供；任务将以通用表单办理，"
                                 f"请改用 Camunda Form（formRef） / embedded HTML forms are not served: use a Camunda Form")
    return warnings


def topic_warnings(parser, filename):
    """A topic with no built-in handler becomes an external task a worker must fetch (Camunda 7). When it is close
    to a registered topic it is more likely a typo: said, not refused."""
    topics = handlers.topics()
    warnings = []
    for process_id in parser.get_process_ids():
        for ts in parser.get_spec(process_id).task_specs.values():
            if not isinstance(ts, ExternalServiceTask) or not ts.topic or ts.topic in topics:
                continue
            close = difflib.get_close_matches(ts.topic, sorted(topics), n=3, cutoff=0.8)
            hint = f"；若是笔误，已注册的相近 Topic 有 {'、'.join(close)}" if close else ""
            warnings.append({"file": filename, "element": ts.bpmn_id, "message": (
                f"Topic “{ts.topic}” 没有内置处理程序，将作为外部任务等待外部执行程序（/engine-rest/external-task/"
                f"fetchAndLock）{hint} / topic has no built-in handler: an external task waits for a worker")})
    return warnings


def check(session, parser, filename, form_keys=(), process_keys=()):
    problems = []

    def add(element, message):
        problems.append({"file": filename, "element": element, "message": message})

    forms = _known_forms(session, form_keys)
    processes = _known_processes(session, process_keys) | set(parser.process_parsers)
    for process_id in parser.get_process_ids():
        spec = parser.get_spec(process_id)  # embedded sub-processes included
        for ts in spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if isinstance(ts, HumanUserTask):
                if ts.form_key and not expressions.is_juel(ts.form_key) and ts.form_key not in forms:
                    add(bpmn_id, f"表单 “{ts.form_key}” 未部署；formRef 按表单 JSON 的 id 查找（没有 id 时按文件名），请同时"
                                 f"部署该表单 / form not deployed (formRef names the form's id)")
                version = getattr(ts, "form_version", None)
                if ts.form_key in forms and getattr(ts, "form_binding", "") == "version" and version is not None \
                        and session is not None and ts.form_key not in form_keys and not _form_version_exists(
                            session, ts.form_key, version):
                    add(bpmn_id, f"表单 “{ts.form_key}” 没有版本 {version} / formRefVersion not deployed")
            form_key = (getattr(ts, "extensions", None) or {}).get("form_key")
            if form_key and not isinstance(ts, HumanUserTask) and not expressions.is_juel(form_key) \
                    and form_key not in forms:
                add(bpmn_id, f"开始表单 “{form_key}” 未部署 / start form not deployed")
            if isinstance(ts, CallActivity) and ts.spec not in processes and ts.spec not in parser.process_parsers:
                add(bpmn_id, f"调用活动引用的流程 “{ts.spec}” 未部署；请先部署它 / called process not deployed")
            problems.extend(_check_mappings(ts, filename))
            problems.extend(_check_message_senders(ts, filename, starts_by_person(spec)))
    problems.extend(_check_gateway_reads(session, parser, filename, form_keys))
    problems.extend(check_timers(parser, filename))
    problems.extend(_check_layout(parser, filename))
    return problems


# -- nothing strands by construction ---------------------------------------------------------------------------
def starts_by_person(spec):
    """Can a person start the process (a none start event, or a message start event, which Camunda 7 also starts
    over REST)? Otherwise its initiator is the system."""
    return any(type(ts).__name__ == "StartEvent" and type(getattr(ts, "event_definition", None)).__name__ in
               ("NoneEventDefinition", "MessageEventDefinition") for ts in spec.task_specs.values())


def _check_message_senders(ts, filename, person_started):
    """A message event somebody must send: its candidateGroups are known roles, or the initiator is a person."""
    definition = getattr(ts, "event_definition", None)
    if type(definition).__name__ != "MessageEventDefinition":
        return []
    groups = [g.strip() for g in (getattr(ts, "extensions", None) or {}).get("candidateGroups", "").split(",")
              if g.strip()]
    problems = [{"file": filename, "element": ts.bpmn_id, "message": (
        f"消息事件的 candidateGroups “{g}” 不是已知角色 / unknown candidate group of a message event")}
        for g in groups if g not in ROLES and g not in MACHINE_ROLES]
    if not groups and not person_started:
        problems.append({"file": filename, "element": ts.bpmn_id, "message": (
            f"消息“{definition.name}”只能由发起人发送，但本流程只由定时器发起（发起人是系统），没有人能发送它；请设置扩展属性 "
            "candidateGroups / a message nobody may send: the process is only started by a timer")})
    return problems


def _check_mappings(ts, filename):
    """``camunda:in variables="all"`` after a specific mapping overwrites it (Camunda applies them in order)."""
    problems = []
    for direction in ("in_mappings", "out_mappings"):
        targets = [target for target, _, _ in getattr(ts, direction, None) or []]
        if "*" in targets and any(t != "*" for t in targets[:targets.index("*")]):
            tag = "camunda:in" if direction == "in_mappings" else "camunda:out"
            problems.append({"file": filename, "element": ts.bpmn_id, "message": (
                f'{tag} variables="all" 写在具体映射之后，会覆盖前面的映射；请把它放在第一个 / variables="all" after a '
                f"specific mapping overrides it: put it first")})
    return problems


# -- a gateway right after a user task reads what the form asks ---------------------------------------------
# The rule: a gateway whose incoming flow comes straight from a user task may read, in its conditions, a
# variable the task's form declares, or one that *something else in the diagram* visibly sets: a field of
# any other form of the diagram, a camunda:in target, an input/output parameter, a script task's
# assignment, a message payload (``<name>_data``) or a variable the engine sets (initiator, unit_id, …).
# Handler outputs are not known statically: a service task that sets a variable a gateway reads should
# declare it as an output parameter (``<camunda:outputParameter name="unit_level">${unit_level}</…>``).
ENGINE_VARIABLES = {"initiator", "unit_id", "error_code", "error_message", "business_key"}


def _names_read(expression):
    """Variables a condition reads (the root of ``a.b``), without functions and literals."""
    import ast
    try:
        tree = ast.parse(expressions._translate_juel(expressions.unwrap(expression)), mode="eval")
    except (SyntaxError, expressions.ExpressionError):
        return set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names - set(expressions._FUNCTIONS) - {"True", "False", "None"}


def _form_schemas(session, form_keys):
    from . import deployments
    from .forms import field_keys
    schemas = dict(form_keys) if isinstance(form_keys, dict) else {}

    def fields(key):
        if key not in schemas and session is not None:
            form = deployments.latest_form(session, key)
            schemas[key] = form.schema if form is not None else None
        schema = schemas.get(key)
        return field_keys(schema) if schema else None
    return fields


def _user_task_before(gateway):
    for spec in gateway.inputs:
        if isinstance(spec, HumanUserTask):
            return spec
        if spec.name.endswith(".BoundaryEventJoin"):  # a user task with boundary events joins here first
            for inner in spec.inputs:
                for candidate in [inner, *inner.inputs]:
                    if isinstance(candidate, HumanUserTask):
                        return candidate
    return None


def _set_in_diagram(parser, fields):
    known = set(ENGINE_VARIABLES)
    for process_id in parser.get_process_ids():
        for ts in parser.get_spec(process_id).task_specs.values():
            form_key = getattr(ts, "form_key", None) or (getattr(ts, "extensions", None) or {}).get("form_key")
            if form_key:
                known |= fields(form_key) or set()
            known |= set(getattr(ts, "input_parameters", None) or {})
            known |= set(getattr(ts, "output_parameters", None) or {})
            known |= {target for target, _, _ in getattr(ts, "in_mappings", None) or [] if target != "*"}
            known |= {target for target, _, _ in getattr(ts, "out_mappings", None) or [] if target != "*"}
            for line in (getattr(ts, "script", None) or "").splitlines():
                name, sep, _ = line.partition("=")
                if sep and name.strip().isidentifier():
                    known.add(name.strip())
            definition = getattr(ts, "event_definition", None)
            if type(definition).__name__ == "MessageEventDefinition" and getattr(definition, "name", None):
                known.add(f"{definition.name}_data")
    return known


def _check_gateway_reads(session, parser, filename, form_keys):
    problems = []
    fields = _form_schemas(session, form_keys)
    known = None
    for process_id in parser.get_process_ids():
        for gateway in parser.get_spec(process_id).task_specs.values():
            conditions = [c for c, _ in getattr(gateway, "cond_task_specs", None) or [] if c is not None]
            task = _user_task_before(gateway) if conditions else None
            if task is None or getattr(task, "html_form", None):
                continue  # an embedded HTML form's fields are unknown here (it may set the variable)
            declared = fields(task.form_key) if task.form_key else set()
            if declared is None:
                continue  # the form is missing: reported above
            if known is None:
                known = _set_in_diagram(parser, fields)
            for condition in conditions:
                for name in sorted(_names_read(condition.args[0]) - declared - known):
                    form = f"表单 “{task.form_key}”" if task.form_key else "（没有表单）"
                    problems.append({"file": filename, "element": gateway.bpmn_id, "message": (
                        f"网关读取变量 “{name}”，但它前面的用户任务 {task.bpmn_id} 的{form}没有该字段，流程中也没有"
                        f"其他表单或参数设置它；请在表单{' forms/' + task.form_key + '.form' if task.form_key else ''}"
                        f"中添加字段 {name}，或在设置它的服务任务上声明输出参数 {name} / gateway reads variable "
                        f"'{name}' that form '{task.form_key}' of user task {task.bpmn_id} does not declare "
                        f"and nothing in the diagram sets")})
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


def layout_findings(parser, filename):
    """Readability of the drawing (lint_geometry): deployments warn, scripts/lint_bpmn.py fails CI on it."""
    return lint_geometry.check(parser, filename)


# -- timers no shorter than the minimum ---------------------------------------------------------------------
def _timer_definitions(ts):
    definition = getattr(ts, "event_definition", None)
    return [d for d in getattr(definition, "event_definitions", None) or [definition]
            if isinstance(d, TimerEventDefinition)]


def check_timers(parser, filename):
    """Cycles and one-off durations written in the diagram must be at least ``TIMER_MIN_SECONDS`` (a cycle of
    R/PT0S would fire on every scheduler tick forever; a shorter wait cannot be kept by a scheduler that ticks
    every half minute anyway). Timers computed from instance data (``${…}``) are checked when they are set."""
    problems = []
    for process_id in parser.get_process_ids():
        for ts in parser.get_spec(process_id).task_specs.values():
            for definition in _timer_definitions(ts):
                if isinstance(definition, TimeDateEventDefinition):
                    continue
                try:
                    text = ast.literal_eval(definition.expression)
                except (ValueError, SyntaxError):
                    continue  # an expression: known only at run time
                if isinstance(text, str):
                    problem = timers.period_problem(text, isinstance(definition, CycleTimerEventDefinition),
                                                    ts.bpmn_id)
                    if problem:
                        problems.append({"file": filename, "element": ts.bpmn_id, "message": problem})
    return problems


# -- cycles without a wait state (warnings) -----------------------------------------------------------------
_WAITING_EVENTS = (MessageEventDefinition, TimerEventDefinition, SignalEventDefinition, ConditionalEventDefinition)


def _waits(ts, contains_wait):
    """Does reaching this element end the step (a person, a message, a timer or a signal must move it on)?"""
    if getattr(ts, "manual", False):
        return True
    if isinstance(ts, CatchingEvent):
        definition = getattr(ts, "event_definition", None)
        inner = getattr(definition, "event_definitions", None) or [definition]
        return any(isinstance(d, _WAITING_EVENTS) for d in inner)
    if isinstance(ts, SubWorkflowTask):
        return contains_wait(ts.spec)
    if isinstance(ts, ExternalServiceTask):
        return ts.topic not in handlers.topics()  # an external task waits for a worker
    return False


def _cycles(spec):
    """Strongly connected sets of task specs that form a cycle (Tarjan's algorithm, without recursion)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for root in spec.task_specs.values():
        if root.name in index:
            continue
        work = [(root, iter(root.outputs))]
        index[root.name] = low[root.name] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root.name)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child.name not in index:
                    index[child.name] = low[child.name] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child.name)
                    work.append((child, iter(child.outputs)))
                elif child.name in on_stack:
                    low[node.name] = min(low[node.name], index[child.name])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent.name] = min(low[parent.name], low[node.name])
            if low[node.name] == index[node.name]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member.name)
                    component.append(member)
                    if member is node:
                        break
                if len(component) > 1 or node in node.outputs:
                    found.append(component)
    return found


def cycle_warnings(session, parser, filename):
    """A cycle with no wait state runs round inside one step until the step budget stops it (and rolls it
    back): worth a second look, though a loop whose gateway always ends it (a bounded retry) is fine."""
    memo = {}

    def contains_wait(process_id):
        if process_id not in memo:
            memo[process_id] = True  # unknown or recursive: assume it waits rather than warn wrongly
            spec = _process_spec(session, parser, process_id)
            if spec is not None:
                memo[process_id] = any(_waits(ts, contains_wait) for ts in spec.task_specs.values())
        return memo[process_id]

    warnings = []
    for process_id in parser.get_process_ids():
        spec = parser.get_spec(process_id)
        order = {name: i for i, name in enumerate(spec.task_specs)}
        for component in _cycles(spec):
            if any(_waits(ts, contains_wait) for ts in component):
                continue
            elements = [ts.bpmn_id for ts in sorted(component, key=lambda ts: order[ts.name])
                        if getattr(ts, "bpmn_id", None)]
            if not elements:
                continue
            names = "、".join(elements)
            warnings.append({"file": filename, "element": elements[0], "message": (
                f"循环 {names} 中没有等待状态（用户任务、接收任务、消息/定时/信号捕获事件）：条件一直不让它结束时，流程会在"
                f"一个步骤内反复执行，直到超出执行预算被整体回滚。请在循环中加入等待状态，或确认网关条件必然结束循环 / "
                f"cycle {', '.join(elements)} contains no wait state (user task, receive task, message/timer/"
                f"signal catch event)")})
    return warnings


def _process_spec(session, parser, process_id):
    if process_id in parser.process_parsers:
        return parser.get_spec(process_id)
    if session is None:
        return None
    from . import deployments
    definition = deployments.latest(session, process_id)
    return deployments.parsed(definition).spec if definition is not None else None
