"""One form for a procedure's start and edit steps (issue 19), in the browser: project_revocation's form shows the
start's heading and project field at the start, the edit heading, the leader's comment and the edit choices at
修改撤销申请; the leader's 审核事项 shows a resubmission as the edit step submitted it; a done edit task keeps its
look."""
import re

from helpers import register_project, reject
from playwright.sync_api import expect

from test_workbench import open_task, submit, wait_form


def test_project_revocation_start_and_edit_share_one_form(pages, login):
    clerk = pages.login("clerk")
    clerk.goto("/start/project_revocation")
    wait_form(clerk)
    form = clerk.locator("#form-root")
    expect(form).to_contain_text("采购项目撤销")
    expect(form).not_to_contain_text("修改撤销申请")
    expect(form.get_by_label("采购项目")).to_have_count(1)
    expect(form.get_by_label("放弃撤销")).to_have_count(0)

    api, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    project = register_project(api, reviewer)
    instance = api.start("project_revocation", {"project_id": project["id"], "reason": "不再采购"})
    reject(leader, "需求领导审核", instance["id"], "请说明资金去向")
    edit = api.task_named("修改撤销申请", instance["id"])
    clerk.goto(f"/tasks/{edit['id']}")
    wait_form(clerk)
    expect(form).to_contain_text("修改撤销申请")
    expect(form).to_contain_text("审核意见： 请说明资金去向")
    expect(form).not_to_contain_text("没有在用采购计划的已登记项目可撤销")
    expect(form.get_by_label("采购项目")).to_have_count(0)
    expect(form.get_by_label("放弃撤销")).to_have_count(1)
    clerk.get_by_label("撤销原因").fill("不再采购，资金退回预算")
    submit(clerk)
    clerk.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))
    assert not clerk.js_errors

    page = pages.login("leader")
    open_task(page, "需求领导审核")
    request = page.get_by_role("region", name=re.compile("审核事项"))
    request.locator("[data-ready=true]").wait_for()
    expect(request.get_by_role("heading", name=re.compile("审核事项"))).to_contain_text("修改撤销申请")
    expect(request.get_by_label("撤销原因")).to_have_value("不再采购，资金退回预算")
    expect(request.get_by_label("采购项目")).to_have_count(0)
    expect(request).not_to_contain_text("请说明资金去向")  # the earlier comment belongs to its review
    assert not page.js_errors

    clerk.goto(f"/tasks/{edit['id']}")  # the done edit task, as it was submitted
    wait_form(clerk)
    expect(form).to_contain_text("修改撤销申请")
    expect(form.get_by_label("撤销原因")).to_have_value("不再采购，资金退回预算")
