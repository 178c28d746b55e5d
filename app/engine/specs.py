"""Task specs for what analysts draw: user tasks with Camunda assignment, external service tasks, safe scripts."""
from copy import deepcopy

from SpiffWorkflow.bpmn.specs.defaults import CallActivity, NoneTask, ScriptTask, ServiceTask, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent

from ..models.base import DomainError
from . import bpmn_errors, expressions, limits


# How variables pass between a process and its call activities and user tasks. A deployed definition keeps the
# semantics it was deployed with (process_definition.semantics), so an upgrade never changes a running instance:
# 1 = SpiffWorkflow's (every variable flows into a called process and back; user-task input parameters stay),
# 2 = Camunda 7's (only camunda:in/out mappings pass; input parameters are task-local, output parameters map back).
LEGACY_SEMANTICS, SEMANTICS = 1, 2


def resolve_parameters(parameters, data):
    """Input/output parameter values: ``${…}`` is evaluated, anything else is a literal (as in Camunda)."""
    resolved = {}
    for name, value in parameters.items():
        if isinstance(value, list):
            resolved[name] = [expressions.template(v, data) for v in value]
        elif isinstance(value, dict):
            resolved[name] = {k: expressions.template(v, data) for k, v in value.items()}
        else:
            resolved[name] = expressions.template(value, data)
    return resolved


