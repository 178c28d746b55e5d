"""Irreversible actions ask first and take their reason (issue 15 point 4); refusals are seen (point 5); tasks
assigned to a person wait in 待处理 with a count and a badge (point 6). At 1440×900 and 390×844."""
import re

import pytest
from helpers import GAP, PROJECT, filed_plan
from playwright.sync_api import expect

from test_workbench import choose, field_error, submit, wait_form


def returned_project(login):
    instance = login("clerk").start("project_registration", PROJECT)
    reviewer = login("reviewer")
    task = next(t for t in reviewer.tasks() if t["instance_id"] == instance["id"])
    reviewer.complete(task["id"], {"approved": False, "comment": "请补充"})
    return instance


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_deleting_asks_for_confirmation(pages, login, size):
    instance = returned_project(login)
    clerk = pages.login("clerk", size=size)
    # Point 6: the return, assigned to the clerk, waits in 待处理 (the tab after signing in), counted and marked.
    expect(clerk.get_by_role("tab", selected=True)).to_contain_text("待处理")
    expect(clerk.get_by_test_id("count-todo")).to_have_text("1")
    row = clerk.get_by_test_id("task-table").get_by_role("row", name=re.compile("修改项目登记"))
    expect(row).to_contain_text("指派给我")
    row.get_by_role("link", name="修改项目登记").click()
    wait_form(clerk)
    clerk.get_by_label("删除项目").check()
    submit(clerk)
    dialog = clerk.get_by_role("dialog", name="确认删除项目")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("提交后不可撤销")
    if size == "phone":
        pages.shot(clerk, "confirm-delete-phone")
    dialog.get_by_role("button", name="返回").click()
    expect(dialog).to_be_hidden()
    expect(clerk).to_have_url(re.compile(r"/tasks/"))  # nothing was sent
    api = login("clerk")
    assert api.ok(api.get(f"/api/instances/{instance['id']}"))["status"] == "running"
    submit(clerk)
    clerk.get_by_role("dialog").get_by_role("button", name="确认删除项目").click()
    clerk.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))
    expect(clerk.get_by_test_id("history")).to_contain_text("删除")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_cancelling_a_procurement_needs_its_reason(pages, login, size):
    clerk, reviewer, finance, agency = (login(u) for u in ("clerk", "reviewer", "finance", "agency"))
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    tid = agency.start("tender_execution", {"plan_id": plan_instance["data"]["plan_id"], **GAP})["id"]
    task = agency.task_named("开标或取消采购任务", tid)
    # The server refuses it without a reason, whoever calls.
    refused = agency.post(f"/api/tasks/{task['id']}/complete", {"data": {"opening": "cancel"}})
    assert refused.status_code == 400 and "取消原因" in refused.get_json()["errors"]["reason"][0]

    page = pages.login("agency", size=size)
    page.goto(f"/tasks/{task['id']}")
    wait_form(page)
    page.get_by_label("发起取消采购任务").check()
    submit(page)
    dialog = page.get_by_role("dialog", name="确认发起取消采购任务")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="确认发起取消采购任务").click()
    expect(dialog.get_by_role("alert")).to_have_text("请填写取消原因")
    dialog.get_by_label("取消原因").fill("采购需求发生重大变化")
    dialog.get_by_role("button", name="确认发起取消采购任务").click()
    page.wait_for_url(re.compile(rf"/instances/{tid}$"))
    expect(page.get_by_test_id("history")).to_contain_text("采购需求发生重大变化")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_server_refusal_is_seen_below_the_header(pages, login, size):
    login("clerk").start("project_registration", PROJECT)  # the unit's projects now reach the 分散采购限额
    clerk = pages.login("clerk", size=size)
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    clerk.get_by_label("项目名称").fill("打印机")
    choose(clerk, "品目类别", "货物")
    clerk.get_by_label("项目金额（元）").fill("100000")
    choose(clerk, "预算指标", "2026-350001-001")
    choose(clerk, "实施形式", "委托代理机构采购")
    clerk.get_by_label("采购内容", exact=True).fill("打印机")
    submit(clerk)
    alert = clerk.get_by_test_id("form-error")
    expect(alert).to_contain_text("累计达到限额标准相关说明")  # refused by the server, 说明 left empty
    expect(alert).to_be_in_viewport()
    header = clerk.get_by_role("banner").bounding_box()
    assert alert.bounding_box()["y"] >= header["y"] + header["height"] - 1  # not under the sticky header
    if size == "phone":
        pages.shot(clerk, "refusal-phone")
    alert.get_by_role("link", name=re.compile("说明")).click()
    expect(field_error(clerk, "说明")).to_be_in_viewport()
    expect(clerk.get_by_label("说明（达到分散采购限额")).to_be_focused()
