"""附件 are uploads, not typed references (issue 15 point 8): the clerk picks a file in a request form, the reviewer
sees it as a download link on the task page and the contract's page lists it; at 1440×900 and 390×844."""
import re

import pytest
from playwright.sync_api import expect

from test_contracts import file_contract, filed_plan
from test_workbench import choose, open_task, submit, wait_form

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_file_uploaded_in_a_request_is_a_download_link_for_the_reviewer(pages, login, size):
    contract = file_contract(login, filed_plan(login)["id"])
    clerk = pages.login("clerk2", size=size)
    clerk.goto("/start/contract_revocation")
    wait_form(clerk)
    field = clerk.locator(".fjs-form-field", has=clerk.locator("label", has_text="合同撤销说明附件")).first
    expect(field).to_contain_text("单个文件不超过 10 MB")
    expect(field.locator("input[type=file]")).to_have_attribute("accept", re.compile(r"\.pdf"))
    choose(clerk, "合同", contract["number"])
    clerk.get_by_label("撤销原因").fill("合同文本与中标结果不一致")
    field.locator("input[type=file]").set_input_files(
        files=[{"name": "撤销说明.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    submit(clerk)
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    assert not clerk.js_errors

    reviewer = pages.login("reviewer2", size=size)
    open_task(reviewer, "合同撤销审核")
    request = reviewer.get_by_role("region", name=re.compile("审核事项"))
    request.locator("[data-ready=true]").wait_for()
    expect(request.get_by_label("撤销原因")).to_have_value("合同文本与中标结果不一致")
    link = request.get_by_role("link", name="撤销说明.pdf")
    expect(link).to_be_visible()
    expect(request).to_contain_text("合同撤销说明附件")
    pages.shot(reviewer, f"review-attachment-{size}")
    assert not pages.page_scrolls_sideways(reviewer)
    with reviewer.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "撤销说明.pdf"
    assert open(download.value.path(), "rb").read() == PDF

    # The contract's page lists the file too.
    reviewer.goto(f"/contracts/{contract['id']}")
    expect(reviewer.get_by_role("link", name="撤销说明.pdf")).to_be_visible()
    assert not pages.page_scrolls_sideways(reviewer)
    assert not reviewer.js_errors
    if size == "phone":
        return
    # Returned: the edit task lists the file already uploaded; resubmitted with one more, the reviewer sees both.
    open_task(reviewer, "合同撤销审核")
    reviewer.get_by_label("审核不通过").check()
    reviewer.get_by_label("审核意见").fill("请补充双方确认函")
    submit(reviewer)
    reviewer.wait_for_url(re.compile(r"/instances/\d+$"))
    clerk.goto("/?tab=mine")
    clerk.locator("a.task-link", has_text="修改撤销申请").first.click()
    wait_form(clerk)
    field = clerk.locator(".fjs-form-field", has=clerk.locator("label", has_text="合同撤销说明附件")).first
    expect(field.get_by_role("link", name="撤销说明.pdf")).to_be_visible()
    expect(field.get_by_role("button", name="选择文件")).to_be_visible()
    field.locator("input[type=file]").set_input_files(
        files=[{"name": "双方确认函.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    expect(field).to_contain_text("双方确认函.pdf")
    clerk.get_by_label("重新提交审核").check()
    submit(clerk)
    clerk.wait_for_url(re.compile(r"/instances/\d+$"))
    open_task(reviewer, "合同撤销审核")
    request = reviewer.get_by_role("region", name=re.compile("审核事项"))
    expect(request.get_by_role("link", name="撤销说明.pdf")).to_be_visible()
    expect(request.get_by_role("link", name="双方确认函.pdf")).to_be_visible()
    assert not clerk.js_errors and not reviewer.js_errors


def test_a_request_without_its_required_file_is_refused_next_to_the_field(pages, login):
    contract = file_contract(login, filed_plan(login)["id"])
    clerk = pages.login("clerk2")
    clerk.goto("/start/contract_revocation")
    wait_form(clerk)
    choose(clerk, "合同", contract["number"])
    clerk.get_by_label("撤销原因").fill("合同文本与中标结果不一致")
    submit(clerk)
    field = clerk.locator(".fjs-form-field", has=clerk.locator("label", has_text="合同撤销说明附件")).first
    expect(field.locator(".fjs-form-field-error")).to_be_visible()
    expect(clerk).to_have_url(re.compile(r"/start/contract_revocation$"))
