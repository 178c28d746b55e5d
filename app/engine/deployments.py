"""Deploying diagrams and forms as versioned definitions, and turning a definition into runnable specs."""
import codecs
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.util import identity_key

from ..models import Deployment, DomainError, FormDefinition, ProcessDefinition, inputs, utcnow
from . import dmn_task, lint, timers
from .parser import CAMUNDA, ProcurementParser
from .specs import LEGACY_SEMANTICS, SEMANTICS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
log = logging.getLogger(__name__)


class DeploymentError(Exception):
    """A diagram or form was refused; ``problems`` lists file, element and reason for each (``warnings`` what
    lint found suspicious but would have allowed)."""

    def __init__(self, problems, warnings=()):
        self.problems = problems
        self.warnings = list(warnings)
        super().__init__("; ".join(f"{p['file']} [{p.get('element') or '-'}]: {p['message']}" for p in problems))


@dataclass
class Parsed:
    spec: object
    local_specs: dict  # embedded sub-processes and call activities found in the same file
    called_keys: set  # call activities that must be resolved to other deployed processes
    starter_groups: set  # camunda:candidateStarterGroups of the process; empty means any unit member
    properties: dict  # the process's Camunda extension properties, e.g. category (项目/计划/交易/合同/支付/年终)
    startable: bool  # camunda:isStartableInTasklist; false for sub-processes such as review


# Content-addressed, so a cache entry can never describe a different diagram than the row it came from.
_parsed_cache: dict[tuple, Parsed] = {}


FORM_MAX_DEPTH, FORM_MAX_ITEMS = 64, 10000  # a Camunda Form nests groups; a select may list many options
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def _decode_xml(data):
    """Diagram text from a file's bytes, by its byte-order mark or XML declaration (UTF-8, UTF-16, ISO-8859-1,
    GBK…). The declaration is rewritten to UTF-8, the encoding the text is stored and parsed in."""
    if isinstance(data, str):
        return data
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if codec is None and data[:2] in (b"<\x00", b"\x00<"):
        codec = "utf-16-le" if data[:1] == b"<" else "utf-16-be"
    if codec is None:
        declared = _DECLARED.match(data[:1024])
        codec = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codecs.lookup(codec)
    except LookupError:
        raise ValueError(f"不支持 XML 声明中的编码 {codec}，请在 Camunda Modeler 中另存为 UTF-8 / "
                         f"unsupported encoding") from None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        raise ValueError(f"文件内容不是 {codec} 编码（XML 声明未写明编码时应为 UTF-8），请在 Camunda Modeler 中另存为 "
                         f"UTF-8 / file is not valid {codec}") from None
    return _DECLARATION.sub(r"\1\2UTF-8\2", text.lstrip("\ufeff"), count=1)


def _decode_form(data):
    """Form JSON from a file's bytes: UTF-8 (with or without BOM), or UTF-16/32 with a byte-order mark."""
    if isinstance(data, str):
        return data
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise ValueError("文件不是 UTF-8 编码") from None


def _process_ids(text):
    """The process ids a diagram declares (a cheap read; the full parse reports malformed XML)."""
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, ValueError):
        return []
    return [p.get("id") for p in root.iterfind(f"{{{BPMN_NS}}}process") if p.get("id")]


