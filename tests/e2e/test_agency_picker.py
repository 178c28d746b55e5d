"""代理机构库 in a real browser (issue 13): the purchaser picks the entrusted agency on the 委托单 start form, by
name, at desktop and phone sizes; the 委托单 then names that agency and its staff receive the work."""
import re

import pytest
from helpers import register_project
from playwright.sync_api import expect
from procurement_helpers import demo_agency, file_plan, people  # noqa: F401 - fixture

from test_workbench import wait_form


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_purchaser_picks_the_agency_on_the_entrustment(pages, login, people, size):
    clerk_api = people["clerk"]
    plan = file_plan(people, register_project(clerk_api, people["reviewer"])["id"], amount=500000,
                     sme_reserved_amount=500000)
    page = pages.login("clerk", size=size)
    page.goto("/start/entrustment")
    wait_form(page)
    page.get_by_label("采购计划").fill(plan["number"])
    page.locator(".fjs-dropdownlist-item").first.click()
    page.get_by_label("委托事项及采购需求").fill("实验室设备一批，含安装调试和培训")
    agency = page.get_by_label("受委托的代理机构")
    agency.fill("华信")
    options = page.locator(".fjs-dropdownlist-item")
    expect(options).to_have_count(1)  # searched by name among the active agencies
    expect(options.first).to_contain_text("福建华信招标代理有限公司（社会代理机构）")
    options.first.click()
    assert not pages.page_scrolls_sideways(page)
    pages.shot(page, f"agency-picker-{size}")
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    data = clerk_api.ok(clerk_api.get(f"/api/instances/{page.url.rsplit('/', 1)[1]}"))["data"]
    social = demo_agency(clerk_api, "福建华信招标代理有限公司")
    assert data["agency_id"] == social
    assert clerk_api.ok(clerk_api.get(f"/api/entrustments/{data['entrustment_id']}"))["agency_id"] == social
    assert not page.js_errors and not pages.csp_violations(page)
