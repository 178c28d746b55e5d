"""Project registration and plan application end to end, every role in turn (issue: engine core)."""
from helpers import PLAN, apply_plan, approve, event_types, money, names, register_project, reject


def test_registration_occupies_budget_and_plan_is_filed_through_city_chain(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    before = clerk.budget(4)
    project = register_project(clerk, reviewer, budget_line_id=4, amount=300000)
    assert project["status"] == "registered"
    assert money(clerk.budget(4)["used_amount"]) == money(before["used_amount"]) + 300000

    instance = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000)
    plan_id = instance["data"]["plan_id"]
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "in_review"
    assert names(reviewer.tasks(), instance["id"]) == ["采购单位审核岗审核"]
    assert names(clerk.tasks(), instance["id"]) == []

    done = approve(reviewer, "采购单位审核岗审核", instance["id"])
    # City-level unit: no finance review; the plan is filed (可使用).
    assert done["status"] == "completed" and done["tasks"] == []
    plan = clerk.ok(clerk.get(f"/api/plans/{plan_id}"))
    assert plan["status"] == "filed" and plan["status_label"] == "可使用"
    project = clerk.ok(clerk.get(f"/api/projects/{project['id']}"))
    assert money(project["free_amount"]) == money(100000)
    assert money(clerk.budget(4)["used_amount"]) == money(300000)
    assert names(login("finance").tasks()) == []

    history = clerk.history(instance["id"])
    # After the unit's review the review chain asks its decision (review_chain.dmn): no level for a city unit.
    assert event_types(history) == ["instance_started", "service_task", "service_task", "task_completed",
                                    "decision_evaluated", "service_task", "instance_completed"]
    assert history[3]["actor"] == "reviewer2" and history[3]["data"]["data"]["approved"] is True
    assert history[4]["data"]["decision"] == "review_chain" and history[4]["data"]["result"] == []
    assert {"record": f"plan:{plan_id}", "new": False, "fields": {"status": ["in_review", "filed"]}} \
        in history[5]["changes"]


def test_provincial_unit_adds_finance_review(login):
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    assert names(finance.tasks(), instance["id"]) == ["财政部门审核"]
    assert names(reviewer.tasks(), instance["id"]) == []
    plan_id = instance["data"]["plan_id"]
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "in_review"
    done = approve(finance, "财政部门审核", instance["id"])
    assert done["status"] == "completed"
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "filed"
    assert [e["actor"] for e in clerk.history(instance["id"]) if e["type"] == "task_completed"] == \
        ["reviewer", "finance"]


def test_reject_returns_to_clerk_with_comment_then_resubmit(login):
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    reject(finance, "财政部门审核", instance["id"], "预算科目不符，请核实")

    plan_id = instance["data"]["plan_id"]
    plan = clerk.ok(clerk.get(f"/api/plans/{plan_id}"))
    assert plan["status"] == "draft" and plan["review_comment"] == "预算科目不符，请核实"
    edit = clerk.task_named("编辑采购计划", instance["id"])
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["data"]["comment"] == "预算科目不符，请核实"
    assert detail["form"]["id"] == "plan_application"  # one form for the start and the edit step (issue 19)
    assert names(finance.tasks()) == [] and names(reviewer.tasks()) == []

    clerk.complete(edit["id"], {**PLAN, "project_id": project["id"], "amount": 450000,
                                "sme_reserved_amount": 450000, "action": "submit"})
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["amount"] == "450000.00"
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    approve(finance, "财政部门审核", instance["id"])
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "filed"


def test_reject_requires_a_comment(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    task = reviewer.task_named("采购单位审核岗审核", instance["id"])
    response = reviewer.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "false"}})
    assert response.status_code == 400
    assert response.json["errors"] == {"comment": ["审核不通过时必须填写审核意见"]}
    assert names(reviewer.tasks(), instance["id"]) == ["采购单位审核岗审核"]


