"""The task-list UI in a real browser: sign in, start, approve, reject and resubmit, inline errors, diagram."""
import re

from helpers import PROJECT, register_project

from playwright.sync_api import expect


def choose(page, label, option):
    """Pick an option of a form-js select (a custom dropdown, not a <select>)."""
    field = page.locator(".fjs-form-field", has=page.locator("label", has_text=label)).first
    field.locator(".fjs-input-group").first.click()
    field.locator(".fjs-dropdownlist-item", has_text=option).first.click()


def field_error(page, label):
    field = page.locator(".fjs-form-field", has=page.locator("label", has_text=label)).first
    return field.locator(".fjs-form-field-error")


def wait_form(page):
    page.wait_for_selector("#form-root[data-ready=true]")


def submit(page):
    page.get_by_test_id("submit").click()


def fill_project(page, name="实验室设备采购", amount="800000", budget="2026-350001-001"):
    page.get_by_label("项目名称").fill(name)
    choose(page, "品目类别", "货物")
    page.get_by_label("项目金额（元）").fill(amount)
    choose(page, "预算指标", budget)  # a picker by the number people see (issue 15 point 8)
    choose(page, "实施形式", "委托代理机构采购")


def open_task(page, name):
    page.goto("/?tab=todo")
    page.locator("a.task-link", has_text=name).first.click()
    wait_form(page)


def test_login_and_logout(pages):
    page = pages.new()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    expect(page.get_by_test_id("userbox")).to_contain_text("张经办")
    expect(page.get_by_test_id("userbox")).to_contain_text("福建省教育厅")
    expect(page.locator("h1")).to_have_text("工作台")
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("flash")).to_contain_text("您已安全退出")
    assert not page.js_errors


def test_clerk_starts_registration_and_reviewer_approves(pages):
    clerk = pages.login("clerk")
    clerk.get_by_role("link", name="发起流程").first.click()
    clerk.locator("[data-process=project_registration]").click()
    wait_form(clerk)
    fill_project(clerk)
    clerk.get_by_label("采购内容", exact=True).fill("显微镜")
    clerk.get_by_label("数量").fill("10")
    submit(clerk)
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    expect(clerk.get_by_test_id("flash")).to_contain_text("审核岗审核")
    expect(clerk.get_by_test_id("current-tasks")).to_contain_text("采购单位审核岗")
    expect(clerk.get_by_test_id("instance-status")).to_have_text("办理中")

    reviewer = pages.login("reviewer")
    expect(reviewer.get_by_test_id("count-todo")).to_have_text("1")
    row = reviewer.locator("[data-testid=task-table] tbody tr").first
    expect(row).to_contain_text("实验室设备采购")
    expect(row).to_contain_text("800,000.00 元")
    row.locator("a.task-link").click()
    wait_form(reviewer)
    expect(reviewer.get_by_test_id("record-card")).to_contain_text("800,000.00 元")
    expect(reviewer.get_by_test_id("record-card")).to_contain_text("显微镜")
    expect(reviewer.get_by_test_id("history")).to_contain_text("发起流程")
    reviewer.get_by_label("审核通过").check()
    reviewer.get_by_label("审核意见").fill("同意登记")
    submit(reviewer)
    reviewer.wait_for_url(re.compile(r"/instances/\d+$"))
    expect(reviewer.get_by_test_id("flash")).to_contain_text("流程已办结")
    expect(reviewer.get_by_test_id("instance-status")).to_have_text("已办结")
    expect(reviewer.get_by_test_id("history")).to_contain_text("同意登记")
    expect(reviewer.get_by_test_id("records")).to_contain_text("已登记")

    clerk.goto("/projects")
    expect(clerk.get_by_test_id("record-table")).to_contain_text("已登记")
    clerk.goto("/?tab=started")
    expect(clerk.get_by_test_id("instance-table")).to_contain_text("已办结")
    assert not clerk.js_errors and not reviewer.js_errors


