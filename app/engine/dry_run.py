"""Impact of a deployment before it is made: replay the histories of the instances it would touch against the
new versions and report which still match and which diverge, and where.

``dry_run(session, files)`` deploys ``files`` inside a savepoint (the same parsing and lint as a real
deployment), then for every changed process key takes

- every running instance of that key, or pinned to it as a called process (up to ``RUNNING_LIMIT``), and
- a sample of the most recently ended ones (``completed``),

and replays each history (``replay.Replayer``) starting the *new* version instead of the recorded one, with
the changed called processes swapped in too. Handlers are never called: service tasks answer with what the
history recorded, so a changed topic, a task that no longer becomes ready or a gateway that now takes another
path shows as a divergence at that event. A running instance "matches" when its whole history replays and
the replayed workflow stands where the live one does (same elements holding the token, same events listening,
same READY user tasks); an ended one when it also ends.
Everything is rolled back: nothing is deployed and no instance changes.
"""
from sqlalchemy import select

from ..models import HistoryEvent, ProcessDefinition, ProcessInstance
from . import deployments, replay, serializer

RUNNING_LIMIT = 200
COMPLETED_SAMPLE = 20


class _AgainstNewVersion(replay.Replayer):
    """A replay that starts (and keeps) the new versions in ``swap`` (key → ProcessDefinition)."""

    def __init__(self, session, instance, swap, decisions=None):
        super().__init__(session, instance)
        self.swap = swap
        self.step.decisions = decisions or {}

    def _start_definition(self, event):
        definition, pins = super()._start_definition(event)
        pins = {key: (self.swap[key].id if key in self.swap else def_id) for key, def_id in pins.items()}
        return self.swap.get(definition.key, definition), pins

    def compare_state(self):
        """The stored blob belongs to the old version: where the token stands is compared instead."""
        return {"ok": True, "reason": None, "differences": []}

    def _migrate(self, event):
        """A recorded migration moved the instance between old versions; it already runs the new one here."""
        self._engine(event, lambda: None)


def _affected(session, keys, running_limit, completed_sample):
    def touches(instance):
        return instance.key in keys or bool(keys & set((instance.subprocess_definitions or {}).keys()))

    running = [i for i in session.scalars(select(ProcessInstance).where(ProcessInstance.status == "running")
                                          .order_by(ProcessInstance.id)) if touches(i)]
    ended = session.scalars(select(ProcessInstance).where(
        ProcessInstance.status == "completed", ProcessInstance.key.in_(keys))
        .order_by(ProcessInstance.ended_at.desc(), ProcessInstance.id.desc()).limit(completed_sample))
    return running[:running_limit], list(ended), max(0, len(running) - running_limit)


def _asking(session, decision_keys):
    """Keys of the processes that evaluated one of these decisions (their instances are replayed against it)."""
    if not decision_keys:
        return set()
    rows = session.execute(select(ProcessInstance.key, HistoryEvent.data).join(
        HistoryEvent, HistoryEvent.instance_id == ProcessInstance.id).where(HistoryEvent.type == "decision_evaluated"))
    return {key for key, data in rows if (data or {}).get("decision") in decision_keys}


def _definition(session, instance):
    return session.get(ProcessDefinition, instance.definition_id)


def _where(position):
    """Where a workflow waits, comparable across versions: top-level elements holding the token, the events
    listening and the READY user tasks."""
    return {k: sorted(position.get(k) or []) for k in ("active", "waiting", "ready")}


def _live(session, instance):
    """Where the instance stands now, read from its stored workflow with the versions it runs."""
    spec, subspecs = deployments.specs_for(session, _definition(session, instance),
                                           instance.subprocess_definitions or {})
    return _where(replay.position(serializer.loads(instance.workflow, spec, subspecs)))


def check_instance(session, instance, swap, decisions=None):
    """One instance's replay against the new versions: {instance_id, key, status, match, divergence, …}."""
    report = _AgainstNewVersion(session, instance, swap, decisions).run()
    first = report["first_divergence"]
    final = report.get("final") or {}
    entry = {"instance_id": instance.id, "key": instance.key, "business_key": instance.business_key,
             "status": instance.status, "from_version": _definition(session, instance).version,
             "events": report["events"], "match": False, "divergence": None}
    if first is not None and first.get("type") != "stored_state":
        entry["divergence"] = {k: first.get(k) for k in ("seq", "type", "task", "reason", "expected", "actual")}
        return entry
    replayed = _where(final)
    if instance.status == "running":
        live = _live(session, instance)
        entry["waiting_on"] = replayed
        if replayed != live:
            entry["divergence"] = {"seq": None, "type": "position", "task": None,
                                   "reason": "重放完历史后停在不同的位置 / after the history the new version waits elsewhere",
                                   "expected": live, "actual": replayed}
            return entry
    elif replayed["active"] or replayed["ready"]:
        entry["divergence"] = {"seq": None, "type": "position", "task": None,
                               "reason": "历史中已结束，新版本重放后没有结束 / ended, but not in the new version",
                               "expected": {"completed": True}, "actual": replayed}
        return entry
    entry["match"] = True
    return entry


def dry_run(session, files, deployed_by="system", running_limit=RUNNING_LIMIT, completed_sample=COMPLETED_SAMPLE):
    """The report for deploying ``files``; raises DeploymentError as a deployment would. Leaves ``session``
    as it found it (the deployment happens in a savepoint that is rolled back)."""
    savepoint = session.begin_nested()
    try:
        deployment, definitions, forms = deployments.deploy(session, files, deployed_by=deployed_by,
                                                            name="dry run", changed_only=True)
        swap = {d.key: d for d in definitions}
        decisions = {d.key: d for d in (getattr(deployment, "decisions", None) or [])}
        keys = set(swap) | _asking(session, set(decisions))
        running, ended, left_out = _affected(session, keys, running_limit, completed_sample)
        results = [check_instance(session, instance, swap, decisions) for instance in running + ended]
        versions = [{"key": d.key, "name": d.name, "from_version": d.version - 1 if d.version > 1 else None,
                     "to_version": d.version} for d in definitions]
        return {
            "deploys": versions, "forms": [{"key": f.key, "to_version": f.version} for f in forms],
            "decisions": [{"key": d.key, "name": d.name, "to_version": d.version} for d in decisions.values()],
            "warnings": list(getattr(deployment, "warnings", []) or []),
            "running": _summary([r for r in results if r["status"] == "running"]),
            "completed": _summary([r for r in results if r["status"] != "running"]),
            "running_not_checked": left_out, "instances": results,
        }
    finally:
        savepoint.rollback()
        session.expire_all()


def _summary(results):
    return {"checked": len(results), "match": sum(1 for r in results if r["match"]),
            "diverge": sum(1 for r in results if not r["match"])}

