"""Read diagrams the way Camunda Modeler (Camunda 7) writes them.

SpiffWorkflow's Camunda parser ignores candidate groups, assignees, due dates, form
references, external service tasks and input/output mappings, and hands bare ISO
timer text to its Python evaluator. The parsers below read those attributes into
the task specs of ``specs.py``; every construct we cannot run safely is collected as
a problem naming its element, so a deployment is refused with all reasons at once.
"""
import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import ERROR_EVENT_XPATH
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (CamundaBoundaryEventParser, CamundaIntermediateCatchEventParser,
                                                        CamundaStartEventParser)
from SpiffWorkflow.camunda.parser.task_spec import (CAMUNDA_MODEL_NS, CallActivityParser, CamundaTaskParser,
                                                    ScriptTaskParser)
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, SubprocessParser
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, InclusiveGateway, IntermediateCatchEvent, StartEvent

from . import bpmn_errors, camunda_compat, expressions, form_data
from .dmn_task import DecisionTask, DecisionTaskParser
from .forms_ref import is_html_form, key_from
from .specs import (SEMANTICS, ExternalServiceTask, HumanUserTask, MappedCallActivity, PassThroughTask,
                    SafeScriptTask)

CAMUNDA = "{%s}" % CAMUNDA_MODEL_NS
BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_ISO_TIMER = re.compile(r"^(R\d*/)?[0-9P][0-9A-Za-z:.+\-/,]*$")
_CRON = re.compile(r"^\S+(\s+\S+){4,6}$")


def form_key_from(value):
    """The form a formRef/formKey names (forms_ref.key_from); an expression is kept to be resolved at run time."""
    if value and expressions.is_juel(value.strip()):
        return value.strip()
    return key_from(value)


def _problem(parser, message):
    parser.process_parser.parser.problems.append(
        {"file": parser.filename, "element": parser.bpmn_id, "message": message})


def _legacy(parser):
    return parser.process_parser.parser.semantics < SEMANTICS


def _check_expression(parser, expression, what):
    try:
        expressions.compile_expression(expression)
    except expressions.ExpressionError as exc:
        _problem(parser, f"{what}: {exc}")


def parse_input_output(parser):
    """camunda:inputOutput → ({name: expression-or-literal}, {name: expression})."""
    inputs, outputs = {}, {}
    for kind, target in (("inputParameter", inputs), ("outputParameter", outputs)):
        for node in parser.xpath(f"./bpmn:extensionElements/camunda:inputOutput/camunda:{kind}"):
            name = node.get("name")
            children = [c for c in node if isinstance(c.tag, str)]
            if children:
                child = children[0]
                if child.tag == f"{CAMUNDA}script":
                    _problem(parser, f"参数 {name} 使用了 {child.get('scriptFormat') or ''} 脚本，本服务不执行脚本，"
                                     f"请改用表达式 ${{…}} / script parameter not supported")
                    continue
                if child.tag == f"{CAMUNDA}list":
                    target[name] = [c.text or "" for c in child]
                    continue
                if child.tag == f"{CAMUNDA}map":
                    target[name] = {e.get("key"): e.text or "" for e in child}
                    continue
            value = (node.text or "").strip()
            if expressions.is_juel(value):
                _check_expression(parser, value, f"参数 {name}")
            target[name] = value
    return inputs, outputs


def generated_form(parser):
    """camunda:formData → a generated Camunda Form registered with the parser (form_data.py); its key, or None."""
    schema, problems = form_data.build(parser.node, {"bpmn": BPMN_MODEL_NS, "camunda": CAMUNDA_MODEL_NS},
                                       parser.bpmn_id)
    for message in problems:
        _problem(parser, message)
    if schema is None:
        return None
    key = form_data.generated_key(parser.process_parser.bpmn_id, parser.bpmn_id)
    schema["id"] = key
    parser.process_parser.parser.generated_forms[key] = schema
    return key