def test_withdraw_before_first_review_then_delete(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    plan_id = instance["data"]["plan_id"]

    # Only the submitter may withdraw (撤回).
    assert reviewer.post(f"/api/instances/{instance['id']}/messages/withdraw").status_code == 403
    clerk.ok(clerk.post(f"/api/instances/{instance['id']}/messages/withdraw"))
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "draft"
    assert names(reviewer.tasks(), instance["id"]) == []
    edit = clerk.task_named("编辑采购计划", instance["id"])
    # Nothing waits for a withdraw any more.
    assert clerk.post(f"/api/instances/{instance['id']}/messages/withdraw").status_code == 409

    done = clerk.complete(edit["id"], {**PLAN, "project_id": project["id"], "action": "delete"})
    assert done["status"] == "completed"
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "deleted"
    assert money(clerk.ok(clerk.get(f"/api/projects/{project['id']}"))["free_amount"]) == money(800000)
    assert "message_received" in event_types(clerk.history(instance["id"]))


def test_withdraw_refused_after_first_review(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    response = clerk.post(f"/api/instances/{instance['id']}/messages/withdraw")
    assert response.status_code == 409
    assert "不接受" in response.json["message"]


def test_draft_then_submit(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    project = register_project(clerk, reviewer, budget_line_id=4, amount=100000)
    instance = apply_plan(clerk, project["id"], amount=50000, sme_reserved_amount=50000, action="draft")
    plan_id = instance["data"]["plan_id"]
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "draft"
    assert names(reviewer.tasks(), instance["id"]) == []
    edit = clerk.task_named("编辑采购计划", instance["id"])
    clerk.complete(edit["id"], {**PLAN, "project_id": project["id"], "amount": 60000, "sme_reserved_amount": 60000})
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "in_review"


def test_project_reject_releases_budget_and_delete(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {"name": "打印机", "year": 2026, "category": "goods",
                                                    "amount": 100000, "budget_line_id": 1,
                                                    "implementation_form": "self"})
    assert money(clerk.budget(1)["used_amount"]) == money(100000)
    reject(reviewer, "审核岗审核", instance["id"], "请补充采购内容清单")
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    project_id = instance["data"]["project_id"]
    project = clerk.ok(clerk.get(f"/api/projects/{project_id}"))
    assert project["status"] == "draft" and project["review_comment"] == "请补充采购内容清单"
    edit = clerk.task_named("修改项目登记", instance["id"])
    clerk.complete(edit["id"], {"name": "打印机", "year": 2026, "category": "goods", "amount": 100000,
                                "budget_line_id": 1, "implementation_form": "self", "action": "delete"})
    assert clerk.ok(clerk.get(f"/api/projects/{project_id}"))["status"] == "deleted"
    assert money(clerk.budget(1)["used_amount"]) == money(0)


def test_over_budget_goes_back_to_clerk_with_message(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {"name": "大型设备", "year": 2026, "category": "goods",
                                                    "amount": 6000000, "budget_line_id": 1,
                                                    "implementation_form": "agency"})
    assert "无预算不采购" in instance["data"]["error_message"]
    assert names(instance["tasks"]) == ["修改项目登记"]
    assert names(reviewer.tasks()) == []
    assert money(clerk.budget(1)["used_amount"]) == money(0)
    assert clerk.ok(clerk.get(f"/api/projects/{instance['data']['project_id']}"))["status"] == "draft"
    assert "error_caught" in [e["type"] for e in clerk.history(instance["id"])]
    # Fix the amount and resubmit: it goes to review.
    edit = clerk.task_named("修改项目登记", instance["id"])
    clerk.complete(edit["id"], {"name": "大型设备", "year": 2026, "category": "goods", "amount": 4000000,
                                "budget_line_id": 1, "implementation_form": "agency", "action": "submit"})
    assert names(reviewer.tasks(), instance["id"]) == ["审核岗审核"]
    assert money(clerk.budget(1)["used_amount"]) == money(4000000)


def test_plan_over_project_free_amount_refused(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer, amount=300000)
    instance = apply_plan(clerk, project["id"], amount=400000, sme_reserved_amount=400000)
    assert "超过项目" in instance["data"]["error_message"]
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "draft"
    assert names(reviewer.tasks(), instance["id"]) == []


def test_sme_rules(login):
    """001 §4.1.1 注: "200万以下" (goods/services) and "400万以下" (works) include the boundary and are reserved whole;
    above it the category's share (30% goods/services, 40% works; rows of the thresholds table)."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer, budget_line_id=1, amount=3100000)
    # Below 200万 goods: must reserve 100% or give a reason.
    small = apply_plan(clerk, project["id"], amount=1000000, sme_reserved_amount=500000)
    assert "全部预留给中小企业" in small["data"]["error_message"]
    # With a reason it passes.
    ok = apply_plan(clerk, project["id"], amount=1000000, sme_reserved_amount=500000,
                    sme_reason="采购标的为专用仪器，中小企业无法提供")
    assert names(reviewer.tasks(), ok["id"]) == ["采购单位审核岗审核"]
    # At 200万 exactly: still "200万以下", reserved whole.
    at = apply_plan(clerk, project["id"], amount=2000000, sme_reserved_amount=1999999.99)
    assert at["data"]["error_message"] == ("货物类计划金额 2,000,000.00 元，在 200万元（含）以下，应全部预留给中小企业"
                                           "（当前预留 100%），否则须填写“未按政策预留的原因”（001 §4.1.1）")
    # Just above 200万: at least 30%.
    above = apply_plan(clerk, project["id"], amount=2000000.01, sme_reserved_amount=599999)
    assert above["data"]["error_message"] == ("货物类计划金额 2,000,000.01 元，超过 200万元，预留比例应不低于 30%"
                                              "（当前 30%），否则须填写“未按政策预留的原因”（001 §4.1.1）")
    fine = apply_plan(clerk, project["id"], amount=2000000.01, sme_reserved_amount=600001)
    assert names(reviewer.tasks(), fine["id"]) == ["采购单位审核岗审核"]


def test_sme_rules_for_works_at_400_wan_and_the_share_as_data(login):
    clerk, reviewer, admin = login("clerk"), login("reviewer"), login("admin")
    project = register_project(clerk, reviewer, budget_line_id=3, category="works", amount=8000000)
    at = apply_plan(clerk, project["id"], category="works", amount=4000000, sme_reserved_amount=3000000)
    assert "在 400万元（含）以下，应全部预留给中小企业" in at["data"]["error_message"]
    above = apply_plan(clerk, project["id"], category="works", amount=4000000.01, sme_reserved_amount=1560000)
    assert "超过 400万元，预留比例应不低于 40%（当前 39%）" in above["data"]["error_message"]
    # The administrator sets the works share to 35%: 39% now suffices.
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "sme_share", "region": "*", "category": "works", "amount": 35}]}))
    fine = apply_plan(clerk, project["id"], category="works", amount=4000000.01, sme_reserved_amount=1560000)
    assert names(reviewer.tasks(), fine["id"]) == ["采购单位审核岗审核"]


def test_import_needs_an_approved_import_approval(login, app):
    from app.models import ImportApproval
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    refused = apply_plan(clerk, project["id"], is_import=True)
    assert "进口产品审批" in refused["data"]["error_message"]
    with app.extensions["db"].Session() as session, session.begin():
        session.add(ImportApproval(unit_id=1, project_id=project["id"], status="approved"))
    accepted = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000, is_import=True,
                          import_approval_id=1)
    assert names(reviewer.tasks(), accepted["id"]) == ["采购单位审核岗审核"]


def test_the_clerk_may_choose_the_next_reviewer(app, login):
    """002 §1 7): 下一步审核人选择 — the first review goes to the chosen reviewer only."""
    from helpers import Api, Web
    admin = login("admin")
    added = admin.post("/api/users", {"username": "reviewer3", "display_name": "郑审核", "password": "Shenhe2026",
                                      "unit_id": 1, "roles": ["reviewer"]})
    assert added.status_code == 201
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    chosen = Api(app, "reviewer3", password="Shenhe2026")

    # Only an active reviewer of the plan's unit can be chosen: anyone else sends it back with the rule.
    wrong = apply_plan(clerk, project["id"], next_reviewer="leader")
    assert wrong["data"]["error_message"] == "下一步审核人 leader 不是本单位在岗的采购单位审核岗，请重新选择"
    assert names(clerk.tasks(), wrong["id"]) == ["编辑采购计划"]
    assert apply_plan(clerk, project["id"], next_reviewer="reviewer2")["data"]["error_code"] == "INVALID_INPUT"

    instance = apply_plan(clerk, project["id"], amount=100000, sme_reserved_amount=100000, next_reviewer="reviewer3")
    assert names(chosen.tasks(), instance["id"]) == ["采购单位审核岗审核"]
    assert names(reviewer.tasks(), instance["id"]) == []  # assigned to the chosen one, not to the group
    task = chosen.task_named("采购单位审核岗审核", instance["id"])
    assert task["assignee"] == "reviewer3"
    assert reviewer.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}}).status_code in (403, 404)
    chosen.complete(task["id"], {"approved": "true", "comment": "同意"})
    approve(login("finance"), "财政部门审核", instance["id"])
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "filed"
    # The web form offers the unit's reviewers.
    page = Web(app, "clerk").get("/start/plan_application").data.decode()
    assert '"unit_reviewers"' in page and "郑审核（reviewer3）" in page and "reviewer2" not in page
