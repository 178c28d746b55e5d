"""Variables pass between a process and the processes it calls, and in and out of tasks, as Camunda 7 defines it:
``camunda:in`` / ``camunda:out`` on call activities (only what is mapped, in document order; ``variables="all"``
passes everything), input parameters local to their task, output parameters mapped back (issue 14)."""
import importlib.util
from pathlib import Path

import pytest

from app.engine import deployments

ROOT = Path(__file__).resolve().parent.parent


def _scaffold():
    spec = importlib.util.spec_from_file_location("bpmn_scaffold", ROOT / "scripts" / "bpmn_scaffold.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Diagram


Diagram = _scaffold()


def _child():
    d = Diagram("vm_child", "映射测试子流程", startable=False, category="子流程")
    d.start("c_start", "开始", 0, 0)
    d.user("c_task", "子流程任务", 1, 0, groups="clerk")
    d.script("c_script", "子流程局部变量", 2, 0, "local_only = 1")
    d.end("c_end", "结束", 3, 0)
    d.flow("c_start", "c_task")
    d.flow("c_task", "c_script")
    d.flow("c_script", "c_end")
    return d.xml()


def _parent(key, mappings):
    d = Diagram(key, "映射测试主流程", starters="clerk", category="项目")
    d.start("p_start", "开始", 0, 0)
    d.call("p_call", "调用子流程", 1, 0, "vm_child", passed=["marker"])
    d.user("p_task", "主流程任务", 2, 0, groups="clerk")
    d.end("p_end", "结束", 3, 0)
    d.flow("p_start", "p_call")
    d.flow("p_call", "p_task")
    d.flow("p_task", "p_end")
    xml = d.xml().replace('<camunda:in source="marker" target="marker" />', mappings)
    return xml.replace(
        '<bpmn:userTask id="p_task" name="主流程任务" camunda:candidateGroups="clerk">',
        '<bpmn:userTask id="p_task" name="主流程任务" camunda:candidateGroups="clerk"><bpmn:extensionElements>'
        '<camunda:inputOutput><camunda:inputParameter name="shown">${z}</camunda:inputParameter>'
        '<camunda:outputParameter name="kept">${note}</camunda:outputParameter></camunda:inputOutput>'
        '</bpmn:extensionElements>')


@pytest.fixture
def deployed(app):
    files = [("vm_child.bpmn", _child()),
             ("vm_mapped.bpmn", _parent("vm_mapped", (
                 '<camunda:in source="a" target="x" /><camunda:in sourceExpression="literal" target="lit" />'
                 '<camunda:in sourceExpression="${a + &quot;!&quot;}" target="expr" /><camunda:out source="y" target="z" />'))),
             ("vm_all.bpmn", _parent("vm_all", (
                 '<camunda:in variables="all" /><camunda:in sourceExpression="override" target="b" />'
                 '<camunda:out variables="all" /><camunda:out sourceExpression="${y}" target="z" />')))]
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [(name, text.encode()) for name, text in files], deployed_by="analyst", name="vm")


def _data(api, task):
    return api.ok(api.get(f"/api/tasks/{task['id']}"))["data"]


def test_only_mapped_variables_pass(deployed, login):
    clerk = login("clerk")
    instance = clerk.start("vm_mapped", {"a": "A", "b": "B"})
    child = clerk.task_named("子流程任务", instance["id"])
    seen = _data(clerk, child)
    assert {k: seen[k] for k in ("x", "lit", "expr")} == {"x": "A", "lit": "literal", "expr": "A!"}
    assert "a" not in seen and "b" not in seen
    assert seen["initiator"] == "clerk" and seen["unit_id"] == 1  # the engine's own variables always pass

    after = clerk.complete(child["id"], {"y": "Y", "leak": "L"})
    parent = clerk.task_named("主流程任务", instance["id"])
    seen = _data(clerk, parent)
    assert (seen["a"], seen["b"], seen["z"], seen["shown"]) == ("A", "B", "Y", "Y")
    assert not {"x", "lit", "expr", "y", "leak", "local_only"} & set(seen)
    assert after["data"]["z"] == "Y"

    done = clerk.complete(parent["id"], {"note": "N", "shown": "changed"})
    assert done["status"] == "completed"
    # The input parameter was the task's own; the form value and the output parameter reach the process.
    assert done["data"]["kept"] == "N" and done["data"]["note"] == "N" and "shown" not in done["data"]
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))["ok"] is True


def test_variables_all_then_a_mapping(deployed, login):
    clerk = login("clerk")
    instance = clerk.start("vm_all", {"a": "A", "b": "B"})
    child = clerk.task_named("子流程任务", instance["id"])
    seen = _data(clerk, child)
    assert (seen["a"], seen["b"]) == ("A", "override")  # in document order: the later mapping wins
    clerk.complete(child["id"], {"y": "Y", "leak": "L"})
    seen = _data(clerk, clerk.task_named("主流程任务", instance["id"]))
    assert (seen["y"], seen["leak"], seen["local_only"], seen["z"], seen["b"]) == ("Y", "L", 1, "Y", "override")
    clerk.complete(clerk.task_named("主流程任务", instance["id"])["id"], {"note": "N"})
