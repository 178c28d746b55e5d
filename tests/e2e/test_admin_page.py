"""系统设置 in a real browser: the administrator edits thresholds, the calendar, a rule and the expert pool."""
import re

from playwright.sync_api import expect


def test_administrator_keeps_the_settings(pages, login):
    page = pages.login("admin")
    page.goto("/admin?year=2026")
    ok, error = page.get_by_test_id("admin-ok"), page.get_by_test_id("admin-error")

    # 限额标准: a bad amount is refused with the API's message; a good one is saved.
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
    # A region of its own: 柳州 adopts a transaction-system threshold for goods (the page reloads with its row).
    page.get_by_label("新增须委托代理机构采购的限额（交易系统）的区划").fill("柳州")
    page.get_by_label("新增区划货物须委托代理机构采购的限额（交易系统）").fill("300000")
    page.get_by_role("button", name="保存限额标准").click()
    expect(page.get_by_label("柳州货物须委托代理机构采购的限额（交易系统）")).to_have_value("300,000.00")
    rows = api.ok(api.get("/api/thresholds"))
    assert [r["amount"] for r in rows if (r["kind"], r["region"]) == ("transaction", "柳州")] == ["300000.00"]

    # 工作日历: add 国庆节 and a 调休上班 Saturday.
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
    rule = page.locator('[data-rule="contract_not_filed"]')
    rule.locator("input[name=days]").fill("10")
    rule.get_by_role("button", name="保存").click()
    expect(ok).to_contain_text("已保存预警规则“合同未按时备案”")
    rules = {r["code"]: r for r in api.ok(api.get("/api/supervision/rules"))}
    assert rules["contract_not_filed"]["params"] == {"days": 10}

    # 专家库: pause expert 1; add one (a wrong ID number first).
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
    form.get_by_label("岗位").select_option(["clerk"])
    form.get_by_role("button", name="新增用户").click()
    expect(error).to_contain_text("密码至少 8 位，且须同时包含字母和数字")
    form.get_by_label("初始密码").fill("Caigou2026")
    form.get_by_role("button", name="新增用户").click()
    expect(ok).to_contain_text("已新增用户 clerk3")
    page.wait_for_selector('[data-testid="users"] td:has-text("clerk3")')

    newcomer = pages.login("clerk3", "Caigou2026")
    expect(newcomer.locator(".sidenav")).to_contain_text("工作台")

    page.get_by_label("启用clerk3").uncheck()
    expect(ok).to_contain_text("clerk3 已停用")
    newcomer.goto("/")
    expect(newcomer).to_have_url(re.compile(r"/login"))
    assert not page.js_errors
