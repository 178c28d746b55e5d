"""Form fields nobody reads (issue 19): a field of a Camunda Form whose key nothing in the diagrams that use the form
ever reads is work for the clerk that goes nowhere. Reported as a warning (``scripts/lint_bpmn.py --strict`` fails on
it).

A diagram reads a variable when its name appears
- in an expression of the diagram: a gateway or event condition, an input/output parameter, an assignee or
  candidate expression, a timer, a multi-instance collection, ``camunda:in source``/``sourceExpression`` (the value
  goes on to the called process; ``camunda:in variables="all"`` hands on everything, so the diagram reads all);
- in a handler of one of its service tasks (``camunda:topic``): the handler's source, the helpers it calls in
  ``app/`` and the module constants they use, read statically (any string literal there may name an input);
- in a text of one of its forms (``{{contract_number}}``), or as a field of another of its forms (shown again, or
  carried on to a later step);
- by the engine for every diagram (``ENGINE_READS``: the review convention, the chosen action);
- by a reviewer: where the diagram (or a process it calls) has a review, the review task shows the submission
  before it, every field (app/web/review.py), so a form that is not itself the review is read whole.
The test errs towards "read": a key that merely appears as a word counts. What it reports is a field nothing
above names at all.
"""
import ast
import inspect
import json
import re
import textwrap
from functools import lru_cache
from xml.etree import ElementTree

from .. import handlers

