"""Drive an instance of an outside Camunda 7 diagram as Camunda 7 users would: whoever may act completes each
open user task with data its form accepts, a worker completes each external task, until it ends or waits for
something no person here does (a message, a signal, a timer)."""
import base64

from sqlalchemy import select

from app.engine import access, deployments
from app.models import ExternalTask, HumanTask, ProcessInstance, User

ACTORS = ("clerk", "reviewer", "leader", "finance", "agency", "admin")


def basic(username, password="demo"):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def sample(component):
    """A value form-js would accept for a component (the form's default when it has one)."""
    if "defaultValue" in component:
        return component["defaultValue"]
    kind, v = component.get("type"), component.get("validate") or {}
    if kind == "number":
        return max(1, v.get("min") or 1)
    if kind == "checkbox":
        return True
    if kind in ("select", "radio") and component.get("values"):
        return component["values"][0]["value"]
    if kind == "datetime":
        return "2026-11-20"
    if kind in ("textfield", "textarea"):
        return "x" * max(1, v.get("minLength") or 1)
    return None


def form_data(session, form_key):
    form = deployments.latest_form(session, form_key) if form_key else None
    data = {}
    for component in (form.schema.get("components") or []) if form else []:
        if component.get("key") and not component.get("readonly") and sample(component) is not None:
            data[component["key"]] = sample(component)
    return data


def actor_for(session, row):
    for name in ((row.assignee,) if row.assignee else ()) + ACTORS:
        user = session.scalar(select(User).where(User.username == name))
        if user is not None and access.can_act(session, user, row):
            return name
    return None


def drive(app, login, instance_id, extra=None, steps=30):
    """Returns (status, [what was done]) once nothing more moves the instance."""
    client, done = app.test_client(), []
    for _ in range(steps):
        with app.extensions["db"].Session() as s:
            instance = s.get(ProcessInstance, instance_id)
            if instance.status != "running":
                return instance.status, done
            rows = list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.status == "open")))
            work = [(r.id, r.bpmn_id, actor_for(s, r), {**form_data(s, r.form_key), **(extra or {})}) for r in rows]
            topics = sorted(set(s.scalars(select(ExternalTask.topic).where(
                ExternalTask.instance_id == instance_id, ExternalTask.status == "open"))))
        if topics:
            locked = client.post("/engine-rest/external-task/fetchAndLock", headers=basic("worker1"), json={
                "workerId": "corpus", "maxTasks": 10,
                "topics": [{"topicName": t, "lockDuration": 10000, "processInstanceId": instance_id} for t in topics]})
            assert locked.status_code == 200, locked.json
            mine = [t for t in locked.json if t["processInstanceId"] == str(instance_id)]
            for task in mine:
                answer = client.post(f"/engine-rest/external-task/{task['id']}/complete", headers=basic("worker1"),
                                     json={"workerId": "corpus", "variables": {}})
                assert answer.status_code == 204, answer.json
                done.append(("external", task["activityId"]))
            if mine:
                continue
        acted = False
        for task_id, bpmn_id, actor, data in work:
            if actor is None:
                continue
            response = login(actor).post(f"/api/tasks/{task_id}/complete", {"data": data})
            assert response.status_code == 200, (bpmn_id, response.json)
            done.append((actor, bpmn_id))
            acted = True
            break
        if not acted:
            return "waiting", done
    return "running", done
