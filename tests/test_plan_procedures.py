"""plan_dispatch (计划分派/收回), plan_method_change (采购方式变更) and import_product_approval (进口产品审批/公示)
end to end, every role in turn through the API (issue 7; seeds 001 §4.4, ch.9 and 002 §3–5, §7)."""
from sqlalchemy import select

from contract_records import PDF, upload
from helpers import apply_plan, approve, money, names, register_project, reject
from procurement_helpers import (EXPERTS, GAP, ITEMS, actors, changes, deployed, failed_tender, file_plan, only,
                                 project_with_items, record, refused, people, topics, user_id)  # noqa: F401 - fixture

# -- plan_dispatch 计划分派/收回 ---------------------------------------------------------------------------------


def test_dispatch_to_another_clerk_then_recall(app, people):
    clerk = people["clerk"]
    project = register_project(clerk, people["reviewer"])
    plan = file_plan(people, project["id"])
    assert plan["assignee_id"] == user_id(app, "clerk")

    done = clerk.start("plan_dispatch", {"plan_id": plan["id"], "action": "dispatch", "assignee": "clerk3"})
    assert done["status"] == "completed" and done["tasks"] == []
    assert done["data"]["assignee_name"] == "clerk3经办"
    assert record(clerk, "plans", plan["id"])["assignee_id"] == user_id(app, "clerk3")
    only(people, done["id"])
    history = clerk.history(done["id"])
    assert topics(history) == ["plan.dispatch"]
    assert changes(history, f"plan:{plan['id']}") == [
        {"assignee_id": [user_id(app, "clerk"), user_id(app, "clerk3")]}]

    # 变更分派 back and forth is allowed; 收回 returns the plan to its applicant.
    recall = people["clerk3"].start("plan_dispatch", {"plan_id": plan["id"], "action": "recall"})
    assert recall["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["assignee_id"] == user_id(app, "clerk")
    refused(clerk, "plan_dispatch", {"plan_id": plan["id"], "action": "recall"}, 409, "未分派给其他经办人，无需收回")
    refused(clerk, "plan_dispatch", {"plan_id": plan["id"], "assignee": "clerk"}, 409, "已分派给该经办人")
    assert clerk.ok(clerk.get(f"/api/instances/{recall['id']}/verify"))["ok"] is True


def test_dispatch_refusals(app, people):
    clerk = people["clerk"]
    project = register_project(clerk, people["reviewer"], amount=900000)
    plan = file_plan(people, project["id"])
    data = {"plan_id": plan["id"], "action": "dispatch", "assignee": "clerk3"}
    # Non-clerks cannot start it; a clerk of another unit cannot touch the plan.
    for role in ("reviewer", "finance", "agency", "leader"):
        refused(people[role], "plan_dispatch", data, 403, "不能发起")
    refused(people["clerk2"], "plan_dispatch", data, 403, "不属于本单位")
    # The plan goes only to a clerk of its own unit.
    refused(clerk, "plan_dispatch", {**data, "assignee": "reviewer"}, 409, "不是本单位的采购单位经办岗")
    refused(clerk, "plan_dispatch", {**data, "assignee": "clerk2"}, 409, "不是本单位的采购单位经办岗")
    refused(clerk, "plan_dispatch", {**data, "assignee": "nobody"}, 409, "不是本单位的采购单位经办岗")
    refused(clerk, "plan_dispatch", {**data, "assignee": ""}, 400, "请选择分派的经办人")
    # Only a usable (filed) plan: a plan in review cannot be dispatched.
    pending = apply_plan(clerk, project["id"], amount=100000, sme_reserved_amount=100000)
    refused(clerk, "plan_dispatch", {**data, "plan_id": pending["data"]["plan_id"]}, 409, "当前状态为“处理中”，不能分派")
    assert record(clerk, "plans", plan["id"])["assignee_id"] == user_id(app, "clerk")

    # Dispatched, then used by a tender: 收回 only while 可使用.
    clerk.start("plan_dispatch", data)
    people["agency"].start("tender_execution", {"plan_id": plan["id"], **GAP})
    assert record(clerk, "plans", plan["id"])["status"] == "used"
    refused(clerk, "plan_dispatch", {"plan_id": plan["id"], "action": "recall"}, 409, "当前状态为“已使用”，不能收回")
    assert record(clerk, "plans", plan["id"])["assignee_id"] == user_id(app, "clerk3")


# -- plan_method_change 采购方式变更 -------------------------------------------------------------------------------


def test_purchasers_change_goes_to_finance_for_a_provincial_unit(app, people):
    clerk, reviewer, finance = people["clerk"], people["reviewer"], people["finance"]
    project = register_project(clerk, reviewer)
    plan = file_plan(people, project["id"])
    opinion = upload(clerk, PDF, "专家论证意见.pdf", record_type="plan", record_id=plan["id"])["id"]
    instance = clerk.start("plan_method_change", {"plan_id": plan["id"], "new_method": "negotiation",
                                                  "reason": "技术复杂、无法确定详细规格", "attachment_ids": [opinion]})
    iid = instance["id"]
    change = record(clerk, "method-changes", instance["data"]["method_change_id"])
    assert [a["name"] for a in change["attachments"]] == ["专家论证意见.pdf"]
    assert change["status"] == "in_review" and change["origin"] == "purchaser"
    assert change["old_method"] == "open_tender" and change["new_method"] == "negotiation"
    assert record(clerk, "plans", plan["id"])["pending_action"] == "method_change"
    only(people, iid, reviewer=["采购单位审核岗审核"])

    approve(reviewer, "采购单位审核岗审核", iid)
    only(people, iid, finance=["财政部门审核"])
    assert record(clerk, "plans", plan["id"])["method"] == "open_tender"  # not before every review passed
    done = approve(finance, "财政部门审核", iid)
    assert done["status"] == "completed" and done["tasks"] == []
    plan_after = record(clerk, "plans", plan["id"])
    assert plan_after["method"] == "negotiation" and plan_after["status"] == "filed"
    assert plan_after["pending_action"] is None
    assert record(clerk, "method-changes", change["id"])["status"] == "approved"
    only(people, iid)
    history = clerk.history(iid)
    assert topics(history) == ["method_change.open", "method_change.submit", "method_change.approve",
                               "method_change.apply"]
    assert actors(history) == ["reviewer", "finance"]
    assert {"method": ["open_tender", "negotiation"], "pending_action": ["method_change", None]} in \
        changes(history, f"plan:{plan['id']}")
    assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True


def test_change_rejected_then_resubmitted_and_abandoned_city_unit(app, people):
    clerk, reviewer = people["clerk2"], people["reviewer2"]
    project = register_project(clerk, reviewer, budget_line_id=4, amount=300000)
    plan = file_plan(people, project["id"], finance=False)
    instance = clerk.start("plan_method_change", {"plan_id": plan["id"], "new_method": "inquiry", "reason": "货物规格统一"})
    iid = instance["id"]
    reject(reviewer, "采购单位审核岗审核", iid, "询价须规格标准统一、现货充足，请补充说明")
    only(people, iid, clerk2=["录入采购方式变更"])
    entry = clerk.task_named("录入采购方式变更", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{entry['id']}"))["data"]["comment"] == "询价须规格标准统一、现货充足，请补充说明"
    assert record(clerk, "plans", plan["id"])["pending_action"] is None
    assert record(clerk, "method-changes", instance["data"]["method_change_id"])["status"] == "draft"

    clerk.complete(entry["id"], {"new_method": "consultation", "reason": "需求需与供应商磋商确定", "action": "submit"})
    only(people, iid, reviewer2=["采购单位审核岗审核"])
    done = approve(reviewer, "采购单位审核岗审核", iid)  # city unit: no finance review
    assert done["status"] == "completed"
    assert record(clerk, "plans", plan["id"])["method"] == "consultation"
    only(people, iid)

    # Abandoned after a rejection: nothing changes.
    again = clerk.start("plan_method_change", {"plan_id": plan["id"], "new_method": "open_tender", "reason": "恢复公开招标"})
    reject(reviewer, "采购单位审核岗审核", again["id"], "理由不充分")
    clerk.complete(clerk.task_named("录入采购方式变更", again["id"])["id"],
                   {"new_method": "open_tender", "reason": "x", "action": "abandon"})
    assert clerk.ok(clerk.get(f"/api/instances/{again['id']}"))["status"] == "completed"
    assert record(clerk, "method-changes", again["data"]["method_change_id"])["status"] == "abandoned"
    plan_after = record(clerk, "plans", plan["id"])
    assert plan_after["method"] == "consultation" and plan_after["pending_action"] is None


def test_change_refusals(app, people, clock):
    clerk, reviewer, agency = people["clerk"], people["reviewer"], people["agency"]
    project = register_project(clerk, reviewer, amount=2000000)
    plan = file_plan(people, project["id"], amount=500000, sme_reserved_amount=500000)
    start = {"plan_id": plan["id"], "reason": "变更"}

    def entry_error(data):
        """Refused on submit: the clerk's entry task shows why; the plan is untouched."""
        instance = clerk.start("plan_method_change", {**start, **data})
        assert names(instance["tasks"]) == ["录入采购方式变更"]
        message = instance["data"]["error_message"]
        entry = clerk.task_named("录入采购方式变更", instance["id"])
        clerk.complete(entry["id"], {"new_method": "negotiation", "reason": "x", "action": "abandon"})
        assert record(clerk, "plans", plan["id"])["pending_action"] is None
        return message

    assert "与原采购方式（公开招标）相同" in entry_error({"new_method": "open_tender"})
    assert "达到省级分散采购限额 50万元（含）以上，属于政府采购，须按政府采购方式采购，不能自行采购" in entry_error({"new_method": "self"})
    assert "须填写拟定供应商" in entry_error({"new_method": "single_source"})
    assert "请选择变更后的采购方式" in entry_error({})
    assert record(clerk, "plans", plan["id"])["method"] == "open_tender"

    # Who may ask, and on what.
    refused(reviewer, "plan_method_change", {**start, "new_method": "inquiry"}, 403, "不能发起")
    refused(people["clerk2"], "plan_method_change", {**start, "new_method": "inquiry"}, 403, "不属于本单位")
    first = clerk.start("plan_method_change", {**start, "new_method": "inquiry", "reason": "标准货物"})
    refused(clerk, "plan_method_change", {**start, "new_method": "negotiation"}, 409, "已有进行中的采购方式变更")
    # …and the plan cannot be revoked while its change is in review.
    reject(reviewer, "采购单位审核岗审核", first["id"], "不同意")
    clerk.complete(clerk.task_named("录入采购方式变更", first["id"])["id"], {"new_method": "inquiry", "reason": "x",
                                                                          "action": "abandon"})
    # A plan a tender used: only the agency's 流标重招 request may change it.
    tender_plan = file_plan(people, project["id"], amount=300000, sme_reserved_amount=300000)
    agency.start("tender_execution", {"plan_id": tender_plan["id"], **GAP})
    refused(clerk, "plan_method_change", {"plan_id": tender_plan["id"], "new_method": "inquiry", "reason": "x"},
            409, "采购方式变更须由代理机构在流标重招中发起")
    tender_id = _tender_of(app, tender_plan["id"])
    refused(agency, "plan_method_change", {"tender_id": tender_id, "reason": "流标"}, 409, "未废标、流标或取消采购")
    # Framework plans keep the method their type gives them.
    framework = file_plan(people, project["id"], plan_type="framework", method="framework", amount=100000,
                          sme_reserved_amount=100000)
    instance = clerk.start("plan_method_change", {"plan_id": framework["id"], "new_method": "inquiry", "reason": "x"})
    assert "采购方式由计划类型决定" in instance["data"]["error_message"]


def _tender_of(app, plan_id):
    from app.models import Tender
    with app.extensions["db"].Session() as s:
        return s.scalars(select(Tender.id).where(Tender.plan_id == plan_id).order_by(Tender.id.desc())).first()


def test_agency_retender_request_to_single_source(app, people, clock):
    clerk, reviewer, finance, agency = people["clerk"], people["reviewer"], people["finance"], people["agency"]
    project = register_project(clerk, reviewer)
    plan = file_plan(people, project["id"])
    clerk.start("plan_dispatch", {"plan_id": plan["id"], "assignee": "clerk3"})
    tender_id = failed_tender(app, plan["id"], clock())
    assert record(clerk, "plans", plan["id"])["status"] == "used"

    # 流标重招-变更采购方式: the agency asks, the plan's clerk enters the change.
    instance = agency.start("plan_method_change", {"tender_id": tender_id, "reason": "有效供应商不足三家，拟变更为单一来源"})
    iid = instance["id"]
    change_id = instance["data"]["method_change_id"]
    change = record(clerk, "method-changes", change_id)
    assert change["origin"] == "agency" and change["status"] == "requested" and change["tender_id"] == tender_id
    only(people, iid, clerk3=["录入采购方式变更"])  # the clerk the plan is dispatched to
    assert instance["unit_id"] == 1
    refused(agency, "plan_method_change", {"tender_id": tender_id, "reason": "再次申请"}, 409, "已有进行中的采购方式变更")

    entry = people["clerk3"].task_named("录入采购方式变更", iid)
    assert people["clerk3"].ok(people["clerk3"].get(f"/api/tasks/{entry['id']}"))["data"]["agency_reason"] == \
        "有效供应商不足三家，拟变更为单一来源"
    people["clerk3"].complete(entry["id"], {"new_method": "single_source", "reason": "只能从唯一供应商处采购",
                                           "supplier": {"name": "福州精密仪器有限公司", "credit_code": "91350100MA2Y3K4L5R"},
                                           "action": "submit"})
    approve(reviewer, "采购单位审核岗审核", iid)
    done = approve(finance, "财政部门审核", iid)
    assert done["status"] == "completed"
    plan_after = record(clerk, "plans", plan["id"])
    assert plan_after["method"] == "single_source" and plan_after["status"] == "filed"  # usable for a new attempt
    assert record(clerk, "method-changes", change_id)["supplier"]["name"] == "福州精密仪器有限公司"

    from app.engine import starts
    from app.models import ProcessInstance, StartRequest
    with app.extensions["db"].Session() as s:
        requests = s.scalars(select(StartRequest).where(StartRequest.requested_by == iid)).all()
    if not deployed(app, "single_source_publicity"):
        assert requests == [] and done["data"]["publicity_requested"] is False
        return
    assert [(r.process_key, r.business_key, r.status) for r in requests] == \
        [("single_source_publicity", f"method_change:{change_id}", "pending")]
    assert starts.dispatch(app.extensions["db"], clock()) == 1
    with app.extensions["db"].Session() as s:
        publicity = s.scalars(select(ProcessInstance).where(ProcessInstance.business_key == f"method_change:{change_id}")).one()
        publicity_id, publicity_data = publicity.id, publicity.data
    assert publicity_data["source"] == "failed" and publicity_data["tender_id"] == tender_id
    assert publicity_data["supplier"]["name"] == "福州精密仪器有限公司"
    # The clerks of the unit complete it (论证专家 are still missing).
    edit = clerk.task_named("修改单一来源公示", publicity_id)
    assert "论证专家" in clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]["error_message"]


# -- import_product_approval 进口产品审批/公示 ---------------------------------------------------------------------


def _import_data(project_id, **overrides):
    return {"project_id": project_id, "items": [{"item_name": "液相色谱质谱联用仪", "is_import": True,
                                                "policy_direction": "科研仪器", "scenario": "痕量有机物检测"},
                                               {"item_name": "实验台", "is_import": False}],
            "experts": EXPERTS, "reason": "国内同类产品检测限达不到要求", **overrides}


def test_import_approval_chain_and_the_plan_that_uses_it(app, people):
    clerk, reviewer, finance = people["clerk"], people["reviewer"], people["finance"]
    project = project_with_items(clerk, reviewer, amount=500000)
    opinion = upload(clerk, PDF, "进口论证意见.pdf", record_type="project", record_id=project["id"])["id"]
    instance = clerk.start("import_product_approval", _import_data(project["id"], attachment_ids=[opinion]))
    iid = instance["id"]
    approval_id = instance["data"]["import_approval_id"]
    approval = record(clerk, "import-approvals", approval_id)
    assert [a["attachment_id"] for a in approval["attachments"]] == [opinion]
    assert approval["status"] == "in_review" and approval["number"].startswith("JK")
    assert [i["item_name"] for i in approval["items"] if i["is_import"]] == ["液相色谱质谱联用仪"]
    only(people, iid, reviewer=["审核岗审核"])

    # Not yet approved: a plan buying imports is refused.
    refused_plan = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000, is_import=True,
                              import_approval_id=approval_id)
    assert "须先通过进口产品审批" in refused_plan["data"]["error_message"]

    approve(reviewer, "审核岗审核", iid)
    assert record(clerk, "import-approvals", approval_id)["status"] == "finance_review"
    only(people, iid, finance=["财政部门审核"])
    approve(finance, "财政部门审核", iid)
    assert record(clerk, "import-approvals", approval_id)["status"] == "to_publish"
    only(people, iid, clerk=["发布进口产品公示"])
    done = clerk.complete(clerk.task_named("发布进口产品公示", iid)["id"], {})
    assert done["status"] == "completed"
    approval = record(clerk, "import-approvals", approval_id)
    assert approval["status"] == "approved" and approval["published_at"]
    only(people, iid)
    history = clerk.history(iid)
    assert topics(history) == ["import_approval.submit", "import_approval.approve", "import_approval.approve",
                               "import_approval.publish"]
    assert actors(history) == ["reviewer", "finance", "clerk"]
    assert [c["status"] for c in changes(history, f"import_approval:{approval_id}") if "status" in c] == \
        [[None, "draft"], ["draft", "in_review"], ["in_review", "finance_review"], ["finance_review", "to_publish"],
         ["to_publish", "approved"]]

    # Now the real path: the plan that buys imported products cites the published approval.
    edit = clerk.task_named("编辑采购计划", refused_plan["id"])
    clerk.complete(edit["id"], {"year": 2026, "method": "open_tender", "amount": 200000, "sme_reserved_amount": 200000,
                                "project_id": project["id"], "is_import": True, "import_approval_id": approval_id,
                                "action": "submit"})
    approve(reviewer, "采购单位审核岗审核", refused_plan["id"])
    approve(finance, "财政部门审核", refused_plan["id"])
    plan = record(clerk, "plans", refused_plan["data"]["plan_id"])
    assert plan["status"] == "filed" and plan["is_import"] is True and plan["import_approval_id"] == approval_id
    # Another project's plan cannot cite it.
    other = register_project(clerk, reviewer, amount=300000)
    wrong = apply_plan(clerk, other["id"], amount=200000, sme_reserved_amount=200000, is_import=True,
                       import_approval_id=approval_id)
    assert "不是本计划所属项目的审批" in wrong["data"]["error_message"]
    assert clerk.ok(clerk.get("/api/import-approvals", query_string={"project_id": project["id"]}))[0]["id"] == approval_id