class UserTaskParser(CamundaTaskParser):

    def create_task(self):
        attr = lambda name: self.node.get(f"{CAMUNDA}{name}")  # noqa: E731
        groups = [g.strip() for g in (attr("candidateGroups") or "").split(",") if g.strip()]
        users = [u.strip() for u in (attr("candidateUsers") or "").split(",") if u.strip()]
        for value in groups + users + [attr("assignee") or "", attr("dueDate") or ""]:
            if expressions.is_juel(value):
                _check_expression(self, value, "用户任务属性")
        inputs, outputs = parse_input_output(self)
        binding = attr("formRefBinding") or "latest"
        version = (attr("formRefVersion") or "").strip()
        if attr("formRef") and (binding not in ("latest", "deployment", "version")
                                or (binding == "version" and not version.isdigit())):
            _problem(self, f"formRefBinding “{binding}” / formRefVersion “{version}” 无效：binding 应为 latest、"
                           f"deployment 或 version（version 时须填写整数版本号） / invalid formRefBinding or formRefVersion")
        task = self.spec_class(
            self.spec, self.bpmn_id,
            candidate_groups=groups, candidate_users=users, assignee=attr("assignee"),
            due_date=attr("dueDate"), form_key=form_key_from(attr("formRef") or attr("formKey")),
            input_parameters=inputs, output_parameters=outputs, legacy=_legacy(self), **self.bpmn_attributes)
        task.form_binding = binding if attr("formRef") else "latest"
        task.form_version = int(version) if version.isdigit() else None
        task.html_form = attr("formKey") if is_html_form(attr("formKey")) else None
        generated = generated_form(self)
        if generated and not task.form_key:
            task.form_key = generated
        return task


class ServiceTaskParser(CamundaTaskParser):

    def create_task(self):
        kind = self.node.get(f"{CAMUNDA}type")
        topic = self.node.get(f"{CAMUNDA}topic")
        if kind != "external" or not topic:
            instead = ("请改为 Implementation=External 并填写 Topic：内置处理程序或外部执行程序（/engine-rest/external-task）"
                       "完成它")
            connector = self.node.find(f"./{{{BPMN_MODEL_NS}}}extensionElements/{CAMUNDA}connector")
            for attr in ("class", "expression", "delegateExpression"):
                if self.node.get(f"{CAMUNDA}{attr}"):
                    _problem(self, f"服务任务使用了 camunda:{attr}=“{self.node.get(f'{CAMUNDA}{attr}')}”（Java），本服务不执行"
                                   f" Java 代码；{instead} / camunda:{attr} (Java) is not supported: use an external "
                                   f"task topic")
                    break
            else:
                if connector is not None:
                    cid = (connector.findtext(f"{CAMUNDA}connectorId") or "").strip()
                    _problem(self, f"服务任务使用了 Camunda Connect 连接器 “{cid}”，本服务不提供连接器；{instead} / "
                                   f"connectors ({cid}) are not supported: use an external task topic")
                else:
                    _problem(self, f"服务任务未设置实现；{instead} / service task needs Implementation=External and a "
                                   f"topic")
        inputs, outputs = parse_input_output(self)
        return self.spec_class(self.spec, self.bpmn_id, topic=topic or "", input_parameters=inputs,
                               output_parameters=outputs, priority=self._priority(), **self.bpmn_attributes)

    def _priority(self):
        """``camunda:taskPriority`` of the task, else of its process (Camunda's default for the process's external
        tasks), else 0: a whole number, or an expression evaluated when the task is reached (``specs``)."""
        text = (self.node.get(f"{CAMUNDA}taskPriority") or "").strip()
        if not text:
            process = next(self.node.iterancestors(full_tag("process")), None)
            text = ((process.get(f"{CAMUNDA}taskPriority") if process is not None else None) or "").strip()
        if re.fullmatch(r"[+-]?\d{1,18}", text):
            return int(text)
        if text.startswith(("${", "#{")) and text.endswith("}"):
            _check_expression(self, text, "camunda:taskPriority")
            return text
        if text:
            _problem(self, f"camunda:taskPriority “{text}” 应为整数或 ${{表达式}} / taskPriority must be a whole number or "
                           f"an expression")
        return 0


