// A Camunda 7 external task worker written as Camunda's users write them (camunda-external-task-client-js),
// run by tests/test_engine_rest_js_client.py against the service: by the amount it was given it completes the
// task, reports a BPMN error, or a failure with retries. Prints one JSON line per task, stops after COUNT tasks.
import { Client, BasicAuthInterceptor, Variables } from "camunda-external-task-client-js";

const { BASE_URL, WORKER_USER, WORKER_PASSWORD, TOPIC, COUNT } = process.env;
const client = new Client({
  baseUrl: BASE_URL, workerId: "js-worker", maxTasks: 1, asyncResponseTimeout: 500, lockDuration: 10000,
  interval: 50, interceptors: new BasicAuthInterceptor({ username: WORKER_USER, password: WORKER_PASSWORD }),
});
let handled = 0;
const done = () => { handled += 1; if (handled >= Number(COUNT)) { client.stop(); process.exit(0); } };
client.on("poll:error", (error) => { console.error(String(error)); process.exit(2); });

client.subscribe(TOPIC, { includeExtensionProperties: true }, async ({ task, taskService }) => {
  const amount = task.variables.get("charge_amount");
  const report = { businessKey: task.businessKey, amount, priority: task.priority };
  if (amount < 100) {
    await taskService.complete(task, new Variables().set("receipt", `R-${task.businessKey}`).set("charged", amount));
    report.outcome = "complete";
  } else if (amount < 1000) {
    await taskService.handleBpmnError(task, "CARD_DECLINED", "余额不足", new Variables().set("declined_amount", amount));
    report.outcome = "bpmnError";
  } else {
    await taskService.handleFailure(task, { errorMessage: "支付网关超时", errorDetails: "timeout", retries: 2,
                                            retryTimeout: 1000 });
    report.outcome = "failure";
  }
  console.log(JSON.stringify(report));
  done();
});
