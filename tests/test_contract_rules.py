"""Contract rules on the model (app/models/contract.py), without the engine: payments, financing contracts,
open requests, the state machine, input shapes, and the plan amount."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from app.models import Contract, DomainError, Plan, Project
from app.models.contract import contracted_amount, parse_accounts, parse_items, parse_schedule, parse_suppliers

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 20)


def contract(status="filed", amount="100000", paid="0", financing=False, pending=None):
    return Contract(id=7, number="HT2026000007", unit_id=2, plan_id=1, project_id=1, status=status,
                    amount=Decimal(amount), paid_amount=Decimal(paid), is_financing=financing, pending=pending,
                    name="课桌椅采购合同", suppliers=[{"name": "某家具公司", "credit_code": ""}],
                    accounts=[{"bank": "中国银行", "account_name": "某家具公司", "account_number": "40700123"}],
                    items=[{"item_name": "课桌椅", "quantity": 10, "unit_price": None}],
                    payment_schedule=[{"phase": "全款", "amount": amount, "due_date": None, "condition": ""}],
                    text_ref="file-1", signed_date=date(2026, 11, 18), current_version=1, review_comment="",
                    performance_note="")


def refusal(fn, *args, **kwargs):
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    return info.value


# -- payments, write-offs, acceptance ------------------------------------------------------------
def test_payment_only_on_filed_contracts_up_to_unpaid():
    c = contract(amount="100000", paid="30000")
    assert c.can_pay() is True
    assert c.check_payable("70000") == Decimal("70000.00")
    err = refusal(c.check_payable, "70000.01")
    assert err.code == "OVER_UNPAID" and err.message == "本次支付金额 70,000.01 元超过合同未支付金额 70,000.00 元"
    assert refusal(c.check_payable, 0).message == "支付金额必须大于 0"
    assert refusal(c.check_payable, "1.001").message == "金额最多保留两位小数"
    assert contract(paid="100000").can_pay() is False


@pytest.mark.parametrize("status, message", [
    ("terminating", "合同 HT2026000007 已发起终止，不能发起新的支付申请"),
    ("terminated", "合同 HT2026000007 已终止，不能发起新的支付申请"),
    ("fulfilled", "合同 HT2026000007 已履约完成，不能再发起支付申请"),
    ("revoked", "合同 HT2026000007 已撤销，不能发起支付申请"),
    ("published", "合同 HT2026000007 当前状态为“待备案”，备案后才能发起支付申请"),
    ("draft", "合同 HT2026000007 当前状态为“录入中”，备案后才能发起支付申请"),
])
def test_payment_refused_outside_filed(status, message):
    c = contract(status=status)
    assert c.can_pay() is False
    err = refusal(c.check_payable, "1")
    assert err.code == "NOT_PAYABLE" and err.message == message and err.status == 409


def test_writeoff_up_to_paid_and_not_once_termination_is_requested():
    c = contract(paid="30000")
    assert c.check_writeoff("30000") == Decimal("30000.00")
    assert refusal(c.check_writeoff, "30000.01").message == "冲销金额 30,000.01 元超过已支付金额 30,000.00 元"
    assert refusal(contract(status="terminating", paid="30000").check_writeoff, "1").message == \
        "合同 HT2026000007 已发起终止，不能发起新的冲销"
    assert "已终止" in refusal(contract(status="terminated", paid="1").check_writeoff, "1").message


def test_acceptance_not_after_fulfilment():
    contract().check_acceptance()
    assert refusal(contract(status="fulfilled").check_acceptance).message == \
        "合同 HT2026000007 已履约完成，不能再发起履约验收"


# -- financing contracts, open requests -----------------------------------------------------------
def test_financing_contract_refuses_change_account_change_and_revocation():
    c = contract(financing=True)
    for err in (refusal(c.request_change, None, None, {"amount": 1}, "说明", "f", 1, NOW),
                refusal(c.request_account_change, [{"bank": "b", "account_name": "n", "account_number": "123456"}],
                        "原因", "f", 1, NOW),
                refusal(c.request_revocation, "原因", "f", 1, NOW)):
        assert err.code == "FINANCING_CONTRACT"
    assert [e.message for e in (refusal(c.request_change, None, None, {}, "说明", "f", 1, NOW),
                                refusal(c.request_revocation, "原因", "f", 1, NOW))] == \
        ["合同 HT2026000007 为融资合同，不允许合同变更", "合同 HT2026000007 为融资合同，不允许合同撤销"]
    assert c.pending is None and c.requests == [] and c.status == "filed"
    # Termination is open to financing contracts.
    request = c.request_termination("供应商违约", "解除合同", "", 1, NOW)
    assert c.status == "terminating" and c.pending == "termination" and request.status == "in_review"


def test_revocation_refused_once_something_was_paid():
    err = refusal(contract(paid="1").request_revocation, "原因", "f", 1, NOW)
    assert err.code == "ALREADY_PAID" and "请办理合同终止" in err.message


def test_an_open_request_blocks_other_requests_and_fulfilment():
    c = contract(pending="change")
    err = refusal(c.request_termination, "原因", "说明", "", 1, NOW)
    assert err.code == "REQUEST_PENDING"
    assert err.message == "合同 HT2026000007 有未办结的合同变更申请，办结后才能申请合同终止"
    assert refusal(c.fulfil, "完成", NOW).message == \
        "合同 HT2026000007 有未办结的合同变更申请，办结后才能确认履约完成"
    assert c.status == "filed"


def test_termination_request_lifecycle():
    c = contract()
    request = c.request_termination("原因", "说明", "", 1, NOW)
    assert refusal(c.cancel_request, request, NOW).code == "REQUEST_STATE"  # only a returned request is withdrawn
    c.return_request(request, "请补充")
    assert request.status == "returned" and c.status == "terminating" and c.pending == "termination"
    c.cancel_request(request, NOW)
    assert request.status == "cancelled" and c.status == "filed" and c.pending is None
    second = c.request_termination("原因", "说明", "", 1, NOW)
    assert refusal(c.terminate, request, NOW).code == "REQUEST_STATE"
    c.terminate(second, NOW)
    assert c.status == "terminated" and c.ended_at == NOW and second.status == "approved"
    assert refusal(c.request_termination, "原因", "说明", "", 1, NOW).code == "CONTRACT_STATE"


def test_decisions_need_the_matching_open_request():
    c = contract()
    assert refusal(c.terminate, None, NOW).code == "REQUEST_MISMATCH"
    request = c.request_revocation("原因", "", 1, NOW)
    assert refusal(c.apply_account_change, request, 1, NOW).code == "REQUEST_MISMATCH"
    c.revoke(request, NOW)
    assert c.status == "revoked" and c.pending is None


def test_account_change_needs_a_different_account_and_keeps_versions():
    c = contract()
    same = refusal(c.request_account_change, c.accounts, "原因", "", 1, NOW)
    assert same.code == "NO_CHANGE"
    assert refusal(c.request_account_change, [], "原因", "", 1, NOW).message == "请至少填写一个新的收款账户"
    assert refusal(c.request_account_change, c.accounts + [{}], "原因", "", 1, NOW).field == "accounts"
    assert refusal(c.request_account_change, [{"bank": "b", "account_name": "n", "account_number": "123456"}],
                   "  ", "", 1, NOW).message == "请填写变更原因"
    old = list(c.accounts)
    request = c.request_account_change([{"bank": "兴业银行", "account_name": "某家具公司", "account_number": "117010"}],
                                       "基本户变更", "", 1, NOW)
    c.apply_account_change(request, 1, NOW)
    assert c.accounts[0]["bank"] == "兴业银行" and c.current_version == 2
    assert c.versions[-1].kind == "account_change" and c.versions[-1].content["accounts"][0]["bank"] == "兴业银行"
    assert old[0]["bank"] == "中国银行"


# -- the state machine ----------------------------------------------------------------------------
def test_fulfil_once():
    c = contract()
    assert refusal(c.fulfil, " ", NOW).message == "请填写合同履约情况说明"
    c.fulfil("已交付", NOW)
    assert c.status == "fulfilled" and c.performance_note == "已交付"
    err = refusal(c.fulfil, "再次", NOW)
    assert err.code == "CONTRACT_STATE" and err.message == "合同 HT2026000007 当前状态为“履约完成”，不能确认履约完成"


def test_filing_steps_in_order():
    c = contract(status="draft")
    assert refusal(c.approve).message == "合同 HT2026000007 当前状态为“录入中”，不能审核通过"
    assert refusal(c.publish, "", NOW).code == "CONTRACT_STATE"
    assert refusal(c.file, None, None, 1, NOW).code == "CONTRACT_STATE"
    assert refusal(c.reopen).code == "CONTRACT_STATE"
    c.status = "in_review"
    assert refusal(c.delete).code == "CONTRACT_STATE"
    assert refusal(c.edit, {"name": "x"}).message == "合同 HT2026000007 当前状态为“审核中”，不能修改"
    c.return_for_edit("请修改")
    assert c.status == "draft" and c.review_comment == "请修改"
    c.status = "revoked"
    c.reopen()
    assert c.status == "draft"


def test_completeness_before_review():
    c = contract(status="draft")
    c.payment_schedule = [{"phase": "预付款", "amount": "30000.00"}]
    err = refusal(c.check_complete, TODAY)
    assert err.code == "SCHEDULE_MISMATCH" and err.field == "payment_schedule"
    c.payment_schedule = [{"phase": "全款", "amount": "100000.00"}]
    c.signed_date = date(2026, 11, 21)
    assert refusal(c.check_complete, TODAY).message == "合同签订日期不能晚于今天"
    c.signed_date, c.text_ref = TODAY, ""
    assert refusal(c.check_complete, TODAY).message == "请上传合同文本"
    c.text_ref = "f"
    c.check_complete(TODAY)


# -- input shapes ---------------------------------------------------------------------------------
def test_input_shapes_name_the_field_in_chinese():
    def bad(fn, value):
        err = refusal(fn, value)
        assert err.status == 400
        return err.field, err.message
    assert bad(parse_accounts, [{"bank": "b", "account_name": "n", "account_number": "12ab"}]) == \
        ("accounts", "第 1 个收款账户的账号应为 6 到 32 位数字")
    assert bad(parse_accounts, [{"bank": "", "account_name": "n", "account_number": "123456"}]) == \
        ("accounts", "请填写第 1 个收款账户的开户银行")
    assert bad(parse_accounts, "not a list") == ("accounts", "收款账户格式不正确")
    assert bad(parse_suppliers, [{"name": "a"}, {"name": "b", "credit_code": "91350100MA2Y3K4L5I"}]) == \
        ("suppliers", "第 2 个供应商的统一社会信用代码应为 18 位数字或大写字母")
    assert bad(parse_schedule, [{"phase": "预付款", "amount": "1.005"}]) == ("payment_schedule", "金额最多保留两位小数")
    assert bad(parse_schedule, [{"phase": "预付款", "amount": 0}]) == ("payment_schedule", "第 1 期支付的金额必须大于 0")
    assert bad(parse_schedule, [{"phase": "预付款", "amount": 1, "due_date": "明天"}]) == \
        ("payment_schedule", "第 1 期支付的计划日期格式不正确（应为 YYYY-MM-DD）")
    assert bad(parse_items, [{"item_name": "椅", "quantity": -1}]) == ("items", "第 1 项标的的数量不能为负数")
    assert parse_accounts([{"bank": " 中国银行 ", "account_name": "某公司", "account_number": "4070-0123 45"}]) == \
        [{"bank": "中国银行", "account_name": "某公司", "account_number": "4070012345"}]
    assert parse_suppliers([{"name": "某公司", "credit_code": "91350100ma2y3k4l5r"}])[0]["credit_code"] == \
        "91350100MA2Y3K4L5R"


# -- the plan amount (with the database) ------------------------------------------------------------
@pytest.fixture
def session(app):
    with app.extensions["db"].Session() as s, s.begin():
        yield s
        s.rollback()


def _plan(session, unit_id=2, status="filed", amount="200000"):
    project = Project(number=f"XM-{unit_id}-{status}", name="项目", unit_id=unit_id, year=2026, category="goods",
                      amount=Decimal("300000"), status="registered", items=[])
    session.add(project)
    session.flush()
    plan = Plan(number=f"JH-{unit_id}-{status}", name="计划", unit_id=unit_id, year=2026, project_id=project.id,
                category="goods", method="open_tender", amount=Decimal(amount), status=status)
    session.add(plan)
    session.flush()
    return plan


def test_plan_amount_counts_the_plans_other_live_contracts(session):
    plan = _plan(session)
    values = {"amount": "80000"}
    live = Contract.new_draft(session, plan, 2, values)
    live.status = "filed"
    terminated = Contract.new_draft(session, plan, 2, values)
    terminated.status, terminated.paid_amount = "terminated", Decimal("20000")
    for status in ("revoked", "deleted", "draft"):
        Contract.new_draft(session, plan, 2, values).status = status
    session.flush()
    assert contracted_amount(session, plan.id) == Decimal("100000.00")
    assert contracted_amount(session, plan.id, exclude_id=live.id) == Decimal("20000.00")
    new = Contract.new_draft(session, plan, 2, {"amount": "100000"})
    new.check_plan_amount(session, plan)
    err = refusal(new.check_plan_amount, session, plan, Decimal("100000.01"))
    assert err.code == "OVER_PLAN_AMOUNT" and err.field == "amount"
    assert err.message == ("合同金额不能超过采购计划金额：合同金额 100,000.01 元，采购计划 JH-2-filed 金额 200,000.00 元，"
                           "该计划已签订其他合同 100,000.00 元，可用 100,000.00 元")


def test_drafts_only_on_usable_plans_of_the_unit(session):
    assert refusal(Contract.new_draft, session, _plan(session, status="in_review"), 2).code == "PLAN_NOT_USABLE"
    err = refusal(Contract.new_draft, session, _plan(session, unit_id=1), 2)
    assert err.code == "WRONG_UNIT" and err.status == 403
    used = _plan(session, status="used")
    assert Contract.new_draft(session, used, 2, {"name": "合同"}).number.startswith("HT2026")
