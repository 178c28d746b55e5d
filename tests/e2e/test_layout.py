"""The main pages at 1440×900 and 390×844 (issue 15 points 3, 13): no sideways page scroll on a phone, the menu
folds away, tables scroll inside their own box; screenshots of every page go to test-results/ for reviewers."""
import re

import pytest
from helpers import PROJECT, register_project
from playwright.sync_api import expect


@pytest.fixture
def records(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = clerk.start("project_registration", {**PROJECT, "name": "办公家具采购", "amount": 450000})
    task = next(t for t in reviewer.tasks() if t["instance_id"] == instance["id"])
    return {"project": project, "instance": instance, "task": task}


def pages_of(records):
    return [("workbench", "/", "工作台"), ("workbench-mine", "/?tab=mine", "工作台"),
            ("workbench-started", "/?tab=started", "工作台"),
            ("task", f"/tasks/{records['task']['id']}", records["task"]["name"]),
            ("instance", f"/instances/{records['instance']['id']}", "采购项目"),
            ("projects", "/projects", "采购项目"), ("project", f"/projects/{records['project']['id']}", "实验室设备采购"),
            ("plans", "/plans", "采购计划"), ("contracts", "/contracts", "合同")]


CLERK_PAGES = [("start", "/start", "发起流程"), ("start-form", "/start/project_registration", "采购项目")]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_login_page_fits(pages, size):
    page = pages.new(size)
    page.goto("/login")
    expect(page.get_by_role("heading", name="用户登录")).to_be_visible()
    expect(page.get_by_role("button", name="登 录")).to_be_in_viewport()
    expect(page.get_by_role("navigation", name="主菜单")).to_have_count(0)  # no empty menu column
    assert not pages.page_scrolls_sideways(page)
    pages.shot(page, f"login-{size}")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_main_pages_fit_the_screen(pages, records, size):
    for user, visits in (("reviewer", pages_of(records)), ("clerk", CLERK_PAGES)):
        page = pages.login(user, size=size)
        for name, url, heading in visits:
            page.goto(url)
            expect(page.locator("h1").first).to_contain_text(heading)
            page.wait_for_load_state("networkidle")
            assert not pages.page_scrolls_sideways(page), f"{url} scrolls sideways at {size}"
            pages.shot(page, f"{name}-{size}")
        assert not page.js_errors


def test_phone_menu_folds_and_opens(pages, records):
    page = pages.login("reviewer", size="phone")
    menu = page.get_by_role("navigation", name="主菜单")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="菜单").click()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="采购项目")).to_be_visible()
    menu.get_by_role("link", name="采购项目").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_role("navigation", name="主菜单")).to_be_hidden()
    # 工作台 reads as a word, not one character per line.
    page.goto("/")
    heading = page.get_by_role("heading", name="工作台")
    assert heading.bounding_box()["height"] < 40
    # A wide table scrolls inside its box, the page does not.
    table = page.get_by_test_id("task-table")
    expect(table).to_contain_text("办公家具采购")
    assert not pages.page_scrolls_sideways(page)


def test_desktop_menu_is_always_shown(pages):
    page = pages.login("reviewer")
    expect(page.get_by_role("navigation", name="主菜单")).to_be_visible()
    expect(page.get_by_role("button", name="菜单")).to_be_hidden()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_menu_icons_are_drawn_not_font_glyphs(pages, size):
    """The menu's icons are inline SVG drawings (no icon font, no glyph that a system without it shows as an empty
    box), one per entry, different from each other; screenshots: menu-icons-<size>.png."""
    page = pages.login("admin" if size == "desktop" else "reviewer", size=size)
    if size == "phone":
        page.get_by_role("button", name="菜单").click()
        expect(page.get_by_role("button", name="菜单").locator("svg")).to_be_visible()
    menu = page.get_by_role("navigation", name="主菜单")
    expect(menu).to_be_visible()
    icons = menu.get_by_role("link").evaluate_all("""links => links.map(a => {
        const svg = a.querySelector('svg');
        const box = svg ? svg.getBoundingClientRect() : null;
        const before = getComputedStyle(a.querySelector('svg') || a, '::before').content;
        return {text: a.textContent.trim(), width: box && box.width, shapes: svg ? svg.innerHTML : '',
                stroke: svg && getComputedStyle(svg).stroke, before};
    })""")
    assert len(icons) >= 7, icons
    for icon in icons:
        assert icon["width"] == 16 and icon["shapes"], icon
        assert icon["stroke"] not in ("none", "rgba(0, 0, 0, 0)"), icon
        assert icon["before"] in ("none", "normal"), icon  # nothing drawn from a font
    assert len({i["shapes"] for i in icons}) == len(icons), "every entry has its own icon"
    pages.shot(page, f"menu-icons-{size}")


