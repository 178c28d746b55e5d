"""Payment requests submitted at the same moment (separate connections, released together) can never together
exceed what is unpaid: the amount is reserved under a row lock on the contract when a request is submitted."""
import threading
from decimal import Decimal

import pytest

from contract_records import attach, contract, filed_contract
from helpers import Api, approve, names


@pytest.fixture(autouse=True)
def attachments_dir(app, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")


def submit_together(app, contract_id, file_id, amounts):
    """Start contract_payment once per amount, each from its own client, all released by one barrier."""
    clients = [Api(app, "clerk2") for _ in amounts]
    barrier = threading.Barrier(len(clients))
    results = {}

    def submit(index, api, amount):
        barrier.wait()
        response = api.post("/api/processes/contract_payment/instances", {"data": {
            "contract_id": contract_id, "amount": amount, "payment_attachment_ids": [file_id]}})
        results[index] = (amount, response.status_code, response.json)

    threads = [threading.Thread(target=submit, args=(i, c, a)) for i, (c, a) in enumerate(zip(clients, amounts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(len(amounts))]


def payment_rows(app, contract_id):
    from sqlalchemy import select
    from app.models import Payment
    with app.extensions["db"].Session() as s:
        return [(p.amount, p.status) for p in s.scalars(select(Payment).where(Payment.contract_id == contract_id))]


def test_two_requests_that_together_exceed_the_unpaid_amount(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login, amount=150000)
    file_id = attach(clerk, c["id"])
    results = submit_together(app, c["id"], file_id, [100000, 80000])

    codes = sorted(code for _, code, _ in results)
    assert codes == [201, 409], results
    (won_amount, _, won), = [r for r in results if r[1] == 201]
    (lost_amount, _, lost), = [r for r in results if r[1] == 409]
    assert lost["code"] == "OVER_UNPAID"
    assert lost["message"] == (f"本次支付金额 {lost_amount:,.2f} 元超过合同可支付金额 {150000 - won_amount:,.2f} 元"
                               f"（未支付 150,000.00 元，其中 {won_amount:,.2f} 元已被审核中的支付申请占用）")
    # Exactly one request exists and holds exactly its amount; the loser left nothing behind.
    assert payment_rows(app, c["id"]) == [(Decimal(won_amount).quantize(Decimal("0.01")), "in_review")]
    held = contract(clerk, c["id"])
    assert held["reserved_amount"] == f"{won_amount:.2f}" and held["paid_amount"] == "0.00"
    assert names(reviewer.tasks()) == ["合同支付审核"]

    approve(reviewer, "合同支付审核", won["id"])
    paid = contract(clerk, c["id"])
    assert paid["paid_amount"] == f"{won_amount:.2f}" and paid["reserved_amount"] == "0.00"
    assert Decimal(paid["paid_amount"]) + Decimal(paid["unpaid_amount"]) == Decimal("150000.00")


def test_four_requests_one_cent_too_many(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login, amount=150000)
    file_id = attach(clerk, c["id"])
    results = submit_together(app, c["id"], file_id, [50000, 50000, 50000, 0.01])

    accepted = [r for r in results if r[1] == 201]
    refused = [r for r in results if r[1] != 201]
    # Together they exceed the contract by one cent: whatever the order, the last one in is refused.
    assert len(accepted) == 3 and len(refused) == 1, results
    assert refused[0][1] == 409 and refused[0][2]["code"] == "OVER_UNPAID"
    assert sum(Decimal(str(a)) for a, _, _ in accepted) <= Decimal("150000")
    held = contract(clerk, c["id"])
    assert Decimal(held["reserved_amount"]) == sum(Decimal(str(a)) for a, _, _ in accepted)
    for _, _, body in accepted:
        approve(reviewer, "合同支付审核", body["id"])
    paid = contract(clerk, c["id"])
    assert Decimal(paid["paid_amount"]) == sum(Decimal(str(a)) for a, _, _ in accepted) <= Decimal("150000")
    assert paid["reserved_amount"] == "0.00"
