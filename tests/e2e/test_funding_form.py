"""资金构成 in the browser (issue 13): the clerk funds a project from two budget lines with the form's repeatable list
(each line picked by its number and name), and the reviewer's task page shows both rows with the lines' figures."""
import re

import pytest
from helpers import PROJECT
from playwright.sync_api import expect

from test_workbench import choose, submit, wait_form


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_project_funded_by_two_lines_through_the_form(pages, login, size):
    clerk = pages.login("clerk", size=size)
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    clerk.get_by_label("项目名称").fill("实验室设备采购")
    choose(clerk, "品目类别", "货物")
    clerk.get_by_label("项目金额（元）").fill("900000")
    choose(clerk, "实施形式", "委托代理机构采购")
    funds = clerk.get_by_role("group", name=re.compile("资金构成"))
    funds.get_by_role("button", name="新增一行").click()
    rows = funds.locator(".fjs-repeat-row-container")
    expect(rows).to_have_count(2)
    for row, (line, amount) in zip((rows.nth(0), rows.nth(1)), (("2026-350001-001", "600000"),
                                                                 ("2026-350001-002", "300000"))):
        field = row.locator(".fjs-form-field", has=clerk.locator("label", has_text="预算指标")).first
        field.locator(".fjs-input-group").first.click()
        field.locator(".fjs-dropdownlist-item", has_text=line).first.click()
        row.get_by_label("金额（元）").fill(amount)
    clerk.get_by_label("采购内容", exact=True).fill("显微镜")
    clerk.get_by_label("说明（达到分散采购限额").fill(PROJECT["justification"])
    if size == "phone":
        pages.shot(clerk, "funding-form-phone")
    submit(clerk)
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    api = login("clerk")
    data = api.ok(api.get(f"/api/instances/{clerk.url.rsplit('/', 1)[1]}"))["data"]
    project = api.ok(api.get(f"/api/projects/{data['project_id']}"))
    assert project["funds"] == [{"budget_line_id": 1, "amount": "600000.00"}, {"budget_line_id": 2, "amount": "300000.00"}]

    reviewer = pages.login("reviewer", size=size)
    task = login("reviewer").task_named("审核岗审核", int(clerk.url.rsplit("/", 1)[1]))
    reviewer.goto(f"/tasks/{task['id']}")
    fund_rows = reviewer.get_by_test_id("fund-row")
    expect(fund_rows).to_have_count(2)
    expect(fund_rows.nth(0)).to_contain_text("2026-350001-001")
    expect(fund_rows.nth(0)).to_contain_text("600,000.00")
    expect(fund_rows.nth(1)).to_contain_text("2026-350001-002")
    expect(fund_rows.nth(1)).to_contain_text("有效")
    assert not clerk.js_errors and not reviewer.js_errors


def test_the_choose_buttons_fill_the_funding_rows(pages):
    clerk = pages.login("clerk")
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    clerk.get_by_label("项目名称").fill("多媒体教室设备")
    buttons = clerk.locator('[data-fill="budget_line_id"]')
    buttons.nth(1).click()  # 2026-350001-002 into the first (empty) row
    funds = clerk.get_by_role("group", name=re.compile("资金构成"))
    expect(funds.locator(".fjs-repeat-row-container")).to_have_count(1)
    rows = funds.locator(".fjs-repeat-row-container")
    expect(rows.nth(0).get_by_label("预算指标")).to_have_value(re.compile("2026-350001-002"))
    buttons.nth(2).click()  # 2026-350001-003 into a new row
    expect(funds.locator(".fjs-repeat-row-container")).to_have_count(2)
    expect(rows.nth(1).get_by_label("预算指标")).to_have_value(re.compile("2026-350001-003"))
    expect(rows.nth(0).get_by_label("预算指标")).to_have_value(re.compile("2026-350001-002"))
    expect(clerk.get_by_label("项目名称")).to_have_value("多媒体教室设备")  # what was typed stays
    assert not clerk.js_errors