# Every table wider than its card scrolls inside its own box (overflow-x auto/scroll) and stays within the screen.
TABLES_OUTSIDE = """() => {
    const width = document.documentElement.clientWidth;
    const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const out = [];
    document.querySelectorAll('table').forEach(t => {
        if (!t.offsetParent) { return; }
        let box = t;
        while (box && box !== document.body && !scrolls(box)) { box = box.parentElement; }
        const holder = box && box !== document.body ? box : t;
        const r = holder.getBoundingClientRect();
        if (r.right > width + 1 || r.left < -1 || (!scrolls(holder) && t.scrollWidth > t.parentElement.clientWidth + 1)) {
            out.push((t.getAttribute('data-testid') || t.className) + ' ' + Math.round(r.left) + '–' + Math.round(r.right));
        }
    });
    return out;
}"""


def test_wide_tables_scroll_inside_their_box_on_a_phone(pages, login):
    """A contract with a change under review: its record page (related records, files), the reviewer's task (the
    request with its item and payment tables), the instance page and the lists, at 390×844."""
    from contract_records import PDF, upload
    from test_contracts import file_contract, filed_plan, schedule
    contract = file_contract(login, filed_plan(login)["id"])
    clerk = login("clerk2")
    note = upload(clerk, PDF, "变更说明（含双方盖章的补充协议及供应商资质证明材料扫描件）.pdf",
                  record_type="contract", record_id=contract["id"])
    instance = clerk.start("contract_change", {
        "contract_id": contract["id"], "amount": 180000, "payment_schedule": schedule(180000),
        "items": [{"item_name": "学生课桌椅（含升降调节装置、环保板材、五年质保及上门安装服务）", "quantity": 600,
                   "unit_price": 300}],
        "explanation": "学生人数增加，课桌椅增购 100 套", "attachment_ids": [note["id"]]})
    task = next(t for t in login("reviewer2").tasks() if t["instance_id"] == instance["id"])
    page = pages.login("reviewer2", size="phone")
    for name, url in (("record-contract", f"/contracts/{contract['id']}"), ("task-change", f"/tasks/{task['id']}"),
                      ("instance-change", f"/instances/{instance['id']}"), ("workbench-todo", "/?tab=todo"),
                      ("contracts", "/contracts"), ("tenders", "/tenders"), ("plans", "/plans")):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if name == "task-change":
            page.locator("#request-root[data-ready=true]").wait_for()
        assert not pages.page_scrolls_sideways(page), f"{url} scrolls sideways"
        assert page.evaluate(TABLES_OUTSIDE) == [], url
        pages.shot(page, f"phone-tables-{name}")
    # Lists are cards on a phone: every value under its column's name, all of it on screen.
    page.goto("/?tab=todo")
    card = page.get_by_test_id("task-table").get_by_role("row").filter(has_text="合同变更审核")
    expect(card).to_be_visible()
    for label, value in (("流程", "合同变更"), ("关联记录", contract["number"]), ("办理岗位/人", "审核岗")):
        cell = card.locator(f'td[data-label="{label}"]')
        expect(cell).to_contain_text(value)
        expect(cell).to_be_in_viewport(ratio=1)
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert not page.js_errors


def test_lists_stay_tables_on_a_desktop(pages, records):
    page = pages.login("reviewer")
    for url, testid in (("/", "task-table"), ("/projects", "record-table")):
        page.goto(url)
        table = page.get_by_test_id(testid)
        assert table.evaluate("t => getComputedStyle(t).display") == "table"
        expect(table.locator("thead")).to_be_visible()
