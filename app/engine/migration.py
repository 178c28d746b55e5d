"""Moving a running instance to another deployed version of its diagram, where that is safe.

SpiffWorkflow's ``diff_workflow`` aligns every task of the instance with the new version's elements
(by BPMN id, then by structure) and lists the elements that changed or disappeared. A migration is
**safe** when nothing that has already happened is rewritten:

- no task that is COMPLETED, STARTED (e.g. a call activity whose review is running) or in ERROR has an
  element that changed or was removed in the new version;
- no task that stays in the instance's tree has an element that was removed (the tree could not be
  loaded again), and every running or finished sub-process still has its process in the new version.

Tasks that are only predicted (FUTURE/LIKELY/MAYBE) may change freely: they are re-predicted. READY
and WAITING tasks are reset onto the new element (``migrate_workflow``), keeping their task ids, so
open task-list rows survive (and are refreshed: name, groups, form of the new element).

``migrate`` writes, in the caller's transaction: the new definition and re-pinned called processes
on the instance row, the workflow, the task list, and a ``migrated`` history event with both versions
and the diff summary; replay (``replay.py``) repeats the same migration from that event.
"""
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter, ScriptTaskConverter, SubWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from ..models import DomainError, HumanTask, NotFound, ProcessDefinition
from . import deployments, expressions, runtime, serializer, task_rows
from .dmn_task import DecisionTask
from .specs import ExternalServiceTask, HumanUserTask, MappedCallActivity, SafeScriptTask

# What has happened or is happening: such a task's element must not change.
_HAPPENED = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR


class _Attributes(BpmnTaskSpecConverter):
    """Our task specs' Camunda attributes take part in the diff (a changed topic or group is a change)."""

    names = ()

    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct.update({name: getattr(spec, name) for name in self.names})
        return dct


class _UserTask(_Attributes):
    names = ("candidate_groups", "candidate_users", "assignee", "due_date", "form_key", "input_parameters")


class _ServiceTask(_Attributes):
    names = ("topic", "input_parameters", "output_parameters")


class _DecisionTask(_Attributes):
    names = ("decision_ref", "binding", "version", "result_variable", "mapping")


class _CallActivity(SubWorkflowConverter):
    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct["in_mappings"] = [list(m) for m in spec.in_mappings]
        return dct


_config = dict(serializer._config)
_config.update({HumanUserTask: _UserTask, ExternalServiceTask: _ServiceTask, SafeScriptTask: ScriptTaskConverter,
                MappedCallActivity: _CallActivity, DecisionTask: _DecisionTask})
REGISTRY = BpmnWorkflowSerializer.configure(_config)


class MigrationRefused(DomainError):
    """409: the diff shows a change to something that already happened; ``errors`` lists the elements."""

    def __init__(self, report):
        elements = ", ".join(sorted({b["element"] for b in report["blocking"]}))
        super().__init__("MIGRATION_UNSAFE", f"不能迁移到版本 {report['to_version']}：已执行或正在执行的环节"
                                             f"在新版本中被修改或删除（{elements}）", status=409)
        self.report = report
        self.errors = {b["element"]: [b["reason"]] for b in report["blocking"]}


def _name(spec):
    return getattr(spec, "bpmn_id", None) or spec.name


def _state(task):
    return TaskState.get_name(task.state)


def _label(spec):
    return getattr(spec, "bpmn_name", None) or _name(spec)


def _under_reset(task):
    """Is this task dropped and re-predicted by the migration (a descendant of a READY/WAITING task)?"""
    node = task.parent
    while node is not None:
        if node.state & (TaskState.READY | TaskState.WAITING):
            return True
        node = node.parent
    return False


def _check(wf_diff, spec_diff, process, blocking, changed, removed, added):
    for spec, attrs in spec_diff.changed.items():
        changed.append({"process": process, "element": _name(spec), "name": _label(spec),
                        "attributes": sorted(attrs)})
    for spec in spec_diff.removed:
        removed.append({"process": process, "element": _name(spec), "name": _label(spec)})
    added.extend({"process": process, "element": _name(spec), "name": _label(spec)} for spec in spec_diff.added
                 if getattr(spec, "bpmn_id", None))
    seen = set()
    for task in wf_diff.changed:
        key = (_name(task.task_spec), task.state)
        if task.state & _HAPPENED and key not in seen:
            seen.add(key)
            blocking.append({"process": process, "element": _name(task.task_spec), "state": _state(task),
                             "reason": f"“{_label(task.task_spec)}”已{_happened(task)}，但在新版本中被修改"
                                       f"（{', '.join(sorted(spec_diff.changed[task.task_spec]))}）"
                                       f" / changed after it ran"})
    for task in wf_diff.removed:
        # Only a predicted task that the migration drops anyway (below a reset READY/WAITING task) may lose
        # its element; any other task stays in the tree and would name an element that no longer exists.
        key = (_name(task.task_spec), task.state)
        if (task.state & TaskState.PREDICTED_MASK and _under_reset(task)) or key in seen:
            continue
        seen.add(key)
        blocking.append({"process": process, "element": _name(task.task_spec), "state": _state(task),
                         "reason": f"“{_label(task.task_spec)}”（{_state(task)}）在新版本中被删除 / removed"})


def _happened(task):
    return {TaskState.COMPLETED: "执行", TaskState.STARTED: "开始执行", TaskState.ERROR: "出错"}.get(task.state, "执行")


