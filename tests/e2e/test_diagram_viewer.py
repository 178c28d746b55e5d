"""The instance diagram (bpmn-js viewer): opens fitted and readable, with zoom controls (issue 19)."""
from helpers import PROJECT

from playwright.sync_api import expect


def _zoom(page):
    """The viewer's scale, read from the transform bpmn-js puts on its viewport layer."""
    return page.evaluate("""() => {
        const m = document.querySelector('#diagram .viewport').transform.baseVal.consolidate();
        return m ? m.matrix.a : 1; }""")


def test_diagram_opens_readable_with_zoom_controls(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    page = pages.login("clerk")
    page.goto(f"/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")
    toolbar = page.locator("#diagram").get_by_role("toolbar", name="流程图缩放")
    opened = _zoom(page)
    assert opened >= 0.6 - 1e-6  # labels stay readable (fitted, or at 60 % on the active step when too wide)
    expect(page.locator('#diagram .djs-element.highlight[data-element-id="reg_review"]')).to_be_in_viewport()
    toolbar.get_by_role("button", name="放大").click()
    assert _zoom(page) > opened
    toolbar.get_by_role("button", name="缩小").click()
    toolbar.get_by_role("button", name="缩小").click()
    assert _zoom(page) < opened
    toolbar.get_by_role("button", name="原始大小").click()
    assert abs(_zoom(page) - 1) < 1e-6
    toolbar.get_by_role("button", name="适应窗口").click()
    assert not page.js_errors


def test_diagram_on_a_phone(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    page = pages.login("clerk")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")
    expect(page.locator("#diagram").get_by_role("button", name="放大")).to_be_visible()
    assert _zoom(page) >= 0.6 - 1e-6
    expect(page.locator('#diagram .djs-element.highlight[data-element-id="reg_review"]')).to_be_in_viewport()
    assert not page.js_errors


def test_audit_diagram_has_the_same_zoom_controls(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    page = pages.login("auditor")
    page.goto(f"/audit/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")
    opened = _zoom(page)
    assert opened >= 0.6 - 1e-6
    page.locator("#diagram").get_by_role("button", name="放大").click()
    assert _zoom(page) > opened
    assert not page.js_errors
