"""部署预演 page (issue 19): an analyst uploads a changed diagram and sees which running instances still match."""
from pathlib import Path

from helpers import PROJECT

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]


def test_analyst_dry_runs_a_changed_diagram(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    text = (ROOT / "bpmn" / "project_registration.bpmn").read_text(encoding="utf-8")
    marker = '<dc:Bounds x="'
    moved = text[::-1].replace(marker[::-1], (marker + "1")[::-1], 1)[::-1]  # the last shape or label moves
    page = pages.login("analyst")
    page.get_by_role("link", name="部署预演").click()
    expect(page.get_by_role("heading", name="部署预演")).to_be_visible()
    page.set_input_files("#dry-run-files", files=[{"name": "project_registration.bpmn", "mimeType": "application/xml",
                                                   "buffer": moved.encode("utf-8")}])
    page.get_by_role("button", name="开始预演").click()
    report = page.get_by_test_id("dry-run-report")
    expect(report).to_be_visible()
    expect(report).to_contain_text("版本 1 → 2")
    row = page.locator(f'#dry-run-rows tr[data-instance="{instance["id"]}"]')
    expect(row).to_contain_text("吻合")
    expect(row).to_contain_text("运行中")
    assert not page.js_errors


def test_dry_run_page_shows_refusals(pages):
    page = pages.login("analyst")
    page.goto("/dry-run")
    page.set_input_files("#dry-run-files", files=[{"name": "broken.bpmn", "mimeType": "application/xml",
                                                   "buffer": b"<not-bpmn"}])
    page.get_by_role("button", name="开始预演").click()
    expect(page.get_by_test_id("dry-run-error")).to_contain_text("部署会被拒绝")


def test_only_analysts_see_the_page(pages):
    page = pages.login("clerk")
    expect(page.get_by_role("link", name="部署预演")).to_have_count(0)
    page.goto("/dry-run")
    expect(page.locator("body")).to_contain_text("只有业务分析")
