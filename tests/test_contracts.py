"""The contract lifecycle end to end (seed 001 ch.5), every role in turn through the API:
录入/审核/发布/备案, 变更, 终止, 账户变更, 撤销 (and publishing again), 履约完成, and every refusal."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from helpers import apply_plan, approve, award_in_system, event_types, money, names, register_project, reject

SUPPLIER = {"name": "福州市闽江家具有限公司", "credit_code": "91350100MA2Y3K4L5R"}
ACCOUNT = {"bank": "中国银行福州鼓楼支行", "account_name": "福州市闽江家具有限公司", "account_number": "4070 0123 4567 8901"}
NEW_ACCOUNT = {"bank": "兴业银行福州分行", "account_name": "福州市闽江家具有限公司", "account_number": "117010100100222333"}


def attach(user, contract_id, name="说明附件.pdf"):
    """Upload a file against the contract (contract_records imports this module, hence imported here)."""
    from contract_records import attach as attach_to
    return attach_to(user, contract_id, name)


def upload(user, name, **target):
    from contract_records import PDF, upload as post
    return post(user, PDF, name, **target)


def schedule(amount):
    """Two instalments: 30% on signing, the rest after acceptance."""
    first = (Decimal(amount) * Decimal("0.3")).quantize(Decimal("0.01"))
    return [{"phase": "预付款", "amount": float(first), "due_date": "2026-12-01"},
            {"phase": "验收款", "amount": float(Decimal(amount) - first), "condition": "验收合格后支付"}]


def contract_data(plan_id, amount=150000, **overrides):
    data = {"plan_id": plan_id, "name": "中小学课桌椅采购合同", "amount": amount, "signed_date": "2026-11-18",
            "suppliers": [SUPPLIER], "accounts": [ACCOUNT],
            "items": [{"item_name": "学生课桌椅", "quantity": 500, "unit_price": round(amount / 500, 2)}],
            "payment_schedule": schedule(amount), "text_ref": "file-contract-0001", "action": "submit"}
    data.update(overrides)
    return data


def filed_plan(login, plan_amount=200000, project_amount=300000):
    """A filed plan of the city unit (福州市教育局: clerk2/reviewer2, no finance review)."""
    clerk, reviewer = login("clerk2"), login("reviewer2")
    project = register_project(clerk, reviewer, budget_line_id=4, amount=project_amount)
    instance = apply_plan(clerk, project["id"], amount=plan_amount, sme_reserved_amount=plan_amount)
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    award_in_system(clerk.client.application, instance["data"]["plan_id"])
    return clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))


def file_contract(login, plan_id, **overrides):
    """Run contract_filing to the end; returns the filed contract."""
    clerk, reviewer = login("clerk2"), login("reviewer2")
    award_in_system(clerk.client.application, plan_id)
    instance = clerk.start("contract_filing", contract_data(plan_id, **overrides))
    approve(reviewer, "合同审核", instance["id"])
    clerk.complete(clerk.task_named("发布合同公告", instance["id"])["id"], {})
    done = clerk.complete(clerk.task_named("合同备案", instance["id"])["id"], {})
    assert done["status"] == "completed"
    contract = clerk.ok(clerk.get(f"/api/contracts/{instance['data']['contract_id']}"))
    assert contract["status"] == "filed"
    return contract


def get(user, contract_id):
    return user.ok(user.get(f"/api/contracts/{contract_id}"))


def snapshot(app, contract_ids=()):
    """Row counts a refused request must not change, and the contracts' and plans' full records."""
    from app.models import (Contract, ContractRequest, ContractVersion, HistoryEvent, HumanTask, Plan,
                            ProcessInstance)
    with app.extensions["db"].Session() as s:
        counts = {m.__name__: s.scalar(select(func.count()).select_from(m))
                  for m in (Contract, ContractRequest, ContractVersion, HistoryEvent, HumanTask, ProcessInstance)}
        records = {c: s.get(Contract, c).to_dict(details=True) for c in contract_ids}
        plans = {p.id: (p.status, p.amount) for p in s.scalars(select(Plan))}
    return counts, records, plans


def refused(user, key, data, status, text):
    """Starting ``key`` is refused with ``status`` and a message containing ``text``; returns the body."""
    response = user.post(f"/api/processes/{key}/instances", {"data": data})
    assert response.status_code == status, (response.status_code, response.json)
    assert text in response.json["message"], response.json
    return response.json


def record_changes(history, record):
    return [c["fields"] for e in history for c in e["changes"] if c["record"] == record]


# -- 合同录入/发布/备案 ------------------------------------------------------------------------------
def test_filing_chain_entry_review_publish_file(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    assert plan["status"] == "filed"

    instance = clerk.start("contract_filing", contract_data(plan["id"]))
    contract_id = instance["data"]["contract_id"]
    contract = get(clerk, contract_id)
    assert contract["status"] == "in_review" and contract["status_label"] == "审核中"
    assert contract["number"] == f"HT2026{contract_id:06d}" and contract["source"] == "manual"
    assert contract["amount"] == "150000.00" and contract["unpaid_amount"] == "150000.00"
    assert contract["accounts"] == [{**ACCOUNT, "account_number": "4070012345678901"}]
    assert [p["amount"] for p in contract["payment_schedule"]] == ["45000.00", "105000.00"]
    assert contract["current_version"] == 0 and contract["versions"] == []
    assert names(reviewer.tasks(), instance["id"]) == ["合同审核"]
    assert names(clerk.tasks(), instance["id"]) == []
    review_task = reviewer.task_named("合同审核", instance["id"])
    assert review_task["record_type"] == "contract" and review_task["record_id"] == contract_id

    approve(reviewer, "合同审核", instance["id"])
    assert get(clerk, contract_id)["status_label"] == "待发布"
    assert names(clerk.tasks(), instance["id"]) == ["发布合同公告"]
    assert names(reviewer.tasks(), instance["id"]) == []
    publish = clerk.task_named("发布合同公告", instance["id"])
    assert publish["candidate_groups"] == ["clerk"] and publish["assignee"] == "clerk2"
    assert clerk.ok(clerk.get(f"/api/tasks/{publish['id']}"))["form"]["id"] == "contract_publish"

    clerk.complete(publish["id"], {"announcement_title": "福州市教育局课桌椅采购合同公告"})
    contract = get(clerk, contract_id)
    assert contract["status"] == "published" and contract["status_label"] == "待备案"
    assert contract["announcement_title"] == "福州市教育局课桌椅采购合同公告"
    assert names(clerk.tasks(), instance["id"]) == ["合同备案"]
    assert clerk.ok(clerk.get(f"/api/plans/{plan['id']}"))["status"] == "filed"

    done = clerk.complete(clerk.task_named("合同备案", instance["id"])["id"], {})
    assert done["status"] == "completed" and done["tasks"] == []
    contract = get(clerk, contract_id)
    assert contract["status"] == "filed" and contract["status_label"] == "已备案"
    assert contract["current_version"] == 1
    assert [(v["version"], v["kind"]) for v in contract["versions"]] == [(1, "filing")]
    assert contract["versions"][0]["content"]["amount"] == "150000.00"
    assert clerk.ok(clerk.get(f"/api/plans/{plan['id']}"))["status"] == "used"
    assert names(clerk.tasks(), instance["id"]) == [] and names(reviewer.tasks(), instance["id"]) == []
    listed = clerk.ok(clerk.get("/api/contracts", query_string={"plan_id": plan["id"]}))
    assert [c["id"] for c in listed] == [contract_id] and "versions" not in listed[0]

    history = clerk.history(instance["id"])
    assert event_types(history) == ["instance_started", "service_task", "service_task", "task_completed",
                                    "service_task", "task_completed", "service_task", "task_completed",
                                    "service_task", "instance_completed"]
    assert [e["actor"] for e in history if e["type"] == "task_completed"] == ["reviewer2", "clerk2", "clerk2"]
    assert [f["status"] for f in record_changes(history, f"contract:{contract_id}") if "status" in f] == \
        [[None, "draft"], ["draft", "in_review"], ["in_review", "reviewed"], ["reviewed", "published"],
         ["published", "filed"]]
    assert {"status": ["filed", "used"]} in record_changes(history, f"plan:{plan['id']}")
    assert record_changes(history, "contract_version:1") == [{"version": [None, 1], "kind": [None, "filing"]}]
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))["ok"] is True


def test_filing_reject_edit_resubmit_then_reject_and_delete(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    instance = clerk.start("contract_filing", contract_data(plan["id"]))
    contract_id = instance["data"]["contract_id"]

    reject(reviewer, "合同审核", instance["id"], "支付计划与合同条款不符，请核对")
    contract = get(clerk, contract_id)
    assert contract["status"] == "draft" and contract["review_comment"] == "支付计划与合同条款不符，请核对"
    assert names(reviewer.tasks(), instance["id"]) == []
    edit = clerk.task_named("修改合同", instance["id"])
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["form"]["id"] == "contract_filing"  # one form for the start and the edit step (issue 19)
    assert detail["data"]["comment"] == "支付计划与合同条款不符，请核对"

    clerk.complete(edit["id"], contract_data(plan["id"], amount=160000))
    contract = get(clerk, contract_id)
    assert contract["status"] == "in_review" and contract["amount"] == "160000.00" and contract["review_comment"] == ""
    assert names(reviewer.tasks(), instance["id"]) == ["合同审核"] and names(clerk.tasks(), instance["id"]) == []

    reject(reviewer, "合同审核", instance["id"], "供应商已放弃签约")
    edit = clerk.task_named("修改合同", instance["id"])
    done = clerk.complete(edit["id"], contract_data(plan["id"], amount=160000, action="delete"))
    assert done["status"] == "completed"
    assert get(clerk, contract_id)["status"] == "deleted"
    assert clerk.ok(clerk.get(f"/api/plans/{plan['id']}"))["status"] == "filed"
    assert names(clerk.tasks(), instance["id"]) == [] and names(reviewer.tasks(), instance["id"]) == []
    history = clerk.history(instance["id"])
    assert [e["data"]["data"]["approved"] for e in history if e["type"] == "task_completed"
            and e["actor"] == "reviewer2"] == [False, False]
    assert {"status": ["draft", "deleted"]} in record_changes(history, f"contract:{contract_id}")


def test_filing_draft_then_submit(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    instance = clerk.start("contract_filing", contract_data(plan["id"], action="draft", payment_schedule=[]))
    contract_id = instance["data"]["contract_id"]
    assert get(clerk, contract_id)["status"] == "draft"
    assert names(instance["tasks"]) == ["修改合同"] and names(reviewer.tasks(), instance["id"]) == []
    clerk.complete(clerk.task_named("修改合同", instance["id"])["id"], contract_data(plan["id"]))
    assert get(clerk, contract_id)["status"] == "in_review"
    assert names(reviewer.tasks(), instance["id"]) == ["合同审核"]


def test_a_contract_in_another_entry_cannot_be_picked_up(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login)
    first = clerk.start("contract_filing", contract_data(plan["id"], action="draft"))
    cid = first["data"]["contract_id"]
    before = snapshot(app, [cid])
    refused(clerk, "contract_filing", contract_data(plan["id"], contract_id=cid), 409,
            f"正在流程 {first['id']} 中录入，请在该流程的待办中继续办理")
    assert snapshot(app, [cid]) == before
    clerk.complete(clerk.task_named("修改合同", first["id"])["id"], contract_data(plan["id"]))
    assert get(clerk, cid)["status"] == "in_review"


def test_amount_over_plan_goes_back_to_clerk_with_message(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login, plan_amount=200000)
    instance = clerk.start("contract_filing", contract_data(plan["id"], amount=250000))
    assert "合同金额不能超过采购计划金额" in instance["data"]["error_message"]
    assert names(instance["tasks"]) == ["修改合同"] and names(reviewer.tasks(), instance["id"]) == []
    contract_id = instance["data"]["contract_id"]
    assert get(clerk, contract_id)["status"] == "draft"
    assert clerk.ok(clerk.get(f"/api/plans/{plan['id']}"))["status"] == "filed"
    assert "error_caught" in event_types(clerk.history(instance["id"]))

    clerk.complete(clerk.task_named("修改合同", instance["id"])["id"], contract_data(plan["id"], amount=150000))
    assert names(reviewer.tasks(), instance["id"]) == ["合同审核"]
    # A second contract on the same plan may only use what is left of it.
    second = clerk.start("contract_filing", contract_data(plan["id"], amount=60000, name="课桌椅配套合同"))
    assert "已签订其他合同 150,000.00 元，可用 50,000.00 元" in second["data"]["error_message"]
    assert get(clerk, second["data"]["contract_id"])["status"] == "draft"
    clerk.complete(clerk.task_named("修改合同", second["id"])["id"],
                   contract_data(plan["id"], amount=50000, name="课桌椅配套合同"))
    assert names(reviewer.tasks(), second["id"]) == ["合同审核"]


def test_incomplete_or_inconsistent_contract_goes_back_to_clerk(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    wrong_total = clerk.start("contract_filing", contract_data(plan["id"], payment_schedule=schedule(100000)))
    assert wrong_total["data"]["error_message"] == "支付计划合计 100,000.00 元与合同金额 150,000.00 元不一致"
    no_account = clerk.start("contract_filing", contract_data(plan["id"], accounts=[]))
    assert no_account["data"]["error_message"] == "请至少添加一个收款账户"
    future = clerk.start("contract_filing", contract_data(plan["id"], signed_date="2026-12-01"))
    assert future["data"]["error_message"] == "合同签订日期不能晚于今天"
    for instance in (wrong_total, no_account, future):
        assert get(clerk, instance["data"]["contract_id"])["status"] == "draft"
        assert names(instance["tasks"]) == ["修改合同"]
    assert names(reviewer.tasks()) == []


def test_plan_not_filed_is_refused_and_nothing_changes(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    project = register_project(clerk, reviewer, budget_line_id=4, amount=300000)
    in_review = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000)
    before = snapshot(app)
    body = refused(clerk, "contract_filing", contract_data(in_review["data"]["plan_id"]), 409,
                   "只有已备案（可使用）的采购计划才能签订合同")
    assert body["code"] == "PLAN_NOT_USABLE" and "处理中" in body["message"]
    assert snapshot(app) == before


def test_award_draft_is_picked_up_by_id(app, login):
    """Another process (the award, later) creates the draft; the clerk completes it in contract_filing."""
    from app.models import Contract, Plan
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    with app.extensions["db"].Session() as s, s.begin():
        draft = Contract.new_draft(s, s.get(Plan, plan["id"]), plan["unit_id"], {"name": "中标结果合同", "amount": 150000},
                                   source="award")
        draft_id = draft.id
    instance = clerk.start("contract_filing", contract_data(plan["id"], contract_id=draft_id))
    assert instance["data"]["contract_id"] == draft_id
    approve(reviewer, "合同审核", instance["id"])
    clerk.complete(clerk.task_named("发布合同公告", instance["id"])["id"], {})
    clerk.complete(clerk.task_named("合同备案", instance["id"])["id"], {})
    contract = get(clerk, draft_id)
    assert contract["status"] == "filed" and contract["source"] == "award"
    assert contract["name"] == "中小学课桌椅采购合同"
    # A filed contract cannot be picked up again for entry.
    refused(clerk, "contract_filing", contract_data(plan["id"], contract_id=draft_id), 409, "不能修改")


def test_other_units_plans_and_contracts(app, login):
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    clerk, reviewer, auditor = login("clerk"), login("reviewer"), login("auditor")
    before = snapshot(app, [contract["id"]])
    assert refused(clerk, "contract_filing", contract_data(plan["id"]), 403, "不属于本单位")["code"] == "WRONG_UNIT"
    for key, data in (("contract_change", {"contract_id": contract["id"], "name": "改名", "explanation": "x",
                                           "attachment_ids": [1]}),
                      ("contract_termination", {"contract_id": contract["id"], "reason": "x", "explanation": "x"}),
                      ("contract_account_change", {"contract_id": contract["id"], "accounts": [NEW_ACCOUNT],
                                                   "reason": "x", "attachment_ids": [1]}),
                      ("contract_revocation", {"contract_id": contract["id"], "reason": "x", "attachment_ids": [1]}),
                      ("contract_fulfillment", {"contract_id": contract["id"], "performance_note": "x"})):
        refused(clerk, key, data, 403, "不属于本单位")
    assert snapshot(app, [contract["id"]]) == before
    assert clerk.get(f"/api/contracts/{contract['id']}").status_code == 404
    assert clerk.get("/api/contracts", query_string={"plan_id": plan["id"]}).status_code == 404
    assert clerk.ok(clerk.get("/api/contracts")) == []
    assert names(reviewer.tasks()) == []
    # Reviewers and auditors of other units cannot act; the auditor reads everything.
    assert get(auditor, contract["id"])["status"] == "filed"
    assert [c["id"] for c in auditor.ok(auditor.get("/api/contracts"))] == [contract["id"]]
    assert auditor.post("/api/processes/contract_fulfillment/instances",
                        {"data": {"contract_id": contract["id"], "performance_note": "x"}}).status_code == 403
    # Reviewers cannot start contract procedures (candidate starter group clerk).
    refused(login("reviewer2"), "contract_fulfillment", {"contract_id": contract["id"], "performance_note": "x"},
            403, "不能发起")
    assert get(login("clerk2"), contract["id"])["status"] == "filed"


def test_bad_input_gets_chinese_field_messages_and_changes_nothing(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login)
    before = snapshot(app)
    response = clerk.post("/api/processes/contract_filing/instances", {"data": {
        "plan_id": "第一个", "name": "", "amount": 100.123, "signed_date": "十一月", "text_ref": "f",
        "accounts": [{"bank": "中国银行", "account_name": ""}]}})
    assert response.status_code == 400
    errors = response.json["errors"]
    assert errors["plan_id"] == ["请输入数字"]
    assert errors["name"] == ["此项为必填项"]
    assert errors["amount"] == ["最多保留 2 位小数"]
    assert errors["signed_date"] == ["日期格式不正确（应为 YYYY-MM-DD）"]
    assert errors["accounts"]["0"]["account_name"] == ["此项为必填项"]
    assert errors["accounts"]["0"]["account_number"] == ["此项为必填项"]
    # Rules on the record's shape: 400 naming the field.
    response = clerk.post("/api/processes/contract_filing/instances", {"data": contract_data(
        plan["id"], accounts=[{**ACCOUNT, "account_number": "ABC-123"}])})
    assert response.status_code == 400
    assert response.json["errors"] == {"accounts": ["第 1 个收款账户的账号应为 6 到 32 位数字"]}
    response = clerk.post("/api/processes/contract_filing/instances", {"data": contract_data(
        plan["id"], suppliers=[{"name": "某公司", "credit_code": "12345"}])})
    assert response.status_code == 400
    assert response.json["errors"] == {"suppliers": ["第 1 个供应商的统一社会信用代码应为 18 位数字或大写字母"]}
    response = clerk.post("/api/processes/contract_change/instances", {"data": {"contract_id": 1}})
    assert response.status_code == 400
    assert response.json["errors"] == {"explanation": ["此项为必填项"], "attachment_ids": ["此项为必填项"]}
    assert snapshot(app) == before
    response = clerk.get("/api/contracts", query_string={"plan_id": "abc"})
    assert response.status_code == 400 and response.json["errors"] == {"plan_id": ["应为整数"]}
    response = clerk.get("/api/contracts", query_string={"status": "lost"})
    assert response.status_code == 400 and response.json["errors"] == {"status": ["合同状态取值不正确"]}
    assert clerk.get("/api/contracts/999").status_code == 404


# -- 合同变更 ---------------------------------------------------------------------------------------
def change_data(clerk, contract_id, amount=180000, **overrides):
    """A change request with its 变更说明附件 uploaded against the contract by ``clerk``."""
    data = {"contract_id": contract_id, "amount": amount, "payment_schedule": schedule(amount),
            "items": [{"item_name": "学生课桌椅", "quantity": 600, "unit_price": round(amount / 600, 2)}],
            "explanation": "学生人数增加，课桌椅增购 100 套",
            "attachment_ids": [attach(clerk, contract_id, "变更说明.pdf")]}
    data.update(overrides)
    return data


def test_change_chain_makes_a_new_version_and_keeps_the_old(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    cid = contract["id"]

    instance = clerk.start("contract_change", change_data(clerk, cid))
    request_id = instance["data"]["contract_request_id"]
    contract = get(clerk, cid)
    assert contract["status"] == "filed" and contract["pending"] == "change" and contract["pending_label"] == "合同变更"
    assert contract["amount"] == "150000.00"  # nothing changes before the review
    assert [(r["id"], r["kind"], r["status"]) for r in contract["requests"]] == [(request_id, "change", "in_review")]
    assert contract["requests"][0]["proposed"]["amount"] == "180000.00"
    assert names(reviewer.tasks(), instance["id"]) == ["合同变更审核"]
    assert names(clerk.tasks(), instance["id"]) == []
    # While the change is open no other request is accepted.
    refused(clerk, "contract_termination", {"contract_id": cid, "reason": "x", "explanation": "x"}, 409,
            "有未办结的合同变更申请")

    reject(reviewer, "合同变更审核", instance["id"], "增购数量请附采购需求说明")
    contract = get(clerk, cid)
    assert contract["requests"][0]["status"] == "returned" and contract["pending"] == "change"
    assert contract["requests"][0]["review_comment"] == "增购数量请附采购需求说明"
    edit = clerk.task_named("修改变更申请", instance["id"])
    assert clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]["comment"] == "增购数量请附采购需求说明"
    assert names(reviewer.tasks(), instance["id"]) == []

    clerk.complete(edit["id"], change_data(clerk, cid, amount=190000, action="submit",
                                           explanation="学生人数增加，增购课桌椅，附采购需求说明"))
    assert get(clerk, cid)["requests"][0]["status"] == "in_review"
    approve(reviewer, "合同变更审核", instance["id"])
    contract = get(clerk, cid)
    assert contract["status"] == "filed" and contract["pending"] is None
    assert contract["amount"] == "190000.00" and contract["current_version"] == 2
    assert contract["unpaid_amount"] == "190000.00"
    assert [(v["version"], v["kind"], v["content"]["amount"]) for v in contract["versions"]] == \
        [(1, "filing", "150000.00"), (2, "change", "190000.00")]
    assert contract["versions"][0]["content"]["items"][0]["quantity"] == 500
    assert contract["versions"][1]["reason"] == "学生人数增加，增购课桌椅，附采购需求说明"
    assert contract["versions"][1]["request_id"] == request_id
    assert contract["requests"][0]["status"] == "approved"
    assert contract["name"] == "中小学课桌椅采购合同" and contract["accounts"] == contract["versions"][0]["content"]["accounts"]
    assert names(clerk.tasks(), instance["id"]) == [] and names(reviewer.tasks(), instance["id"]) == []

    history = clerk.history(instance["id"])
    assert event_types(history) == ["instance_started", "service_task", "task_completed", "service_task",
                                    "task_completed", "service_task", "task_completed", "service_task",
                                    "instance_completed"]
    changes = record_changes(history, f"contract:{cid}")
    assert {"amount": ["150000.00", "190000.00"]}.items() <= [c for c in changes if "amount" in c][0].items()
    assert {"pending": [None, "change"]} in changes
    assert record_changes(history, "contract_version:2") == [{"version": [None, 2], "kind": [None, "change"]}]


def test_change_refusals(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login, plan_amount=200000)
    financing = file_contract(login, plan["id"], amount=50000, is_financing=True, name="融资合同")
    ordinary = file_contract(login, plan["id"], amount=100000)
    before = snapshot(app, [financing["id"], ordinary["id"]])
    body = refused(clerk, "contract_change", change_data(clerk, financing["id"], amount=60000), 409,
                   f"合同 {financing['number']} 为融资合同，不允许合同变更")
    assert body["code"] == "FINANCING_CONTRACT"
    refused(clerk, "contract_change", change_data(clerk, ordinary["id"], amount=160000), 409,
            "合同金额不能超过采购计划金额")
    refused(clerk, "contract_change", {"contract_id": ordinary["id"], "name": ordinary["name"],
                                       "explanation": "无", "attachment_ids": [attach(clerk, ordinary["id"])]}, 409, "变更内容与原合同一致")
    refused(clerk, "contract_change", change_data(clerk, ordinary["id"], amount=120000, payment_schedule=schedule(100000)),
            409, "支付计划合计 100,000.00 元与变更后的合同金额 120,000.00 元不一致")
    assert snapshot(app, [financing["id"], ordinary["id"]]) == before
    # A contract not yet filed cannot be changed.
    draft = clerk.start("contract_filing", contract_data(plan["id"], amount=10000, action="draft"))
    refused(clerk, "contract_change", change_data(clerk, draft["data"]["contract_id"], amount=20000), 409,
            "当前状态为“录入中”，不能申请合同变更")


# -- 合同终止 ---------------------------------------------------------------------------------------
def test_termination_chain_blocks_payments_from_the_request_on(app, login):
    from app.models import Contract, DomainError
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    cid = contract["id"]

    def payable(amount=1000):
        with app.extensions["db"].Session() as s:
            try:
                s.get(Contract, cid).check_payable(amount)
                return True
            except DomainError as err:
                return err.message
    assert payable() is True

    data = {"contract_id": cid, "reason": "供应商无法按期供货", "explanation": "经双方协商一致解除合同",
            "attachment_ids": [attach(clerk, cid, "解除协议.pdf")]}
    instance = clerk.start("contract_termination", data)
    contract = get(clerk, cid)
    assert contract["status"] == "terminating" and contract["status_label"] == "终止中"
    assert contract["pending"] == "termination"
    assert payable() == f"合同 {contract['number']} 已发起终止，不能发起新的支付申请"
    assert names(reviewer.tasks(), instance["id"]) == ["合同终止审核"]
    refused(clerk, "contract_termination", data, 409, "已发起合同终止，请勿重复申请")
    refused(clerk, "contract_fulfillment", {"contract_id": cid, "performance_note": "x"}, 409,
            "当前状态为“终止中”，不能确认履约完成")

    # Rejected, the request goes back to the clerk; the contract stays 终止中 until it is withdrawn.
    reject(reviewer, "合同终止审核", instance["id"], "请补充双方解除协议")
    assert get(clerk, cid)["status"] == "terminating"
    edit = clerk.task_named("修改终止申请", instance["id"])
    done = clerk.complete(edit["id"], {**data, "action": "cancel"})
    assert done["status"] == "completed"
    contract = get(clerk, cid)
    assert contract["status"] == "filed" and contract["pending"] is None
    assert contract["requests"][0]["status"] == "cancelled"
    assert payable() is True
    history = clerk.history(instance["id"])
    assert [f["status"] for f in record_changes(history, f"contract:{cid}") if "status" in f] == \
        [["filed", "terminating"], ["terminating", "filed"]]

    # A second request, approved: terminated.
    second = clerk.start("contract_termination", {**data, "attachment_ids": [attach(clerk, cid, "解除协议（盖章）.pdf")]})
    reject(reviewer, "合同终止审核", second["id"], "附件不清晰")
    clerk.complete(clerk.task_named("修改终止申请", second["id"])["id"], {**data, "action": "submit"})
    assert names(reviewer.tasks(), second["id"]) == ["合同终止审核"]
    done = approve(reviewer, "合同终止审核", second["id"])
    assert done["status"] == "completed"
    contract = get(clerk, cid)
    assert contract["status"] == "terminated" and contract["pending"] is None
    assert [r["status"] for r in contract["requests"]] == ["cancelled", "approved"]
    assert payable() == f"合同 {contract['number']} 已终止，不能发起新的支付申请"
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    refused(clerk, "contract_termination", data, 409, "当前状态为“已终止”，不能申请合同终止")
    refused(clerk, "contract_change", change_data(clerk, cid), 409, "当前状态为“已终止”")
    # The plan's amount is free again (nothing was paid).
    file_contract(login, plan["id"], amount=200000)


def test_terminate_a_contract_not_filed_is_refused(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login)
    instance = clerk.start("contract_filing", contract_data(plan["id"]))
    cid = instance["data"]["contract_id"]
    before = snapshot(app, [cid])
    refused(clerk, "contract_termination", {"contract_id": cid, "reason": "x", "explanation": "x"}, 409,
            "当前状态为“审核中”，不能申请合同终止")
    refused(clerk, "contract_revocation", {"contract_id": cid, "reason": "x", "attachment_ids": [attach(clerk, cid)]}, 409,
            "当前状态为“审核中”，不能申请合同撤销")
    refused(clerk, "contract_account_change", {"contract_id": cid, "accounts": [NEW_ACCOUNT], "reason": "x",
                                               "attachment_ids": [attach(clerk, cid)]}, 409, "当前状态为“审核中”，不能申请账户变更")
    refused(clerk, "contract_fulfillment", {"contract_id": cid, "performance_note": "x"}, 409,
            "当前状态为“审核中”，不能确认履约完成")
    assert snapshot(app, [cid]) == before


# -- 账户变更 ---------------------------------------------------------------------------------------
def test_account_change_chain_keeps_the_old_account(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    cid = contract["id"]
    old_accounts = contract["accounts"]
    data = {"contract_id": cid, "accounts": [NEW_ACCOUNT], "reason": "供应商基本户变更",
            "attachment_ids": [attach(clerk, cid, "账户变更说明.pdf")]}
    instance = clerk.start("contract_account_change", data)
    contract = get(clerk, cid)
    assert contract["pending"] == "account_change" and contract["accounts"] == old_accounts
    assert names(reviewer.tasks(), instance["id"]) == ["账户变更审核"]

    reject(reviewer, "账户变更审核", instance["id"], "请上传开户许可证")
    edit = clerk.task_named("修改账户变更申请", instance["id"])
    # On the edit task the new file is uploaded against the instance; submitted, it is bound to the contract.
    licence = upload(clerk, name="开户许可证.pdf", instance_id=instance["id"])
    clerk.complete(edit["id"], {**data, "attachment_ids": [licence["id"]], "action": "submit"})
    approve(reviewer, "账户变更审核", instance["id"])
    contract = get(clerk, cid)
    assert contract["accounts"] == [NEW_ACCOUNT] and contract["pending"] is None and contract["status"] == "filed"
    assert [(v["version"], v["kind"]) for v in contract["versions"]] == [(1, "filing"), (2, "account_change")]
    assert contract["versions"][0]["content"]["accounts"] == old_accounts
    assert contract["versions"][1]["reason"] == "供应商基本户变更"
    assert [a["name"] for a in contract["requests"][0]["attachments"]] == ["开户许可证.pdf"]
    assert clerk.ok(clerk.get(f"/api/attachments/{licence['id']}/info"))["record_id"] == cid
    history = clerk.history(instance["id"])
    assert {"accounts": [old_accounts, [NEW_ACCOUNT]], "current_version": [1, 2], "pending": ["account_change", None]} \
        in record_changes(history, f"contract:{cid}")
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    # The same account again is no change.
    refused(clerk, "contract_account_change", data, 409, "新的收款账户与原账户相同")


def test_financing_contract_refuses_account_change_and_revocation(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"], is_financing=True)
    before = snapshot(app, [contract["id"]])
    refused(clerk, "contract_account_change", {"contract_id": contract["id"], "accounts": [NEW_ACCOUNT],
                                               "reason": "x", "attachment_ids": [attach(clerk, contract["id"])]}, 409,
            "为融资合同，不允许账户变更")
    refused(clerk, "contract_revocation", {"contract_id": contract["id"], "reason": "x", "attachment_ids": [attach(clerk, contract["id"])]},
            409, f"合同 {contract['number']} 为融资合同，不允许合同撤销")
    assert snapshot(app, [contract["id"]]) == before
    # Termination and fulfilment remain open to financing contracts.
    done = clerk.start("contract_fulfillment", {"contract_id": contract["id"], "performance_note": "已按期交付"})
    assert done["status"] == "completed" and get(clerk, contract["id"])["status"] == "fulfilled"


# -- 合同撤销，及撤销后重新公示 ----------------------------------------------------------------------
def test_revocation_chain_then_published_again(login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    cid = contract["id"]
    data = {"contract_id": cid, "reason": "合同文本与中标结果不一致", "attachment_ids": [attach(clerk, cid, "撤销说明.pdf")]}
    instance = clerk.start("contract_revocation", data)
    assert get(clerk, cid)["pending"] == "revocation" and get(clerk, cid)["status"] == "filed"
    assert names(reviewer.tasks(), instance["id"]) == ["合同撤销审核"]
    reject(reviewer, "合同撤销审核", instance["id"], "请说明不一致之处")
    clerk.complete(clerk.task_named("修改撤销申请", instance["id"])["id"],
                   {**data, "reason": "合同金额与中标金额不一致", "action": "submit"})
    approve(reviewer, "合同撤销审核", instance["id"])
    contract = get(clerk, cid)
    assert contract["status"] == "revoked" and contract["status_label"] == "已撤销" and contract["pending"] is None
    assert contract["requests"][0]["reason"] == "合同金额与中标金额不一致"
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    refused(clerk, "contract_revocation", data, 409, "当前状态为“已撤销”，不能申请合同撤销")
    refused(clerk, "contract_fulfillment", {"contract_id": cid, "performance_note": "x"}, 409, "已撤销")

    # 撤销后可以重新公示合同: the same contract goes through entry, review, announcement and filing again.
    again = clerk.start("contract_filing", contract_data(plan["id"], contract_id=cid, amount=140000))
    assert again["data"]["contract_id"] == cid
    contract = get(clerk, cid)
    assert contract["status"] == "in_review" and contract["amount"] == "140000.00"
    approve(reviewer, "合同审核", again["id"])
    clerk.complete(clerk.task_named("发布合同公告", again["id"])["id"], {})
    clerk.complete(clerk.task_named("合同备案", again["id"])["id"], {})
    contract = get(clerk, cid)
    assert contract["status"] == "filed" and contract["current_version"] == 2
    assert [(v["version"], v["kind"], v["content"]["amount"]) for v in contract["versions"]] == \
        [(1, "filing", "150000.00"), (2, "refiling", "140000.00")]
    assert [f["status"] for f in record_changes(clerk.history(again["id"]), f"contract:{cid}") if "status" in f] == \
        [["revoked", "draft"], ["draft", "in_review"], ["in_review", "reviewed"], ["reviewed", "published"],
         ["published", "filed"]]


# -- 履约完成 ---------------------------------------------------------------------------------------
def test_fulfillment_then_nothing_more(app, login):
    from app.models import Contract, DomainError
    clerk, reviewer = login("clerk2"), login("reviewer2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    cid = contract["id"]
    done = clerk.start("contract_fulfillment", {"contract_id": cid, "performance_note": "货物已全部交付并验收合格"})
    assert done["status"] == "completed" and done["tasks"] == []
    contract = get(clerk, cid)
    assert contract["status"] == "fulfilled" and contract["status_label"] == "履约完成"
    assert contract["performance_note"] == "货物已全部交付并验收合格"
    history = clerk.history(done["id"])
    assert event_types(history) == ["instance_started", "service_task", "instance_completed"]
    assert record_changes(history, f"contract:{cid}") == [
        {"status": ["filed", "fulfilled"], "performance_note": ["", "货物已全部交付并验收合格"]}]

    before = snapshot(app, [cid])
    refused(clerk, "contract_fulfillment", {"contract_id": cid, "performance_note": "再次确认"}, 409,
            f"合同 {contract['number']} 当前状态为“履约完成”，不能确认履约完成")
    refused(clerk, "contract_change", change_data(clerk, cid), 409, "当前状态为“履约完成”")
    refused(clerk, "contract_termination", {"contract_id": cid, "reason": "x", "explanation": "x"}, 409,
            "履约完成")
    assert snapshot(app, [cid]) == before
    with app.extensions["db"].Session() as s:
        record = s.get(Contract, cid)
        assert record.can_pay() is False
        for check in (lambda: record.check_payable(1), record.check_acceptance):
            with pytest.raises(DomainError, match="已履约完成，不能再发起"):
                check()
    assert names(reviewer.tasks()) == []


def test_fulfillment_refused_while_a_request_is_open(app, login):
    clerk = login("clerk2")
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    clerk.start("contract_change", change_data(clerk, contract["id"]))
    before = snapshot(app, [contract["id"]])
    refused(clerk, "contract_fulfillment", {"contract_id": contract["id"], "performance_note": "完成"}, 409,
            "有未办结的合同变更申请，办结后才能确认履约完成")
    response = clerk.post("/api/processes/contract_fulfillment/instances",
                          {"data": {"contract_id": contract["id"]}})
    assert response.status_code == 400 and response.json["errors"] == {"performance_note": ["此项为必填项"]}
    assert snapshot(app, [contract["id"]]) == before
    assert money(get(clerk, contract["id"])["amount"]) == money(150000)
