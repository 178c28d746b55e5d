"""fetchAndLock's topic filters and ordering as Camunda 7's REST API defines them (FetchExternalTasksDto /
FetchExternalTaskTopicDto, issue 18): processVariables, tenantIdIn / withoutTenantId, processDefinitionKey(In),
businessKey, localVariables, includeExtensionProperties (camunda:properties of the service task), usePriority
with camunda:taskPriority (literal, expression, or the process's default). Partly through Camunda's own Python
client (camunda-external-task-client-python3)."""
import pytest
from camunda.external_task.external_task_worker import ExternalTaskWorker

from camunda_diagrams import diagram, flow
from test_engine_rest import basic, deploy
from test_external_task_client import served  # noqa: F401 - the app over HTTP, for the real client
from test_external_tasks import add_worker

PROPS = ('<bpmn:extensionElements><camunda:properties><camunda:property name="channel" value="银联" />'
         '<camunda:property name="timeoutSeconds" value="30" /></camunda:properties><camunda:inputOutput>'
         '<camunda:inputParameter name="charge_amount">${amount}</camunda:inputParameter></camunda:inputOutput>'
         '</bpmn:extensionElements>')

# Three external tasks at once (parallel): priorities 5 (literal), ${urgency} (expression) and the process's 2.
PAY = diagram("fetch_pay", "\n".join([
    '<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />',
    f'<bpmn:serviceTask id="t_literal" name="扣款" camunda:type="external" camunda:topic="fetch.pay" '
    f'camunda:taskPriority="5">{PROPS}</bpmn:serviceTask>',
    '<bpmn:serviceTask id="t_expr" name="加急扣款" camunda:type="external" camunda:topic="fetch.pay" '
    'camunda:taskPriority="${urgency}" />',
    '<bpmn:serviceTask id="t_default" name="对账" camunda:type="external" camunda:topic="fetch.pay" />',
    '<bpmn:parallelGateway id="join" />', '<bpmn:endEvent id="e" />',
    flow("f1", "s", "fork"), flow("f2", "fork", "t_literal"), flow("f3", "fork", "t_expr"),
    flow("f4", "fork", "t_default"), flow("f5", "t_literal", "join"), flow("f6", "t_expr", "join"),
    flow("f7", "t_default", "join"), flow("f8", "join", "e")]),
    attrs='camunda:candidateStarterGroups="clerk" camunda:taskPriority="2"')

OTHER = diagram("fetch_other", "\n".join([
    '<bpmn:startEvent id="s" />',
    '<bpmn:serviceTask id="t_other" name="其他流程的扣款" camunda:type="external" camunda:topic="fetch.pay" />',
    '<bpmn:endEvent id="e" />', flow("f1", "s", "t_other"), flow("f2", "t_other", "e")]),
    attrs='camunda:candidateStarterGroups="clerk"')


@pytest.fixture
def rest(app, tmp_path):
    client = app.test_client()
    for name, xml in (("fetch_pay", PAY), ("fetch_other", OTHER)):
        path = tmp_path / f"{name}.bpmn"
        path.write_text(xml, encoding="utf-8")
        response = deploy(client, [path], name=name)
        assert response.status_code == 200, response.json
    add_worker(app)

    def post(path, body=None, user="worker1"):
        return client.post(f"/engine-rest{path}", json=body if body is not None else {}, headers=basic(user))
    return post


def start(rest, key, business_key, **variables):
    typed = {k: {"value": v, "type": "Integer" if isinstance(v, int) else "String"} for k, v in variables.items()}
    response = rest(f"/process-definition/key/{key}/start", {"businessKey": business_key, "variables": typed},
                    user="clerk")
    assert response.status_code == 200, response.json
    return response.json["id"]


def fetch(rest, worker="w1", max_tasks=10, use_priority=None, **topic):
    body = {"workerId": worker, "maxTasks": max_tasks,
            "topics": [{"topicName": "fetch.pay", "lockDuration": 60000, **topic}]}
    if use_priority is not None:
        body["usePriority"] = use_priority
    response = rest("/external-task/fetchAndLock", body)
    assert response.status_code == 200, response.json
    return response.json


