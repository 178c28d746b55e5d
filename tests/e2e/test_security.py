"""Issue 12 in the browser: form-js and bpmn-js work under the Content-Security-Policy (no violation on the
task, start, instance and audit pages), and a session cookie copied before 退出 opens nothing afterwards."""
import re

from playwright.sync_api import expect

from helpers import PROJECT


def test_forms_and_diagrams_render_under_the_content_security_policy(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    task = login("reviewer").task_named("审核岗审核", instance["id"])

    page = pages.login("reviewer")
    page.goto(f"/tasks/{task['id']}")
    page.wait_for_selector("#form-root .fjs-form")  # form-js drew the task's Camunda Form
    expect(page.locator("#form-root .fjs-form-field").first).to_be_visible()
    page.goto(f"/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")  # bpmn-js drew the diagram
    expect(page.locator('#diagram .djs-element.highlight[data-element-id="reg_review"]')).to_have_count(1)
    assert pages.csp_violations(page) == [] and not page.js_errors

    clerk = pages.login("clerk")
    clerk.goto("/start/project_registration")
    clerk.wait_for_selector("#form-root .fjs-form")
    assert pages.csp_violations(clerk) == [] and not clerk.js_errors

    auditor = pages.login("auditor")
    auditor.goto(f"/audit/instances/{instance['id']}")
    auditor.wait_for_selector("#diagram[data-ready=true]")
    auditor.get_by_test_id("step-1").click()
    expect(auditor.locator("#diagram")).to_have_attribute("data-step", "1")
    assert pages.csp_violations(auditor) == [] and not auditor.js_errors


def test_an_inline_script_would_be_refused(pages):
    """The policy is really enforced: a script injected into the page does not run."""
    page = pages.new()
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__ran = true'; document.body.appendChild(s); }""")
    assert page.evaluate("window.__ran === undefined")
    assert any("script-src" in v for v in pages.csp_violations(page))
    page.console_errors.clear()  # the refusal this test provoked is no failure of the page


def test_a_cookie_copied_before_logout_opens_nothing_after(pages):
    page = pages.login("clerk")
    copied = page.context.cookies()
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    thief = pages.new()
    thief.context.add_cookies(copied)
    thief.goto("/")
    expect(thief).to_have_url(re.compile(r"/login$"))
    expect(thief.locator("input[name=username]")).to_be_visible()
    assert thief.context.request.get("/api/tasks").status == 401


def test_withdraw_asks_first_without_an_inline_handler(pages, login):
    """The 撤回 button's confirmation (once an inline onsubmit, now web.js reading data-confirm)."""
    from helpers import apply_plan, register_project
    project = register_project(login("clerk"), login("reviewer"))
    instance = apply_plan(login("clerk"), project["id"])
    page = pages.login("clerk")
    page.goto(f"/instances/{instance['id']}")
    page.get_by_test_id("message-withdraw").click()
    dialog = page.get_by_role("dialog")  # web.js govConfirm: an accessible dialog, no inline handler
    expect(dialog).to_contain_text("确定要撤回吗？")
    dialog.get_by_role("button", name="返回").click()
    expect(page.get_by_test_id("message-withdraw")).to_be_visible()  # dismissed: nothing sent
    page.get_by_test_id("message-withdraw").click()
    page.get_by_role("dialog").get_by_role("button", name="确认").click()
    expect(page.get_by_test_id("message-withdraw")).to_have_count(0)  # accepted: withdrawn
    assert not page.js_errors


def test_an_administrator_unlocks_a_locked_name_on_the_settings_page(pages, app, clock):
    client = app.test_client()
    for _ in range(app.config["LOGIN_LOCK_FAILURES"]):
        assert client.post("/api/login", json={"username": "clerk2", "password": "wrong"}).status_code == 401
        clock.advance(seconds=app.config["LOGIN_MAX_DELAY_SECONDS"])
    assert client.post("/api/login", json={"username": "clerk2", "password": "demo"}).status_code == 429

    page = pages.login("admin")
    page.goto("/admin")
    page.get_by_role("tab", name="登录安全").click()
    row = page.get_by_test_id("login-throttles").locator("tr", has_text="clerk2")
    expect(row).to_contain_text("已锁定至")
    expect(page.get_by_test_id("login-failures")).to_contain_text("clerk2")
    row.get_by_role("button", name="解锁").click()
    expect(page.get_by_test_id("admin-ok")).to_contain_text("已解锁")
    expect(row).to_have_count(0)
    assert client.post("/api/login", json={"username": "clerk2", "password": "demo"}).status_code == 200
    assert not page.js_errors