def content_hash(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def parse_file(text, filename, semantics=SEMANTICS):
    """Parse one .bpmn; return (parser, problems). Problems are collected, not raised one by one."""
    parser = ProcurementParser(semantics)
    try:
        parser.add_bpmn_text(text, filename)
        parsed_ids = set()
        while True:  # embedded sub-processes become known as their parents are parsed: parse (and check) them too
            pending = [pid for pid in parser.get_process_ids() if pid not in parsed_ids]
            if not pending:
                break
            for process_id in pending:
                parsed_ids.add(process_id)
                parser.get_spec(process_id)
    except ValidationException as exc:
        parser.problems.append({"file": filename, "element": getattr(exc, "id", None) or exc.__dict__.get("id"),
                                "message": str(exc).split("\n")[0]})
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow failing on a construct is a refusal, never a 500
        log.warning("parsing %s failed", filename, exc_info=True)
        parser.problems.append({"file": filename, "element": None, "message": (
            f"流程图中有本服务无法解析的结构（{type(exc).__name__}），请检查最近修改的元素，或删除 Java/脚本等本服务不执行的"
            f"扩展后再部署 / the diagram has a construct this service cannot parse")})
    return parser, parser.problems


def top_processes(parser):
    """Executable top-level processes of a file (embedded sub-processes are parsed as processes too)."""
    return [pid for pid in parser.get_process_ids()
            if parser.get_process_parser(pid).node.tag == f"{{{BPMN_NS}}}process"]


def parsed(definition):
    """The runnable spec of a deployed definition, parsed once per process."""
    cache_key = _cache_key(definition)
    hit = _parsed_cache.get(cache_key)
    if hit is None:
        parser, problems = parse_file(definition.bpmn_xml, definition.resource_name, cache_key[2])
        spec = parser.get_spec(definition.key)
        local = parser.get_subprocess_specs(definition.key, require_call_activity_specs=False)
        called = {k for k, v in local.items() if v is None}
        called |= {ts.spec for s in [spec, *[v for v in local.values() if v]] for ts in s.task_specs.values()
                   if isinstance(ts, CallActivity) and ts.spec not in local}
        node = parser.get_process_parser(definition.key).node
        hit = Parsed(spec, {k: v for k, v in local.items() if v is not None}, called,
                     _starter_groups(node), _process_properties(node),
                     node.get(f"{CAMUNDA}isStartableInTasklist") != "false")
        _parsed_cache[cache_key] = hit
    return hit


def _cache_key(definition):
    return definition.key, definition.content_hash, definition.semantics or LEGACY_SEMANTICS


def _starter_groups(node):
    value = node.get(f"{CAMUNDA}candidateStarterGroups") or ""
    return {g.strip() for g in value.split(",") if g.strip()}


def _process_properties(node):
    return {p.get("name"): p.get("value") for p in node.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{CAMUNDA}properties/{CAMUNDA}property")}


def can_start(definition, user):
    """May this user start the process? Sub-processes never; otherwise the candidate starter groups decide."""
    info = parsed(definition)
    if user.is_auditor or not info.startable:
        return False
    return not info.starter_groups or bool(info.starter_groups & user.groups)


def _unchanged(session, digest):
    rows = session.scalars(select(ProcessDefinition).where(ProcessDefinition.content_hash == digest,
                                                           ProcessDefinition.semantics == SEMANTICS)).all()
    return bool(rows) and all(latest(session, row.key).id == row.id for row in rows)


def _deployed(session, digest):
    return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.content_hash == digest,
                                                             ProcessDefinition.semantics == SEMANTICS).limit(1)) is not None


class _Seen:
    """The process definitions one transaction sees: every version's identity without its BPMN XML (one query),
    the latest version of each key, the rows loaded so far (held, so the session's weak identity map keeps them)
    and the call pins worked out. A batch of starts (starts.py) then reads no definition twice; ``deploy`` and any
    rollback forget it."""

    def __init__(self, transaction, entries):
        self.transaction, self.rows, self.pins = transaction, {}, {}
        self.entries = {entry.id: entry for entry in entries}
        self.latest = {entry.key: entry.id for entry in entries}  # ordered by version: the last id of a key wins


_SEEN = "deployments.seen"


def _seen(session):
    seen = session.info.get(_SEEN)
    if seen is None or seen.transaction is not session.get_transaction():
        entries = session.execute(select(
            ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.content_hash, ProcessDefinition.semantics,
            ProcessDefinition.resource_name).order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
        seen = session.info[_SEEN] = _Seen(session.get_transaction(), entries)
    return seen


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, previous_transaction):
    session.info.pop(_SEEN, None)  # what was seen may include a deployment (or rows) just rolled back


def _row(session, definition_id):
    seen = _seen(session)
    row = seen.rows.get(definition_id)
    if row is None:
        row = seen.rows[definition_id] = session.get(ProcessDefinition, definition_id)
    return row


def _parsed_by_id(session, definition_id):
    """``parsed`` of a definition by id; its row (with the XML) is read only if the spec is not cached yet."""
    row = session.identity_map.get(identity_key(ProcessDefinition, definition_id))
    if row is not None:  # loaded already (``preload``, ``latest``): no query at all
        return parsed(row)
    entry = _seen(session).entries.get(definition_id)
    hit = _parsed_cache.get(_cache_key(entry)) if entry is not None else None
    return hit if hit is not None else parsed(_row(session, definition_id))


def latest(session, key):
    definition_id = _seen(session).latest.get(key)
    return _row(session, definition_id) if definition_id is not None else None


def resolve_called(session, definition):
    """Pin every called process (recursively) to its latest version: {key: definition id}."""
    seen = _seen(session)
    pins = seen.pins.get(definition.id)
    if pins is None:
        pins = seen.pins[definition.id] = _resolve(session, seen, definition.id, definition.resource_name, {})
    return dict(pins)


def _resolve(session, seen, definition_id, resource_name, resolved):
    for key in sorted(_parsed_by_id(session, definition_id).called_keys):
        if key in resolved:
            continue
        called = seen.latest.get(key)
        if called is None:
            raise DeploymentError([{"file": resource_name, "element": key,
                                    "message": f"调用活动引用的流程 {key} 未部署 / called process not deployed"}])
        resolved[key] = called
        _resolve(session, seen, called, seen.entries[called].resource_name, resolved)
    return resolved