def test_import_reject_paths_and_delete(app, people):
    clerk, reviewer, finance = people["clerk"], people["reviewer"], people["finance"]
    project = project_with_items(clerk, reviewer, amount=500000)
    instance = clerk.start("import_product_approval", _import_data(project["id"]))
    iid, approval_id = instance["id"], instance["data"]["import_approval_id"]
    reject(reviewer, "审核岗审核", iid, "请补充法律专家意见")
    only(people, iid, clerk=["修改进口产品审批"])
    approval = record(clerk, "import-approvals", approval_id)
    assert approval["status"] == "draft" and approval["review_comment"] == "请补充法律专家意见"
    edit = clerk.task_named("修改进口产品审批", iid)
    clerk.complete(edit["id"], {**_import_data(project["id"]), "reason": "补充：国内产品无法满足", "action": "submit"})
    approve(reviewer, "审核岗审核", iid)
    reject(finance, "财政部门审核", iid, "不属于可以采购进口产品的情形")
    only(people, iid, clerk=["修改进口产品审批"])
    assert record(clerk, "import-approvals", approval_id)["review_comment"] == "不属于可以采购进口产品的情形"
    done = clerk.complete(clerk.task_named("修改进口产品审批", iid)["id"], {**_import_data(project["id"]), "action": "delete"})
    assert done["status"] == "completed"
    assert record(clerk, "import-approvals", approval_id)["status"] == "deleted"
    only(people, iid)
    assert actors(clerk.history(iid)) == ["reviewer", "clerk", "reviewer", "finance", "clerk"]


