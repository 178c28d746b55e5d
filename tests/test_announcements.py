"""公告管理 (seed 001 ch.8): 单一来源公示/发布 with its publicity period as a timer and the rule that a single-source
plan waits for it; 面向中小企业预留项目执行情况公告/发布."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.engine import timers
from app.models.announcement import publicity_end, working_days_after
from contract_records import PDF, upload
from helpers import GAP, approve, filed_plan, names, reject

SUPPLIER = {"name": "福建星网锐捷网络有限公司", "credit_code": "91350000154330461R", "address": "福州市金山大道618号"}
EXPERTS = [{"name": "王建国", "title": "教授", "unit": "福州大学", "opinion": "该设备为原有系统的专利配套产品，只能从唯一供应商处采购"},
           {"name": "李海燕", "title": "高级工程师", "unit": "福建省建筑设计研究院", "opinion": "同意单一来源采购"}]


@pytest.fixture
def roles(login):
    return {r: login(r) for r in ("clerk", "reviewer", "finance", "agency")}


def publicity_data(**overrides):
    data = {"source": "plan", "supplier": SUPPLIER, "experts": EXPERTS, "publicity_days": 5,
            "reason": "原有网络系统扩容，须与原系统兼容，只能由原供应商提供（财政部令第74号第三十八条）"}
    data.update(overrides)
    return data


def tick(app, clock):
    timers.run_due(app.extensions["db"], clock(), "test")


def publicity(api, ident):
    return api.ok(api.get(f"/api/announcements/single-source/{ident}"))


# -- the publicity period ------------------------------------------------------------------------------------
def test_publicity_period_counts_five_working_days_from_the_next_day():
    friday = date(2026, 11, 20)
    assert working_days_after(friday, 5) == date(2026, 11, 27)
    assert working_days_after(date(2026, 11, 18), 5) == date(2026, 11, 25)  # Wednesday → next Wednesday
    assert working_days_after(date(2026, 11, 21), 5) == date(2026, 11, 27)  # Saturday → Mon..Fri
    # Published Friday 17:00 Beijing: ends at 24:00 Beijing of Friday 27th = 16:00 UTC.
    assert publicity_end(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)
    # 20:00 UTC Friday is already Saturday 04:00 in Beijing: the period still ends on Friday the 27th.
    assert publicity_end(datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc)) == \
        datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)
    assert publicity_end(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), days=7) == \
        datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)


def test_single_source_publicity_chain_and_plan_waits_for_it(app, clock, roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    project, plan_instance = filed_plan(clerk, reviewer, finance, method="single_source")
    plan_id = plan_instance["data"]["plan_id"]

    # Without a publicity the single-source plan cannot be announced.
    refused = agency.post("/api/processes/tender_execution/instances", {"data": {"plan_id": plan_id}})
    assert refused.status_code == 409 and refused.json["code"] == "SINGLE_SOURCE_NOT_PUBLICIZED", refused.json
    assert "须先完成单一来源公示" in refused.json["message"]

    instance = clerk.start("single_source_publicity", publicity_data(project_id=project["id"], plan_id=plan_id))
    iid = instance["id"]
    pid = instance["data"]["publicity_id"]
    record = publicity(clerk, pid)
    assert record["status"] == "in_review" and record["number"] == f"DY2026{pid:06d}"
    assert record["plan_id"] == plan_id and record["supplier"]["name"] == SUPPLIER["name"]
    assert record["title"] == "实验室设备采购单一来源采购公示" and len(record["experts"]) == 2
    assert names(reviewer.tasks(), iid) == ["审核岗审核"]

    # Reject → back to the clerk with the comment; the clerk edits and resubmits.
    reject(reviewer, "审核岗审核", iid, "请补充论证专家的职称证明")
    assert publicity(clerk, pid)["status"] == "draft"
    assert publicity(clerk, pid)["review_comment"] == "请补充论证专家的职称证明"
    edit = clerk.task_named("修改单一来源公示", iid)
    detail = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))
    assert detail["data"]["comment"] == "请补充论证专家的职称证明"
    # The file uploaded on the edit task (against the instance) is kept on the publicity and bound to its project.
    titles = upload(clerk, PDF, "专家职称证明.pdf", instance_id=iid)["id"]
    clerk.complete(edit["id"], publicity_data(project_id=project["id"], plan_id=plan_id, action="submit",
                                              attachment_ids=[titles]))
    assert [a["attachment_id"] for a in publicity(clerk, pid)["attachments"]] == [titles]
    assert clerk.ok(clerk.get(f"/api/attachments/{titles}/info"))["record_id"] == project["id"]
    approve(reviewer, "审核岗审核", iid)
    assert publicity(clerk, pid)["status_label"] == "待发布"

    # Publish: Friday 2026-11-20 17:00 Beijing → ends at 24:00 Beijing on Friday 27th (16:00 UTC).
    task = clerk.task_named("发布单一来源公示", iid)
    assert task["assignee"] == "clerk"
    clerk.complete(task["id"], {})
    record = publicity(clerk, pid)
    end = datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)
    assert record["status"] == "publicizing" and record["publicity_end"] == end.isoformat()
    with app.extensions["db"].Session() as s:
        from app.models import Timer
        rows = list(s.scalars(select(Timer).where(Timer.instance_id == iid)))
    assert [(r.bpmn_id, r.status, r.due_at) for r in rows] == [("ss_wait", "pending", end)]

    # During the publicity the plan cannot proceed: no announcement, no contract.
    clock.advance(days=3)
    tick(app, clock)  # (the daily supervision scan fires meanwhile; the publicity timer does not)
    assert publicity(clerk, pid)["status"] == "publicizing"
    refused = agency.post("/api/processes/tender_execution/instances", {"data": {"plan_id": plan_id}})
    assert refused.status_code == 409 and refused.json["code"] == "SINGLE_SOURCE_PUBLICITY_RUNNING"
    assert "公示期至 2026-11-28 00:00" in refused.json["message"]
    contract = clerk.post("/api/processes/contract_filing/instances", {"data": {
        "plan_id": plan_id, "name": "网络设备扩容合同", "amount": 100000, "signed_date": "2026-11-20",
        "text_ref": "file-contract-0001", "action": "draft"}})
    assert contract.status_code == 409 and contract.json["code"] == "SINGLE_SOURCE_PUBLICITY_RUNNING"

    clock.now = end - timedelta(minutes=1)
    tick(app, clock)
    assert publicity(clerk, pid)["status"] == "publicizing"
    clock.now = end + timedelta(seconds=1)
    tick(app, clock)
    record = publicity(clerk, pid)
    assert record["status"] == "ended" and record["status_label"] == "公示期满"
    assert clerk.ok(clerk.get(f"/api/instances/{iid}"))["status"] == "completed"

    # Now the plan proceeds.
    tx = agency.start("tender_execution", {"plan_id": plan_id, "title": "网络设备扩容单一来源采购", **GAP})
    assert clerk.ok(clerk.get(f"/api/plans/{plan_id}"))["status"] == "used"
    assert tx["status"] == "running"

    history = clerk.history(iid)
    assert [e["data"]["topic"] for e in history if e["type"] == "service_task"] == [
        "single_source.submit", "single_source.return", "single_source.submit", "single_source.approve",
        "single_source.publish", "single_source.end"]
    publish = next(e for e in history if e["type"] == "service_task" and e["data"]["topic"] == "single_source.publish")
    assert publish["data"]["outputs"]["publicity_end"] == end.isoformat()
    assert [e["data"]["bpmn_id"] for e in history if e["type"] == "timer_fired"] == ["ss_wait"]
    assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True


def test_failed_project_path_and_refusals(app, roles):
    clerk, reviewer, finance, agency = roles["clerk"], roles["reviewer"], roles["finance"], roles["agency"]
    project, plan_instance = filed_plan(clerk, reviewer, finance)
    plan_id = plan_instance["data"]["plan_id"]

    # A plan that is not single source cannot be named for a publicity: back to the clerk with the message.
    instance = clerk.start("single_source_publicity", publicity_data(project_id=project["id"], plan_id=plan_id))
    assert instance["data"]["error_code"] == "NOT_SINGLE_SOURCE"
    assert names(clerk.tasks(), instance["id"]) == ["修改单一来源公示"]
    clerk.complete(clerk.task_named("修改单一来源公示", instance["id"])["id"],
                   publicity_data(project_id=project["id"], plan_id=plan_id, action="delete"))
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "completed"
    assert clerk.ok(clerk.get("/api/announcements/single-source")) == []

    # Form rules: the period is at least 5 working days; the reason is required.
    bad = clerk.post("/api/processes/single_source_publicity/instances",
                     {"data": publicity_data(project_id=project["id"], publicity_days=3, reason="")})
    assert bad.status_code == 400 and set(bad.json["errors"]) == {"publicity_days", "reason"}

    # A tender that has not failed cannot be chosen as the failed project.
    tx = agency.start("tender_execution", {"plan_id": plan_id, **GAP})
    tender_id = tx["data"]["tender_id"]
    instance = clerk.start("single_source_publicity", publicity_data(source="failed", tender_id=tender_id))
    assert instance["data"]["error_code"] == "TENDER_NOT_FAILED"
    clerk.complete(clerk.task_named("修改单一来源公示", instance["id"])["id"],
                   publicity_data(source="failed", tender_id=tender_id, action="delete"))

    # The tender fails (废标): 采购方式变更 to single source starts from the failed project.
    agency.complete(agency.task_named("开标或取消采购任务", tx["id"])["id"], {"opening": "open"})
    agency.complete(agency.task_named("评标结果", tx["id"])["id"], {"result": "failed", "reason": "有效投标人不足三家"})
    clerk.complete(clerk.task_named("采购人确认废标公告", tx["id"])["id"], {"approved": "true"})  # 000 一(六) 步骤一
    instance = clerk.start("single_source_publicity", publicity_data(source="failed", tender_id=tender_id))
    record = publicity(clerk, instance["data"]["publicity_id"])
    assert (record["source"], record["tender_id"], record["plan_id"], record["project_id"]) == \
        ("failed", tender_id, plan_id, project["id"])
    # A second publicity for the same project is refused while the first is live.
    again = clerk.start("single_source_publicity", publicity_data(project_id=project["id"]))
    assert again["data"]["error_code"] == "PUBLICITY_EXISTS"


def test_other_unit_cannot_see_or_use_the_publicity(app, login, roles):
    clerk, reviewer, finance = roles["clerk"], roles["reviewer"], roles["finance"]
    project, plan_instance = filed_plan(clerk, reviewer, finance, method="single_source")
    instance = clerk.start("single_source_publicity", publicity_data(project_id=project["id"]))
    pid = instance["data"]["publicity_id"]
    clerk2 = login("clerk2")
    assert clerk2.get(f"/api/announcements/single-source/{pid}").status_code == 404
    assert clerk2.ok(clerk2.get("/api/announcements/single-source")) == []
    # clerk2's unit cannot name a project of another unit.
    foreign = clerk2.start("single_source_publicity", publicity_data(project_id=project["id"]))
    assert foreign["data"]["error_code"] == "INVALID_INPUT" and "本单位" in foreign["data"]["error_message"]
    auditor = login("auditor")
    assert auditor.ok(auditor.get(f"/api/announcements/single-source/{pid}"))["status"] == "in_review"


# -- 面向中小企业预留项目执行情况公告 ---------------------------------------------------------------------
REPORT = {"period_start": "2026-01-01", "period_end": "2026-06-30", "total_amount": 5000000,
          "reserved_project_count": 3, "reserved_amount": 2400000, "sme_contract_amount": 3100000,
          "small_micro_contract_amount": 1800000.5, "content": "上半年预留项目均已执行"}


def report(api, ident):
    return api.ok(api.get(f"/api/announcements/sme-reservation/{ident}"))


def test_sme_reservation_report_chain(roles, login):
    clerk, reviewer = roles["clerk"], roles["reviewer"]
    # Inconsistent figures go back to the clerk with the message.
    instance = clerk.start("sme_reservation_report", {**REPORT, "small_micro_contract_amount": 3200000})
    iid = instance["id"]
    assert instance["data"]["error_code"] == "FIGURES_INCONSISTENT"
    assert "小微企业合同金额不能超过中小企业合同金额" in instance["data"]["error_message"]
    edit = clerk.task_named("修改执行情况公告", iid)
    clerk.complete(edit["id"], {**REPORT, "action": "submit"})
    rid = clerk.ok(clerk.get(f"/api/instances/{iid}"))["data"]["report_id"]
    record = report(clerk, rid)
    assert record["status"] == "in_review" and record["sme_share"] == "0.6200"
    assert record["small_micro_contract_amount"] == "1800000.50"
    assert record["title"] == "面向中小企业预留项目执行情况公告（2026-01-01 至 2026-06-30）"

    reject(reviewer, "审核岗审核", iid, "请附预留项目清单")
    assert report(clerk, rid)["status"] == "draft"
    listing = upload(clerk, PDF, "预留项目清单.pdf", instance_id=iid)["id"]
    clerk.complete(clerk.task_named("修改执行情况公告", iid)["id"],
                   {**REPORT, "attachment_ids": [listing], "action": "submit"})
    assert [a["name"] for a in report(clerk, rid)["attachments"]] == ["预留项目清单.pdf"]
    approve(reviewer, "审核岗审核", iid)
    assert report(clerk, rid)["status_label"] == "待发布"
    publish = clerk.task_named("发布执行情况公告", iid)
    assert clerk.ok(clerk.get(f"/api/tasks/{publish['id']}"))["data"]["sme_share"] == "62.00%"
    done = clerk.complete(publish["id"], {})
    assert done["status"] == "completed"
    record = report(clerk, rid)
    assert record["status"] == "published" and record["published_at"] == "2026-11-20T09:00:00+00:00"

    # The same unit cannot publish a second report overlapping the period; a later period is fine.
    again = clerk.start("sme_reservation_report", {**REPORT, "period_start": "2026-06-01", "period_end": "2026-09-30"})
    assert again["data"]["error_code"] == "PERIOD_OVERLAP"
    later = clerk.start("sme_reservation_report", {**REPORT, "period_start": "2026-07-01", "period_end": "2026-09-30"})
    assert "error_code" not in later["data"]
    # Bad shapes are refused by the form.
    bad = clerk.post("/api/processes/sme_reservation_report/instances", {"data": {**REPORT, "total_amount": -1,
                                                                                  "period_end": "2026-13-01"}})
    assert bad.status_code == 400 and set(bad.json["errors"]) == {"total_amount", "period_end"}
    # Another unit sees nothing of it.
    assert login("clerk2").get(f"/api/announcements/sme-reservation/{rid}").status_code == 404


def test_holidays_the_administrator_enters_lengthen_the_publicity(app, login):
    admin, clerk = login("admin"), login("clerk")
    national_day = {"year": 2026, "days": [*({"date": f"2026-10-0{d}", "kind": "holiday", "name": "国庆节"}
                                             for d in range(1, 8)),
                                           {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休"}]}
    refused = clerk.client.put("/api/calendar", headers=clerk.headers, json=national_day)
    assert refused.status_code == 403 and refused.json["message"] == "只有系统管理员可以设置工作日历"
    bad = admin.client.put("/api/calendar", headers=admin.headers, json={"year": 2026, "days": [
        {"date": "2027-01-01", "kind": "holiday"}]})
    assert bad.status_code == 400 and bad.json["errors"] == {"days.0.date": ["第 1 行：2027-01-01 不在 2026 年"]}
    weekday = admin.client.put("/api/calendar", headers=admin.headers, json={"year": 2026, "days": [
        {"date": "2026-10-09", "kind": "workday"}]})
    assert weekday.json["errors"] == {"days.0.kind": ["第 1 行：2026-10-09 是工作日，调休上班只能设在周末"]}
    shape = admin.client.put("/api/calendar", headers=admin.headers, json={"year": 2026, "days": [
        {"date": "10/01", "kind": "rest"}]})
    assert set(shape.json["errors"]["days"]["0"]) == {"date", "kind"}
    saved = admin.ok(admin.client.put("/api/calendar", headers=admin.headers, json=national_day))
    assert [(d["date"], d["kind"]) for d in saved["days"]][-1] == ("2026-10-10", "workday")
    assert len(clerk.ok(clerk.get("/api/calendar", query_string={"year": 2026}))["days"]) == 8
    assert clerk.get("/api/calendar").status_code == 400  # which year?

    # Published Wednesday 30 September: 8 Oct (Thu), 9 (Fri), 10 (Sat, worked), 12 (Mon), 13 (Tue) → ends 14 Oct 00:00.
    from app.models.workdays import overrides
    with app.extensions["db"].Session() as s:
        entered = overrides(s)
    assert working_days_after(date(2026, 9, 30), 5, entered) == date(2026, 10, 13)
    assert publicity_end(datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc), 5, entered) == \
        datetime(2026, 10, 13, 16, 0, tzinfo=timezone.utc)
    assert working_days_after(date(2026, 9, 30), 5) == date(2026, 10, 7)  # without the calendar: weekdays only
    # Replacing the year with an empty list removes its days.
    assert admin.ok(admin.client.put("/api/calendar", headers=admin.headers, json={"year": 2026, "days": []}))["days"] == []
