"""合同支付 and 冲销 end to end (seed 001 ch.6), every role in turn through the API: submit → review → paid,
reject → edit → resubmit or cancel, every refusal with its message, the amounts held and released, task lists,
and the attachments' hashes in the history."""
from decimal import Decimal

import pytest

from contract_records import (attach, contract, contract_row, counts, filed_contract, record_changes, refused,
                              refused_completion, service_outputs, set_project_status, upload)
from helpers import approve, event_types, names, reject
from test_contracts import contract_data


@pytest.fixture(autouse=True)
def attachments_dir(app, tmp_path):
    path = tmp_path / "attachments"
    app.config["ATTACHMENTS_DIR"] = str(path)
    return path


def pay_data(contract_id, attachment_ids, amount=45000, **overrides):
    return {"contract_id": contract_id, "amount": amount, "phase": "预付款", "note": "按合同约定支付预付款",
            "payment_attachment_ids": attachment_ids, **overrides}


def models():
    from app.models import Contract, Payment, WriteOff
    return Contract, Payment, WriteOff


def pay(login, contract_id, amount):
    """Run contract_payment to 已支付; returns the payment."""
    clerk, reviewer = login("clerk2"), login("reviewer2")
    instance = clerk.start("contract_payment", pay_data(contract_id, [attach(clerk, contract_id)], amount=amount))
    approve(reviewer, "合同支付审核", instance["id"])
    return clerk.ok(clerk.get(f"/api/payments/{instance['data']['payment_id']}"))


# -- 合同支付 ----------------------------------------------------------------------------------------
def test_payment_chain_reserves_then_pays(app, login):
    clerk, reviewer, auditor = login("clerk2"), login("reviewer2"), login("auditor")
    c = filed_contract(login)
    cid = c["id"]
    file_id = attach(clerk, cid, "发票.pdf")
    sha = clerk.ok(clerk.get(f"/api/attachments/{file_id}/info"))["sha256"]

    instance = clerk.start("contract_payment", pay_data(cid, [file_id]))
    payment_id = instance["data"]["payment_id"]
    payment = clerk.ok(clerk.get(f"/api/payments/{payment_id}"))
    assert payment["status"] == "in_review" and payment["status_label"] == "审核中"
    assert payment["number"] == f"ZF2026{payment_id:06d}" and payment["amount"] == "45000.00"
    assert payment["account"]["account_number"] == "4070012345678901"
    assert payment["attachments"] == [{"attachment_id": file_id, "name": "发票.pdf", "sha256": sha}]
    held = contract(clerk, cid)
    assert (held["paid_amount"], held["reserved_amount"], held["payable_amount"], held["unpaid_amount"]) == \
        ("0.00", "45000.00", "105000.00", "150000.00")
    # Who sees what: the reviewer has the review, the clerk nothing; the task knows the contract.
    assert names(reviewer.tasks(), instance["id"]) == ["合同支付审核"]
    assert names(clerk.tasks(), instance["id"]) == [] and names(auditor.tasks(), instance["id"]) == ["合同支付审核"]
    task = reviewer.task_named("合同支付审核", instance["id"])
    assert task["record_type"] == "contract" and task["record_id"] == cid
    assert auditor.post(f"/api/tasks/{task['id']}/complete", {"data": {"approved": "true"}}).status_code == 403

    done = approve(reviewer, "合同支付审核", instance["id"])
    assert done["status"] == "completed" and done["tasks"] == []
    payment = clerk.ok(clerk.get(f"/api/payments/{payment_id}"))
    assert payment["status"] == "paid" and payment["status_label"] == "已支付" and payment["paid_at"]
    assert payment["net_amount"] == "45000.00" and payment["writeoffs"] == []
    paid = contract(clerk, cid)
    assert (paid["paid_amount"], paid["reserved_amount"], paid["unpaid_amount"], paid["payable_amount"]) == \
        ("45000.00", "0.00", "105000.00", "105000.00")
    assert [p["id"] for p in clerk.ok(clerk.get(f"/api/contracts/{cid}/payments"))] == [payment_id]
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []

    history = clerk.history(instance["id"])
    assert event_types(history) == ["instance_started", "service_task", "task_completed", "service_task",
                                    "instance_completed"]
    started = history[0]["data"]["data"]
    assert started["payment_attachment_ids"] == [file_id]
    out = service_outputs(history, "payment.submit")[0]
    assert out["attachments"] == [{"attachment_id": file_id, "sha256": sha}]
    assert out["payment_id"] == payment_id and out["contract_id"] == cid
    assert {"reserved_amount": ["0.00", "45000.00"]} in record_changes(history, f"contract:{cid}")
    assert {"reserved_amount": ["45000.00", "0.00"], "paid_amount": ["0.00", "45000.00"]} in \
        record_changes(history, f"contract:{cid}")
    assert [f["status"] for f in record_changes(history, f"payment:{payment_id}") if "status" in f] == \
        [[None, "in_review"], ["in_review", "paid"]]
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))["ok"] is True

    # Paid up to the last yuan, and not one more.
    second = clerk.start("contract_payment", pay_data(cid, [file_id], amount=105000, phase="验收款"))
    refused(clerk, "contract_payment", pay_data(cid, [file_id], amount=0.01), 409,
            "本次支付金额 0.01 元超过合同可支付金额 0.00 元（未支付 105,000.00 元，其中 105,000.00 元已被审核中的支付申请占用）")
    approve(reviewer, "合同支付审核", second["id"])
    assert contract(clerk, cid)["paid_amount"] == "150000.00"
    body = refused(clerk, "contract_payment", pay_data(cid, [file_id], amount=1), 409,
                   "本次支付金额 1.00 元超过合同未支付金额 0.00 元")
    assert body["code"] == "OVER_UNPAID"


