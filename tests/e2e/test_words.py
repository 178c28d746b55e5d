"""What people read (issue 15 points 9–11): no keys, API paths or seed citations; one word for each state; lists say
where a procedure waits and who holds it. At 1440×900 and 390×844."""
import re

import pytest
from helpers import PROJECT
from playwright.sync_api import expect

DEVELOPER_TEXT = re.compile(r"§|/api/|GET |[a-z]+_[a-z]+|None|Increment|Decrement|¥|运行中")


def readable(page):
    text = page.locator("main").inner_text()
    found = DEVELOPER_TEXT.findall(text)
    assert not found, (page.url, found)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_pages_speak_to_people(pages, login, size):
    instance = login("clerk").start("project_registration", PROJECT)
    clerk = pages.login("clerk", size=size)
    for url in ("/start", "/start/project_registration", f"/instances/{instance['id']}", "/?tab=started",
                "/projects"):
        clerk.goto(url)
        clerk.wait_for_load_state("networkidle")
        readable(clerk)
    # 我发起的 and the record list say where it waits and who holds it.
    clerk.goto("/?tab=started")
    expect(clerk.get_by_test_id("instance-table")).to_contain_text("办理中")
    expect(clerk.get_by_test_id("current-step").first).to_contain_text("审核岗审核（采购单位审核岗）")
    clerk.goto("/projects")
    expect(clerk.get_by_test_id("current-step").first).to_contain_text("审核岗审核（采购单位审核岗）")
    # The task page says what is reviewed.
    reviewer = pages.login("reviewer", size=size)
    reviewer.goto("/")
    reviewer.get_by_role("link", name="审核岗审核").first.click()
    expect(reviewer.get_by_test_id("task-name")).to_contain_text("采购项目 XM2026")
    readable(reviewer)


def test_a_rule_refusal_reads_without_citations(pages, login):
    login("clerk").start("project_registration", PROJECT)  # the unit's projects now reach the 分散采购限额
    clerk = pages.login("clerk")
    clerk.goto("/start/project_registration")
    clerk.wait_for_selector("#form-root[data-ready=true]")
    from test_money import start_project
    start_project(clerk, "450000")
    clerk.get_by_label("说明（达到分散采购限额").fill("")
    clerk.get_by_test_id("submit").click()
    alert = clerk.get_by_test_id("form-error")
    expect(alert).to_contain_text("分散采购限额")
    assert "§" not in alert.inner_text() and "注①" not in alert.inner_text()
