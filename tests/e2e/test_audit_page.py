"""The auditor's audit page in a real browser: timeline beside the diagram, stepping moves the token."""
from playwright.sync_api import expect

from helpers import PROJECT


def test_auditor_steps_through_the_history_on_the_diagram(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    task = login("reviewer").task_named("审核岗审核", instance["id"])
    login("reviewer").complete(task["id"], {"approved": "true", "comment": "同意"})

    page = pages.login("auditor")
    page.get_by_role("link", name="审计").click()
    page.locator(f'tr[data-instance-id="{instance["id"]}"] a', has_text="审计").click()
    page.wait_for_selector("#diagram[data-ready=true]")
    expect(page.get_by_test_id("chain-ok")).to_be_visible()
    expect(page.get_by_test_id("state-ok")).to_be_visible()

    # The final state: registered, nothing active.
    expect(page.locator('.djs-element.completed[data-element-id="reg_register"]')).to_have_count(1)
    expect(page.locator(".djs-element.highlight")).to_have_count(0)

    # After the first event the review holds the token; the register step has not run.
    page.get_by_test_id("step-1").click()
    expect(page.locator("#diagram")).to_have_attribute("data-step", "1")
    expect(page.locator('.djs-element.highlight[data-element-id="reg_review"]')).to_have_count(1)
    expect(page.locator('.djs-element.completed[data-element-id="reg_register"]')).to_have_count(0)
    expect(page.locator('.djs-connection.taken[data-element-id="Flow_reg_submit_reg_review"]')).to_have_count(1)

    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#diagram")).to_have_attribute("data-step", "2")
    expect(page.get_by_test_id("export-xlsx")).to_have_attribute("href", f"/api/instances/{instance['id']}/export.xlsx")
    assert not page.js_errors
