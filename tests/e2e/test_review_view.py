"""A reviewer sees what is decided (issue 15 point 2): the submitted form, read-only, and what changed since the
last review — generic for every review task, at 1440×900 and 390×844."""
import re

import pytest
from helpers import PROJECT
from playwright.sync_api import expect

from test_workbench import open_task, submit, wait_form


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_review_shows_the_request_and_the_changes(pages, login, size):
    instance = login("clerk").start("project_registration", {**PROJECT, "items": [
        {"item_name": "显微镜", "quantity": 10, "unit_price": 80000}]})
    reviewer = pages.login("reviewer", size=size)
    open_task(reviewer, "审核岗审核")
    request = reviewer.get_by_role("region", name=re.compile("审核事项"))
    request.locator("[data-ready=true]").wait_for()
    expect(request).to_contain_text("张经办")
    expect(request.get_by_label("项目名称")).to_have_value("实验室设备采购")
    expect(request.get_by_label("项目金额（元）")).to_have_value("800,000.00")
    expect(request).to_contain_text("80 万元")
    expect(request.get_by_label("采购内容", exact=True)).to_have_value("显微镜")
    expect(request.get_by_label("项目名称")).not_to_be_editable()
    # Lists are read as submitted: no 新增/删除 row buttons, and a list the clerk left empty is not shown.
    expect(request.get_by_role("button")).to_have_count(0)
    expect(request).not_to_contain_text("Add new")
    pages.shot(reviewer, f"review-task-{size}")
    reviewer.get_by_label("审核不通过").check()
    reviewer.get_by_label("审核意见").fill("金额偏高，请核减")
    submit(reviewer)
    reviewer.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))

    clerk = pages.login("clerk", size=size)
    clerk.goto("/?tab=mine")
    clerk.locator("a.task-link", has_text="修改项目登记").first.click()
    wait_form(clerk)
    clerk.get_by_label("项目金额（元）").fill("75万")
    clerk.get_by_label("重新提交审核").check()
    submit(clerk)
    clerk.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))

    open_task(reviewer, "审核岗审核")
    request = reviewer.get_by_role("region", name=re.compile("审核事项"))
    expect(request).to_contain_text("重新提交")
    changes = reviewer.get_by_test_id("changes")
    row = changes.get_by_role("row", name=re.compile("^项目金额"))
    expect(row).to_contain_text("800,000.00 元")
    expect(row).to_contain_text("750,000.00 元")
    expect(changes).not_to_contain_text("项目名称")  # unchanged fields are not listed
    pages.shot(reviewer, f"review-resubmitted-{size}")
    assert not pages.page_scrolls_sideways(reviewer)
    assert not reviewer.js_errors


def test_a_task_that_is_not_a_review_shows_no_request(pages, login):
    login("clerk").start("project_registration", PROJECT)
    reviewer = login("reviewer")
    task = next(t for t in reviewer.tasks())
    reviewer.complete(task["id"], {"approved": False, "comment": "请补充"})
    clerk = pages.login("clerk")
    clerk.goto("/?tab=mine")
    clerk.locator("a.task-link", has_text="修改项目登记").first.click()
    wait_form(clerk)
    expect(clerk.get_by_role("region", name=re.compile("审核事项"))).to_have_count(0)
