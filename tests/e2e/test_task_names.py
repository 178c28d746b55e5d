"""工作台 rows say what a task is about (issue 15 point 11), at desktop and phone sizes."""
import pytest
from helpers import PROJECT

from playwright.sync_api import expect


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_list_names_the_record_under_review(pages, login, size):
    clerk = login("clerk")
    instance = clerk.start("project_registration", PROJECT)
    number = clerk.ok(clerk.get(f"/api/projects/{instance['data']['project_id']}"))["number"]
    page = pages.login("reviewer", size=size)
    link = page.get_by_role("link", name=f"审核岗审核：采购项目 {number}")
    expect(link).to_be_visible()
    assert not pages.page_scrolls_sideways(page)
    pages.shot(page, f"workbench-task-names-{size}")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"审核岗审核：采购项目 {number}")