def test_import_refusals(app, people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = project_with_items(clerk, reviewer, amount=500000)

    def error(data):
        instance = clerk.start("import_product_approval", data)
        assert names(instance["tasks"]) == ["修改进口产品审批"]
        assert instance["data"].get("import_approval_id") is None  # nothing was kept
        return instance["data"]["error_message"]

    assert "不在项目" in error(_import_data(project["id"], items=[{"item_name": "显微镜", "is_import": True}]))
    assert "至少选择一项涉及进口" in error(_import_data(project["id"], items=[{"item_name": "实验台", "is_import": False}]))
    assert "至少添加一位进口产品采购论证专家" in error(_import_data(project["id"], experts=[]))
    other_unit = register_project(people["clerk2"], people["reviewer2"], budget_line_id=4, amount=100000)
    assert "请选择本单位的采购项目" in error(_import_data(other_unit["id"]))
    response = clerk.post("/api/processes/import_product_approval/instances", {"data": _import_data(project["id"], reason="")})
    assert response.status_code == 400 and "reason" in response.json["errors"]
    refused(reviewer, "import_product_approval", _import_data(project["id"]), 403, "不能发起")
    assert names(reviewer.tasks()) == []
    assert money(record(clerk, "projects", project["id"])["free_amount"]) == money(500000)
    assert clerk.ok(clerk.get("/api/import-approvals")) == []


def test_items_helper_matches_project(app, people):
    project = project_with_items(people["clerk"], people["reviewer"])
    assert [i["item_name"] for i in project["items"]] == [i["item_name"] for i in ITEMS]
