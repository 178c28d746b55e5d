"""系统设置 in a real browser: the administrator edits thresholds, the calendar, a rule and the expert pool."""
import re

from playwright.sync_api import expect


def test_administrator_keeps_the_settings(pages, login):
    page = pages.login("admin")
    page.goto("/admin?year=2026")
    ok, error = page.get_by_test_id("admin-ok"), page.get_by_test_id("admin-error")

    # 限额标准: a bad amount is refused with the API's message; a good one is saved.
    page.get_by_role("tab", name="限额标准").click()
    amount = page.get_by_label("福州货物分散采购限额标准")
    amount.fill("-1")
    page.get_by_role("button", name="保存限额标准").click()
    expect(error).to_contain_text("金额应大于 0 元")
    amount.fill("600000")
    page.get_by_role("button", name="保存限额标准").click()
    expect(ok).to_contain_text("已保存 1 项限额标准")
    api = login("admin")
    rows = api.ok(api.get("/api/thresholds"))
    assert next(r for r in rows if (r["kind"], r["region"], r["category"]) ==
                ("decentralized", "福州", "goods"))["amount"] == "600000.00"

    # 工作日历: add 国庆节 and a 调休上班 Saturday.
    page.get_by_role("tab", name="工作日历").click()
    calendar = page.get_by_test_id("calendar")
    for day, kind, name in (("2026-10-01", "holiday", "国庆节"), ("2026-10-10", "workday", "国庆节调休")):
        calendar.get_by_role("button", name="＋ 添加日期").click()
        row = calendar.locator("[data-day]").last
        row.locator("[name=date]").fill(day)
        row.locator("[name=kind]").select_option(kind)
        row.locator("[name=name]").fill(name)
    calendar.get_by_role("button", name="保存 2026 年工作日历").click()
    expect(ok).to_contain_text("已保存 2026 年工作日历（2 天）")
    saved = api.ok(api.get("/api/calendar", query_string={"year": 2026}))["days"]
    assert [(d["date"], d["kind"]) for d in saved] == [("2026-10-01", "holiday"), ("2026-10-10", "workday")]

    # 预警规则: 7 → 10 days.
    page.get_by_role("tab", name="预警规则").click()
    rule = page.locator('[data-rule="contract_not_filed"]')
    rule.locator("input[name=days]").fill("10")
    rule.get_by_role("button", name="保存").click()
    expect(ok).to_contain_text("已保存预警规则“合同未按时备案”")
    rules = {r["code"]: r for r in api.ok(api.get("/api/supervision/rules"))}
    assert rules["contract_not_filed"]["params"] == {"days": 10}

    # 专家库: pause expert 1; add one (a wrong ID number first). 身份证号码 are shown masked.
    page.get_by_role("tab", name="专家库").click()
    first = api.ok(api.get("/api/experts"))[0]
    expect(page.get_by_test_id("experts")).not_to_contain_text(first["id_number"])
    expect(page.get_by_test_id("experts")).to_contain_text(first["id_number"][:6] + "********")
    page.get_by_label(api.ok(api.get("/api/experts"))[0]["name"] + "可抽取").first.uncheck()
    expect(ok).to_contain_text("已暂停抽取")
    assert api.ok(api.get("/api/experts"))[0]["available"] is False
    form = page.locator("#expert-form")
    for label, value in (("姓名", "林文华"), ("区划", "福州市"), ("工作单位", "福建理则律师事务所"),
                         ("身份证号码", "350102198001010010")):
        form.get_by_label(label).fill(value)
    form.get_by_label("分类").select_option("law")
    form.get_by_role("button", name="新增专家").click()
    expect(error).to_contain_text("身份证号码校验位不正确")
    from app.models.expert import id_check
    form.get_by_label("身份证号码").fill("35010219800101001" + id_check("35010219800101001"))
    form.get_by_role("button", name="新增专家").click()
    expect(ok).to_contain_text("已新增专家 林文华")
    page.wait_for_timeout(1500)
    expect(ok).to_contain_text("已新增专家 林文华")  # the message stays after the page shows the new row
    expect(page.get_by_role("tab", name="专家库")).to_have_attribute("aria-selected", "true")
    assert "林文华" in [e["name"] for e in api.ok(api.get("/api/experts"))]
    assert not page.js_errors


def test_administrator_adds_and_stops_a_user(pages):
    page = pages.login("admin")
    page.goto("/admin")
    ok, error = page.get_by_test_id("admin-ok"), page.get_by_test_id("admin-error")
    form = page.locator("#user-form")
    form.get_by_label("用户名").fill("clerk3")
    form.get_by_label("姓名").fill("黄经办")
    form.get_by_label("初始密码").fill("weakpass")
    form.get_by_label("所属单位").select_option(label="福州市教育局")
    form.get_by_role("group", name="岗位").get_by_label("采购单位经办岗").check()
    form.get_by_role("button", name="新增用户").click()
    expect(error).to_contain_text("密码至少 8 位，且须同时包含字母和数字")
    form.get_by_label("初始密码").fill("Caigou2026")
    form.get_by_role("button", name="新增用户").click()
    expect(ok).to_contain_text("已新增用户 clerk3")
    page.wait_for_selector('[data-testid="users"] td:has-text("clerk3")')

    # First sign-in with the password the administrator chose: a new one is required before anything else.
    newcomer = pages.new()
    newcomer.goto("/login")
    newcomer.get_by_label("用户名").fill("clerk3")
    newcomer.get_by_label("密码").fill("Caigou2026")
    newcomer.get_by_role("button", name="登 录").click()
    expect(newcomer).to_have_url(re.compile(r"/password$"))
    expect(newcomer.get_by_test_id("flash")).to_contain_text("请先修改密码")
    newcomer.goto("/projects")
    expect(newcomer).to_have_url(re.compile(r"/password$"))
    newcomer.get_by_label("原密码").fill("Caigou2026")
    newcomer.get_by_label("新密码", exact=True).fill("Xinmima2026")
    newcomer.get_by_label("确认新密码").fill("Xinmima2026")
    newcomer.get_by_role("button", name=re.compile("修改|确定|保存")).click()
    newcomer = pages.login("clerk3", "Xinmima2026")
    expect(newcomer.locator(".sidenav")).to_contain_text("工作台")

    page.get_by_label("启用clerk3").uncheck()
    expect(ok).to_contain_text("clerk3 已停用")
    newcomer.goto("/")
    expect(newcomer).to_have_url(re.compile(r"/login"))
    assert not page.js_errors


def test_administrator_edits_a_users_unit_posts_and_grants(pages, login):
    page = pages.login("admin", size="phone")
    page.goto("/admin")
    page.get_by_role("button", name="编辑 张经办").click()
    editor = page.get_by_role("group", name="编辑 张经办")
    editor.get_by_role("group", name="岗位").get_by_label("采购单位审核岗").check()
    editor.get_by_role("group", name="授权单位").get_by_label("福州市教育局").check()
    pages.shot(page, "admin-user-editor-phone")
    editor.get_by_role("button", name="保存 张经办").click()
    expect(page.get_by_test_id("admin-ok")).to_contain_text("已保存用户 clerk 的单位、岗位和授权")
    api = login("admin")
    clerk = next(u for u in api.ok(api.get("/api/users")) if u["username"] == "clerk")
    assert set(clerk["groups"]) == {"clerk", "reviewer"}
    assert {g["unit_id"] for g in clerk["grants"]} == {1, 2}
    assert not pages.page_scrolls_sideways(page)
