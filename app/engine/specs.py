"""Task specs for what analysts draw: user tasks with Camunda assignment, external service tasks, safe scripts."""
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, ScriptTask, ServiceTask, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent

from ..models.base import DomainError
from . import expressions, limits


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
    """A user task with Camunda's assignment attributes; the task list row is built from these."""

    def __init__(self, wf_spec, bpmn_id, candidate_groups=None, candidate_users=None, assignee=None,
                 due_date=None, form_key=None, input_parameters=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.candidate_groups = candidate_groups or []
        self.candidate_users = candidate_users or []
        self.assignee = assignee
        self.due_date = due_date
        self.form_key = form_key
        self.input_parameters = input_parameters or {}

    def _update_hook(self, my_task):
        ready = super()._update_hook(my_task)
        if ready and self.input_parameters:
            my_task.data.update(resolve_parameters(self.input_parameters, my_task.data))
        return ready


class ExternalServiceTask(ServiceTask):
    """``camunda:type="external" camunda:topic="…"``: run the handler registered under the topic."""

    def __init__(self, wf_spec, bpmn_id, topic="", input_parameters=None, output_parameters=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.input_parameters = input_parameters or {}
        self.output_parameters = output_parameters or {}

    def _run_hook(self, my_task):
        engine = my_task.workflow.script_engine
        inputs = resolve_parameters(self.input_parameters, my_task.data)
        try:
            outputs = engine.call_handler(my_task, self.topic, inputs) or {}
        except DomainError as err:
            # A step stopped by a limit is never a business error a diagram may catch.
            if not isinstance(err, limits.StepAborted) and self._throw_to_boundary(my_task, err):
                return None
            raise
        if self.output_parameters:
            scope = {**my_task.data, **outputs}
            outputs = resolve_parameters(self.output_parameters, scope)
        # A success supersedes the error an earlier attempt left for the clerk to read.
        my_task.data.pop("error_code", None)
        my_task.data.pop("error_message", None)
        my_task.data.update(outputs)
        return True

    def _throw_to_boundary(self, my_task, err):
        """Route a domain error to an error boundary event with its code (or a catch-all one), if drawn."""
        split = my_task.parent
        for sibling in split.children if split is not None else []:
            definition = getattr(sibling.task_spec, "event_definition", None)
            if isinstance(definition, ErrorEventDefinition) and definition.code in (None, err.code):
                my_task.data.update({"error_code": err.code, "error_message": err.message})
                my_task.workflow.script_engine.record_error(my_task, err)
                payload = {"error_code": err.code, "error_message": err.message}
                my_task.workflow.top_workflow.catch(
                    BpmnEvent(ErrorEventDefinition(definition.name, err.code), payload, target=my_task.workflow))
                return True
        return False


class SafeScriptTask(ScriptTask):
    """Script tasks run through the safe evaluator (``name = expression`` lines only)."""


class MappedCallActivity(CallActivity):
    """A call activity that also applies ``camunda:in`` mappings (e.g. which group reviews) to the child."""

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, in_mappings=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.in_mappings = in_mappings or []

    def copy_data(self, my_task, subworkflow):
        super().copy_data(my_task, subworkflow)
        if self.in_mappings:
            start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
            values = {}
            for target, source, is_expression in self.in_mappings:
                values[target] = expressions.template(source, my_task.data) if is_expression \
                    else my_task.data.get(source)
            start.set_data(**values)
