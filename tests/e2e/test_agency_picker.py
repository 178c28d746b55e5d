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


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_administrator_adds_an_agency_and_its_user(pages, login, size):
    page = pages.login("admin", size=size)
    page.goto("/admin#agencies")
    ok, error = page.get_by_test_id("admin-ok"), page.get_by_test_id("admin-error")
    expect(page.get_by_role("tab", name="代理机构")).to_have_attribute("aria-selected", "true")
    panel = page.get_by_test_id("agencies")
    expect(panel).to_contain_text("福建华信招标代理有限公司")
    expect(panel).to_contain_text("华信招标代理（agency2）")
    form = page.locator("#agency-form")
    form.get_by_label("名称").fill("福州建诚项目管理有限公司")
    form.get_by_label("统一社会信用代码").fill("91350100MA2Y123450")  # wrong check digit
    form.get_by_role("button", name="新增代理机构").click()
    expect(error).to_contain_text("校验位不正确")
    form.get_by_label("统一社会信用代码").fill("91350100MA2Y123459")  # 华信's code: already in the library
    form.get_by_role("button", name="新增代理机构").click()
    expect(error).to_contain_text("已登记为代理机构“福建华信招标代理有限公司”")
    from app.models.supplier import check_digit
    code = "91350100MA2Y54321"
    form.get_by_label("统一社会信用代码").fill(code + check_digit(code))
    form.get_by_role("button", name="新增代理机构").click()
    expect(ok).to_contain_text("已新增代理机构 福州建诚项目管理有限公司")
    expect(page.get_by_test_id("agencies")).to_contain_text("福州建诚项目管理有限公司")
    assert not pages.page_scrolls_sideways(page)
    pages.shot(page, f"admin-agencies-{size}")
    api = login("admin")
    added = next(a for a in api.ok(api.get("/api/agencies")) if a["name"] == "福州建诚项目管理有限公司")

    # Its user, on 用户与单位: an agency post and the agency, no purchaser unit.
    page.get_by_role("tab", name="用户与单位").click()
    user_form = page.locator("#user-form")
    user_form.get_by_label("用户名").fill(f"jc_agent_{size}")
    user_form.get_by_label("姓名").fill("建诚代理")
    user_form.get_by_label("初始密码").fill("Passw0rd1")
    user_form.get_by_label("所属代理机构").select_option(label="福州建诚项目管理有限公司")
    user_form.get_by_label("代理机构", exact=True).check()
    user_form.get_by_role("button", name="新增用户").click()
    expect(ok).to_contain_text(f"已新增用户 jc_agent_{size}")
    staff = next(u for u in api.ok(api.get("/api/users")) if u["username"] == f"jc_agent_{size}")
    assert staff["agency_id"] == added["id"] and staff["grants"] == []
    page.get_by_role("tab", name="代理机构").click()
    expect(page.get_by_test_id("agencies")).to_contain_text(f"建诚代理（jc_agent_{size}）")

    # Deactivated on its row: no longer offered on a 委托单.
    page.get_by_label("福州建诚项目管理有限公司在用").uncheck()
    expect(ok).to_contain_text("已停用")
    assert api.ok(api.get(f"/api/agencies/{added['id']}"))["active"] is False
    assert not page.js_errors and not pages.csp_violations(page)
