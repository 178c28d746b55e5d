"""履约验收 end to end (seed 001 ch.7), role by role: submit → review → accepted with its result, reject → edit →
resubmit or cancel, every refusal (not filed, after 履约完成, closed project, one open at a time), and the
无验收不结项 query project closing uses."""
import pytest

from contract_records import (attach, contract_row, counts, filed_contract, office_zip, record_changes, refused,
                              refused_completion, service_outputs, set_project_status)
from helpers import approve, names, reject


@pytest.fixture(autouse=True)
def attachments_dir(app, tmp_path):
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")


def acceptance_data(contract_id, file_ids, result="pass", **overrides):
    return {"contract_id": contract_id, "result": result, "accepted_on": "2026-11-19",
            "notes": "课桌椅 500 套已全部到货，外观、尺寸、承重抽检合格", "acceptance_attachment_ids": file_ids, **overrides}


def models():
    from app.models import Acceptance, Contract
    return Acceptance, Contract


def passed(app, project_id):
    from app.models import Acceptance
    with app.extensions["db"].Session() as s:
        return Acceptance.passed_for_project(s, project_id), \
            [c.id for c in Acceptance.unaccepted_contracts(s, project_id)]


def test_acceptance_chain_and_project_closing_query(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    cid = c["id"]
    report = attach(clerk, cid, "验收报告.pdf")
    photos = attach(clerk, cid, "验收照片.zip", office_zip("zip"))
    assert passed(app, c["project_id"]) == (False, [cid])

    instance = clerk.start("performance_acceptance", acceptance_data(cid, [report, photos]))
    acceptance_id = instance["data"]["acceptance_id"]
    record = clerk.ok(clerk.get(f"/api/acceptances/{acceptance_id}"))
    assert record["status"] == "in_review" and record["number"] == f"YS2026{acceptance_id:06d}"
    assert record["result"] == "pass" and record["result_label"] == "验收合格" and record["accepted_on"] == "2026-11-19"
    assert names(reviewer.tasks(), instance["id"]) == ["履约验收审核"] and names(clerk.tasks(), instance["id"]) == []
    task = reviewer.task_named("履约验收审核", instance["id"])
    assert task["record_type"] == "contract" and task["record_id"] == cid
    assert passed(app, c["project_id"]) == (False, [cid])  # not before the review

    reject(reviewer, "履约验收审核", instance["id"], "请补充抽检记录")
    assert clerk.ok(clerk.get(f"/api/acceptances/{acceptance_id}"))["status"] == "returned"
    edit = clerk.task_named("修改履约验收", instance["id"])
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["form"]["id"] == "performance_acceptance" and detail["data"]["comment"] == "请补充抽检记录"
    record_sheet = attach(clerk, cid, "抽检记录.xlsx", office_zip("xlsx"))
    clerk.complete(edit["id"], {**acceptance_data(cid, [report, photos, record_sheet]), "action": "submit"})
    done = approve(reviewer, "履约验收审核", instance["id"])
    assert done["status"] == "completed"
    record = clerk.ok(clerk.get(f"/api/acceptances/{acceptance_id}"))
    assert record["status"] == "accepted" and record["status_label"] == "已验收" and record["decided_at"]
    assert [a["name"] for a in record["attachments"]] == ["验收报告.pdf", "验收照片.zip", "抽检记录.xlsx"]
    assert [a["id"] for a in clerk.ok(clerk.get(f"/api/contracts/{cid}/acceptances"))] == [acceptance_id]
    assert passed(app, c["project_id"]) == (True, [])
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []

    history = clerk.history(instance["id"])
    outputs = service_outputs(history, "acceptance.submit")
    assert [len(o["attachments"]) for o in outputs] == [2, 3]
    assert all(len(a["sha256"]) == 64 for a in outputs[-1]["attachments"])
    assert [f["status"] for f in record_changes(history, f"acceptance:{acceptance_id}") if "status" in f] == \
        [[None, "in_review"], ["in_review", "returned"], ["returned", "in_review"], ["in_review", "accepted"]]

    # Fulfilled afterwards, the contract's acceptance still counts for closing; then no further acceptance.
    clerk.start("contract_fulfillment", {"contract_id": cid, "performance_note": "履约完成"})
    assert passed(app, c["project_id"]) == (True, [])
    refused(clerk, "performance_acceptance", acceptance_data(cid, [report]), 409,
            f"合同 {c['number']} 已履约完成，不能再发起履约验收")


def test_failed_acceptance_does_not_count_and_cancel(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    report = attach(clerk, c["id"])
    failed = clerk.start("performance_acceptance", acceptance_data(c["id"], [report], result="fail",
                                                                     notes="部分课桌椅尺寸不符，需整改"))
    approve(reviewer, "履约验收审核", failed["id"])
    record = clerk.ok(clerk.get(f"/api/acceptances/{failed['data']['acceptance_id']}"))
    assert (record["status"], record["result"], record["result_label"]) == ("accepted", "fail", "验收不合格")
    assert passed(app, c["project_id"]) == (False, [c["id"]])

    # After rectification a second acceptance; rejected and cancelled it changes nothing.
    second = clerk.start("performance_acceptance", acceptance_data(c["id"], [report]))
    reject(reviewer, "履约验收审核", second["id"], "整改材料不全")
    done = clerk.complete(clerk.task_named("修改履约验收", second["id"])["id"],
                          {**acceptance_data(c["id"], [report]), "action": "cancel"})
    assert done["status"] == "completed"
    assert clerk.ok(clerk.get(f"/api/acceptances/{second['data']['acceptance_id']}"))["status"] == "cancelled"
    assert passed(app, c["project_id"]) == (False, [c["id"]])
    assert names(clerk.tasks()) == [] and names(reviewer.tasks()) == []


def test_acceptance_refusals_change_nothing(app, login):
    clerk, reviewer = login("clerk2"), login("reviewer2")
    c = filed_contract(login)
    report = attach(clerk, c["id"])
    open_one = clerk.start("performance_acceptance", acceptance_data(c["id"], [report]))
    before = counts(app, *models()), contract_row(app, c["id"])
    body = refused(clerk, "performance_acceptance", acceptance_data(c["id"], [report]), 409,
                   f"合同 {c['number']} 有未办结的履约验收 {open_one['data']['acceptance_number']}（审核中），办结后才能再次发起")
    assert body["code"] == "ACCEPTANCE_PENDING"
    for data, field, message in (
            (acceptance_data(c["id"], [report], accepted_on="2026-11-21"), "accepted_on", "验收日期不能晚于今天"),
            (acceptance_data(c["id"], []), "acceptance_attachment_ids", "请上传验收材料")):
        response = clerk.post("/api/processes/performance_acceptance/instances", {"data": data})
        assert response.status_code == 400 and response.json["errors"] == {field: [message]}, response.json
    response = clerk.post("/api/processes/performance_acceptance/instances",
                          {"data": acceptance_data(c["id"], [report], result="maybe", notes="")})
    assert response.status_code == 400
    assert response.json["errors"] == {"result": ["请选择有效的选项"], "notes": ["此项为必填项"]}
    refused(login("clerk"), "performance_acceptance", acceptance_data(c["id"], [report]), 403, "不属于本单位")
    refused(reviewer, "performance_acceptance", acceptance_data(c["id"], [report]), 403, "不能发起")
    assert (counts(app, *models()), contract_row(app, c["id"])) == before

    # A project closed meanwhile: no new acceptance, and the one in review cannot be approved.
    set_project_status(app, c["project_id"], "closed")
    refused_completion(reviewer, reviewer.task_named("履约验收审核", open_one["id"])["id"], {"approved": "true"}, 409,
                       "已结项，不允许履约验收；请审核不通过，退回经办岗取消该验收")
    reject(reviewer, "履约验收审核", open_one["id"], "项目已结项")
    clerk.complete(clerk.task_named("修改履约验收", open_one["id"])["id"],
                   {**acceptance_data(c["id"], [report]), "action": "cancel"})
    body = refused(clerk, "performance_acceptance", acceptance_data(c["id"], [report]), 409,
                   "已结项，未完成的部分不允许发起履约验收")
    assert body["code"] == "PROJECT_CLOSED"


@pytest.mark.parametrize("status, message", [
    ("terminating", "已发起终止，不能发起新的履约验收"),
    ("terminated", "已终止，不能发起新的履约验收"),
    ("revoked", "已撤销，不能发起履约验收"),
    ("published", "当前状态为“待备案”，备案后才能发起履约验收"),
])
def test_acceptance_only_on_filed_contracts(app, login, status, message):
    clerk = login("clerk2")
    c = filed_contract(login)
    report = attach(clerk, c["id"])
    from app.models import Contract
    with app.extensions["db"].Session() as s, s.begin():
        s.get(Contract, c["id"]).status = status
    before = counts(app, *models())
    refused(clerk, "performance_acceptance", acceptance_data(c["id"], [report]), 409, message)
    assert counts(app, *models()) == before
    assert passed(app, c["project_id"])[0] is False
