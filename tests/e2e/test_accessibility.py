"""Automated accessibility check (axe-core, vendored in app/static/vendor/axe-core) of the main pages at both sizes:
no serious or critical WCAG 2 A/AA violations (issue 15: labels, contrast, keyboard)."""
import pytest
from helpers import PROJECT
from playwright.sync_api import expect

AXE = "/static/vendor/axe-core/axe.min.js"
RUN = """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}}).then(r =>
  r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
   .map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))"""


def violations(page):
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)  # served by the app: the Content-Security-Policy allows it
    return page.evaluate(RUN)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_main_pages_have_no_serious_violations(pages, login, size):
    instance = login("clerk").start("project_registration", PROJECT)
    task = next(t for t in login("reviewer").tasks() if t["instance_id"] == instance["id"])
    login_page = pages.new(size)
    login_page.goto("/login")
    found = {"/login": violations(login_page)}
    reviewer = pages.login("reviewer", size=size)
    for url in ("/", "/?tab=started", f"/tasks/{task['id']}", f"/instances/{instance['id']}", "/projects",
                "/plans", "/contracts"):
        reviewer.goto(url)
        if url.startswith("/tasks/"):
            reviewer.wait_for_selector("#form-root[data-ready=true]")
        found[url] = violations(reviewer)
    clerk = pages.login("clerk", size=size)
    for url in ("/start", "/start/project_registration"):
        clerk.goto(url)
        found[url] = violations(clerk)
    bad = {url: v for url, v in found.items() if v}
    assert not bad, "\n".join(f"{url}: {line}" for url, lines in bad.items() for line in lines)


def test_task_tabs_and_forms_work_by_keyboard(pages, login):
    login("clerk").start("project_registration", PROJECT)
    page = pages.login("reviewer")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    page.keyboard.press("Enter")
    tab = page.get_by_role("tab", name="我发起的")
    tab.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", selected=True)).to_contain_text("我发起的")