class MappedCallActivityParser(CallActivityParser):
    """Camunda 7 variable passing: ``<camunda:in>`` into the called process, ``<camunda:out>`` back, in
    document order (a later mapping of the same target wins). Without any, nothing passes but the engine's own
    variables (initiator, unit_id, business_key); ``variables="all"`` passes everything, as in Camunda."""

    def create_task(self):
        return self.spec_class(self.spec, self.bpmn_id, SubprocessParser.get_call_activity_spec(self),
                               in_mappings=self._mappings("in"), out_mappings=self._mappings("out"),
                               legacy=_legacy(self), **self.bpmn_attributes)

    def _mappings(self, direction):
        mappings = []
        for node in self.xpath(f"./bpmn:extensionElements/camunda:{direction}"):
            target = node.get("target")
            if node.get("variables") == "all":
                mappings.append(("*", None, False))
            elif node.get("businessKey") is not None:
                continue  # the business key always passes (an engine variable)
            elif node.get("sourceExpression") is not None and target:
                value = node.get("sourceExpression")
                if expressions.is_juel(value):
                    _check_expression(self, value, f"调用参数 {target}")
                mappings.append((target, value, True))
            elif node.get("source") and target:
                mappings.append((target, node.get("source"), False))
            else:
                _problem(self, f"camunda:{direction} 缺少 source/sourceExpression 与 target，或 variables=\"all\""
                               f" / camunda:{direction} needs source and target, or variables=\"all\"")
        return mappings


class SafeScriptTaskParser(ScriptTaskParser):

    def create_task(self):
        script = self.get_script()
        try:
            expressions.check_script_size(script)
        except expressions.ExpressionError as exc:
            _problem(self, str(exc))
            script = ""
        for lineno, line in enumerate((script or "").splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                name, sep, expr = line.partition("=")
                if not sep or not name.strip().isidentifier():
                    _problem(self, f"脚本第 {lineno} 行只允许“变量 = 表达式” / only 'name = expression' lines")
                else:
                    _check_expression(self, expr.strip(), f"脚本第 {lineno} 行")
        return self.spec_class(self.spec, self.bpmn_id, script=script, **self.bpmn_attributes)


class TimerTextMixin:
    """Camunda Modeler writes timers bare (``P10D``); Spiff evaluates them as expressions, so quote them."""

    def parse_timer_event(self, event):
        for tag in ("timeDate", "timeDuration", "timeCycle"):
            for node in self.xpath(f".//bpmn:{tag}"):
                text = (node.text or "").strip()
                if expressions.is_juel(text):
                    _check_expression(self, text, "定时器表达式")
                elif _CRON.match(text):
                    _problem(self, f"定时器使用了 cron 表达式 “{text}”，请改用 ISO-8601（如 R/2026-12-01T00:00:00/P1Y）"
                                   f" / cron cycles are not supported, use ISO-8601")
                    node.text = repr("R/PT24H")
                elif _ISO_TIMER.match(text):
                    node.text = repr(text)
                else:
                    _problem(self, f"无法识别的定时器表达式 “{text}” / unrecognised timer expression")
                    node.text = repr("PT0S")
        return super().parse_timer_event(event)


class PropertiesMixin:
    """Camunda extension properties of an event (``camunda:properties``), e.g. the candidateGroups that may send a
    message; SpiffWorkflow reads them for tasks only."""

    def parse_extensions(self, node=None):
        ext = dict(super().parse_extensions(node) or {})
        for prop in self.xpath("./bpmn:extensionElements/camunda:properties/camunda:property"):
            ext[prop.get("name")] = prop.get("value")
        return ext


class StartEventParser(PropertiesMixin, TimerTextMixin, CamundaStartEventParser):

    def create_task(self):
        """An error start event (only allowed in an event sub-process) waits for its error; SpiffWorkflow reads no
        error definition on start events and would start such an event sub-process with the process."""
        parent = self.node.getparent()
        if parent is not None and parent.tag == full_tag("subProcess") and parent.get("triggeredByEvent") == "true" \
                and self.xpath(ERROR_EVENT_XPATH):
            task = self._create_task(self.get_event_definition([ERROR_EVENT_XPATH]))
            self.spec.start.connect(task)
            return task
        return super().create_task()

    def parse_extensions(self, node=None):
        ext = super().parse_extensions(node)
        ext["form_key"] = form_key_from(self.node.get(f"{CAMUNDA}formRef") or self.node.get(f"{CAMUNDA}formKey")) \
            or generated_form(self)
        ext["initiator"] = self.node.get(f"{CAMUNDA}initiator")
        return ext


class IntermediateCatchEventParser(PropertiesMixin, TimerTextMixin, CamundaIntermediateCatchEventParser):
    pass


class BoundaryEventParser(PropertiesMixin, TimerTextMixin, CamundaBoundaryEventParser):
    pass


class InclusiveGatewayParser(ConditionalGatewayParser):
    """Camunda 7 takes an inclusive gateway's outgoing flow that has no condition whenever the gateway is reached
    (only exclusive gateways need a condition on every non-default flow)."""

    def connect_outgoing(self, outgoing_task, sequence_flow_node, is_default):
        if not is_default and self.parse_condition(sequence_flow_node) is None:
            self.task.connect_outgoing_if("True", outgoing_task)
            return
        super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)


