"""统招分签 with funds (001 §2.1.3, §2.1.6, §4.1.4; issue 13): a member unit's response registers its own project with
its own budget lines (立项); the lead's 统招分签 plan buys the aggregated amount, funded by the members' projects; each
member signs its own contract on the aggregated result, on its own project; fund operations (资金回收) work for
members; a response that no longer counts releases its lines."""
from datetime import timedelta

from app.engine import timers
from helpers import PLAN, apply_plan, approve, award_in_system, money, reject
from test_contracts import contract_data
from test_unified import DEADLINE_UTC, created, decline, plan, respond, third_unit  # noqa: F401 - the fixture


def _project(api, ident):
    return api.ok(api.get(f"/api/projects/{ident}"))


def _response(record, unit_id):
    return next(r for r in record["responses"] if r["unit_id"] == unit_id)


def test_members_register_their_own_projects_and_sign_their_own_contracts(app, clock, login):
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    clerk2, reviewer2, clerk3 = login("clerk2"), login("reviewer2"), login("clerk3")
    instance, pid = created(login, app, clock)

    # 福州 responds with two of its own lines: both occupied while its reviewer looks; a return releases them.
    member = respond(login, 2, {"学生课桌椅": 300, "教师办公桌": 20}, 186000, approve_it=False,
                     funds=[{"budget_line_id": 4, "amount": 100000}, {"budget_line_id": 5, "amount": 86000}])
    first = _response(plan(clerk2, pid), 2)["project_id"]
    draft = _project(clerk2, first)
    assert (draft["unit_id"], draft["status"], money(draft["amount"])) == (2, "in_review", money(186000))
    assert (money(clerk2.budget(4)["used_amount"]), money(clerk2.budget(5)["used_amount"])) == (100000, 86000)
    reject(reviewer2, "分签单位审核岗审核", member, "数量与学校上报不符")
    assert _project(clerk2, first)["status"] == "draft"
    assert money(clerk2.budget(4)["used_amount"]) == money(clerk2.budget(5)["used_amount"]) == 0
    respond(login, 2, {"学生课桌椅": 280, "教师办公桌": 20}, 175000)
    registered = _project(clerk2, first)  # the same project, edited and registered
    assert registered["status"] == "registered" and registered["funds"] == [{"budget_line_id": 4, "amount": "175000.00"}]
    assert money(clerk2.budget(4)["used_amount"]) == 175000 and money(clerk2.budget(5)["used_amount"]) == 0

    # 福清 cannot fund its response from another unit's line: back to its clerk, nothing occupied or registered.
    task = clerk3.task_named("统招分签项目响应")
    back = clerk3.complete(task["id"], {"decision": "respond", "amount": 60000, "funds": [{"budget_line_id": 1, "amount": 60000}],
                                        "quantities": [{"item_name": "学生课桌椅", "quantity": 100}]})
    assert back["data"]["error_message"] == "预算指标不存在或不属于本单位"
    assert _response(plan(clerk, pid), 3)["status"] == "pending" and money(clerk.budget(1)["used_amount"]) == 0
    decline(login, 3)
    respond(login, "", {"学生课桌椅": 500, "教师办公桌": 40}, 320000)
    clerk.complete(clerk.task_named("归集", instance["id"])["id"], {})
    record = plan(clerk, pid)
    assert record["status"] == "aggregated" and money(record["total_amount"]) == 495000
    lead_project = _response(record, 1)["project_id"]
    assert record["project_id"] == lead_project  # the lead's own response project carries its 统招分签 plan

    # The lead's plan buys the aggregated 495,000 though its own project holds 320,000: members fund their shares.
    applied = apply_plan(clerk, lead_project, **{**PLAN, "plan_type": "unified", "amount": 495000,
                                                 "sme_reserved_amount": 495000})
    assert "error_message" not in applied["data"], applied["data"]
    approve(reviewer, "采购单位审核岗审核", applied["id"])
    plan_id = applied["data"]["plan_id"]
    if clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] != "filed":
        approve(finance, "财政部门审核", applied["id"])
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "filed"
    over = apply_plan(clerk, lead_project, **{**PLAN, "plan_type": "unified", "amount": 495000.01,
                                              "sme_reserved_amount": 495000.01})
    assert "超过统招分签项目" in over["data"]["error_message"] and "归集金额 495,000.00 元" in over["data"]["error_message"]
    # The aggregate takes the member's share of its project; the project is in use: its clerk cannot revoke it.
    assert _project(clerk2, first)["planned_amount"] == "175000.00"
    revoke = clerk2.post("/api/processes/project_revocation/instances", {"data": {"project_id": first, "reason": "不再采购"}})
    assert revoke.status_code == 201 and revoke.json["data"]["error_code"] == "PROJECT_IN_USE"
    assert f"仍被采购计划 {applied['data']['plan_number']}" in revoke.json["data"]["error_message"]

    # 福州 signs its own contract on the lead's plan, on its own project, within its share.
    award_in_system(app, plan_id)
    too_much = clerk2.post("/api/processes/contract_filing/instances", {"data": contract_data(plan_id, amount=176000)})
    body = too_much.json
    assert "合同金额 176,000.00 元超过本单位统招分签项目" in body["data"]["error_message"], body
    assert too_much.status_code == 201  # back to 福州's clerk with the reason; fixed and resubmitted
    signed = body
    clerk2.complete(clerk2.task_named("修改合同", signed["id"])["id"], {**contract_data(plan_id, amount=150000),
                                                                    "contract_id": body["data"]["contract_id"]})
    approve(reviewer2, "合同审核", signed["id"])
    clerk2.complete(clerk2.task_named("发布合同公告", signed["id"])["id"], {})
    clerk2.complete(clerk2.task_named("合同备案", signed["id"])["id"], {})
    contract = clerk2.ok(clerk2.get(f"/api/contracts/{signed['data']['contract_id']}"))
    assert (contract["status"], contract["unit_id"], contract["project_id"], contract["plan_id"]) == (
        "filed", 2, first, plan_id)
    # 福清 did not respond: the lead's plan is not its to sign on.
    refused = login("clerk3").post("/api/processes/contract_filing/instances", {"data": contract_data(plan_id)})
    assert refused.status_code == 403, refused.json

    # 资金回收 after filing (001 §2.1.6): 福州 recovers what its contract left of its own project.
    project = _project(clerk2, first)
    assert money(project["planned_amount"]) == 150000 and money(project["free_amount"]) == 25000
    recover = clerk2.start("project_fund_adjustment", {"project_id": first, "kind": "recover"})
    clerk2.complete(clerk2.task_named("录入资金调整", recover["id"])["id"], {"kind": "recover", "amount": 25000})
    approve(login("leader2"), "需求领导审核", recover["id"])
    assert money(_project(clerk2, first)["amount"]) == 150000
    assert money(clerk2.budget(4)["used_amount"]) == 150000


