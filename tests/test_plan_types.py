"""Plan types in plan_application (one diagram, rules by ``plan_type``): 框架协议, 联合采购, 电子卖场/网上超市, 无过程,
合同续签, and the 004 §3 limit on 自行采购 (issue 7; seeds 001 §4.1.1–4.1.4, 002 §1, 004 §3)."""
from helpers import apply_plan, approve, money, names, register_project
from procurement_helpers import ITEMS, file_plan, project_with_items, record, people  # noqa: F401 - fixture
from test_contracts import file_contract


def _error(instance):
    """The plan was refused on submit: back to the clerk's edit task with the reason; nothing in review."""
    assert names(instance["tasks"]) == ["编辑采购计划"], instance["tasks"]
    return instance["data"]["error_message"]


def test_framework_plans_use_the_framework_method(people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = register_project(clerk, reviewer)
    assert "框架协议计划的采购方式应为“框架协议采购”" in _error(apply_plan(clerk, project["id"], plan_type="framework",
                                                                     amount=200000, sme_reserved_amount=200000))
    assert "只适用于框架协议计划" in _error(apply_plan(clerk, project["id"], method="framework", amount=200000,
                                                  sme_reserved_amount=200000))
    plan = file_plan(people, project["id"], plan_type="framework", method="framework")
    assert plan["plan_type"] == "framework" and plan["method"] == "framework"


def test_emall_plan_takes_one_item_of_its_project(people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = project_with_items(clerk, reviewer, amount=300000)
    emall = {"plan_type": "emall", "method": "emall", "amount": 150000, "sme_reserved_amount": 150000}
    assert "只能选择一条采购内容清单明细" in _error(apply_plan(clerk, project["id"], items=ITEMS, **emall))
    assert "当前选择了 0 条" in _error(apply_plan(clerk, project["id"], **emall))
    assert "不在项目" in _error(apply_plan(clerk, project["id"], items=[{"item_name": "打印机"}], **emall))
    assert "电子卖场计划的采购方式应为“电子卖场”" in _error(apply_plan(clerk, project["id"], items=ITEMS[:1],
                                                               **{**emall, "method": "open_tender"}))
    plan = file_plan(people, project["id"], items=ITEMS[:1], **emall)
    assert [i["item_name"] for i in plan["items"]] == ["液相色谱质谱联用仪"]


def test_joint_plan_counts_each_members_amount_against_its_own_project(people):
    clerk, reviewer, finance = people["clerk"], people["reviewer"], people["finance"]
    lead = register_project(clerk, reviewer, amount=300000)
    member = register_project(people["clerk2"], people["reviewer2"], budget_line_id=4, amount=200000)
    services = register_project(people["clerk2"], people["reviewer2"], budget_line_id=5, amount=100000, category="services",
                                name="物业服务")
    joint = {"plan_type": "joint", "amount": 200000, "sme_reserved_amount": 200000}

    def members(*rows):
        return [dict(zip(("unit_id", "project_id", "amount"), row)) for row in rows]

    assert "须列出至少一个参与单位" in _error(apply_plan(clerk, lead["id"], **joint))
    assert "不能是牵头单位本身" in _error(apply_plan(clerk, lead["id"], members=members((1, lead["id"], 1000)), **joint))
    assert "不是参与单位 2 的采购项目" in _error(apply_plan(clerk, lead["id"], members=members((2, lead["id"], 1000)), **joint))
    assert "与联合采购计划的货物不一致" in _error(apply_plan(clerk, lead["id"], members=members((2, services["id"], 50000)),
                                                   **joint))
    assert "超过其项目" in _error(apply_plan(clerk, lead["id"], members=members((2, member["id"], 250000)), **joint))
    assert "请填写参与单位 2 的采购金额" in _error(apply_plan(clerk, lead["id"], members=members((2, member["id"], 0)), **joint))

    instance = apply_plan(clerk, lead["id"], members=members((2, member["id"], 120000)), **joint)
    assert names(instance["tasks"]) == ["采购单位审核岗审核"]
    # In review, the member's share already counts against the member's project; the lead's against the lead's.
    assert money(record(people["clerk2"], "projects", member["id"])["free_amount"]) == money(80000)
    assert money(record(clerk, "projects", lead["id"])["free_amount"]) == money(100000)
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    approve(finance, "财政部门审核", instance["id"])
    plan = record(clerk, "plans", instance["data"]["plan_id"])
    assert plan["status"] == "filed"
    assert plan["members"] == [{"unit_id": 2, "project_id": member["id"], "amount": "120000.00"}]
    # A second joint plan cannot take more than the member has left.
    again = apply_plan(clerk, lead["id"], members=members((2, member["id"], 90000)), **{**joint, "amount": 50000,
                                                                                       "sme_reserved_amount": 50000})
    assert "可用金额 80,000.00 元" in _error(again)
    # Deleting the refused draft releases nothing it never took; the filed plan keeps its share.
    clerk.complete(clerk.task_named("编辑采购计划", again["id"])["id"],
                   {"year": 2026, "method": "open_tender", "amount": 50000, "project_id": lead["id"], "action": "delete"})
    assert money(record(people["clerk2"], "projects", member["id"])["free_amount"]) == money(80000)


def test_no_process_plans_are_self_procurement_below_the_limit(people):
    clerk, reviewer = people["clerk"], people["reviewer"]
    project = register_project(clerk, reviewer, amount=800000)
    no_process = {"plan_type": "no_process"}
    assert "无过程计划的采购方式应为“自行采购”" in _error(apply_plan(clerk, project["id"], amount=100000,
                                                               sme_reserved_amount=100000, **no_process))
    message = _error(apply_plan(clerk, project["id"], method="self", amount=500000, sme_reserved_amount=500000,
                                **no_process))
    assert "省级分散采购限额 50万元（含）以上" in message and "不能自行采购" in message
    plan = file_plan(people, project["id"], method="self", amount=299999.99, sme_reserved_amount=299999.99, **no_process)
    assert plan["method"] == "self" and money(plan["amount"]) == money("299999.99")


def test_self_procurement_is_refused_at_the_entrustment_limit(people):
    """A 省级 unit has no 004 §3 rule (that is 柳江区's): its 分散采购限额 is the line (goods 50万, works 100万)."""
    clerk, reviewer = people["clerk"], people["reviewer"]
    goods = register_project(clerk, reviewer, amount=800000)
    assert "省级分散采购限额 50万元（含）以上" in _error(apply_plan(clerk, goods["id"], method="self", amount=500000,
                                                          sme_reserved_amount=500000))
    file_plan(people, goods["id"], method="self", amount=499999.99, sme_reserved_amount=499999.99)
    works = register_project(clerk, reviewer, budget_line_id=3, amount=5000000, category="works", name="校舍维修")
    # Works: 100万 is the line (999,999.99 may be done by the purchaser itself).
    assert "省级分散采购限额 100万元（含）以上" in _error(apply_plan(clerk, works["id"], method="self", amount=1000000,
                                                           sme_reserved_amount=1000000))
    file_plan(people, works["id"], method="self", amount=999999.99, sme_reserved_amount=999999.99)


def test_renewal_needs_the_original_filed_multi_year_contract(app, login, people):
    clerk, reviewer = people["clerk2"], people["reviewer2"]
    first = register_project(clerk, reviewer, budget_line_id=5, amount=300000, category="services", name="物业管理服务")
    first_plan = file_plan(people, first["id"], finance=False, amount=150000, sme_reserved_amount=150000)
    single_year = file_contract(login, first_plan["id"], amount=50000, name="物业服务合同（一年）")
    multi_year = file_contract(login, first_plan["id"], amount=60000, name="物业服务合同（三年）", is_multi_year=True)
    assert multi_year["is_multi_year"] is True and single_year["is_multi_year"] is False

    second = register_project(clerk, reviewer, budget_line_id=5, amount=200000, category="services", name="物业管理服务续签")
    renewal = {"plan_type": "renewal", "amount": 60000, "sme_reserved_amount": 60000}
    assert "须选择原合同" in _error(apply_plan(clerk, second["id"], **renewal))
    assert "不存在或不属于本单位" in _error(apply_plan(clerk, second["id"], original_contract_id=9999, **renewal))
    assert "不是一签多年合同" in _error(apply_plan(clerk, second["id"], original_contract_id=single_year["id"], **renewal))
    draft = clerk.start("contract_filing", {"plan_id": first_plan["id"], "name": "草稿", "amount": 1000,
                                            "signed_date": "2026-11-18", "text_ref": "f", "is_multi_year": True,
                                            "action": "draft"})
    assert "只有已备案的合同可以续签" in _error(apply_plan(clerk, second["id"], original_contract_id=draft["data"]["contract_id"],
                                                   **renewal))
    goods = register_project(clerk, reviewer, budget_line_id=4, amount=100000)
    assert "只适用于服务类" in _error(apply_plan(clerk, goods["id"], original_contract_id=multi_year["id"], **renewal))
    # Another unit's contract is not the original of this unit's renewal.
    other = register_project(people["clerk"], people["reviewer"], budget_line_id=2, amount=100000, category="services")
    assert "不存在或不属于本单位" in _error(apply_plan(people["clerk"], other["id"], original_contract_id=multi_year["id"],
                                                 **renewal))

    plan = file_plan(people, second["id"], finance=False, original_contract_id=multi_year["id"], **renewal)
    assert plan["plan_type"] == "renewal" and plan["original_contract_id"] == multi_year["id"]