class ProcurementParser(CamundaParser):
    """The parser every deployment goes through."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (UserTaskParser, HumanUserTask),
        full_tag("serviceTask"): (ServiceTaskParser, ExternalServiceTask),
        full_tag("sendTask"): (ServiceTaskParser, ExternalServiceTask),
        full_tag("scriptTask"): (SafeScriptTaskParser, SafeScriptTask),
        full_tag("callActivity"): (MappedCallActivityParser, MappedCallActivity),
        full_tag("startEvent"): (StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryEventParser, BoundaryEvent),
        full_tag("inclusiveGateway"): (InclusiveGatewayParser, InclusiveGateway),
        full_tag("task"): (CamundaTaskParser, PassThroughTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
    }

    def __init__(self, semantics=SEMANTICS):
        super().__init__()
        self.semantics = semantics  # of the definition parsed (specs.SEMANTICS)
        self.problems = []
        self.trees = []
        self.generated_forms = {}  # camunda:formData, as Camunda Forms (form_data.py)

    def get_spec(self, process_id, required=True):
        spec = super().get_spec(process_id, required=required)
        if spec is not None:
            bpmn_errors.prepare_event_subprocesses(spec, self)
        return spec

    def add_bpmn_text(self, text, filename):
        """Parse diagram text; XML errors become a ValidationException naming the file."""
        try:
            tree = etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text,
                                    parser=etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise ValidationException(f"XML 格式错误 / not well-formed XML: {exc}", file_name=filename) from exc
        self.trees.append(tree)
        self.problems.extend(camunda_compat.screen(tree, filename))
        self._unwrap_collections(tree)
        self.add_bpmn_xml(tree, filename=filename)
        self._check_conditions(tree, filename)

    def _unwrap_collections(self, tree):
        """``camunda:collection="${creditScores}"`` names a variable; SpiffWorkflow wants the bare name."""
        attr = f"{CAMUNDA}collection"
        for node in tree.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}multiInstanceLoopCharacteristics"):
            inner = expressions.unwrap(node.get(attr))
            if inner and inner.strip().isidentifier():
                node.set(attr, inner.strip())

    def _check_conditions(self, tree, filename):
        ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
        for flow in tree.iterfind(".//bpmn:sequenceFlow", ns):
            cond = flow.find("bpmn:conditionExpression", ns)
            if cond is None or not (cond.text or "").strip():
                continue
            if cond.get("language") not in (None, "", "juel", "JUEL"):
                self.problems.append({"file": filename, "element": flow.get("id"),
                                      "message": f"条件使用了 {cond.get('language')} 脚本，请改用表达式 / scripted condition not supported"})
                continue
            try:
                expressions.compile_expression(cond.text)
            except expressions.ExpressionError as exc:
                self.problems.append({"file": filename, "element": flow.get("id"), "message": f"条件: {exc}"})
