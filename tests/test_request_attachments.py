"""附件 on requests that used to take a typed reference (issue 15 item 8): the forms upload files, the handlers accept
only attachment ids of the instance's unit (400 in Chinese otherwise, nothing changed), the request keeps them, and
the reviewer's and the record's pages link to them."""
import re

from sqlalchemy import func, select

from contract_records import PDF, service_outputs, upload
from helpers import Web, reject
from test_contracts import file_contract, filed_plan, snapshot


def unit_of(app, username):
    from app.models import User
    with app.extensions["db"].Session() as s:
        return s.scalar(select(User).where(User.username == username)).unit_id


def requests_count(app):
    from app.models import ContractRequest
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count()).select_from(ContractRequest))


def change(contract_id, ids):
    return {"contract_id": contract_id, "name": "中小学课桌椅采购合同（变更）", "explanation": "合同名称更正",
            "attachment_ids": ids}


def test_unknown_foreign_or_malformed_attachment_ids_are_refused_in_chinese(app, login):
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    clerk2, clerk = login("clerk2"), login("clerk")  # 福州市教育局 / another unit
    foreign = upload(clerk, PDF, "别的单位的文件.pdf", unit_id=unit_of(app, "clerk"))
    assert foreign["unit_id"] == unit_of(app, "clerk") and foreign["record_type"] is None
    before, requests = snapshot(app, [contract["id"]]), requests_count(app)
    for ids, message in (([999999], "变更说明附件 999999 不存在或不属于本单位"),
                         ([foreign["id"]], f"变更说明附件 {foreign['id']} 不存在或不属于本单位"),
                         (["abc"], "变更说明附件编号“abc”不正确")):
        response = clerk2.post("/api/processes/contract_change/instances", {"data": change(contract["id"], ids)})
        assert response.status_code == 400, response.json
        assert response.json["errors"] == {"attachment_ids": [message]}
    assert snapshot(app, [contract["id"]]) == before and requests_count(app) == requests
    # A file is uploaded only for the uploader's own units.
    refused = upload(clerk2, PDF, "a.pdf", status=400, unit_id=unit_of(app, "clerk"))
    assert refused["errors"] == {"unit_id": ["只能为本人所在单位上传附件"]}


def test_the_reviewer_and_the_record_page_link_the_uploaded_files(app, login):
    plan = filed_plan(login)
    contract = file_contract(login, plan["id"])
    clerk, reviewer = login("clerk2"), login("reviewer2")
    first = upload(clerk, PDF, "变更说明.pdf", record_type="contract", record_id=contract["id"])
    instance = clerk.start("contract_change", change(contract["id"], [first["id"]]))
    request = clerk.ok(clerk.get(f"/api/contracts/{contract['id']}"))["requests"][0]
    assert [(a["attachment_id"], a["name"], a["sha256"]) for a in request["attachments"]] == \
        [(first["id"], "变更说明.pdf", first["sha256"])]
    history = clerk.history(instance["id"])
    assert service_outputs(history, "contract.change_request")[0]["attachments"] == \
        [{"attachment_id": first["id"], "sha256": first["sha256"]}]  # the exact content submitted

    web = Web(app, "reviewer2")
    task = reviewer.task_named("合同变更审核", instance["id"])
    page = web.get(f"/tasks/{task['id']}").data.decode()
    assert f'href="/api/attachments/{first["id"]}"' in page and "变更说明.pdf" in page
    assert re.search(r'data-testid="request-files".*?变更说明附件', page, re.S)

    # Returned, the clerk adds a file on the edit task (uploaded against the instance): it is bound to the contract.
    reject(reviewer, "合同变更审核", instance["id"], "请附双方确认函")
    edit = clerk.task_named("修改变更申请", instance["id"])
    second = upload(clerk, PDF, "双方确认函.pdf", instance_id=instance["id"])
    clerk.complete(edit["id"], {**change(contract["id"], [first["id"], second["id"]]), "action": "submit"})
    assert clerk.ok(clerk.get(f"/api/attachments/{second['id']}/info"))["record_id"] == contract["id"]
    task = reviewer.task_named("合同变更审核", instance["id"])
    page = web.get(f"/tasks/{task['id']}").data.decode()
    assert "双方确认函.pdf" in page and "变更说明.pdf" in page
    record_page = web.get(f"/contracts/{contract['id']}").data.decode()
    assert f'href="/api/attachments/{second["id"]}"' in record_page
    # Another unit's reviewer sees neither the page nor the file.
    other = login("reviewer")
    assert other.get(f"/api/attachments/{second['id']}").status_code == 404


def test_a_start_form_about_no_record_uploads_under_the_unit(app, login):
    from test_announcements import REPORT
    clerk = login("clerk")
    listing = upload(clerk, PDF, "预留项目清单.pdf", unit_id=unit_of(app, "clerk"))
    instance = clerk.start("sme_reservation_report", {**REPORT, "attachment_ids": [listing["id"]]})
    rid = instance["data"]["report_id"]
    report = clerk.ok(clerk.get(f"/api/announcements/sme-reservation/{rid}"))
    assert [a["name"] for a in report["attachments"]] == ["预留项目清单.pdf"]