class HumanUserTask(UserTask):
    """A user task with Camunda's assignment attributes; the task list row is built from these.

    Input parameters are the task's local variables (Camunda 7): the form sees them, but after completion
    they are gone again (a variable of the same name the process had is restored); output parameters,
    evaluated over the task's variables and the submitted values, are what the task adds to the process."""

    def __init__(self, wf_spec, bpmn_id, candidate_groups=None, candidate_users=None, assignee=None,
                 due_date=None, form_key=None, input_parameters=None, output_parameters=None, legacy=False,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.legacy = legacy
        self.candidate_groups = candidate_groups or []
        self.candidate_users = candidate_users or []
        self.assignee = assignee
        self.due_date = due_date
        self.form_key = form_key
        self.input_parameters = input_parameters or {}
        self.output_parameters = output_parameters or {}

    def _update_hook(self, my_task):
        ready = super()._update_hook(my_task)
        if ready and self.input_parameters and self.legacy:
            my_task.data.update(resolve_parameters(self.input_parameters, my_task.data))
        elif ready and self.input_parameters:
            shadowed = {name: my_task.data[name] for name in self.input_parameters if name in my_task.data}
            my_task.internal_data["shadowed"] = shadowed
            my_task.data.update(resolve_parameters(self.input_parameters, my_task.data))
        return ready

    def _on_complete_hook(self, my_task):
        if not self.legacy and (self.input_parameters or self.output_parameters):
            outputs = resolve_parameters(self.output_parameters, my_task.data)
            shadowed = my_task.internal_data.pop("shadowed", {})
            for name in self.input_parameters:
                if name in shadowed:
                    my_task.data[name] = shadowed[name]
                else:
                    my_task.data.pop(name, None)
            my_task.data.update(outputs)
        super()._on_complete_hook(my_task)


def error_boundaries(my_task):
    """The error event definitions of the boundary events drawn on ``my_task`` (its siblings under the boundary
    split): where a handler's domain error can be caught instead of failing the step."""
    split = my_task.parent
    for sibling in split.children if split is not None else []:
        definition = getattr(sibling.task_spec, "event_definition", None)
        if isinstance(definition, ErrorEventDefinition):
            yield definition


class ExternalServiceTask(ServiceTask):
    """``camunda:type="external" camunda:topic="…"``: run the handler registered under the topic."""

    def __init__(self, wf_spec, bpmn_id, topic="", input_parameters=None, output_parameters=None, priority=0,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.priority = priority  # camunda:taskPriority, for external tasks fetched with usePriority
        self.input_parameters = input_parameters or {}
        self.output_parameters = output_parameters or {}

    def _run_hook(self, my_task):
        engine = my_task.workflow.script_engine
        if engine.waits_for_worker(self.topic):
            return None  # an external task: STARTED until a worker completes it (engine/external.py)
        inputs = resolve_parameters(self.input_parameters, my_task.data)
        try:
            outputs = engine.call_handler(my_task, self.topic, inputs) or {}
        except DomainError as err:
            # A step stopped by a limit is never a business error a diagram may catch.
            if not isinstance(err, limits.StepAborted) and self._throw_to_boundary(my_task, err):
                return None
            raise
        self._take_outputs(my_task, outputs)
        return True

    def _take_outputs(self, my_task, outputs):
        if self.output_parameters:
            scope = {**my_task.data, **outputs}
            outputs = resolve_parameters(self.output_parameters, scope)
        # A success supersedes the error an earlier attempt left for the clerk to read.
        my_task.data.pop("error_code", None)
        my_task.data.pop("error_message", None)
        my_task.data.update(outputs)

    def complete_external(self, my_task, variables):
        """A worker completed the task: its variables are the outputs (through the output parameters, if any)."""
        self._take_outputs(my_task, variables)
        my_task.complete()

    def throw_external_error(self, my_task, code, message, variables):
        """A worker reported a BPMN error: the variables are set, then the error goes where Camunda 7 sends it
        (``bpmn_errors``): the task's error boundary event, else an enclosing scope's event sub-process or boundary
        event. Caught nowhere, Camunda 7 (by default) logs it and ends the task's execution path: the outgoing flows
        are not taken; the process ends if nothing else is left to do. The history records it either way."""
        my_task.data.update(variables)
        err = DomainError(code, message or code)
        if self._throw_to_boundary(my_task, err, variables):  # the variables go along the boundary path too
            return
        payload = {**variables, "error_code": code, "error_message": message or code}
        engine = my_task.workflow.script_engine
        my_task.data.update(payload)
        if bpmn_errors.throw(my_task, code, payload, lambda: engine.record_error(my_task, err)):
            return
        for name in ("error_code", "error_message"):
            my_task.data.pop(name, None)
        engine.record_uncaught_error(my_task, err)
        bpmn_errors.end_path(my_task)

    def _throw_to_boundary(self, my_task, err, variables=None):
        """Route a domain error to an error boundary event with its code (or a catch-all one), if drawn."""
        for definition in error_boundaries(my_task):
            if definition.code in (None, err.code):
                my_task.data.update({"error_code": err.code, "error_message": err.message})
                my_task.workflow.script_engine.record_error(my_task, err)
                payload = {**(variables or {}), "error_code": err.code, "error_message": err.message}
                my_task.workflow.top_workflow.catch(
                    BpmnEvent(ErrorEventDefinition(definition.name, err.code), payload, target=my_task.workflow))
                return True
        return False


class PassThroughTask(NoneTask):
    """A plain ``bpmn:task`` or ``bpmn:manualTask``: Camunda 7 passes straight through it (nobody completes it)."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class SafeScriptTask(ScriptTask):
    """Script tasks run through the safe evaluator (``name = expression`` lines only)."""


# Variables the engine keeps for every process (who started it, for which unit, under which business key): a
# called process always has them, whatever its mappings say.
ENGINE_SCOPE = ("initiator", "unit_id", "business_key")


def _apply_mappings(mappings, source):
    values = {}
    for target, expression, is_expression in mappings:
        if target == "*":
            values.update(deepcopy(source))
        elif is_expression:
            values[target] = expressions.template(expression, source)
        else:
            values[target] = deepcopy(source.get(expression))
    return values


class MappedCallActivity(CallActivity):
    """A call activity that passes variables the way Camunda 7 does: only what ``camunda:in`` maps goes into the
    called process, only what ``camunda:out`` maps comes back; the caller keeps its own variables."""

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, in_mappings=None, out_mappings=None, legacy=False,
                 **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.in_mappings = in_mappings or []
        self.out_mappings = out_mappings or []
        self.legacy = legacy

    def copy_data(self, my_task, subworkflow):
        if self.legacy:  # everything in, then the in-mappings on top
            super().copy_data(my_task, subworkflow)
            start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
            start.set_data(**_apply_mappings([m for m in self.in_mappings if m[0] != "*"], my_task.data))
            return
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        values = {key: my_task.data[key] for key in ENGINE_SCOPE if key in my_task.data}
        values.update(_apply_mappings(self.in_mappings, my_task.data))
        start.set_data(**values)

    def update_data(self, my_task, subworkflow):
        if self.legacy:
            return super().update_data(my_task, subworkflow)
        returned = _apply_mappings(self.out_mappings, subworkflow.last_task.data)
        my_task.data = {**my_task.data, **returned}
