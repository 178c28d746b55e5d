"""The diagram viewer (issue 15 point 7): readable at both sizes, zoom controls, only the path taken marked."""
import pytest
from helpers import PROJECT
from playwright.sync_api import expect


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_diagram_is_readable_and_zoomable(pages, login, size):
    instance = login("clerk").start("project_registration", PROJECT)
    page = pages.login("clerk", size=size)
    page.goto(f"/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")
    controls = page.get_by_role("group", name="流程图缩放").first
    expect(controls.get_by_role("button", name="放大")).to_be_visible()
    label = page.locator('#diagram .djs-element[data-element-id="reg_review"] text').first
    size_before = label.bounding_box()["height"]
    assert size_before >= 8, size_before  # labels are read, not guessed (was 5–7 px)
    controls.get_by_role("button", name="放大").click()
    page.wait_for_timeout(200)
    assert label.bounding_box()["height"] > size_before
    controls.get_by_role("button", name="适应窗口").click()
    pages.shot(page, f"diagram-{size}")
    assert not pages.page_scrolls_sideways(page)
