"""Workflow state to bytes and back, without the spec: specs come from the deployed diagram."""
import json
import zlib
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default import workflow as _converters
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from . import compaction, spiff_compat  # noqa: F401 - spiff_compat: see its docstring
from .script_engine import SafeScriptEngine


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Stores the task tree and data only; ``from_dict`` takes the spec objects placed in the dict."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        marks = getattr(workflow, "compacted_marks", None)
        if marks:  # what the instance page needs from tasks compaction.py spliced out (bounded by the diagram)
            dct["compacted_marks"] = marks
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = dct.pop("spec"), dct.pop("subprocess_specs")
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], workflow=workflow, key_class=_uuid)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.compacted_marks = dct.pop("compacted_marks", None) or {}
        return workflow


_ids = {}
_IDS_KEPT = 50_000  # ~10 MB at most; loading the same instance again (its next step) finds its ids here


def _uuid(text):
    """The task id ``text`` names, parsed once: a task's id, its parent's and its children's ids (and the keys of
    ``workflow.tasks``) come out as the same object, so the tree's dict lookups match by identity instead of calling
    ``UUID.__eq__``, and ``UUID()`` (~2 µs) runs once per task instead of ~4 times per load. UUIDs are immutable:
    sharing them between loads and threads changes nothing."""
    found = _ids.get(text)
    if found is None:
        if len(_ids) >= _IDS_KEPT:
            _ids.clear()
        found = _ids[text] = UUID(text)
    return found


_converters.UUID = _uuid  # SpiffWorkflow's task and sub-workflow converters only call it to parse ids


_config = dict(CAMUNDA_CONFIG)
_config[BpmnWorkflow] = SpecFreeWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)


def convert(obj):
    """An engine object (workflow, sub-workflow, task, data) in the serializer's JSON-able form."""
    return _registry.convert(obj)


def compact(workflow, force=None):
    """Compact the live workflow (engine/compaction.py); returns the pieces that left it, to archive."""
    return compaction.compact(workflow, convert, force)


def dump_piece(body):
    return zlib.compress(json.dumps(body, separators=(",", ":"), default=str).encode("utf-8"), 1)


def load_piece(blob):
    return json.loads(zlib.decompress(blob))


def dumps(workflow):
    dct = _serializer.to_dict(workflow)
    return zlib.compress(json.dumps(dct, separators=(",", ":"), default=str).encode("utf-8"), 1)


def loads(blob, spec, subprocess_specs, script_engine=None):
    dct = json.loads(zlib.decompress(blob))
    dct["spec"], dct["subprocess_specs"] = spec, subprocess_specs
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = script_engine or SafeScriptEngine()
    return workflow


def new_workflow(spec, subprocess_specs, script_engine):
    return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