def test_use_priority_orders_by_task_priority_literal_expression_and_process_default(rest):
    start(rest, "fetch_pay", "P-1", amount=80, urgency=9, region="华东")
    locked = fetch(rest, max_tasks=3, use_priority=True)
    assert [(t["activityId"], t["priority"]) for t in locked] == [("t_expr", 9), ("t_literal", 5), ("t_default", 2)]
    start(rest, "fetch_pay", "P-2", amount=80, urgency=1, region="华东")
    [first] = fetch(rest, worker="w2", max_tasks=1, use_priority=True)
    assert (first["activityId"], first["priority"]) == ("t_literal", 5)  # the highest of what is left


def test_process_variables_business_key_and_definition_key_filters(rest):
    start(rest, "fetch_pay", "P-1", amount=80, urgency=1, region="华东")
    start(rest, "fetch_pay", "P-2", amount=500, urgency=1, region="西南")
    start(rest, "fetch_other", "P-3", amount=80, region="华东")
    east = fetch(rest, worker="east", processVariables={"region": "华东", "amount": 80})
    assert sorted((t["businessKey"], t["activityId"]) for t in east) == [
        ("P-1", "t_default"), ("P-1", "t_expr"), ("P-1", "t_literal"), ("P-3", "t_other")]
    # charge_amount is t_literal's input parameter, a local variable: not a process variable to filter by
    assert fetch(rest, worker="x", processVariables={"charge_amount": 500}) == []
    assert fetch(rest, worker="x", processVariables={"region": "华北"}) == []
    assert [t["activityId"] for t in fetch(rest, worker="bk", businessKey="P-2", processDefinitionKey="fetch_pay",
                                           max_tasks=1)] in (["t_literal"], ["t_expr"], ["t_default"])
    assert fetch(rest, worker="x", processDefinitionKeyIn=["fetch_other"]) == []  # P-3 is locked by east
    # no tenants here: a tenant filter matches nothing, withoutTenantId everything
    assert fetch(rest, worker="x", tenantIdIn=["tenant-a"]) == []
    assert len(fetch(rest, worker="rest", withoutTenantId=True, businessKey="P-2")) == 2


def test_local_variables_and_extension_properties(rest):
    start(rest, "fetch_pay", "P-1", amount=80, urgency=1, region="华东")
    locked = fetch(rest, includeExtensionProperties=True, localVariables=True)
    by_activity = {t["activityId"]: t for t in locked}
    assert by_activity["t_literal"]["variables"] == {
        "charge_amount": {"type": "Integer", "value": 80, "valueInfo": {}}}
    assert by_activity["t_literal"]["extensionProperties"] == {"channel": "银联", "timeoutSeconds": "30"}
    assert by_activity["t_default"]["variables"] == {} and by_activity["t_default"]["extensionProperties"] == {}
    start(rest, "fetch_pay", "P-2", amount=80, urgency=1, region="华东")
    [task] = fetch(rest, worker="w2", max_tasks=1, use_priority=True)
    assert "extensionProperties" not in task and task["variables"]["region"]["value"] == "华东"


def test_bad_filters_are_400_naming_the_field(rest):
    for topic, field in (({"tenantIdIn": "a"}, "tenantIdIn"), ({"processVariables": ["x"]}, "processVariables"),
                         ({"localVariables": "yes"}, "localVariables")):
        response = rest("/external-task/fetchAndLock", {"workerId": "w", "maxTasks": 1, "topics": [
            {"topicName": "fetch.pay", "lockDuration": 1000, **topic}]})
        assert response.status_code == 400 and field in response.json["message"], response.json


def test_the_python_client_filters_by_process_variables_and_reads_extension_properties(rest, served):
    start(rest, "fetch_pay", "P-1", amount=80, urgency=1, region="华东")
    start(rest, "fetch_pay", "P-2", amount=80, urgency=1, region="西南")
    worker = ExternalTaskWorker(worker_id="py", base_url=served, config={
        "auth_basic": {"username": "worker1", "password": "demo"}, "maxTasks": 3, "lockDuration": 10000,
        "asyncResponseTimeout": 0, "sleepSeconds": 0, "usePriority": True})
    seen = []

    def handle(task):
        seen.append((task.get_business_key(), task.get_activity_id(), task.get_extension_property("channel")))
        return task.complete({})
    worker.fetch_and_execute("fetch.pay", handle, process_variables={"region": "西南"})
    assert sorted(seen) == [("P-2", "t_default", None), ("P-2", "t_expr", None), ("P-2", "t_literal", "银联")]
