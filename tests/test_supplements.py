"""补充合同 (001 §5.2) and 分包合同 (001 §5.3) end to end, role by role: submit → review → in effect,
reject → edit → resubmit or cancel, the 10% rule with its figures, closed projects, and every refusal."""
import pytest

from contract_records import (attach, contract, contract_row, counts, filed_contract, office_zip, record_changes, refused,
                              refused_completion, service_outputs, set_project_status)
from helpers import approve, event_types, names, reject


@pytest.fixture(autouse=True)
def attachments_dir(app, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")


def models():
    from app.models import Contract, Subcontract, SupplementaryContract
    return Contract, SupplementaryContract, Subcontract


def supplement_data(contract_id, text_ids, amount=10000, **overrides):
    return {"contract_id": contract_id, "name": "课桌椅增购补充合同", "amount": amount, "signed_date": "2026-11-19",
            "content": "学生人数增加，增购课桌椅 30 套", "text_attachment_ids": text_ids, **overrides}


def get_supplement(user, record_id):
    return user.ok(user.get(f"/api/supplementary-contracts/{record_id}"))


# -- 补充合同 ----------------------------------------------------------------------------------------
def test_supplement_chain_raises_what_may_be_paid(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login, amount=150000)
    cid = c["id"]
    text_id = attach(clerk, cid, "补充合同.pdf")
    instance = clerk.start("supplementary_contract", supplement_data(cid, [text_id]))
    record_id = instance["data"]["supplementary_contract_id"]
    record = get_supplement(clerk, record_id)
    assert record["status"] == "in_review" and record["number"] == f"BC2026{record_id:06d}"
    assert record["amount"] == "10000.00" and record["signed_date"] == "2026-11-19"
    assert [a["attachment_id"] for a in record["attachments"]] == [text_id]
    assert contract(clerk, cid)["supplement_amount"] == "0.00"
    assert names(reviewer.tasks(), instance["id"]) == ["补充合同审核"] and names(clerk.tasks(), instance["id"]) == []
    task = reviewer.task_named("补充合同审核", instance["id"])
    assert task["record_type"] == "contract" and task["record_id"] == cid

    reject(reviewer, "补充合同审核", instance["id"], "补充内容请写明单价")
    assert get_supplement(clerk, record_id)["status"] == "returned"
    edit = clerk.task_named("修改补充合同", instance["id"])
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["form"]["id"] == "supplementary_contract" and detail["data"]["comment"] == "补充内容请写明单价"
    clerk.complete(edit["id"], {**supplement_data(cid, [text_id], amount=12000,
                                                  content="增购课桌椅 36 套，单价 333.33 元"), "action": "submit"})
    assert names(reviewer.tasks(), instance["id"]) == ["补充合同审核"]
    done = approve(reviewer, "补充合同审核", instance["id"])
    assert done["status"] == "completed"
    record = get_supplement(clerk, record_id)
    assert record["status"] == "approved" and record["status_label"] == "已生效" and record["amount"] == "12000.00"
    c = contract(clerk, cid)
    assert (c["amount"], c["supplement_amount"], c["total_amount"], c["unpaid_amount"]) == \
        ("150000.00", "12000.00", "162000.00", "162000.00")
    assert [r["id"] for r in clerk.ok(clerk.get(f"/api/contracts/{cid}/supplementary-contracts"))] == [record_id]
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []

    history = clerk.history(instance["id"])
    assert event_types(history)[-2:] == ["service_task", "instance_completed"]
    assert {"supplement_amount": ["0.00", "12000.00"]} in record_changes(history, f"contract:{cid}")
    sha = clerk.ok(clerk.get(f"/api/attachments/{text_id}/info"))["sha256"]
    assert service_outputs(history, "contract.supplement_submit")[0]["attachments"] == \
        [{"attachment_id": text_id, "sha256": sha}]

    # The contract may now be paid up to its amount plus the supplement.
    pay = clerk.start("contract_payment", {"contract_id": cid, "amount": 162000, "payment_attachment_ids": [text_id]})
    approve(reviewer, "合同支付审核", pay["id"])
    assert contract(clerk, cid)["paid_amount"] == "162000.00"


def test_supplements_together_at_most_ten_percent(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    cid = filed_contract(login, amount=150000)["id"]
    text_id = attach(clerk, cid)
    first = clerk.start("supplementary_contract", supplement_data(cid, [text_id], amount=10000))
    before = counts(app, *models()), contract_row(app, cid)
    body = refused(clerk, "supplementary_contract", supplement_data(cid, [text_id], amount=6000), 409,
                   "补充合同金额合计不能超过原合同金额的 10%：原合同金额 150,000.00 元，上限 15,000.00 元；"
                   "已生效的补充合同 0.00 元，审核中 10,000.00 元，本次 6,000.00 元，最多还可签订 5,000.00 元")
    assert body["code"] == "SUPPLEMENT_LIMIT"
    assert (counts(app, *models()), contract_row(app, cid)) == before
    approve(reviewer, "补充合同审核", first["id"])
    second = clerk.start("supplementary_contract", supplement_data(cid, [text_id], amount=5000, name="第二份补充合同"))
    # Rejected, the second one no longer holds its share; taken meanwhile, its resubmission is refused.
    reject(reviewer, "补充合同审核", second["id"], "请核对金额")
    third = clerk.start("supplementary_contract", supplement_data(cid, [text_id], amount=1000, name="第三份补充合同"))
    edit = clerk.task_named("修改补充合同", second["id"])
    refused_completion(clerk, edit["id"], {**supplement_data(cid, [text_id], amount=5000), "action": "submit"}, 409,
                       "已生效的补充合同 10,000.00 元，审核中 1,000.00 元，本次 5,000.00 元，最多还可签订 4,000.00 元")
    clerk.complete(edit["id"], {**supplement_data(cid, [text_id], amount=4000), "action": "submit"})
    approve(reviewer, "补充合同审核", second["id"])
    approve(reviewer, "补充合同审核", third["id"])
    c = contract(clerk, cid)
    assert c["supplement_amount"] == "15000.00" and c["total_amount"] == "165000.00"
    refused(clerk, "supplementary_contract", supplement_data(cid, [text_id], amount=0.01), 409,
            "最多还可签订 0.00 元")


def test_supplement_reject_then_cancel(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    cid = filed_contract(login)["id"]
    text_id = attach(clerk, cid)
    instance = clerk.start("supplementary_contract", supplement_data(cid, [text_id]))
    reject(reviewer, "补充合同审核", instance["id"], "无需签订补充合同")
    done = clerk.complete(clerk.task_named("修改补充合同", instance["id"])["id"],
                          {**supplement_data(cid, [text_id]), "action": "cancel"})
    assert done["status"] == "completed"
    record = get_supplement(clerk, instance["data"]["supplementary_contract_id"])
    assert record["status"] == "cancelled" and record["review_comment"] == "无需签订补充合同"
    assert contract(clerk, cid)["supplement_amount"] == "0.00"
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    # Cancelled, it no longer counts against the 10%.
    clerk.start("supplementary_contract", supplement_data(cid, [text_id], amount=15000))


def test_supplement_refused_once_the_project_is_closed(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    text_id = attach(clerk, c["id"])
    pending = clerk.start("supplementary_contract", supplement_data(c["id"], [text_id]))
    set_project_status(app, c["project_id"], "closed")
    project = clerk.ok(clerk.get(f"/api/projects/{c['project_id']}"))
    before = counts(app, *models()), contract_row(app, c["id"])
    body = refused(clerk, "supplementary_contract", supplement_data(c["id"], [text_id]), 409,
                   f"项目 {project['number']} 已结项，不允许签订补充合同")
    assert body["code"] == "PROJECT_CLOSED"
    refused_completion(reviewer, reviewer.task_named("补充合同审核", pending["id"])["id"], {"approved": "true"}, 409,
                       "已结项，不允许签订补充合同；请审核不通过，退回经办岗取消该补充合同")
    assert (counts(app, *models()), contract_row(app, c["id"])) == before


@pytest.mark.parametrize("status, label", [("terminating", "终止中"), ("terminated", "已终止"), ("revoked", "已撤销"),
                                           ("fulfilled", "履约完成")])
def test_supplement_and_subcontract_only_on_filed_contracts(app, login, status, label):
    clerk = login("clerk2")
    c = filed_contract(login)
    text_id = attach(clerk, c["id"])
    from app.models import Contract
    with app.extensions["db"].Session() as s, s.begin():
        s.get(Contract, c["id"]).status = status
    before = counts(app, *models())
    refused(clerk, "supplementary_contract", supplement_data(c["id"], [text_id]), 409,
            f"合同 {c['number']} 当前状态为“{label}”，只有已备案的合同才能签订补充合同")
    refused(clerk, "subcontract", subcontract_data(c["id"], [text_id]), 409,
            f"合同 {c['number']} 当前状态为“{label}”，只有已备案的合同才能签订分包合同")
    assert counts(app, *models()) == before


def test_supplement_bad_input(app, login):
    clerk = login("clerk2")
    c = filed_contract(login)
    text_id = attach(clerk, c["id"])
    before = counts(app, *models())
    response = clerk.post("/api/processes/supplementary_contract/instances",
                          {"data": supplement_data(c["id"], [text_id], signed_date="2026-12-01")})
    assert response.status_code == 400 and response.json["errors"] == {"signed_date": ["补充合同签订日期不能晚于今天"]}
    response = clerk.post("/api/processes/supplementary_contract/instances",
                          {"data": supplement_data(c["id"], [], name="", amount=None)})
    assert response.status_code == 400
    assert response.json["errors"] == {"name": ["此项为必填项"], "amount": ["此项不能为空"]}
    response = clerk.post("/api/processes/supplementary_contract/instances", {"data": supplement_data(c["id"], [])})
    assert response.status_code == 400 and response.json["errors"] == {"text_attachment_ids": ["请上传补充合同文本"]}
    refused(login("clerk"), "supplementary_contract", supplement_data(c["id"], [text_id]), 403, "不属于本单位")
    assert counts(app, *models()) == before


# -- 分包合同 ----------------------------------------------------------------------------------------
def subcontract_data(contract_id, text_ids, amount=30000, **overrides):
    return {"contract_id": contract_id, "name": "课桌椅安装分包合同", "subcontractor_name": "福州市鼓楼区安装服务有限公司",
            "subcontractor_credit_code": "91350102MA2YK8L5P6", "amount": amount, "signed_date": "2026-11-19",
            "content": "课桌椅现场安装", "text_attachment_ids": text_ids, **overrides}


def test_subcontract_chain(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    cid = filed_contract(login, amount=150000)["id"]
    text_id = attach(clerk, cid, "分包合同.docx", office_zip("docx"))
    instance = clerk.start("subcontract", subcontract_data(cid, [text_id]))
    record_id = instance["data"]["subcontract_id"]
    record = clerk.ok(clerk.get(f"/api/subcontracts/{record_id}"))
    assert record["status"] == "in_review" and record["number"] == f"FB2026{record_id:06d}"
    assert record["subcontractor_name"] == "福州市鼓楼区安装服务有限公司"
    assert record["subcontractor_credit_code"] == "91350102MA2YK8L5P6"
    assert names(reviewer.tasks(), instance["id"]) == ["分包合同审核"] and names(clerk.tasks(), instance["id"]) == []

    reject(reviewer, "分包合同审核", instance["id"], "请写明安装范围")
    edit = clerk.task_named("修改分包合同", instance["id"])
    assert clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["form"]["id"] == "subcontract"
    clerk.complete(edit["id"], {**subcontract_data(cid, [text_id], content="三所学校课桌椅现场安装"), "action": "submit"})
    approve(reviewer, "分包合同审核", instance["id"])
    record = clerk.ok(clerk.get(f"/api/subcontracts/{record_id}"))
    assert record["status"] == "approved" and record["content"] == "三所学校课桌椅现场安装"
    assert [r["id"] for r in clerk.ok(clerk.get(f"/api/contracts/{cid}/subcontracts"))] == [record_id]
    history = clerk.history(instance["id"])
    assert [f["status"] for f in record_changes(history, f"subcontract:{record_id}") if "status" in f] == \
        [[None, "in_review"], ["in_review", "returned"], ["returned", "in_review"], ["in_review", "approved"]]
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    # The contract's amounts are not touched by a subcontract.
    c = contract(clerk, cid)
    assert (c["total_amount"], c["paid_amount"]) == ("150000.00", "0.00")


def test_subcontract_refusals(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login, amount=150000)
    text_id = attach(clerk, c["id"])
    first = clerk.start("subcontract", subcontract_data(c["id"], [text_id], amount=100000))
    before = counts(app, *models())
    body = refused(clerk, "subcontract", subcontract_data(c["id"], [text_id], amount=50000.01), 409,
                   "分包合同金额合计 150,000.01 元超过合同金额 150,000.00 元（其他分包合同 100,000.00 元，本次 50,000.01 元）")
    assert body["code"] == "SUBCONTRACT_LIMIT"
    response = clerk.post("/api/processes/subcontract/instances",
                          {"data": subcontract_data(c["id"], [text_id], subcontractor_credit_code="12345")})
    assert response.status_code == 400
    assert response.json["errors"] == {"subcontractor_credit_code": ["分包供应商统一社会信用代码应为 18 位数字或大写字母"]}
    response = clerk.post("/api/processes/subcontract/instances", {"data": subcontract_data(c["id"], [])})
    assert response.status_code == 400 and response.json["errors"] == {"text_attachment_ids": ["请上传分包合同文本"]}
    assert counts(app, *models()) == before
    reject(reviewer, "分包合同审核", first["id"], "金额过大")
    clerk.complete(clerk.task_named("修改分包合同", first["id"])["id"],
                   {**subcontract_data(c["id"], [text_id]), "action": "cancel"})
    assert clerk.ok(clerk.get(f"/api/subcontracts/{first['data']['subcontract_id']}"))["status"] == "cancelled"
    clerk.start("subcontract", subcontract_data(c["id"], [text_id], amount=150000))