def test_reject_with_comment_then_resubmit(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    reviewer = pages.login("reviewer")
    open_task(reviewer, "审核岗审核")
    reviewer.get_by_label("审核不通过").check()
    reviewer.get_by_label("审核意见").fill("请补充采购内容清单")
    submit(reviewer)
    reviewer.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))
    expect(reviewer.get_by_test_id("current-tasks")).to_contain_text("修改项目登记")

    clerk = pages.login("clerk")
    expect(clerk.get_by_role("tab", selected=True)).to_contain_text("待处理")  # the return waits in 待处理
    expect(clerk.get_by_test_id("assigned-notice")).to_contain_text("1 项任务指定由您办理")
    clerk.locator("a.task-link", has_text="修改项目登记").click()
    wait_form(clerk)
    expect(clerk.locator("#form-root")).to_contain_text("请补充采购内容清单")
    expect(clerk.get_by_test_id("history-comment")).to_contain_text("请补充采购内容清单")
    expect(clerk.get_by_label("项目名称")).to_have_value("实验室设备采购")
    clerk.get_by_label("采购内容", exact=True).fill("显微镜")
    clerk.get_by_label("项目金额（元）").fill("750000")
    clerk.get_by_label("重新提交审核").check()
    submit(clerk)
    clerk.wait_for_url(re.compile(rf"/instances/{instance['id']}$"))
    expect(clerk.get_by_test_id("current-tasks")).to_contain_text("审核岗审核")

    open_task(reviewer, "审核岗审核")
    expect(reviewer.get_by_test_id("record-card")).to_contain_text("750,000.00 元")
    expect(reviewer.get_by_test_id("history")).to_contain_text("请补充采购内容清单")


def test_validation_errors_show_next_to_fields_and_keep_input(pages, login):
    clerk = pages.login("clerk")
    clerk.goto("/start/project_registration")
    wait_form(clerk)
    # Client side, in Chinese.
    clerk.get_by_label("项目名称").fill("打印机")
    clerk.get_by_label("项目金额（元）").fill("100.123")
    submit(clerk)
    expect(field_error(clerk, "项目金额")).to_have_text("最多保留 2 位小数")
    expect(field_error(clerk, "品目类别")).to_have_text("此项为必填项")
    expect(clerk.get_by_test_id("form-error")).to_contain_text("请检查标红的字段")
    # Server side: the unit's projects of the year reach the 分散采购限额, so 说明 is required; the refusal is shown
    # next to the field and what was typed stays.
    login("clerk").start("project_registration", PROJECT)
    fill_project(clerk, name="打印机", amount="100000")
    submit(clerk)
    expect(field_error(clerk, "说明")).to_contain_text("累计达到限额标准相关说明")
    expect(clerk).to_have_url(re.compile(r"/start/project_registration$"))
    expect(clerk.get_by_label("项目名称")).to_have_value("打印机")
    expect(clerk.get_by_label("项目金额（元）")).to_have_value("100,000.00")

    # A server-only rule on a task form: rejecting needs a comment.
    reviewer = pages.login("reviewer")
    open_task(reviewer, "审核岗审核")
    reviewer.get_by_label("审核不通过").check()
    submit(reviewer)
    expect(field_error(reviewer, "审核意见")).to_have_text("审核不通过时必须填写审核意见")
    expect(reviewer.get_by_label("审核不通过")).to_be_checked()
    reviewer.get_by_label("审核意见").fill("金额偏高")
    submit(reviewer)
    reviewer.wait_for_url(re.compile(r"/instances/\d+$"))
    expect(reviewer.get_by_test_id("history")).to_contain_text("金额偏高")


def test_diagram_highlights_the_active_task(pages, login):
    instance = login("clerk").start("project_registration", PROJECT)
    page = pages.login("clerk")
    page.goto(f"/instances/{instance['id']}")
    page.wait_for_selector("#diagram[data-ready=true]")
    main = page.locator("#diagram")
    expect(main.locator('.djs-element.highlight[data-element-id="reg_review"]')).to_have_count(1)
    expect(main.locator(".djs-element.highlight")).to_have_count(1)
    expect(main.locator('.djs-element.completed[data-element-id="reg_submit"]')).to_have_count(1)
    expect(main.locator('.djs-connection.taken[data-element-id="Flow_reg_submit_reg_review"]')).to_have_count(1)
    expect(main.locator('.djs-connection.taken[data-element-id="Flow_reg_review_reg_decision"]')).to_have_count(0)
    # Into the call activity: the shared review process, drawn open while it runs, its task marked.
    sub = page.locator('[data-testid="subdiagram"][data-element="reg_review"]')
    expect(sub).to_contain_text("办理中")
    expect(sub.locator(".diagram[data-ready=true]")).to_have_count(1)
    expect(sub.locator('.djs-element.highlight[data-element-id="review_task"]')).to_have_count(1)
    assert not page.js_errors


