"""Web UI (issue 3) without a browser: sign-in, CSRF, who may see and do what on every page."""
import json
import re
from datetime import timedelta

import pytest
from helpers import Web, PROJECT, filed_plan, register_project

from app.models import HumanTask, ProcessInstance, User

PAGES = ["/", "/?tab=mine", "/?tab=done", "/?tab=started", "/start", "/start/project_registration", "/budgets",
         "/projects", "/plans", "/tenders", "/contracts"]


@pytest.fixture
def web(app):
    cache = {}

    def _web(username=None):
        if username is None:
            return Web(app)
        if username not in cache:
            cache[username] = Web(app, username)
        return cache[username]
    return _web


def start_project(login, clerk="clerk", **overrides):
    return login(clerk).start("project_registration", {**PROJECT, **overrides})


def open_task(login, username, instance_id):
    return next(t for t in login(username).tasks() if t["instance_id"] == instance_id)


# -- sign-in --------------------------------------------------------------------------------
def test_anonymous_is_sent_to_login_everywhere(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    anonymous = web()
    for path in PAGES + [f"/tasks/{task['id']}", f"/instances/{instance['id']}",
                         f"/projects/{instance['data']['project_id']}", "/plans/1"]:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    assert "next=/tasks/" in anonymous.get(f"/tasks/{task['id']}").headers["Location"]


def test_login_page_is_chinese_and_carries_a_csrf_token(web):
    page = web().get("/login").data.decode()
    assert "用户登录" in page and 'name="csrf_token"' in page and 'lang="zh-CN"' in page


def test_login_sets_session_and_logout_clears_it(web, app):
    client = web()
    response = client.login("clerk")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with client.client.session_transaction() as s:
        assert s["sid"] and s["csrf"] and "uid" not in s  # the cookie names a server-side session
    page = client.get("/").data.decode()
    assert "工作台" in page and "张经办" in page and "福建省教育厅" in page and "采购单位经办岗" in page
    assert client.post_form("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_in_chinese(web):
    response = web().login("clerk", "nope")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.data.decode()


def test_login_follows_next_but_never_off_site(web):
    assert web().login("clerk", next="/plans").headers["Location"] == "/plans"
    assert web().login("clerk", next="//evil.example/x").headers["Location"] == "/"
    assert web().login("clerk", next="https://evil.example/").headers["Location"] == "/"
    assert web().login("clerk", next="/\\evil.example/x").headers["Location"] == "/"


def test_session_dies_with_the_token_generation(web, app):
    client = web("clerk")
    assert client.get("/").status_code == 200
    with app.extensions["db"].Session() as session, session.begin():
        session.query(User).filter_by(username="clerk").one().token_generation += 1
    assert client.get("/").status_code == 302


# -- CSRF -------------------------------------------------------------------------------------
def test_every_post_needs_the_csrf_token(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    reviewer = web("reviewer")
    refused = [
        reviewer.client.post("/logout"),
        reviewer.client.post(f"/tasks/{task['id']}/claim"),
        reviewer.client.post(f"/tasks/{task['id']}/claim", data={"csrf_token": "forged"}),
        reviewer.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "true"}}, csrf=False),
        reviewer.client.post(f"/tasks/{task['id']}/complete", json={"data": {"approved": "true"}},
                             headers={"X-CSRF-Token": "forged"}),
        reviewer.post_json("/start/project_registration", {"data": PROJECT}, csrf=False),
        web().client.post("/login", data={"username": "clerk", "password": "demo"}),
    ]
    for response in refused:
        assert response.status_code == 400
        assert "CSRF" in response.data.decode()
    assert open_task(login, "reviewer", instance["id"])["claimed_by"] is None


