"""供应商库 (issue 13): GB 32100 统一社会信用代码 check digits, proposal and review, and a refused supplier kept out
of contracts and awards."""
import pytest

from app.models.supplier import check_credit_code, credit_code_problem
from helpers import approve
from test_contracts import contract_data
from contract_records import filed_plan


@pytest.mark.parametrize("code", ["91350100MA2Y3K4L5R", "91350000154330461R", "911100001000013428"[:17] + "C",
                                  "91350100MA0000000L"])
def test_valid_credit_codes(code):
    assert credit_code_problem(code) is None and check_credit_code(code.lower(), "f", "代码") == code


@pytest.mark.parametrize("code, problem", [("91350100MA2Y3K4L5P", "校验位不正确（GB 32100），请核对"),
                                           ("91350100MA2Y3K4L5I", "应为 18 位数字或大写字母"),
                                           ("9135010", "应为 18 位数字或大写字母")])
def test_invalid_credit_codes(code, problem):
    assert credit_code_problem(code) == problem


def test_propose_review_and_refused_supplier_kept_out_of_contracts(app, login):
    clerk, finance = login("clerk2"), login("finance")
    bad = clerk.post("/api/suppliers", {"name": "某公司", "credit_code": "91350100MA2Y3K4L5P"})
    assert bad.status_code == 400 and bad.json["errors"]["credit_code"] == ["统一社会信用代码校验位不正确（GB 32100），请核对"]
    proposed = clerk.ok(clerk.post("/api/suppliers", {"name": "福州某商贸有限公司", "credit_code": "91350100MA0000000L",
                                                      "contact_name": "王经理", "is_sme": True}), 201)
    assert proposed["status"] == "pending" and proposed["status_label"] == "待审核"
    again = clerk.post("/api/suppliers", {"name": "重复", "credit_code": "91350100ma0000000l"})
    assert again.status_code == 409 and "已在供应商库中" in again.json["message"]
    assert clerk.post(f"/api/suppliers/{proposed['id']}/review", {"approved": True}).status_code == 403
    no_reason = finance.post(f"/api/suppliers/{proposed['id']}/review", {"approved": False})
    assert no_reason.status_code == 400 and no_reason.json["errors"]["comment"] == ["不予入库须填写原因"]
    refused = finance.ok(finance.post(f"/api/suppliers/{proposed['id']}/review",
                                      {"approved": False, "comment": "被列入失信被执行人名单"}))
    assert refused["status_label"] == "不予入库" and refused["reviewed_by"] == "finance"
    assert finance.post(f"/api/suppliers/{proposed['id']}/review", {"approved": True}).status_code == 409
    assert [s["name"] for s in clerk.ok(clerk.get("/api/suppliers", query_string={"status": "rejected"}))] == \
        ["福州某商贸有限公司"]

    plan = filed_plan(login)
    supplier = {"name": "福州某商贸有限公司", "credit_code": "91350100MA0000000L"}
    filing = clerk.start("contract_filing", contract_data(plan["id"], suppliers=[supplier]))
    assert "未通过供应商库审核：被列入失信被执行人名单" in filing["data"]["error_message"]
    wrong = clerk.post("/api/processes/contract_filing/instances", {"data": contract_data(
        plan["id"], suppliers=[{"name": "某公司", "credit_code": "91350100MA2Y3K4L5P"}])})
    assert wrong.status_code == 400
    assert wrong.json["errors"]["suppliers"] == ["第 1 个供应商的统一社会信用代码校验位不正确（GB 32100），请核对"]
    # An approved supplier (and one not yet in the library) is accepted.
    ok = clerk.ok(clerk.post("/api/suppliers", {"name": "福州市闽江家具有限公司", "credit_code": "91350100MA2Y3K4L5R"}), 201)
    finance.ok(finance.post(f"/api/suppliers/{ok['id']}/review", {"approved": True}))
    edit = clerk.task_named("修改合同", filing["id"])
    done = clerk.complete(edit["id"], {**contract_data(plan["id"]), "action": "submit"})
    assert not done["data"].get("error_message"), done["data"]
    approve(login("reviewer2"), "合同审核", filing["id"])


def test_a_supplier_new_to_the_library_is_proposed_for_review_not_silently_admitted(app, login):
    clerk, finance = login("clerk2"), login("finance")
    plan = filed_plan(login)
    newcomer = {"name": "福州市新到家具有限公司", "credit_code": "91350100MA3ABCDE05"}
    filing = clerk.start("contract_filing", contract_data(plan["id"], suppliers=[newcomer]))
    assert not filing["data"].get("error_message"), filing["data"]
    assert filing["data"]["suppliers_proposed"] == ["福州市新到家具有限公司"]
    pending = clerk.ok(clerk.get("/api/suppliers", query_string={"status": "pending"}))
    row = next(s for s in pending if s["credit_code"] == "91350100MA3ABCDE05")
    assert row["proposed_by"] == "clerk2" and row["note"].startswith("由合同 ") and row["note"].endswith("提交入库")
    # Finance refuses it: the next contract naming it is refused with the reason.
    finance.ok(finance.post(f"/api/suppliers/{row['id']}/review", {"approved": False, "comment": "资质不符"}))
    again = clerk.start("contract_filing", contract_data(plan["id"], amount=10000, suppliers=[newcomer]))
    assert "未通过供应商库审核：资质不符" in again["data"]["error_message"]


def test_supplier_library_page(app):
    from helpers import Web
    clerk = Web(app, "clerk2")
    token = clerk.csrf()
    bad = clerk.client.post("/suppliers", data={"csrf_token": token, "name": "某公司", "credit_code": "91350100MA2Y3K4L5P"})
    assert bad.status_code == 400 and "校验位不正确（GB 32100）" in bad.data.decode()
    done = clerk.client.post("/suppliers", data={"csrf_token": token, "name": "福州市闽江家具有限公司",
                                                 "credit_code": "91350100MA2Y3K4L5R", "is_sme": "on"}, follow_redirects=True)
    assert done.status_code == 200 and "待财政部门审核" in done.data.decode() and "待审核" in done.data.decode()
    assert "不予入库必填" not in done.data.decode()  # the clerk cannot review
    finance = Web(app, "finance")
    page = finance.client.get("/suppliers").data.decode()
    assert "不予入库必填" in page
    from sqlalchemy import select
    from app.models import Supplier
    with app.extensions["db"].Session() as s:
        supplier_id = s.scalars(select(Supplier.id)).one()
    no_reason = finance.client.post(f"/suppliers/{supplier_id}/review", data={"csrf_token": finance.csrf(),
                                                                           "approved": "false", "comment": ""})
    assert no_reason.status_code == 400 and "不予入库须填写原因" in no_reason.data.decode()
    admitted = finance.client.post(f"/suppliers/{supplier_id}/review", data={"csrf_token": finance.csrf(),
                                                                          "approved": "true"}, follow_redirects=True)
    assert "已入库" in admitted.data.decode()