def test_payment_reject_releases_then_resubmit_or_cancel(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    cid = filed_contract(login)["id"]
    file_id = attach(clerk, cid)
    instance = clerk.start("contract_payment", pay_data(cid, [file_id], amount=100000))
    payment_id = instance["data"]["payment_id"]
    assert contract(clerk, cid)["reserved_amount"] == "100000.00"

    reject(reviewer, "合同支付审核", instance["id"], "发票金额与申请金额不一致")
    payment = clerk.ok(clerk.get(f"/api/payments/{payment_id}"))
    assert payment["status"] == "returned" and payment["review_comment"] == "发票金额与申请金额不一致"
    assert contract(clerk, cid)["reserved_amount"] == "0.00"  # released on reject
    assert names(reviewer.tasks(), instance["id"]) == []
    edit = clerk.task_named("修改支付申请", instance["id"])
    assert edit["assignee"] == "clerk2" and edit["record_type"] == "contract"
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["form"]["id"] == "contract_payment"  # one form for the start and the edit step (issue 19)
    assert detail["data"]["comment"] == "发票金额与申请金额不一致" and detail["data"]["payment_number"] == payment["number"]
    assert names(login("clerk").tasks()) == []  # another unit's clerk sees nothing

    # Meanwhile another request takes part of what was released: the resubmission is checked again.
    other = clerk.start("contract_payment", pay_data(cid, [file_id], amount=60000))
    before = counts(app, *models()[1:]), contract_row(app, cid)
    refused_completion(clerk, edit["id"], {**pay_data(cid, [file_id], amount=100000), "action": "submit"}, 409,
                       "本次支付金额 100,000.00 元超过合同可支付金额 90,000.00 元")
    assert (counts(app, *models()[1:]), contract_row(app, cid)) == before
    assert names(clerk.tasks(), instance["id"]) == ["修改支付申请"]

    clerk.complete(edit["id"], {**pay_data(cid, [file_id], amount=90000), "action": "submit"})
    assert clerk.ok(clerk.get(f"/api/payments/{payment_id}"))["status"] == "in_review"
    assert contract(clerk, cid)["reserved_amount"] == "150000.00"
    assert names(reviewer.tasks()) == ["合同支付审核", "合同支付审核"]

    reject(reviewer, "合同支付审核", instance["id"], "请补充验收单")
    assert contract(clerk, cid)["reserved_amount"] == "60000.00"
    done = clerk.complete(clerk.task_named("修改支付申请", instance["id"])["id"],
                          {**pay_data(cid, [file_id], amount=90000), "action": "cancel"})
    assert done["status"] == "completed"
    payment = clerk.ok(clerk.get(f"/api/payments/{payment_id}"))
    assert payment["status"] == "cancelled" and payment["decided_at"]
    approve(reviewer, "合同支付审核", other["id"])
    c = contract(clerk, cid)
    assert (c["paid_amount"], c["reserved_amount"], c["payable_amount"]) == ("60000.00", "0.00", "90000.00")
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []
    history = clerk.history(instance["id"])
    assert [f["status"] for f in record_changes(history, f"payment:{payment_id}") if "status" in f] == \
        [[None, "in_review"], ["in_review", "returned"], ["returned", "in_review"], ["in_review", "returned"],
         ["returned", "cancelled"]]
    assert [e["data"]["data"]["approved"] for e in history if e["type"] == "task_completed"
            and e["actor"] == "reviewer2"] == [False, False]


@pytest.mark.parametrize("status, message", [
    ("terminating", "已发起终止，不能发起新的支付申请"),
    ("terminated", "已终止，不能发起新的支付申请"),
    ("revoked", "已撤销，不能发起支付申请"),
    ("fulfilled", "已履约完成，不能再发起支付申请"),
])
def test_payment_refused_on_contracts_that_cannot_be_paid(app, login, status, message):
    clerk = login("clerk2")
    cid = filed_contract(login)["id"]
    file_id = attach(clerk, cid)
    from app.models import Contract
    with app.extensions["db"].Session() as s, s.begin():
        s.get(Contract, cid).status = status
    before = counts(app, *models()), contract_row(app, cid)
    body = refused(clerk, "contract_payment", pay_data(cid, [file_id]), 409, message)
    assert body["code"] == "NOT_PAYABLE"
    assert (counts(app, *models()), contract_row(app, cid)) == before


def test_payment_refusals_change_nothing(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    cid = c["id"]
    file_id = attach(clerk, cid)
    before = counts(app, *models()), contract_row(app, cid)
    # 无合同不支付: no contract, or a contract not yet filed.
    response = clerk.post("/api/processes/contract_payment/instances",
                          {"data": {"amount": 100, "payment_attachment_ids": [file_id]}})
    assert response.status_code == 400 and response.json["errors"] == {"contract_id": ["此项为必填项"]}
    refused(clerk, "contract_payment", pay_data(9999, [file_id]), 404, "合同 9999 不存在")
    draft = clerk.start("contract_filing", contract_data(c["plan_id"], amount=10000, action="draft"))
    refused(clerk, "contract_payment", pay_data(draft["data"]["contract_id"], [file_id]), 409,
            "当前状态为“录入中”，备案后才能发起支付申请")
    before = counts(app, *models()), contract_row(app, cid)
    # Over the unpaid amount: the figures are in the message.
    refused(clerk, "contract_payment", pay_data(cid, [file_id], amount=150000.01), 409,
            "本次支付金额 150,000.01 元超过合同未支付金额 150,000.00 元")
    # Amount shape, attachments, payee account: 400 naming the field.
    response = clerk.post("/api/processes/contract_payment/instances", {"data": pay_data(cid, [file_id], amount=10.005)})
    assert response.status_code == 400 and response.json["errors"] == {"amount": ["最多保留 2 位小数"]}
    response = clerk.post("/api/processes/contract_payment/instances", {"data": pay_data(cid, [file_id], amount=0)})
    assert response.status_code == 400 and response.json["errors"] == {"amount": ["应不小于 0.01"]}
    response = clerk.post("/api/processes/contract_payment/instances", {"data": pay_data(cid, [])})
    assert response.status_code == 400 and response.json["errors"] == {"payment_attachment_ids": ["请上传合同支付附件"]}
    response = clerk.post("/api/processes/contract_payment/instances", {"data": pay_data(cid, [9999])})
    assert response.status_code == 400
    assert response.json["errors"] == {"payment_attachment_ids": ["合同支付附件 9999 不存在或不属于本单位"]}
    response = clerk.post("/api/processes/contract_payment/instances",
                          {"data": pay_data(cid, [file_id], account_number="6222020200112233")})
    assert response.status_code == 400
    assert response.json["errors"] == {"account_number": [f"收款账号 6222020200112233 不是合同 {c['number']} 的收款账户"]}
    # Another unit's clerk can neither pay this contract nor use its attachments.
    other = login("clerk")
    refused(other, "contract_payment", pay_data(cid, [file_id]), 403, f"合同 {cid} 不属于本单位")
    assert (counts(app, *models()), contract_row(app, cid)) == before
    assert names(reviewer.tasks()) == []
    # Reviewers do not start payments (candidate starter group clerk).
    refused(reviewer, "contract_payment", pay_data(cid, [file_id]), 403, "不能发起")


def test_payment_refused_once_the_project_is_closed(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    file_id = attach(clerk, c["id"])
    pending = clerk.start("contract_payment", pay_data(c["id"], [file_id], amount=10000))
    set_project_status(app, c["project_id"], "closed")
    before = counts(app, *models()), contract_row(app, c["id"])
    body = refused(clerk, "contract_payment", pay_data(c["id"], [file_id]), 409,
                   "已结项，未完成支付的部分不允许发起支付")
    assert body["code"] == "PROJECT_CLOSED"
    # A request submitted before closing cannot be paid either: the reviewer is told to reject it.
    task = reviewer.task_named("合同支付审核", pending["id"])
    refused_completion(reviewer, task["id"], {"approved": "true"}, 409,
                       "已结项，未完成支付的部分不允许支付；请审核不通过，退回经办岗取消该支付申请")
    assert (counts(app, *models()), contract_row(app, c["id"])) == before
    reject(reviewer, "合同支付审核", pending["id"], "项目已结项")
    clerk.complete(clerk.task_named("修改支付申请", pending["id"])["id"],
                   {**pay_data(c["id"], [file_id], amount=10000), "action": "cancel"})
    row = contract_row(app, c["id"])
    assert row["reserved_amount"] == Decimal("0") and row["paid_amount"] == Decimal("0")


def test_payment_in_review_when_termination_is_requested(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    file_id = attach(clerk, c["id"])
    pending = clerk.start("contract_payment", pay_data(c["id"], [file_id], amount=10000))
    clerk.start("contract_termination", {"contract_id": c["id"], "reason": "供应商违约", "explanation": "解除合同"})
    task = reviewer.task_named("合同支付审核", pending["id"])
    refused_completion(reviewer, task["id"], {"approved": "true"}, 409,
                       f"合同 {c['number']} 当前状态为“终止中”，不能支付；请审核不通过")
    assert contract(clerk, c["id"])["reserved_amount"] == "10000.00"
    reject(reviewer, "合同支付审核", pending["id"], "合同终止中")
    assert contract(clerk, c["id"])["reserved_amount"] == "0.00"
    # Resubmitting is refused while the contract is 终止中.
    edit = clerk.task_named("修改支付申请", pending["id"])
    refused_completion(clerk, edit["id"], {**pay_data(c["id"], [file_id], amount=10000), "action": "submit"}, 409,
                       "已发起终止，不能发起新的支付申请")


def test_payments_of_other_units_are_not_visible(app, login):
    clerk = login("clerk2")
    c = filed_contract(login)
    payment = pay(login, c["id"], 1000)
    other, auditor = login("clerk"), login("auditor")
    assert other.get(f"/api/payments/{payment['id']}").status_code == 404
    assert other.get(f"/api/contracts/{c['id']}/payments").status_code == 404
    assert auditor.ok(auditor.get(f"/api/payments/{payment['id']}"))["amount"] == "1000.00"
    assert [p["id"] for p in auditor.ok(auditor.get(f"/api/contracts/{c['id']}/payments"))] == [payment["id"]]
    assert clerk.get("/api/payments/999").status_code == 404


# -- 冲销 --------------------------------------------------------------------------------------------
def writeoff_data(payment_id, amount=10000, **overrides):
    return {"payment_id": payment_id, "amount": amount, "reason": "供应商退回多收款项", **overrides}


def test_writeoff_chain_reduces_paid(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    cid = c["id"]
    payment = pay(login, cid, 45000)
    note_id = attach(clerk, cid, "退款说明.pdf")

    instance = clerk.start("payment_writeoff", writeoff_data(payment["id"], writeoff_attachment_ids=[note_id]))
    writeoff_id = instance["data"]["writeoff_id"]
    assert instance["data"]["contract_id"] == cid
    writeoff = clerk.ok(clerk.get(f"/api/writeoffs/{writeoff_id}"))
    assert writeoff["status"] == "in_review" and writeoff["number"] == f"CX2026{writeoff_id:06d}"
    assert contract(clerk, cid)["paid_amount"] == "45000.00"  # nothing changes before the review
    task = reviewer.task_named("冲销审核", instance["id"])
    assert task["record_type"] == "contract" and task["record_id"] == cid
    assert names(clerk.tasks(), instance["id"]) == []
    # A second write-off may only take what the first does not hold.
    refused(clerk, "payment_writeoff", writeoff_data(payment["id"], amount=35000.01), 409,
            "冲销金额 35,000.01 元超过该笔支付可冲销金额 35,000.00 元（支付金额 45,000.00 元，已冲销 0.00 元，审核中的冲销 10,000.00 元）")

    reject(reviewer, "冲销审核", instance["id"], "请上传供应商退款凭证")
    assert clerk.ok(clerk.get(f"/api/writeoffs/{writeoff_id}"))["status"] == "returned"
    edit = clerk.task_named("修改冲销申请", instance["id"])
    assert clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]["comment"] == "请上传供应商退款凭证"
    proof = attach(clerk, cid, "退款凭证.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    clerk.complete(edit["id"], {"amount": 12000, "reason": "供应商退回多收款项", "writeoff_attachment_ids": [note_id, proof],
                                "action": "submit"})
    done = approve(reviewer, "冲销审核", instance["id"])
    assert done["status"] == "completed"
    writeoff = clerk.ok(clerk.get(f"/api/writeoffs/{writeoff_id}"))
    assert writeoff["status"] == "reversed" and writeoff["status_label"] == "已冲销" and writeoff["amount"] == "12000.00"
    assert [a["attachment_id"] for a in writeoff["attachments"]] == [note_id, proof]
    c = contract(clerk, cid)
    assert (c["paid_amount"], c["unpaid_amount"], c["payable_amount"]) == ("33000.00", "117000.00", "117000.00")
    payment = clerk.ok(clerk.get(f"/api/payments/{payment['id']}"))
    assert (payment["written_off_amount"], payment["net_amount"]) == ("12000.00", "33000.00")
    assert [w["id"] for w in payment["writeoffs"]] == [writeoff_id]
    assert [w["id"] for w in clerk.ok(clerk.get(f"/api/contracts/{cid}/writeoffs"))] == [writeoff_id]
    history = clerk.history(instance["id"])
    assert {"paid_amount": ["45000.00", "33000.00"]} in record_changes(history, f"contract:{cid}")
    assert len(service_outputs(history, "payment.writeoff_submit")[-1]["attachments"]) == 2
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []

    # The rest of the payment may be written off, then nothing more.
    second = clerk.start("payment_writeoff", writeoff_data(payment["id"], amount=33000))
    approve(reviewer, "冲销审核", second["id"])
    assert contract(clerk, cid)["paid_amount"] == "0.00"
    refused(clerk, "payment_writeoff", writeoff_data(payment["id"], amount=0.01), 409, "冲销金额 0.01 元超过已支付金额 0.00 元")


def test_writeoff_cancel_and_refusals(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    cid = c["id"]
    payment = pay(login, cid, 20000)
    file_id = attach(clerk, cid)
    in_review = clerk.start("contract_payment", pay_data(cid, [file_id], amount=1000))
    before = counts(app, *models()), contract_row(app, cid)
    refused(clerk, "payment_writeoff", writeoff_data(payment["id"], amount=20000.01), 409,
            "冲销金额 20,000.01 元超过已支付金额 20,000.00 元")
    refused(clerk, "payment_writeoff", writeoff_data(in_review["data"]["payment_id"], amount=1), 409,
            f"支付申请 {in_review['data']['payment_number']} 当前状态为“审核中”，只有已支付的记录才能冲销")
    refused(clerk, "payment_writeoff", writeoff_data(9999), 404, "支付申请 9999 不存在")
    refused(login("clerk"), "payment_writeoff", writeoff_data(payment["id"]), 403, "不属于本单位")
    response = clerk.post("/api/processes/payment_writeoff/instances", {"data": {"payment_id": payment["id"], "amount": 1}})
    assert response.status_code == 400 and response.json["errors"] == {"reason": ["此项为必填项"]}
    assert (counts(app, *models()), contract_row(app, cid)) == before

    instance = clerk.start("payment_writeoff", writeoff_data(payment["id"], amount=5000))
    reject(reviewer, "冲销审核", instance["id"], "无需冲销")
    clerk.complete(clerk.task_named("修改冲销申请", instance["id"])["id"],
                   {"amount": 5000, "reason": "x", "action": "cancel"})
    assert clerk.ok(clerk.get(f"/api/writeoffs/{instance['data']['writeoff_id']}"))["status"] == "cancelled"
    assert contract(clerk, cid)["paid_amount"] == "20000.00"

    # 已发起终止或已终止的合同不能…冲销 (001 §6.1 注).
    reject(reviewer, "合同支付审核", in_review["id"], "撤回")
    clerk.start("contract_termination", {"contract_id": cid, "reason": "供应商违约", "explanation": "解除合同"})
    refused(clerk, "payment_writeoff", writeoff_data(payment["id"]), 409, f"合同 {c['number']} 已发起终止，不能发起新的冲销")