def test_api_writes_with_the_session_cookie_need_the_csrf_header(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    reviewer = web("reviewer")
    response = reviewer.client.post(f"/api/tasks/{task['id']}/claim")
    assert response.status_code == 400 and response.json["code"] == "CSRF_FAILED"
    ok = reviewer.client.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": reviewer.token()})
    assert ok.status_code == 200 and ok.json["claimed_by"] == "reviewer"


# -- units and roles ------------------------------------------------------------------------------
def test_other_units_records_tasks_and_instances_are_not_found(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    other = web("reviewer2")
    for path in (f"/tasks/{task['id']}", f"/instances/{instance['id']}",
                 f"/projects/{instance['data']['project_id']}"):
        response = other.get(path)
        assert response.status_code == 404, path
        assert "不存在" in response.data.decode()
    assert other.post_form(f"/tasks/{task['id']}/claim").status_code == 404
    response = other.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
    assert response.status_code == 404
    page = other.get("/").data.decode()
    assert task["id"] not in page and "实验室设备采购" not in page
    assert instance["data"]["project_number"] not in other.get("/projects").data.decode()  # not "XM": CSRF tokens may hold it


def test_auditor_reads_everything_and_writes_nothing(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    auditor = web("auditor")
    page = auditor.get(f"/tasks/{task['id']}").data.decode()
    assert "审计角色只能查看" in page
    assert 'data-testid="submit"' not in page and 'data-testid="claim"' not in page
    assert "实验室设备采购" in auditor.get("/").data.decode()
    assert auditor.get(f"/instances/{instance['id']}").status_code == 200
    assert "审计角色只能查看，不能发起流程" in auditor.get("/start").data.decode()
    assert auditor.get("/start/project_registration").status_code == 403
    for response in (auditor.post_form(f"/tasks/{task['id']}/claim"),
                     auditor.post_form(f"/tasks/{task['id']}/release"),
                     auditor.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "true"}}),
                     auditor.post_json("/start/project_registration", {"data": PROJECT}),
                     auditor.post_form(f"/instances/{instance['id']}/messages/withdraw")):
        assert response.status_code == 403
    assert open_task(login, "reviewer", instance["id"])["status"] == "open"


def test_a_clerk_cannot_act_on_a_reviewer_task(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    clerk = web("clerk")
    page = clerk.get(f"/tasks/{task['id']}").data.decode()
    assert "您可以查看但不能办理" in page and 'data-testid="submit"' not in page
    response = clerk.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "true"}})
    assert response.status_code == 403 and "没有处理该任务的权限" in response.json["message"]


def test_start_page_lists_only_what_the_roles_may_start_grouped(web):
    page = web("clerk").get("/start").data.decode()
    assert "项目类业务" in page and "计划类业务" in page
    assert 'data-process="project_registration"' in page and 'data-process="review"' not in page
    assert page.index("项目类业务") < page.index("计划类业务")
    assert "您的岗位没有可发起的流程" in web("reviewer").get("/start").data.decode()
    assert web("reviewer").get("/start/project_registration").status_code == 403
    assert web("clerk").get("/start/review").status_code == 404


# -- doing the work through the web endpoints -------------------------------------------------------------
def test_start_and_complete_through_the_web(web, login):
    clerk = web("clerk")
    response = clerk.post_json("/start/project_registration", {"data": PROJECT})
    assert response.status_code == 200, response.json
    instance_id = int(re.search(r"/instances/(\d+)", response.json["redirect"]).group(1))
    assert "审核岗审核" in response.json["message"]
    assert "流程已发起" in clerk.get(f"/instances/{instance_id}").data.decode()  # flashed

    reviewer = web("reviewer")
    task = open_task(login, "reviewer", instance_id)
    refused = reviewer.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "false", "comment": ""}})
    assert refused.status_code == 400
    assert refused.json["errors"] == {"comment": ["审核不通过时必须填写审核意见"]}
    done = reviewer.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "true", "comment": "同意"}})
    assert done.status_code == 200 and "流程已办结" in done.json["message"]
    page = reviewer.get(f"/instances/{instance_id}").data.decode()
    assert "已办结" in page and "同意" in page and "审核通过" in page
    assert "已登记" in clerk.get("/projects").data.decode()
    done_tab = reviewer.get("/?tab=done").data.decode()
    row = done_tab[done_tab.index(f'data-instance-id="{instance_id}"'):]
    row = row[:row.index("</tr>")]
    # 已办 shows what the reviewer decided, with the comment.
    assert "审核岗审核" in row and 'data-testid="decision"' in row and "审核通过" in row and "同意" in row


