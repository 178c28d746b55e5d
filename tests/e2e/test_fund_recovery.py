"""After 资金回收 the project page keeps its amount and shows the recovered part apart (issue 15 point 10)."""
import pytest
from helpers import filed_plan

from playwright.sync_api import expect


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_project_page_after_a_fund_recovery(pages, login, size):
    clerk, leader = login("clerk"), login("leader")
    project, _ = filed_plan(clerk, login("reviewer"), login("finance"), amount=800000, plan_amount=500000)
    adjustment = clerk.start("project_fund_adjustment", {"project_id": project["id"], "kind": "recover"})
    clerk.complete(clerk.task_named("录入资金调整", adjustment["id"])["id"],
                   {"kind": "recover", "amount": 300000, "action": "submit"})
    leader.complete(leader.task_named("需求领导审核")["id"], {"approved": "true", "comment": "同意"})

    page = pages.login("clerk", size=size)
    page.goto(f"/projects/{project['id']}")
    for label, value in (("项目金额", "800,000.00 元（80 万元）"), ("资金回收", "300,000.00 元"),
                         ("仍占用预算指标", "500,000.00 元"), ("可用金额", "0.00 元")):
        expect(page.locator("dt", has_text=label).locator("xpath=following-sibling::dd[1]")).to_have_text(value)
    assert not pages.page_scrolls_sideways(page)
    pages.shot(page, f"project-after-recovery-{size}")