def test_a_clerk_of_unit_a_never_sees_unit_b_tasks(pages, login):
    a = login("clerk").start("project_registration", {**PROJECT, "name": "省厅设备"})
    b = login("clerk2").start("project_registration", {**PROJECT, "name": "市局课桌椅", "budget_line_id": 4,
                                                       "amount": 300000})
    b_task = next(t for t in login("reviewer2").tasks() if t["instance_id"] == b["id"])
    reviewer2 = pages.login("reviewer2")
    table = reviewer2.get_by_test_id("task-table")
    expect(table).to_contain_text("市局课桌椅")
    expect(table).not_to_contain_text("省厅设备")
    clerk = pages.login("clerk")
    for tab in ("todo", "mine", "done", "started"):
        clerk.goto(f"/?tab={tab}")
        expect(clerk.locator("main")).not_to_contain_text("市局课桌椅")
    clerk.goto(f"/tasks/{b_task['id']}")
    expect(clerk.get_by_test_id("error-page")).to_contain_text("不存在")
    clerk.goto(f"/instances/{b['id']}")
    expect(clerk.get_by_test_id("error-page")).to_contain_text("不存在")
    clerk.goto("/projects")
    expect(clerk.get_by_test_id("record-table")).to_contain_text("省厅设备")
    expect(clerk.get_by_test_id("record-table")).not_to_contain_text("市局课桌椅")
    assert a["id"] != b["id"]


def test_date_picker_speaks_chinese(pages):
    clerk = pages.login("clerk")
    clerk.goto("/start/sme_reservation_report")
    wait_form(clerk)
    clerk.get_by_label("统计期间起始日期").click()
    calendar = clerk.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    expect(calendar.locator(".flatpickr-weekday").first).to_have_text("一")  # weeks start on Monday
    expect(calendar.locator(".flatpickr-monthDropdown-month[selected], .flatpickr-monthDropdown-months")
           .first).to_contain_text("月")
    assert "January" not in calendar.inner_text()


def test_files_picked_in_the_form_are_uploaded_and_submitted_as_attachment_ids(pages, login):
    project = register_project(login("clerk"), login("reviewer"))
    clerk = pages.login("clerk")
    clerk.goto("/start/project_closing")
    wait_form(clerk)
    choose(clerk, "采购项目", project["number"])
    clerk.get_by_label("结项原因").fill("合同已履约")
    field = clerk.locator(".fjs-form-field", has=clerk.locator("label", has_text="项目结项附件")).first
    field.locator("input[type=file]").set_input_files(
        files=[{"name": "结项说明.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"}])
    submit(clerk)
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    instance_id = int(clerk.url.rsplit("/", 1)[1])

    api = login("clerk")
    stored = api.ok(api.get("/api/attachments?record_type=project"))
    assert [(a["name"], a["record_id"]) for a in stored] == [("结项说明.pdf", project["id"])]
    data = api.ok(api.get(f"/api/instances/{instance_id}"))["data"]
    # The file reached the handler as an attachment id: the refusal is now the contract rule, not a missing file.
    assert data["closing_attachment_ids"] == [stored[0]["id"]]
    assert "没有已备案的合同" in data["error_message"]


def test_plan_form_offers_the_units_reviewers(pages):
    clerk = pages.login("clerk")
    clerk.goto("/start/plan_application")
    wait_form(clerk)
    field = clerk.locator(".fjs-form-field", has=clerk.locator("label", has_text="下一步审核人")).first
    field.locator(".fjs-input-group").first.click()
    expect(field.locator(".fjs-dropdownlist-item")).to_have_text(["李审核（reviewer）"])
    assert not clerk.js_errors


def test_plan_start_and_edit_share_one_form(pages, login):
    """plan_application's one form (issue 19): the start shows 采购计划申报 and 提交审核 / 暂存; the edit step the
    heading 编辑采购计划, the reviewer's comment and also 删除计划."""
    clerk = pages.login("clerk")
    clerk.goto("/start/plan_application")
    wait_form(clerk)
    form = clerk.locator(".fjs-form")
    expect(form).to_contain_text("采购计划申报")
    expect(form).not_to_contain_text("编辑采购计划")
    expect(form.get_by_label("删除计划")).to_have_count(0)
    expect(form.get_by_label("暂存")).to_have_count(1)

    api, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    project = register_project(api, reviewer, amount=2000000)
    instance = api.start("plan_application", {"year": 2026, "method": "open_tender", "amount": 500000,
                                              "sme_reserved_amount": 500000, "action": "submit",
                                              "project_id": project["id"]})
    task = reviewer.task_named("采购单位审核岗审核", instance["id"])
    reviewer.complete(task["id"], {"approved": "false", "comment": "请补充采购需求"})
    edit = api.task_named("编辑采购计划", instance["id"])
    clerk.goto(f"/tasks/{edit['id']}")
    wait_form(clerk)
    expect(form).to_contain_text("编辑采购计划")
    expect(form).to_contain_text("请补充采购需求")
    expect(form).not_to_contain_text("可先暂存，提交后进入审核")
    expect(form.get_by_label("删除计划")).to_have_count(1)
    assert not clerk.js_errors