def test_start_form_errors_come_back_per_field(web):
    response = web("clerk").post_json("/start/project_registration", {"data": {**PROJECT, "amount": "12.345",
                                                                               "name": ""}})
    assert response.status_code == 400
    assert response.json["errors"]["amount"] == ["最多保留 2 位小数"]
    assert response.json["errors"]["name"] == ["此项为必填项"]
    response = web("clerk").post_json("/start/project_registration", {"data": "nope"})
    assert response.status_code == 400


def test_claim_and_release(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    reviewer = web("reviewer")
    assert reviewer.post_form(f"/tasks/{task['id']}/claim").status_code == 302
    page = reviewer.get(f"/tasks/{task['id']}").data.decode()
    assert "已签收" in page and 'data-testid="release"' in page
    assert task["id"] in reviewer.get("/?tab=mine").data.decode()
    todo = reviewer.get("/?tab=todo").data.decode()  # what waits for me stays in 待处理, marked as claimed
    assert task["id"] in todo and "已签收：李审核" in todo
    assert task["id"] not in web("reviewer2").get("/?tab=todo").data.decode()
    assert reviewer.post_form(f"/tasks/{task['id']}/release").status_code == 302
    assert task["id"] in reviewer.get("/?tab=todo").data.decode()


def test_workbench_counts_filters_overdue_and_pages(web, login, app, clock):
    ids = [start_project(login, amount=1000 + i, name=f"设备{i:02d}")["id"] for i in range(23)]
    reviewer = web("reviewer")
    page = reviewer.get("/").data.decode()
    assert 'data-testid="count-todo">23<' in page and "共 23 条，第 1/2 页" in page
    assert "共 23 条，第 2/2 页" in reviewer.get("/?page=2").data.decode()
    assert len(re.findall(r'data-task-id="', reviewer.get("/?q=设备07").data.decode())) == 1
    assert len(re.findall(r'data-task-id="', reviewer.get("/?number=XM2026000003").data.decode())) == 1
    assert "没有符合条件的任务" in reviewer.get("/?process=plan_application").data.decode()
    assert "没有符合条件的任务" in reviewer.get("/?date_from=2026-11-21").data.decode()
    assert len(re.findall(r'data-task-id="', reviewer.get("/?date_from=2026-11-20&date_to=2026-11-20")
                          .data.decode())) == 20
    # Overdue tasks stand out and come first.
    with app.extensions["db"].Session() as session, session.begin():
        row = session.query(HumanTask).filter_by(instance_id=ids[5], status="open").one()
        row.due_at = clock.now - timedelta(days=1)
    page = reviewer.get("/").data.decode()
    assert 'data-testid="count-overdue">1<' in page
    first = re.search(r'<tr class="([^"]*)" data-task-id="[^"]+" data-instance-id="(\d+)"', page)
    assert first.group(1) == "row-overdue" and int(first.group(2)) == ids[5]
    assert "已逾期" in reviewer.get(f"/tasks/{row.id}").data.decode()
    started = web("clerk").get("/?tab=started").data.decode()
    assert 'data-testid="count-todo">0<' in started and "共 23 条" in started


def test_returned_task_is_waiting_in_todo_with_a_notice(web, login):
    instance = start_project(login)
    reviewer = web("reviewer")
    task = open_task(login, "reviewer", instance["id"])
    reviewer.post_json(f"/tasks/{task['id']}/complete", {"data": {"approved": "false", "comment": "补充清单"}})
    page = web("clerk").get("/").data.decode()
    # 待处理, the tab shown after signing in, lists it too, marked and announced (issue 15 point 6).
    assert 'class="tab active" data-tab="todo"' in page and "修改项目登记" in page and "指派给我" in page
    assert 'data-testid="count-todo">1<' in page and 'data-testid="assigned-notice"' in page
    edit = open_task(login, "clerk", instance["id"])
    detail = web("clerk").get(f"/tasks/{edit['id']}").data.decode()
    assert "补充清单" in detail and 'data-testid="claim"' not in detail and 'data-testid="submit"' in detail


def test_instance_page_marks_the_diagram(web, login):
    instance = start_project(login)
    page = web("clerk").get(f"/instances/{instance['id']}").data.decode()
    marks = _marks(page)
    assert marks["active"] == ["reg_review"]
    assert {"reg_start", "reg_save", "reg_submit"} <= set(marks["completed"])
    assert "Flow_reg_submit_reg_review" in marks["flows"] and "Flow_reg_review_reg_decision" not in marks["flows"]
    assert "审核岗审核" in page and "采购单位审核岗" in page and "XM2026000001" in page


def test_records_pages_show_status_and_instances(web, login):
    project = register_project(login("clerk"), login("reviewer"))
    clerk = web("clerk")
    page = clerk.get("/projects").data.decode()
    assert project["number"] in page and "已登记" in page and "采购项目立项/登记 #" in page
    detail = clerk.get(f"/projects/{project['id']}").data.decode()
    assert "800,000.00 元" in detail and "教学设备购置" in detail
    budgets = clerk.get("/budgets").data.decode()
    assert "4,200,000.00 元" in budgets and "2026-350101" not in budgets
    assert "2026-350101-001" in web("clerk2").get("/budgets").data.decode()
    assert web("clerk2").get(f"/projects/{project['id']}").status_code == 404


def test_withdraw_button_for_the_initiator(web, login):
    project = register_project(login("clerk"), login("reviewer"))
    instance = login("clerk").start("plan_application", {"year": 2026, "method": "open_tender", "amount": 500000,
                                                         "sme_reserved_amount": 500000, "action": "submit",
                                                         "project_id": project["id"]})
    clerk = web("clerk")
    assert 'data-testid="message-withdraw"' in clerk.get(f"/instances/{instance['id']}").data.decode()
    assert 'data-testid="message-withdraw"' not in web("reviewer").get(f"/instances/{instance['id']}").data.decode()
    assert clerk.post_form(f"/instances/{instance['id']}/messages/withdraw").status_code == 302
    assert "已撤回" in clerk.get(f"/instances/{instance['id']}").data.decode()
    with clerk.client.application.extensions["db"].Session() as session:
        assert session.get(ProcessInstance, instance["id"]).status == "running"


def test_plan_task_page_and_started_tab_show_the_plan(web, login):
    project = register_project(login("clerk"), login("reviewer"))
    instance = login("clerk").start("plan_application", {"year": 2026, "method": "open_tender", "amount": 500000,
                                                         "sme_reserved_amount": 500000, "action": "submit",
                                                         "project_id": project["id"], "name": "显微镜采购计划"})
    task = open_task(login, "reviewer", instance["id"])
    page = web("reviewer").get(f"/tasks/{task['id']}").data.decode()
    assert "采购计划" in page and "显微镜采购计划" in page and "500,000.00 元" in page and "公开招标" in page
    assert project["number"] in page  # 所属项目
    started = web("clerk").get("/?tab=started").data.decode()
    row = started[started.index(f'data-instance-id="{instance["id"]}"'):]
    assert row.index("JH") < row.index("500,000.00 元") < row.index("</tr>")


def _marks(page):
    data = re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(data)["marks"]


def test_diagram_marks_a_finished_path_and_a_listening_withdraw(web, login):
    instance = start_project(login)
    task = open_task(login, "reviewer", instance["id"])
    login("reviewer").complete(task["id"], {"approved": "true", "comment": "同意"})
    marks = _marks(web("clerk").get(f"/instances/{instance['id']}").data.decode())
    assert marks["active"] == [] and marks["waiting"] == []
    assert {"reg_review", "reg_register", "reg_done"} <= set(marks["completed"])
    assert "Flow_reg_register_reg_done" in marks["flows"] and "Flow_reg_decision_reg_return" not in marks["flows"]

    plan = login("clerk").start("plan_application", {"year": 2026, "method": "open_tender", "amount": 500000,
                                                     "sme_reserved_amount": 500000, "action": "submit",
                                                     "project_id": instance["data"]["project_id"]})
    marks = _marks(web("clerk").get(f"/instances/{plan['id']}").data.decode())
    assert marks["active"] == ["plan_review"] and marks["waiting"] == ["plan_withdraw"]


def test_contract_page_shows_its_payments_plan_and_project(web, login, app, tmp_path):
    from contract_records import filed_contract
    from test_payments import pay
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")
    filed = filed_contract(login)
    payment = pay(login, filed["id"], 45000)
    clerk = web("clerk2")
    listing = clerk.get("/contracts?status=filed").data.decode()
    assert filed["number"] in listing and "45,000.00 元" in listing
    assert filed["number"] not in clerk.get("/contracts?status=draft").data.decode()
    page = clerk.get(f"/contracts/{filed['id']}").data.decode()
    for text in ("合同编号", "已备案", "150,000.00 元", "支付", payment["number"], "已支付", "所属计划与项目"):
        assert text in page, text
    plan_page = clerk.get(f"/plans/{filed['plan_id']}").data.decode()
    assert f"/contracts/{filed['id']}" in plan_page  # the plan links to its contract
    # Another unit's contract is not found; the list does not show it.
    other = web("clerk")
    assert other.get(f"/contracts/{filed['id']}").status_code == 404
    assert filed["number"] not in other.get("/contracts").data.decode()


def test_tender_page_links_plan_and_shows_the_intent_reason(web, login):
    from helpers import GAP, filed_plan
    clerk, reviewer, finance, agency = (login(u) for u in ("clerk", "reviewer", "finance", "agency"))
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    tx = agency.start("tender_execution", {"plan_id": plan_instance["data"]["plan_id"], "title": "实验室设备采购项目",
                                           **GAP})
    tender_id = tx["data"]["tender_id"]
    page = web("clerk").get(f"/tenders/{tender_id}").data.decode()
    assert "公告已发布" in page and GAP["intent_gap_reason"] in page and "/plans/" in page
    assert tx["data"]["tender_number"] in web("clerk").get("/tenders").data.decode()
    assert web("clerk2").get(f"/tenders/{tender_id}").status_code == 404


def test_instance_page_follows_the_call_activities_down(web, login):
    """tender_execution → 取消采购 → 流标重招终止 → 计划终止 → review: each level's latest run is drawn."""
    from helpers import GAP, filed_plan
    clerk, reviewer, finance, agency = (login(u) for u in ("clerk", "reviewer", "finance", "agency"))
    _, plan_instance = filed_plan(clerk, reviewer, finance)
    tid = agency.start("tender_execution", {"plan_id": plan_instance["data"]["plan_id"], **GAP})["id"]
    agency.complete(agency.task_named("开标或取消采购任务", tid)["id"], {"opening": "cancel", "reason": "资金收回"})
    clerk.complete(clerk.task_named("采购人确认取消采购任务", tid)["id"], {"approved": "true"})
    agency.complete(agency.task_named("流标重招终止申请", tid)["id"], {"reason": "本年度不再采购"})
    clerk.complete(clerk.task_named("录入终止采购计划", tid)["id"], {"explanation": "资金收回"})

    page = web("clerk").get(f"/instances/{tid}").data.decode()
    subs = re.findall(r'data-testid="subdiagram" data-element="([^"]+)" (open)?', page)
    trails = re.findall(r"调用的子流程：([^<]+?)\s*<span", page)
    assert [opened for _, opened in subs] == ["open"] * 4  # every level still running, drawn open
    assert trails == ["取消采购", "取消采购 › 流标重招终止与资金回收", "取消采购 › 流标重招终止与资金回收 › 采购计划终止",
                      "取消采购 › 流标重招终止与资金回收 › 采购计划终止 › 审核岗审核"]
    assert "review_task" in page  # the review's diagram and marks are on the page


def test_settings_page_is_the_administrators(web):
    page = web("admin").get("/admin").data.decode()
    for text in ("用户与岗位", "reviewer2", "采购单位审核岗", "福州市教育局", "限额标准", "工作日历", "监督预警规则", "专家库",
                 "合同未按时备案", 'data-expert="1"'):
        assert text in page, text
    assert 'data-nav="admin"' in page and 'data-nav="audit"' in page
    clerk_page = web("clerk").get("/").data.decode()
    assert 'data-nav="admin"' not in clerk_page and 'data-nav="audit"' not in clerk_page
    assert 'data-nav="audit"' in web("auditor").get("/").data.decode()
    for user in ("clerk", "auditor"):
        response = web(user).get("/admin")
        assert response.status_code == 403 and "只有系统管理员可以进入系统设置" in response.data.decode()


def test_changing_the_password_signs_out_everywhere(web, app):
    clerk = web("clerk")
    token = clerk.csrf()
    assert "修改密码" in clerk.get("/").data.decode()
    mismatch = clerk.client.post("/password", data={"csrf_token": token, "old_password": "demo",
                                                    "new_password": "Zhang2026x", "confirm": "Zhang2026y"})
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in mismatch.data.decode()
    weak = clerk.client.post("/password", data={"csrf_token": token, "old_password": "demo",
                                                "new_password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "密码至少 8 位" in weak.data.decode()
    other = Web(app, "clerk")  # a second session of the same user, elsewhere
    done = clerk.client.post("/password", data={"csrf_token": token, "old_password": "demo",
                                                "new_password": "Zhang2026x", "confirm": "Zhang2026x"})
    assert done.status_code == 302 and done.headers["Location"].startswith("/login")
    assert other.get("/").status_code == 302  # the other session ended too
    fresh = web()
    assert fresh.login("clerk", "Zhang2026x").status_code == 302


def test_diagram_marks_only_the_branch_taken(web, login):
    """提交 pressed: the 暂存 branch is not marked although plan_edit ran as a step of 提交 (issue 15 point 7)."""
    from helpers import PLAN, register_project
    project = register_project(login("clerk"), login("reviewer"))
    instance = login("clerk").start("plan_application", {**PLAN, "project_id": project["id"],
                                                         "items": [{"item_name": "显微镜", "quantity": 1,
                                                                    "unit_price": 500000}]})
    marks = _marks(web("clerk").get(f"/instances/{instance['id']}").data.decode())
    assert "Flow_plan_action_plan_submit" in marks["flows"], marks
    assert "Flow_plan_action_plan_edit" not in marks["flows"], marks
    # The policy check ran and refused (its error boundary fired): done, and the way back to the clerk is marked.
    assert "plan_submit" in marks["completed"] and "Flow_plan_rule_refused_plan_edit" in marks["flows"], marks


def test_project_page_keeps_its_amount_after_a_fund_recovery(web, login):
    """资金回收 gives money back to the budget: the page shows the project amount, the recovered part and what
    the project still occupies apart — never the project at 0.00 元."""
    clerk, leader = login("clerk"), login("leader")
    project, _ = filed_plan(clerk, login("reviewer"), login("finance"), amount=800000, plan_amount=500000)
    adjustment = clerk.start("project_fund_adjustment", {"project_id": project["id"], "kind": "recover"})
    entry = clerk.task_named("录入资金调整", adjustment["id"])
    clerk.complete(entry["id"], {"kind": "recover", "amount": 300000, "action": "submit"})
    task = leader.task_named("需求领导审核", adjustment["id"])
    assert leader.complete(task["id"], {"approved": "true", "comment": "同意"})["status"] == "completed"

    rows = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>",
                           web("clerk").get(f"/projects/{project['id']}").data.decode()))
    assert rows["项目金额"].startswith("800,000.00 元")
    assert rows["资金回收"] == "300,000.00 元"
    assert rows["仍占用预算指标"] == "500,000.00 元"
    assert rows["计划占用"] == "500,000.00 元" and rows["可用金额"] == "0.00 元"
    listing = web("clerk").get("/projects").data.decode()
    assert "800,000.00 元" in listing


def test_task_names_in_the_list_say_what_is_decided(web, login):
    """The 工作台 rows name the record a task is about, as the task page title does (any procedure)."""
    instance = start_project(login)
    number = login("clerk").ok(login("clerk").get(f"/api/projects/{instance['data']['project_id']}"))["number"]
    page = web("reviewer").get("/").data.decode()
    link = re.search(r'<a class="task-link"[^>]*>(.*?)</a>', page).group(1)
    assert re.sub(r"<[^>]+>", "", link) == f"审核岗审核：采购项目 {number}"
    task = re.search(r'data-task-id="([^"]+)"', page).group(1)
    assert f"审核岗审核<span class=\"h1-sub\">：采购项目 {number}" in web("reviewer").get(f"/tasks/{task}").data.decode()