ENGINE_READS = {"approved", "comment", "action", "next_reviewer", "unit_id", "business_key"}
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\{\{[#/]?(?:if|each|unless)?\s*([^{}]*)\}\}")
ALL = object()  # "reads every variable" (camunda:in variables="all", a handler that hands on the whole data)


# -- what a handler reads -----------------------------------------------------------------------------------------
def _strings_of(value, seen):
    """String literals of a constant (tuple, list, set, dict, str), nested ones too."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (tuple, list, set, frozenset)) and id(value) not in seen:
        seen.add(id(value))
        found = set()
        for item in value:
            found |= _strings_of(item, seen)
        return found
    return set()


def _resolve(node, namespace):
    """The object an ``a`` or ``a.b.c`` expression names in a module's namespace, or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in namespace:
        return None
    value = namespace[node.id]
    for part in reversed(parts):
        value = inspect.getattr_static(value, part, None)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if value is None:
            return None
    return value


def _ours(obj):
    return (getattr(obj, "__module__", "") or "").startswith("app.")


def _function_strings(fn, seen):
    if fn in seen or not inspect.isfunction(fn) or not _ours(fn):
        return set()
    seen.add(fn)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return set()
    namespace = {**fn.__globals__, **(inspect.getclosurevars(fn).nonlocals if fn.__closure__ else {})}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(getattr(node, "ctx", None), ast.Load):
            value = _resolve(node, namespace)
            if inspect.isfunction(value):
                found |= _function_strings(value, seen)
            elif inspect.isclass(value) and _ours(value):
                for member in vars(value).values():
                    member = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                    if inspect.isfunction(member):
                        found |= _function_strings(member, seen)
            elif isinstance(value, (tuple, list, set, frozenset, dict)):
                found |= _strings_of(value, set())
    return found


@lru_cache(maxsize=None)
def handler_reads(topic):
    """Words a handler's code (and the code of ``app`` it calls) may read as variables; None when the topic has
    no built-in handler (an external worker: it may read anything)."""
    fn = handlers.get(topic)
    if fn is None:
        return None
    words = set()
    for text in _function_strings(fn, set()):
        words |= set(_WORD.findall(text))
    return frozenset(words)


# -- what a diagram reads -----------------------------------------------------------------------------------------
def _expression_words(text):
    return set(_WORD.findall(text or ""))


def diagram_reads(xml):
    """What a diagram (BPMN XML bytes/text) reads: {"words": names in its expressions, "topics": its service
    tasks' topics, "forms": the form keys it uses, "processes": the process ids it defines, "calls": the processes
    it calls, "calls_all": those it calls with ``camunda:in variables="all"`` (they read what those read)}."""
    root = ElementTree.fromstring(xml)
    found = {"words": set(), "topics": set(), "forms": set(), "processes": set(), "calls_all": set(), "calls": set()}
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "process" and element.get("id"):
            found["processes"].add(element.get("id"))
        if tag == "callActivity" and element.get("calledElement"):
            found["calls"].add(element.get("calledElement"))
        if tag == "callActivity" and any(e.tag == f"{{{CAMUNDA}}}in" and e.get("variables") == "all"
                                         for e in element.iter()):
            found["calls_all"].add(element.get("calledElement") or "")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local == "topic" and name.startswith(f"{{{CAMUNDA}}}"):
                found["topics"].add(value)
            elif local in ("formRef", "formKey") and name.startswith(f"{{{CAMUNDA}}}"):
                found["forms"].add(value.rsplit(":", 1)[-1].removesuffix(".form"))
            elif local in ("source", "sourceExpression", "collection", "elementVariable") or "${" in value \
                    or "#{" in value:
                found["words"] |= _expression_words(value)
        if element.text and tag in ("conditionExpression", "inputParameter", "outputParameter", "script", "timeDate",
                                    "timeDuration", "timeCycle", "loopCardinality", "completionCondition",
                                    "condition", "value", "string", "expression", "entry"):
            found["words"] |= _expression_words(element.text)
    return found


def _walk(components):
    for component in components or []:
        yield component
        yield from _walk(component.get("components"))


def form_reads(schema):
    """Words a form shows from the data: its texts' templates and its expressions (conditions, options)."""
    words = set()
    for c in _walk(schema.get("components")):
        for text in (c.get("text"), c.get("label"), c.get("description"), c.get("valuesExpression"),
                     (c.get("conditional") or {}).get("hide"), c.get("readonly") if isinstance(
                         c.get("readonly"), str) else None, c.get("valuesKey")):
            if not text:
                continue
            if text == c.get("valuesKey"):
                words.add(text)
            elif text.startswith("="):
                words |= _expression_words(text)
            else:
                for inner in _TEMPLATE.findall(text):
                    words |= _expression_words(inner)
    return words


def _acknowledgement(c):
    """A required checkbox, or a required choice with one option (确认删除): the form itself enforces its one value,
    there is nothing further to read."""
    if not (c.get("validate") or {}).get("required"):
        return False
    return c.get("type") == "checkbox" or (c.get("type") in ("radio", "select", "checklist")
                                           and len(c.get("values") or []) == 1)


def declared_reader(c):
    """The custom property ``readBy`` (Modeler: 自定义属性 / Custom properties) names who reads a field that no
    diagram does, e.g. ``history`` for a note kept only in the step's record."""
    return bool((c.get("properties") or {}).get("readBy"))


def form_fields(schema, checked=False):
    """[(key, component id)] of the fields a form submits: keys at the top (and of groups without a path), the
    ``path`` of a group or dynamic list with one (its rows are read through it). ``checked``: only those the
    unread check looks at (no acknowledgements, none with a declared reader)."""
    found = []

    def collect(components):
        for c in components or []:
            if checked and (_acknowledgement(c) or declared_reader(c)):
                continue
            if c.get("type") == "group" and not c.get("path"):
                collect(c.get("components"))
            elif c.get("path") and c.get("type") in ("group", "dynamiclist"):
                found.append((c["path"], c.get("id")))
            elif c.get("key"):
                found.append((c["key"], c.get("id")))
    collect(schema.get("components"))
    return found


class _Readers:
    """What the diagrams read, per process (with what the processes it calls with variables="all" read)."""

    def __init__(self, diagrams, forms):
        self.forms, self.info, self.by_process, self.memo = forms, {}, {}, {}
        for name, xml in diagrams.items():
            try:
                self.info[name] = diagram_reads(xml)
            except ElementTree.ParseError:
                continue  # unreadable XML is a deployment problem of its own
            for process in self.info[name]["processes"]:
                self.by_process[process] = name

    def reviewed(self, name, seen=None):
        """Does the diagram have a review (a user task whose form asks ``approved``, here or in a process it
        calls)? A review task shows the reviewer the submission before it, every field (app/web/review.py)."""
        seen = seen if seen is not None else set()
        if name in seen:
            return False
        seen.add(name)
        info = self.info[name]
        if any("approved" in {k for k, _ in form_fields(self.forms[f][1])} for f in info["forms"] if f in self.forms):
            return True
        return any(self.reviewed(self.by_process[p], seen) for p in info["calls"] if p in self.by_process)

    def users(self, form_key):
        return sorted(name for name, info in self.info.items() if form_key in info["forms"])

    def of_diagram(self, name, exclude_form=None):
        """Words the diagram reads, or ALL."""
        if (name, exclude_form) in self.memo:
            return self.memo[(name, exclude_form)]
        self.memo[(name, exclude_form)] = set()  # a diagram calling itself adds nothing more
        info = self.info[name]
        read = set(info["words"])
        for other in info["forms"] - {exclude_form}:
            if other in self.forms:
                schema = self.forms[other][1]
                read |= {k for k, _ in form_fields(schema)} | form_reads(schema)
        for topic in info["topics"]:
            found = handler_reads(topic)
            if found is None:
                read = ALL  # an external worker may read anything
                break
            read |= found
        if read is not ALL:
            for process in info["calls_all"]:
                called = self.by_process.get(process)
                inner = self.of_diagram(called) if called else ALL
                if inner is ALL:
                    read = ALL
                    break
                read |= inner
        self.memo[(name, exclude_form)] = read
        return read


def unread_fields(diagrams, forms, report=None):
    """Warnings for form fields nothing reads. ``diagrams``: {file name: BPMN XML}; ``forms``: {form key:
    (file name, schema)}; ``report``: the form keys to report on (default: all of ``forms``)."""
    readers = _Readers(diagrams, forms)
    warnings = []
    for key in sorted(report if report is not None else forms):
        users = readers.users(key)
        if key not in forms or not users:
            continue  # an unused form (or a missing one) is not this check's business
        filename, schema = forms[key]
        if "approved" not in {k for k, _ in form_fields(schema)} and any(readers.reviewed(n) for n in users):
            continue  # a reviewer reads the submission, every field of it
        read = set(ENGINE_READS) | form_reads(schema)
        for name in users:
            found = readers.of_diagram(name, exclude_form=key)
            read = ALL if found is ALL else read | found
            if read is ALL:
                break
        if read is ALL:
            continue
        where = "、".join(users)
        for field, component in form_fields(schema, checked=True):
            if field not in read:
                warnings.append({"file": filename, "element": component or field, "kind": "unread", "message": (
                    f"表单字段 “{field}” 没有任何地方读取：使用该表单的流程（{where}）的网关、表达式、服务任务处理程序"
                    f"和其他表单都没有用到它；请删除该字段、在流程中使用它，或（只作记录时）给它加自定义属性 readBy / form "
                    f"field '{field}' is never read by the diagrams that use the form ({where}), their gateways, "
                    f"expressions or handlers: remove it, use it, or name its reader in the custom property readBy")})
    return warnings


def load_form(data):
    """(form key, schema) of a .form file's bytes, as deployments key it (the JSON's id, else the file name)."""
    schema = json.loads(data)
    return schema.get("id"), schema


# -- variables a gateway reads that nothing sets ------------------------------------------------------------------
def _set_by_diagram(root):
    """Names the diagram visibly sets: parameter, mapping and result-variable targets, script assignments,
    multi-instance element variables, message payloads (``<message name>_data``)."""
    names = set()
    messages = {m.get("id"): m.get("name") for m in root.iter(f"{{{BPMN}}}message")}
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("inputParameter", "outputParameter") and element.get("name"):
            names.add(element.get("name"))
        elif tag in ("in", "out") and element.get("target"):
            names.add(element.get("target"))
        elif tag == "script":
            for line in (element.text or "").splitlines():
                name, sep, _ = line.partition("=")
                if sep and name.strip().isidentifier():
                    names.add(name.strip())
        elif tag == "messageEventDefinition" and messages.get(element.get("messageRef")):
            names.add(f"{messages[element.get('messageRef')]}_data")
        for attr in ("resultVariable", "elementVariable"):
            if element.get(f"{{{CAMUNDA}}}{attr}"):
                names.add(element.get(f"{{{CAMUNDA}}}{attr}"))
    return names


def unset_gateway_reads(diagrams, forms, report=None):
    """Warnings for a variable a gateway condition reads that nothing sets: no form of the diagram asks for it, no
    handler of its service tasks names it (statically, as ``handler_reads``), the diagram does not set it (parameters,
    mappings, scripts, result variables, messages), the engine does not (``lint.ENGINE_VARIABLES``) and no caller
    hands it in (``camunda:in target``; a start event without a form takes whatever its starter gives: not
    checked). ``report``: the diagram files to report on (default: all)."""
    from .lint import ENGINE_VARIABLES, _names_read
    roots = {}
    for name, xml in diagrams.items():
        try:
            roots[name] = ElementTree.fromstring(xml)
        except ElementTree.ParseError:
            continue
    handed_in = {}  # called process id -> names its callers' camunda:in mappings set
    for root in roots.values():
        for call in root.iter(f"{{{BPMN}}}callActivity"):
            targets = {e.get("target") for e in call.iter(f"{{{CAMUNDA}}}in") if e.get("target")}
            everything = any(e.get("variables") == "all" for e in call.iter(f"{{{CAMUNDA}}}in"))
            handed_in.setdefault(call.get("calledElement"), set()).update({ALL} if everything else targets)
    warnings = []
    for name in sorted(report if report is not None else roots):
        root = roots.get(name)
        if root is None:
            continue
        info = diagram_reads(ElementTree.tostring(root))
        known = set(ENGINE_VARIABLES) | _set_by_diagram(root)
        for key in info["forms"]:
            if key in forms:
                known |= {k for k, _ in form_fields(forms[key][1])}
        unknown_topic = False
        for topic in info["topics"]:
            found = handler_reads(topic)
            if found is None:
                unknown_topic = True
            else:
                known |= found
        given = set().union(*(handed_in.get(p, set()) for p in info["processes"]))
        for process in root.iter(f"{{{BPMN}}}process"):
            for start in process.findall(f"{{{BPMN}}}startEvent"):
                if not any(start.get(f"{{{CAMUNDA}}}{a}") for a in ("formRef", "formKey")) and not any(
                        child.tag.endswith("EventDefinition") for child in start):
                    given.add(ALL)  # started with data by another procedure or over the API, without a form
        if unknown_topic or ALL in given:
            continue  # an external worker, or a caller handing in everything: anything may be set
        known |= given
        for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
            condition = flow.find(f"{{{BPMN}}}conditionExpression")
            if condition is None or not (condition.text or "").strip():
                continue
            for variable in sorted(_names_read(condition.text.strip()) - known):
                warnings.append({"file": name, "element": flow.get("id"), "kind": "unset", "message": (
                    f"条件读取变量 “{variable}”，但没有任何表单、服务任务处理程序、参数或调用方设置它；请在表单中添加"
                    f"字段 {variable}，或在设置它的服务任务上声明输出参数 / condition reads variable '{variable}' "
                    f"that no form, handler, parameter or caller sets")})
    return warnings
