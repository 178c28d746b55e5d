"""Record references are picked by the number and name people see, not typed ids (issue 15 point 8)."""
import re

import pytest
from helpers import PROJECT, register_project
from playwright.sync_api import expect

from test_workbench import wait_form


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_budget_line_and_project_are_searched_by_number_and_name(pages, login, size):
    project = register_project(login("clerk"), login("reviewer"), name="多媒体教室设备")
    clerk = pages.login("clerk", size=size)
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    budget = clerk.get_by_label("预算指标")
    budget.fill("信息化")
    options = clerk.locator(".fjs-dropdownlist-item")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("2026-350001-002 信息化运维服务")
    options.first.click()
    if size == "phone":
        pages.shot(clerk, "picker-phone")
    expect(clerk.locator("main")).not_to_contain_text("2026-350101")  # another unit's lines are not offered

    clerk.goto("/start/plan_application")
    wait_form(clerk)
    clerk.get_by_label("采购项目").fill(project["number"])
    expect(clerk.locator(".fjs-dropdownlist-item").first).to_contain_text(f"{project['number']} 多媒体教室设备")
    assert not clerk.js_errors


def test_the_picked_record_is_stored_by_its_id(pages, login):
    clerk = pages.login("clerk")
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    from test_workbench import fill_project
    fill_project(clerk, budget="2026-350001-002")
    clerk.get_by_label("采购内容", exact=True).fill("服务器")
    clerk.get_by_test_id("submit").click()
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    api = login("clerk")
    data = api.ok(api.get(f"/api/instances/{clerk.url.rsplit('/', 1)[1]}"))["data"]
    assert data["funds"] == [{"budget_line_id": 2, "amount": None}]  # 资金构成: one line, the whole amount
    clerk.goto(f"/projects/{data['project_id']}")
    expect(clerk.locator("main")).to_contain_text("2026-350001-002")
    assert PROJECT["budget_line_id"] == 1
