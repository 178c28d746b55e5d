"""审批单 (issue 17): the printable page and the PDF (Chinese in an embedded CJK font), for any instance one may see."""
import re

import pytest

from helpers import Web
from taskops_helpers import deploy_taskops, start_to_review


@pytest.fixture(autouse=True)
def _diagram(app, clock):
    deploy_taskops(app, clock)


def _done_instance(login):
    clerk, reviewer, leader = login("clerk"), login("reviewer"), login("leader")
    instance = start_to_review(clerk)
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "false", "comment": "请补充说明"})
    clerk.complete(clerk.task_named("录入", instance["id"])["id"], {})
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true", "comment": "材料齐全，同意"})
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true", "comment": "同意"})
    return instance


def test_printable_sheet_lists_steps_and_hash(app, login):
    instance = _done_instance(login)
    page = Web(app, "auditor").get(f"/instances/{instance['id']}/sheet").data.decode()
    assert "测试：任务操作 审批单" in page
    for text in ("审核岗审核", "李审核", "材料齐全，同意", "审核不通过", "请补充说明", "王领导"):
        assert text in page, text
    last_hash = login("auditor").history(instance["id"])[-1]["hash"]
    assert last_hash in page and "校验：通过" in page
    assert Web(app, "clerk2").get(f"/instances/{instance['id']}/sheet").status_code == 404  # another unit


def test_pdf_embeds_a_cjk_font(app, login):
    pytest.importorskip("fpdf")
    from app.web.sheet_pdf import FontMissing, font_path
    try:
        font_path()
    except FontMissing:
        pytest.skip("no CJK font package installed (fonts-wqy-microhei)")
    instance = _done_instance(login)
    response = Web(app, "clerk").get(f"/instances/{instance['id']}/sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    body = response.data
    assert body.startswith(b"%PDF") and b"/FontFile2" in body  # the font itself is in the file
    assert re.search(rb"/BaseFont /[A-Z]{6}\+", body)  # as a subset
    assert b"/ToUnicode" in body  # the Chinese text can be searched and copied
    assert "attachment" in response.headers["Content-Disposition"]


def test_pdf_without_a_font_is_a_clear_503(app, login):
    pytest.importorskip("fpdf")
    app.config["PDF_CJK_FONT"] = "/nonexistent.ttf"
    from app.web import sheet_pdf
    saved = sheet_pdf.CANDIDATES
    sheet_pdf.CANDIDATES = ()
    try:
        instance = start_to_review(login("clerk"))
        answer = Web(app, "clerk").get(f"/instances/{instance['id']}/sheet.pdf")
    finally:
        sheet_pdf.CANDIDATES = saved
    assert answer.status_code == 503 and "中文字体" in answer.data.decode()
    reviewer, leader = login("reviewer"), login("leader")
    reviewer.complete(reviewer.task_named("审核岗审核", instance["id"])["id"], {"approved": "true"})
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})


def test_sheet_shows_added_signers_opinions(app, login):
    from taskops_helpers import add_user
    add_user(app, "reviewer3", "钱审核", ["reviewer"])
    clerk, reviewer, r3, leader = login("clerk"), login("reviewer"), login("reviewer3"), login("leader")
    instance = start_to_review(clerk)
    task = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.ok(reviewer.post(f"/api/tasks/{task['id']}/signers", {"users": ["reviewer3"], "mode": "before"}), 201)
    r3.ok(r3.post(f"/api/tasks/{task['id']}/signers/answer", {"approved": False, "comment": "报价偏高"}))
    reviewer.complete(task["id"], {"approved": "true", "comment": "已核实，同意"})
    leader.complete(leader.task_named("领导审批", instance["id"])["id"], {"approved": "true"})
    page = Web(app, "clerk").get(f"/instances/{instance['id']}/sheet").data.decode()
    assert "加签意见" in page and "钱审核" in page and "报价偏高" in page and "不同意" in page
