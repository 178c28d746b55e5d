"""The script engine SpiffWorkflow calls for every condition, timer and script: safe, and bound to one step."""
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from . import expressions, limits


class SafeScriptEngine(PythonScriptEngine):
    """Evaluates through ``expressions``; service tasks call back into the step that is running."""

    def __init__(self, step=None):
        super().__init__()
        self.step = step

    def validate(self, expression):
        expressions.compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        limits.evaluating(task)
        data = task.data if not external_context else {**task.data, **external_context}
        return expressions.evaluate(expression, data)

    def execute(self, task, script, external_context=None):
        limits.evaluating(task)
        expressions.execute_script(script, task.data)
        return True

    def waits_for_worker(self, topic):
        from .external import waits_for_worker
        return waits_for_worker(topic)

    def call_handler(self, task, topic, inputs):
        if self.step is None:
            raise RuntimeError("service task run outside a step")
        return self.step.call_handler(task, topic, inputs)

    def evaluate_decision(self, task, spec):
        if self.step is None:
            raise RuntimeError("business rule task run outside a step")
        return self.step.evaluate_decision(task, spec)

    def record_error(self, task, err):
        if self.step is not None:
            self.step.record_error(task, err)

    def record_uncaught_error(self, task, err):
        if self.step is not None:
            self.step.record_uncaught_error(task, err)
