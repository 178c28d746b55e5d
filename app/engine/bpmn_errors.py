"""Where a BPMN error thrown by a task goes, as Camunda 7 decides it (``BpmnExceptionHandler.propagateError``).

Camunda looks for a handler from the task outwards: an error boundary event on the task, then, scope by scope, an
error event sub-process of the scope or an error boundary event on the enclosing sub-process / call activity, up to
the process that started it all. A handler catches when it names the same ``errorCode`` or names none. An error
event sub-process always interrupts: everything else in its scope is cancelled.

No handler anywhere: with Camunda's default (``enableExceptionsAfterUnhandledBpmnError = false``) the engine logs
it and *ends the execution path* of the task (``execution.end(true)``): the task's outgoing flows are not taken,
its boundary events are gone, and if nothing else is left in its scope the scope ends as at a none end event (an
embedded sub-process is left by its outgoing flow, the process instance completes). Variables the worker sent
stay set."""
from copy import deepcopy

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState


def throw(my_task, code, payload, caught):
    """Deliver the error to the nearest handler beyond the task's own boundary events (the caller tried those):
    the event sub-process of the task's scope, then the boundary events of the sub-process / call activity that
    holds that scope, then that scope's event sub-process, and so on outwards. ``caught()`` runs first, so the
    history says so before the handler runs. False when there is no handler (the caller then ends the path)."""
    top = my_task.workflow.top_workflow
    definition = ErrorEventDefinition(code, code)
    holder, scope = my_task, my_task.workflow
    while scope is not None:
        catcher = _boundary_catcher(holder, definition) if holder is not my_task else None
        if catcher is not None:
            caught()
            event = BpmnEvent(definition, payload)
            catcher.task_spec.catch(catcher, event)  # only this boundary event, as EventManager.catch does per task
            catcher.task_spec._update(catcher)
            return True
        handler = _event_subprocess(scope, definition)
        if handler is not None:
            caught()
            _interrupt(scope)
            # SpiffWorkflow's own trigger_wf would connect the handler to the shared spec's start (every later
            # instance would then start it): the handler is added to this instance's tree only.
            child = scope.task_tree._add_child(scope.spec.task_specs[handler], TaskState.FUTURE)
            child.triggered = True
            child.set_data(**deepcopy(payload))  # the handler starts with what the worker sent
            child.task_spec._update(child)
            top.catch(BpmnEvent(definition, payload, target=top.subprocesses[child.id]))
            return True
        parent = scope.parent_workflow
        if parent is None:
            return False
        holder, scope = top.get_task_from_id(scope.parent_task_id), parent
    return False


def _boundary_catcher(task, definition):
    """The error boundary event attached to ``task`` (a sub-process or call activity) that catches the error."""
    split = task.parent if task is not None else None
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return None
    for sibling in split.children:
        ours = getattr(sibling.task_spec, "event_definition", None)
        if sibling is not task and sibling.state == TaskState.WAITING and isinstance(ours, ErrorEventDefinition) \
                and ours == definition:
            return sibling
    return None


def _event_subprocess(scope, definition):
    """The name of the scope's error event sub-process that catches ``definition``, if any."""
    for name in getattr(scope.spec.start, "trigger_specs", []):
        spec = scope.top_workflow.subprocess_specs.get(name)
        if spec is None:
            continue
        for start in spec.bpmn_start_events:
            if isinstance(start.event_definition, ErrorEventDefinition) and start.event_definition == definition:
                return name
    return None


def _error_handlers(spec, subprocess_spec):
    return bool(subprocess_spec.bpmn_start_events) and all(
        isinstance(start.event_definition, ErrorEventDefinition) for start in subprocess_spec.bpmn_start_events)


def prepare_event_subprocesses(spec, parser):
    """At parse time: an error event sub-process, once triggered, leads to its scope's end (as SpiffWorkflow's
    trigger_wf would connect it, but on the spec as parsed so every process and a restart see the same)."""
    for name in getattr(spec.start, "trigger_specs", []):
        handler = spec.task_specs.get(name)
        sub = parser.get_spec(name, required=False) if handler is not None else None
        if sub is not None and _error_handlers(spec, sub) and spec.end not in handler.outputs:
            handler.connect(spec.end)
            if spec.start not in handler.inputs:
                handler._inputs.append(spec.start.name)  # an input, but not an output: no instance starts it by itself


def _interrupt(scope):
    for task in scope.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        if not task.has_state(TaskState.FINISHED_MASK):  # an earlier cancel may have finished it
            task.cancel()


def end_path(my_task):
    """Camunda's ``execution.end(true)`` for an uncaught error: the task and its boundary events are cancelled; a
    scope left with nothing to do ends as if its path had reached a none end event."""
    split = my_task.parent
    if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
        split.cancel()  # finished: cancels its children, the task and the boundary events waiting on it
    else:
        my_task.cancel()
    workflow = my_task.workflow
    if workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        return  # other paths go on; the scope ends when they do
    workflow.last_task = my_task
    workflow._mark_complete(my_task)
    workflow.completed_event(workflow)
