"""Task operations in a real browser (issue 17): the notices badge and page, 常用意见, 转办, 退回 — at 1440×900 and
390×844, under the Content-Security-Policy (no inline script or style)."""
import re

import pytest
from playwright.sync_api import expect

from taskops_helpers import add_user, deploy_taskops, start_to_review

SIZES = [(1440, 900), (390, 844)]


@pytest.fixture(autouse=True)
def _diagram(app, clock):
    deploy_taskops(app, clock)
    add_user(app, "reviewer3", "钱审核", ["reviewer"])


def _no_overflow(page):
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_notice_badge_title_and_mark_read(pages, login, size):
    clerk = login("clerk")
    start_to_review(clerk)
    page = pages.login("reviewer")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    badge = page.get_by_test_id("notice-badge")
    expect(badge.locator(".notice-count")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(\d+\) "))
    badge.click()
    expect(page.locator("h1")).to_have_text("消息通知")
    item = page.get_by_test_id("notice").filter(has_text="审核岗审核").first
    expect(item).to_contain_text("待办到达")
    _no_overflow(page)
    page.get_by_test_id("read-all").click()
    expect(page.get_by_test_id("flash")).to_contain_text("标为已读")
    expect(page.get_by_test_id("notice-badge").locator(".notice-count")).to_have_count(0)
    expect(page).not_to_have_title(re.compile(r"^\("))
    assert not page.js_errors


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_saved_comment_reassign_and_return(pages, login, size):
    clerk = login("clerk")
    instance = start_to_review(clerk)
    task = login("reviewer").task_named("审核岗审核", instance["id"])
    page = pages.login("reviewer")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"/tasks/{task['id']}")
    page.wait_for_selector("#form-root[data-ready=true]")
    panel = page.get_by_test_id("task-ops")
    panel.get_by_role("button", name="情况属实，同意").click()
    expect(page.get_by_label("审核意见")).to_have_value("情况属实，同意")
    page.get_by_label("审核意见").fill("材料齐全，同意")
    panel.get_by_test_id("save-comment").click()
    expect(panel.get_by_test_id("ops-result")).to_have_text("已存为常用意见")
    assert "材料齐全，同意" in [c["text"] for c in login("reviewer").ok(login("reviewer").get("/api/comments"))]
    _no_overflow(page)
    panel.get_by_role("button", name="转办", exact=True).click()
    panel.get_by_test_id("reassign-to").select_option("reviewer3")
    panel.get_by_role("button", name="确认转办").click()
    expect(panel.get_by_test_id("ops-result")).to_have_text("已转办")
    page.wait_for_url(re.compile(r"/(\?.*)?$"))

    other = pages.login("reviewer3")
    other.set_viewport_size({"width": size[0], "height": size[1]})
    other.goto(f"/tasks/{task['id']}")
    ops = other.get_by_test_id("task-ops")
    ops.get_by_role("button", name="退回", exact=True).click()
    ops.get_by_test_id("return-to").select_option("o_entry")
    ops.get_by_role("button", name="确认退回").click()
    expect(ops.get_by_test_id("ops-result")).to_contain_text("请填写")  # the reason is required (the API's message)
    ops.get_by_test_id("return-reason").fill("请补充采购需求说明")
    ops.get_by_role("button", name="确认退回").click()
    expect(ops.get_by_test_id("ops-result")).to_have_text("已退回")
    entry = clerk.task_named("录入", instance["id"])
    assert entry["assignee"] == "clerk"
    assert not other.js_errors and not page.js_errors
    # finish the instance so nothing is left behind
    clerk.complete(entry["id"], {})
    reviewer = login("reviewer")
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true"})
    leader = login("leader")
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_batch_approval_lists_each_outcome(pages, login, size):
    clerk, other = login("clerk"), login("reviewer3")
    instances = [start_to_review(clerk) for _ in range(3)]
    claimed = other.task_named("审核岗审核", instances[2]["id"])
    page = pages.login("reviewer")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/batch")
    group = page.get_by_test_id("batch-group").first
    group.locator(".batch-all").check()
    other.ok(other.post(f"/api/tasks/{claimed['id']}/claim"))  # meanwhile someone claims one of them
    group.get_by_role("button", name="情况属实，同意").click()
    expect(group.get_by_test_id("batch-comment")).to_have_value("情况属实，同意")
    _no_overflow(page)
    group.get_by_test_id("batch-approve").click()
    expect(group.get_by_test_id("batch-result")).to_have_text("已办理 2 项，未通过 1 项")
    outcomes = group.get_by_test_id("batch-outcome")
    expect(outcomes).to_have_count(3)
    expect(outcomes.filter(has_text="签收")).to_have_count(1)
    assert not page.js_errors
    leader = login("leader")
    other.complete(claimed["id"], {"approved": "true"})
    for instance in instances:
        leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_printable_sheet_from_the_task_page(pages, login, size):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = start_to_review(clerk)
    task = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.complete(task["id"], {"approved": "true", "comment": "情况属实，同意"})
    page = pages.login("reviewer")
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"/tasks/{task['id']}")
    page.get_by_test_id("sheet-link").click()
    sheet = page.get_by_test_id("sheet")
    expect(sheet.locator("h1")).to_have_text("测试：任务操作 审批单")
    expect(page.get_by_test_id("sheet-steps")).to_contain_text("情况属实，同意")
    expect(page.get_by_test_id("sheet-hash")).to_contain_text("校验：通过")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_test_id("print")).to_be_hidden()
    page.emulate_media(media="screen")
    _no_overflow(page)
    with page.expect_download() as download:
        page.get_by_test_id("pdf").click()
    assert download.value.suggested_filename == f"approval-sheet-{instance['id']}.pdf"
    assert not page.js_errors
    leader = login("leader")
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_before_signers_then_the_holder_decides(pages, login, size):
    clerk = login("clerk")
    instance = start_to_review(clerk)
    task = login("reviewer").task_named("审核岗审核", instance["id"])
    holder = pages.login("reviewer")
    holder.set_viewport_size({"width": size[0], "height": size[1]})
    holder.goto(f"/tasks/{task['id']}")
    panel = holder.get_by_test_id("task-ops")
    panel.get_by_role("button", name="加签", exact=True).click()
    panel.get_by_test_id("sign-to").select_option(["reviewer3", "leader"])
    panel.get_by_role("button", name="确认加签").click()
    expect(panel.get_by_test_id("ops-result")).to_contain_text("已加签")
    expect(holder.get_by_test_id("signer")).to_have_count(2)
    expect(holder.get_by_test_id("task-ops")).to_have_attribute("data-ready", "true")  # the reloaded page's handlers
    _no_overflow(holder)
    holder.get_by_test_id("signer").filter(has_text="王领导").get_by_role("button", name="减签").click()
    expect(holder.get_by_test_id("signer").filter(has_text="王领导")).to_contain_text("已减签")

    signer = pages.login("reviewer3")
    signer.set_viewport_size({"width": size[0], "height": size[1]})
    signer.goto(f"/tasks/{task['id']}")
    ops = signer.get_by_test_id("task-ops")
    ops.get_by_role("button", name="签署加签意见").click()
    ops.get_by_test_id("sign-comment").fill("价格合理，建议同意")
    ops.get_by_role("button", name="提交意见").click()
    expect(ops.get_by_test_id("ops-result")).to_have_text("已签署")
    expect(signer.get_by_test_id("signer").filter(has_text="钱审核")).to_contain_text("价格合理，建议同意")
    assert not holder.js_errors and not signer.js_errors
    reviewer = login("reviewer")
    reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})
    leader = login("leader")
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})