def preload(session, ids):
    """The definitions ``ids``, read with one statement without their BPMN XML (read only when ``parsed`` has not
    cached that content yet). While the caller holds the list, ``session.get`` finds them without a query (the
    identity map keeps only what is referenced)."""
    ids = list(dict.fromkeys(ids))
    known = [session.identity_map.get(identity_key(ProcessDefinition, i)) for i in ids]
    missing = [i for i, row in zip(ids, known) if row is None]
    if missing:
        known += session.scalars(_preload_query(), {"ids": missing}).all()
    return [row for row in known if row is not None]


@cache
def _preload_query():
    """Built once: a reused statement keeps its cache key (a step binds the ids instead of building the query)."""
    return (select(ProcessDefinition).where(ProcessDefinition.id.in_(bindparam("ids", expanding=True)))
            .options(defer(ProcessDefinition.bpmn_xml)))


def specs_for(session, definition, subprocess_definitions):
    """(spec, subprocess specs) for an instance pinned to these versions."""
    top = parsed(definition)
    specs = dict(top.local_specs)
    for key, def_id in subprocess_definitions.items():
        sub = _parsed_by_id(session, def_id)
        specs[key] = sub.spec
        for k, v in sub.local_specs.items():
            specs.setdefault(k, v)
    return top.spec, specs


def latest_form(session, key):
    """The latest version of form ``key``, or the pinned one of ``key@version`` (forms_ref: formRefBinding)."""
    from .forms_ref import split
    key, version = split(key)
    if version is None:
        return session.scalars(_form_queries()["latest"], {"key": key}).first()
    return session.scalars(_form_queries()["pinned"], {"key": key, "version": version}).first()


@cache
def _form_queries():
    """``latest_form``'s statements, built once (see ``_preload_query``)."""
    latest = (select(FormDefinition).where(FormDefinition.key == bindparam("key"))
              .order_by(FormDefinition.version.desc()).limit(1))
    return {"latest": latest, "pinned": latest.where(FormDefinition.version == bindparam("version"))}