def diff(workflow, new_spec, new_subspecs):
    """Compare an instance's workflow with a version's specs: {safe, blocking, changed, removed, added, …}.

    The same alignment as SpiffWorkflow's ``diff_workflow``, keeping the spec diffs for the report."""
    blocking, changed, removed, added = [], [], [], []
    top_spec = SpecDiff(REGISTRY, workflow.spec, new_spec)
    top = WorkflowDiff(workflow, top_spec)
    _check(top, top_spec, workflow.spec.name, blocking, changed, removed, added)
    subs = {}
    for sp_id, sub in workflow.subprocesses.items():
        new = new_subspecs.get(sub.spec.name)
        if new is None:
            subs[sp_id] = None
            blocking.append({"process": sub.spec.name, "element": sub.spec.name, "state": "SUBPROCESS",
                             "reason": f"子流程 {sub.spec.name} 在新版本中不再存在 / called process removed"})
            continue
        sp_spec = SpecDiff(REGISTRY, sub.spec, new)
        subs[sp_id] = WorkflowDiff(sub, sp_spec)
        _check(subs[sp_id], sp_spec, sub.spec.name, blocking, changed, removed, added)
    return {"safe": not blocking, "blocking": blocking, "changed": _unique(changed), "removed": _unique(removed),
            "added": _unique(added), "_top": top, "_subs": subs, "_spec": new_spec, "_subspecs": new_subspecs}


def _unique(items):
    seen, out = set(), []
    for item in items:
        key = (item["process"], item["element"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def apply(workflow, plan):
    """Move ``workflow`` onto the new specs of a safe ``plan`` (from ``diff``)."""
    migrate_workflow(plan["_top"], workflow, plan["_spec"])
    for sp_id, sp_diff in plan["_subs"].items():
        sub = workflow.subprocesses.get(sp_id)
        if sub is not None and sp_diff is not None:
            migrate_workflow(sp_diff, sub, plan["_subspecs"][sub.spec.name])
    workflow.subprocess_specs = plan["_subspecs"]


def public(plan):
    return {k: v for k, v in plan.items() if not k.startswith("_")}


def _target(session, instance, version):
    target = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == instance.key,
                                                             ProcessDefinition.version == version)).first()
    if target is None:
        raise NotFound("流程版本", f"{instance.key} v{version}")
    return target


def plan_for(session, instance, version, step=None):
    """Load the instance and diff it against ``version``: (step, plan, target, pins)."""
    step = step or runtime.Step(session, None, None)
    workflow = runtime.load(step, instance)
    target = _target(session, instance, version)
    pins = deployments.resolve_called(session, target)
    spec, subspecs = deployments.specs_for(session, target, pins)
    plan = diff(workflow, spec, subspecs)
    current = session.get(ProcessDefinition, instance.definition_id)
    plan.update(instance_id=instance.id, key=instance.key, from_version=current.version, to_version=target.version,
                from_definition_id=current.id, to_definition_id=target.id,
                from_subprocesses=dict(instance.subprocess_definitions or {}), to_subprocesses=pins)
    if instance.status != "running":
        plan["safe"] = False
        plan["blocking"].insert(0, {"process": instance.key, "element": instance.key, "state": instance.status,
                                    "reason": "流程已结束，不能迁移 / instance is not running"})
    if target.id == current.id:
        plan["safe"] = False
        plan["blocking"].insert(0, {"process": instance.key, "element": instance.key, "state": "RUNNING",
                                    "reason": f"实例已是版本 {target.version} / already on this version"})
    return step, plan, target, pins


def preview(session, instance, version):
    """What ``migrate`` would do, without doing it."""
    _, plan, _, _ = plan_for(session, instance, version)
    return public(plan)


def migrate(session, user, instance_id, version, now):
    """Migrate a running instance to ``version`` of its process, in one transaction, or refuse (409)."""
    instance = runtime._lock_instance(session, instance_id)
    step = runtime.Step(session, user, now)
    step, plan, target, pins = plan_for(session, instance, version, step)
    if not plan["safe"]:
        raise MigrationRefused(public(plan))
    summary = {k: plan[k] for k in ("changed", "removed", "added")}
    step.event("migrated", data={
        "from": {"definition_id": plan["from_definition_id"], "version": plan["from_version"],
                 "subprocesses": plan["from_subprocesses"]},
        "to": {"definition_id": target.id, "version": target.version, "subprocesses": pins},
        "diff": summary})
    instance.definition_id, instance.subprocess_definitions = target.id, pins
    step.definition = target
    step.spec_changed = True
    step.run(lambda: apply(step.workflow, plan))
    step.save()
    refresh_open_rows(step)
    return instance, public(plan)


def refresh_open_rows(step):
    """Open task-list rows whose task survived the migration take the new element's name, groups and form."""
    session, workflow = step.session, step.workflow
    for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == step.instance.id,
                                                       HumanTask.status == "open")):
        from uuid import UUID
        task = workflow.get_task_from_id(UUID(row.id))
        if task is None or task.state != TaskState.READY:
            continue
        spec, data = task.task_spec, task.data
        row.bpmn_id, row.name = task_rows.spec_bpmn_id(task), task_rows.task_name(task)
        if isinstance(spec, HumanUserTask):
            row.candidate_groups = task_rows.listify(spec.candidate_groups, data)
            row.candidate_users = task_rows.listify(spec.candidate_users, data)
            assignee = expressions.template(spec.assignee, data) if spec.assignee else None
            row.assignee = str(assignee) if assignee else None
            row.form_key = spec.form_key
    session.flush()


