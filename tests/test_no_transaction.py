"""无系统不交易 (issue 13; seed 003 三原则, 004 §三): a contract on a plan whose method needs a transaction follows
an award made in the system; by hand only where the plan type needs none."""
from helpers import approve, apply_plan, award_in_system, register_project
from test_contracts import contract_data


def _filed(login, **plan):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    project = register_project(clerk, reviewer, budget_line_id=4, amount=300000)
    instance = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000, **plan)
    assert not instance["data"].get("error_message"), instance["data"]
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    return clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))


def test_a_tender_plan_gets_a_contract_only_after_an_award_in_the_system(app, login):
    clerk = login("clerk2")
    plan = _filed(login)
    assert plan["method"] == "open_tender" and plan["status"] == "filed"
    refused = clerk.start("contract_filing", contract_data(plan["id"]))
    assert refused["data"]["error_message"] == (f"采购计划 {plan['number']} 的采购方式为公开招标，须在系统中完成交易、确定中标（成交）"
                                                "供应商后才能签订合同（无系统不交易）")
    edit = clerk.task_named("修改合同", refused["id"])
    award_in_system(app, plan["id"])
    done = clerk.complete(edit["id"], {**contract_data(plan["id"]), "action": "submit"})
    assert not done["data"].get("error_message"), done["data"]
    approve(login("reviewer2"), "合同审核", refused["id"])
    clerk.complete(clerk.task_named("发布合同公告", refused["id"])["id"], {})
    assert clerk.complete(clerk.task_named("合同备案", refused["id"])["id"], {})["status"] == "completed"