def deploy(session, files, deployed_by="system", name="deployment", source="", changed_only=True, now=None,
           known_is_unchanged=False):
    """Deploy .bpmn and .form files together. Unchanged files make no new version.

    Returns (deployment or None, [ProcessDefinition], [FormDefinition]) and raises DeploymentError
    with every problem found, changing nothing, when any file is refused. What lint warns about (cycles
    without a wait state) is logged and kept on ``deployment.warnings``.
    """
    forms, diagrams, problems, owners, decisions = {}, [], [], {}, []
    for filename, data in files:
        if filename.endswith(".form"):
            try:
                text = _decode_form(data)
                schema = inputs.loads(text, max_depth=FORM_MAX_DEPTH, max_items=FORM_MAX_ITEMS)
                if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
                    raise ValueError("缺少 components")
            except (ValueError, DomainError) as exc:
                problems.append({"file": filename, "element": None,
                                 "message": f"表单不是有效的 Camunda Form JSON: {getattr(exc, 'message', exc)}"})
                continue
            # Camunda 7 finds a form by its JSON id (formRef); a form without one by its file name.
            form_id = schema.get("id")
            key = form_id.strip() if isinstance(form_id, str) and form_id.strip() and len(form_id) <= 100 \
                else Path(filename).stem
            if key in forms:
                problems.append({"file": filename, "element": None,
                                 "message": f"表单 {key} 在本次部署中出现了两次 / duplicate form"})
            forms[key] = (schema, content_hash(text))
        elif filename.endswith((".bpmn", ".bpmn20.xml", ".xml")):
            try:
                text = _decode_xml(data)
            except ValueError as exc:
                problems.append({"file": filename, "element": None, "message": str(exc)})
                continue
            for process_id in _process_ids(text):
                owners.setdefault(process_id, []).append(filename)
            digest = content_hash(text)
            if changed_only and (_unchanged(session, digest) or (known_is_unchanged and _deployed(session, digest))):
                continue  # deployed as it is: no new version, nothing to parse or lint again
            parser, found = parse_file(text, filename)
            problems.extend(found)
            diagrams.append((filename, text, parser))
        elif filename.endswith(".dmn"):
            try:
                text = _decode_xml(data)
            except ValueError as exc:
                problems.append({"file": filename, "element": None, "message": str(exc)})
                continue
            tables, found = dmn_task.collect(text, filename)
            problems.extend(found)
            decisions.append((filename, text, tables))
        else:
            problems.append({"file": filename, "element": None, "message": "只能部署 .bpmn、.dmn 和 .form 文件"})
    for process_id, names in owners.items():
        if len(names) > 1:
            problems.append({"file": names[-1], "element": process_id, "message": (
                f"流程 id {process_id} 在本次部署的多个文件中重复（{'、'.join(names)}），每个流程只能由一个文件定义 / "
                f"duplicate process id in one deployment")})
    for _, _, parser in diagrams:  # camunda:formData: the generated forms deploy with their diagram
        for key, schema in parser.generated_forms.items():
            forms[key] = (schema, content_hash(json.dumps(schema, sort_keys=True, ensure_ascii=False)))
    deployed_keys = {pid for _, _, parser in diagrams for pid in top_processes(parser)}
    deploying = {}  # decision key → the version this deployment gives it
    for filename, _, tables in decisions:
        for table in tables:
            if table.key in deploying:
                problems.append({"file": filename, "element": table.key, "message": (
                    f"决策 id {table.key} 在本次部署中出现了两次 / duplicate decision id in one deployment")})
            deploying[table.key] = (dmn_task._max_version(session, table.key) or 0) + 1
    warnings = []
    for filename, _, parser in diagrams:
        problems.extend(dmn_task.check(session, parser.trees, filename, deploying, warnings))
    for filename, text, parser in diagrams:
        try:
            problems.extend(lint.check(session, parser, filename, {k: v[0] for k, v in forms.items()},
                                       deployed_keys))
            warnings.extend(lint.cycle_warnings(session, parser, filename))
            warnings.extend(lint.layout_findings(parser, filename))
            warnings.extend(lint.topic_warnings(parser, filename))
            warnings.extend(lint.assignment_warnings(parser, filename))
        except ValidationException:
            pass  # the parse problem is already reported for this file
    for warning in warnings:
        log.warning("lint: %s [%s]: %s", warning["file"], warning["element"], warning["message"])
    if problems:
        raise DeploymentError(problems, warnings)

    deployment = Deployment(name=name, source=source, deployed_by=deployed_by)
    deployment.warnings = warnings
    new_defs, new_forms = [], []
    for key, (schema, digest) in forms.items():
        current = latest_form(session, key)
        if current is not None and changed_only and (current.content_hash == digest or (
                known_is_unchanged and session.scalar(select(FormDefinition.id).where(
                    FormDefinition.key == key, FormDefinition.content_hash == digest).limit(1)) is not None)):
            continue
        form = FormDefinition(key=key, schema=schema, content_hash=digest, deployment=deployment,
                              version=(current.version + 1) if current else 1)
        new_forms.append(form)
    for filename, text, parser in diagrams:
        digest = content_hash(text)
        for process_id in top_processes(parser):
            current = latest(session, process_id)
            if current is not None and changed_only and current.content_hash == digest \
                    and current.semantics == SEMANTICS:
                continue
            spec = parser.get_spec(process_id)
            new_defs.append(ProcessDefinition(
                key=process_id, name=parser.get_process_parser(process_id).get_name(), bpmn_xml=text, content_hash=digest,
                resource_name=Path(filename).name, deployed_by=deployed_by, deployment=deployment,
                version=(current.version + 1) if current else 1, semantics=SEMANTICS))
    new_decisions = dmn_task.new_versions(session, decisions, changed_only, deployment, deployed_by, content_hash,
                                          known_is_unchanged)
    deployment.decisions = new_decisions  # not a column: what the REST answer lists as deployed decisions
    # Camunda 7 deploys a diagram without executable processes (a collaboration drawn for people) and makes no
    # process definition of it: the deployment is recorded, with a warning, and there is nothing to start.
    drawings = [filename for filename, _, parser in diagrams if not top_processes(parser)]
    for filename in drawings:
        warnings.append({"file": filename, "element": None, "message": (
            "该图中没有可执行的流程（isExecutable=false），已部署但不会生成流程定义 / no executable process: deployed "
            "without a process definition")})
    if not new_defs and not new_forms and not new_decisions and not drawings:
        return None, [], []
    now = now or utcnow()
    deployment.deployed_at = now
    for item in new_defs + new_forms + new_decisions:
        item.deployed_at = now
    session.add(deployment)
    session.add_all(new_defs + new_forms + new_decisions)
    session.flush()
    session.info.pop(_SEEN, None)  # new latest versions: the next start sees them
    for definition in new_defs:
        timers.schedule_start_timers(session, definition, parsed(definition).spec, now)
    return deployment, new_defs, new_forms


def deploy_directory(session, *folders, deployed_by="system", now=None):
    """Start-up deployment of bpmn/ and forms/: all files in one deployment. A file whose content was
    deployed before is skipped, so a later version an analyst deployed from Camunda Modeler stays current."""
    files = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix in (".bpmn", ".dmn", ".form"):
                files.append((path.name, path.read_bytes()))
    return deploy(session, files, deployed_by=deployed_by, name="startup", source="bpmn/", now=now,
                  known_is_unchanged=True)


def max_version(session, key):
    return session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