def test_responses_that_no_longer_count_release_their_lines(app, clock, login):
    clerk = login("clerk")
    instance, pid = created(login, app, clock)
    respond(login, 2, {"学生课桌椅": 200}, 120000)
    unanswered = respond(login, "", {"学生课桌椅": 100}, 60000, approve_it=False)  # still in its unit's review
    assert money(clerk.budget(1)["used_amount"]) == 60000
    clock.now = DEADLINE_UTC + timedelta(seconds=1)
    assert timers.run_due(app.extensions["db"], clock(), "a") == 1
    record = plan(clerk, pid)
    assert _response(record, 1)["status"] == "expired" and unanswered
    assert _project(clerk, _response(record, 1)["project_id"])["status"] == "deleted"
    assert money(clerk.budget(1)["used_amount"]) == 0  # 未响应 at the deadline: released
    assert money(login("clerk2").budget(4)["used_amount"]) == 120000  # the counted response keeps its project

    # 终止 (no plan uses it): the members' registered projects are withdrawn, their lines released.
    from contract_records import PDF, upload
    note = upload(clerk, PDF, "终止说明.pdf", instance_id=instance["id"])["id"]
    clerk.start("unified_procurement", {"unified_action": "terminate", "unified_plan_id": pid,
                                        "reason": "经费调整", "termination_attachment_ids": [note]})
    record = plan(login("clerk2"), pid)
    assert record["status"] == "terminated", record
    member_project = _response(record, 2)["project_id"]
    assert _project(login("clerk2"), member_project)["status"] == "revoked"
    assert money(login("clerk2").budget(4)["used_amount"]) == 0
