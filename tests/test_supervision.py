"""监督预警 (seed 001 §11.1): the daily timer starts a scan; rules with thresholds in data raise each warning once;
every warning gets its own 巡检处理 instance for the unit's clerk."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from app.engine import starts, timers
from app.models import Contract, Plan, ProcessInstance, Project, Tender
from app.models.supervision import SupervisionRule, SupervisionWarning

D = Decimal
UTC = timezone.utc
FIRST_RUN = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # R/2026-11-21T01:00:00Z/P1D: 09:00 Beijing every day


def seed(app, intent_rule=False):
    """Records that break the rules (unit 1 福建省教育厅 = clerk's, unit 2 福州市教育局 = clerk2's). The tenders are
    seeded without intents, so the 30-day intent rule is switched off unless a test is about it."""
    ids = {}
    with app.extensions["db"].Session() as s, s.begin():
        if not intent_rule:
            s.add(SupervisionRule(code="intent_30_days", name="采购意向公开不足30日", enabled=False,
                                  params={"min_days": 30}, description=""))
        def project(key, unit, category, amount, status="registered"):
            p = Project(number=f"XM-{key}", name=f"项目{key}", unit_id=unit, year=2026, category=category,
                        amount=D(amount), status=status)
            s.add(p)
            s.flush()
            ids[key] = p.id
            return p

        def plan(key, p, plan_type="project", status="used"):
            row = Plan(number=f"JH-{key}", name=f"计划{key}", unit_id=p.unit_id, year=2026, plan_type=plan_type,
                       project_id=p.id, category=p.category, method="open_tender", amount=p.amount, status=status)
            s.add(row)
            s.flush()
            ids[key] = row.id
            return row

        def tender(key, pl, awarded):
            t = Tender(number=f"JY-{key}", title=f"交易{key}", plan_id=pl.id, unit_id=pl.unit_id, status="awarded",
                       announced_at=awarded - timedelta(days=30), opened_at=awarded - timedelta(days=5),
                       closed_at=awarded)
            s.add(t)
            s.flush()
            ids[key] = t.id

        def contract(key, pl, amount, status, paid="0", signed=date(2026, 11, 1), filed=None):
            c = Contract(number=f"HT-{key}", unit_id=pl.unit_id, plan_id=pl.id, project_id=pl.project_id,
                         name=f"合同{key}", amount=D(amount), paid_amount=D(paid), status=status, signed_date=signed,
                         filed_at=filed)
            s.add(c)
            s.flush()
            ids[key] = c.id

        # Three goods registrations of unit 1 in 2026, each under 1,000,000, together 1,050,000: split purchase.
        p1, p2, p3 = project("P1", 1, "goods", "400000"), project("P2", 1, "goods", "350000"), \
            project("P3", 1, "goods", "300000")
        project("P0", 1, "goods", "2000000")  # above the limit: not part of a split
        project("PX", 1, "goods", "500000", status="revoked")  # revoked: not counted
        # Awarded on 10 November, no contract: not filed within 7 days.
        tender("T1", plan("A", p1), datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
        # Awarded on 14 November 09:00 UTC: the 7 days run out between the first and the second run.
        tender("T2", plan("B", p2), datetime(2026, 11, 14, 9, 0, tzinfo=UTC))
        # Awarded 1 November, contract filed on the 5th (in time) but paid beyond its amount.
        plan_c = plan("C", p3)
        tender("T3", plan_c, datetime(2026, 11, 1, 2, 0, tzinfo=UTC))
        contract("C3", plan_c, "300000", "filed", paid="310000.50", filed=datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
        # Unit 2: a no-process plan whose signed contract is not filed (a year-end warning, once near year end).
        p4 = project("P4", 2, "services", "200000")
        contract("C4", plan("D", p4, plan_type="no_process", status="filed"), "200000", "published")
    return ids


def tick(app, clock):
    db = app.extensions["db"]
    fired = timers.run_due(db, clock(), "test")
    starts.dispatch(db, clock())
    return fired


def scans(app):
    with app.extensions["db"].Session() as s:
        return list(s.scalars(select(ProcessInstance).where(ProcessInstance.key == "supervision_scan")
                              .order_by(ProcessInstance.id)))


def warnings(app):
    with app.extensions["db"].Session() as s:
        return [(w.rule, w.record_type, w.record_id, w.unit_id, w.status)
                for w in s.scalars(select(SupervisionWarning).order_by(SupervisionWarning.id))]


def scan_outputs(api, instance_id):
    return {e["data"]["topic"]: e["data"]["outputs"] for e in api.history(instance_id) if e["type"] == "service_task"}


def test_daily_timer_raises_each_warning_once(app, clock, login):
    seeded = seed(app)
    clerk, clerk2, finance = login("clerk"), login("clerk2"), login("finance")
    clock.now = FIRST_RUN - timedelta(minutes=1)
    tick(app, clock)
    assert scans(app) == []

    clock.now = FIRST_RUN + timedelta(seconds=1)
    tick(app, clock)
    first = scans(app)
    assert len(first) == 1 and first[0].started_by is None and first[0].status == "completed"
    assert warnings(app) == [
        ("contract_not_filed", "tender", seeded["T1"], 1, "open"),
        ("payment_over_amount", "contract", seeded["C3"], 1, "open"),
        ("split_purchase", "unit", 1, 1, "open"),
    ]
    outputs = scan_outputs(finance, first[0].id)
    assert outputs["supervision.intent_30_days"]["intent_30_days"]["skipped"] == "规则已停用"
    assert outputs["supervision.year_end_unfiled"]["year_end_unfiled"]["skipped"] == "距年末超过 30 日，暂不检查"
    assert outputs["supervision.contract_not_filed"]["contract_not_filed"]["checked"] == 3
    assert len(outputs["supervision.start_resolutions"]["resolutions_requested"]) == 3
    found = {w["rule"]: w for w in finance.ok(finance.get("/api/supervision/warnings"))}
    # The limit: the unit's 分散采购限额 where a threshold table exists, else the rule's 1,000,000.00.
    limit = D(found["split_purchase"]["details"]["limit_amount"])
    assert limit > D("400000") and found["split_purchase"]["details"]["project_ids"] == \
        [seeded["P1"], seeded["P2"], seeded["P3"]]
    assert found["split_purchase"]["message"] == (
        f"福建省教育厅 2026 年度登记 3 个货物类采购项目（XM-P1、XM-P2、XM-P3），每个均低于 {limit:,.2f} 元，"
        "合计 1,050,000.00 元，疑似化整为零规避政府采购")
    assert found["payment_over_amount"]["message"] == \
        "合同 HT-C3 已支付 310,000.50 元，超过合同金额 300,000.00 元 10,000.50 元"
    assert "至今 11 日仍无备案合同（时限 7 日）" in found["contract_not_filed"]["message"]
    # One 巡检处理 task per warning, for the clerk of the warning's unit.
    tasks = [t for t in clerk.tasks() if t["name"] == "巡检处理"]
    assert len(tasks) == 3 and clerk2.tasks() == []
    assert {t["process"] for t in tasks} == {"warning_resolution"}

    # The next day: the same findings raise nothing again; T2's deadline has passed meanwhile.
    clock.now = FIRST_RUN + timedelta(days=1, seconds=1)
    tick(app, clock)
    assert len(scans(app)) == 2
    assert warnings(app)[3:] == [("contract_not_filed", "tender", seeded["T2"], 1, "open")]
    outputs = scan_outputs(finance, scans(app)[1].id)
    assert outputs["supervision.split_purchase"]["split_purchase"]["raised"] == []
    assert len([t for t in clerk.tasks() if t["name"] == "巡检处理"]) == 4
    with app.extensions["db"].Session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)
                        .where(ProcessInstance.key == "warning_resolution")) == 4
    # A third day: nothing new at all.
    clock.now = FIRST_RUN + timedelta(days=2, seconds=1)
    tick(app, clock)
    assert len(scans(app)) == 3 and len(warnings(app)) == 4


def test_resolution_thresholds_in_data_and_visibility(app, clock, login):
    seeded = seed(app)
    clerk, clerk2, finance, auditor = login("clerk"), login("clerk2"), login("finance"), login("auditor")
    # Started on demand by finance (the none start event); the scan covers finance's units.
    scan = finance.start("supervision_scan", {})
    assert scan["status"] == "completed"
    starts.dispatch(app.extensions["db"], clock())
    assert len(warnings(app)) == 3
    assert clerk.post("/api/processes/supervision_scan/instances", {"data": {}}).status_code == 403

    # 巡检处理: the clerk explains; the warning is resolved and stays resolved on the next scans.
    task = next(t for t in clerk.tasks() if t["name"] == "巡检处理")
    detail = clerk.ok(clerk.get(f"/api/tasks/{task['id']}"))
    wid = detail["data"]["warning_id"]
    assert detail["data"]["warning_message"] and detail["form"]["id"] == "warning_resolution"
    bad = clerk.post(f"/api/tasks/{task['id']}/complete", {"data": {"outcome": "rectified"}})
    assert bad.status_code == 400 and "resolution" in bad.json["errors"]
    clerk.complete(task["id"], {"outcome": "explained", "resolution": "合同已签订，正在办理备案"})
    warning = clerk.ok(clerk.get(f"/api/supervision/warnings/{wid}"))
    assert warning["status"] == "resolved" and warning["outcome_label"] == "已说明情况"
    assert warning["resolution_instance"] == task["instance_id"]
    finance.start("supervision_scan", {})
    assert len(warnings(app)) == 3 and warnings(app)[0][4] == "resolved"

    # Thresholds live in the rule table, set by the administrator: a 45-day year-end window catches unit 2's
    # unfiled contract; a disabled rule is skipped; a further payment beyond the amount is a new finding.
    admin = login("admin")
    set_rule = admin.ok(admin.client.put("/api/supervision/rules/year_end_unfiled", headers=admin.headers,
                                         json={"params": {"days_before_year_end": 45}}))
    assert set_rule["params"] == {"days_before_year_end": 45} and set_rule["updated_by"] == "admin"
    admin.ok(admin.client.put("/api/supervision/rules/split_purchase", headers=admin.headers,
                              json={"enabled": False}))
    with app.extensions["db"].Session() as s, s.begin():
        s.get(Contract, seeded["C3"]).paid_amount = D("320000.00")
    rescan = finance.start("supervision_scan", {})
    starts.dispatch(app.extensions["db"], clock())
    assert warnings(app)[3:] == [("payment_over_amount", "contract", seeded["C3"], 1, "open"),
                                 ("year_end_unfiled", "contract", seeded["C4"], 2, "open")]
    assert scan_outputs(finance, rescan["id"])["supervision.split_purchase"]["split_purchase"]["skipped"] == "规则已停用"
    rules = {r["code"]: r for r in finance.ok(finance.get("/api/supervision/rules"))}
    assert rules["year_end_unfiled"]["params"] == {"days_before_year_end": 45}
    assert rules["split_purchase"]["enabled"] is False and rules["contract_not_filed"]["params"] == {"days": 7}

    # Visibility: each unit sees its own warnings; the auditor all; filters work.
    assert [w["rule"] for w in clerk2.ok(clerk2.get("/api/supervision/warnings"))] == ["year_end_unfiled"]
    assert clerk2.get(f"/api/supervision/warnings/{wid}").status_code == 404
    assert len(auditor.ok(auditor.get("/api/supervision/warnings"))) == 5
    assert len(clerk.ok(clerk.get("/api/supervision/warnings", query_string={"status": "open"}))) == 3
    assert clerk2.tasks()[0]["name"] == "巡检处理"
    assert clerk.ok(clerk.get(f"/api/instances/{rescan['id']}/verify"))["ok"] is True


def test_two_scans_at_once_raise_each_warning_once(app, clock, login):
    """Each rule's row is locked while it runs (PostgreSQL FOR UPDATE; SQLite serialises writers), and open
    warnings are unique by rule and finding: concurrent scans never raise one twice."""
    import threading
    from helpers import Api
    seed(app)
    clients = [Api(app, "finance") for _ in range(3)]
    barrier = threading.Barrier(len(clients))
    results = []

    def scan(api):
        barrier.wait()
        response = api.post("/api/processes/supervision_scan/instances", {"data": {}})
        results.append(response.status_code)

    threads = [threading.Thread(target=scan, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201, 201, 201]
    assert [w[0] for w in warnings(app)] == ["contract_not_filed", "payment_over_amount", "split_purchase"]
    starts.dispatch(app.extensions["db"], clock())
    with app.extensions["db"].Session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)
                        .where(ProcessInstance.key == "warning_resolution")) == 3


def test_intent_rule_flags_announcements_without_a_30_day_intent(app, clock, login):
    """Until intent records exist the rule says so and checks nothing; with them, the seeded tenders (announced
    without any published intent) are flagged, each once."""
    from app import models
    seeded = seed(app, intent_rule=True)
    finance = login("finance")
    scan = finance.start("supervision_scan", {})
    result = scan_outputs(finance, scan["id"])["supervision.intent_30_days"]["intent_30_days"]
    if getattr(models, "Intent", None) is None:
        assert result["skipped"].startswith("采购意向记录尚未建立") and result["raised"] == []
        return
    assert result["skipped"] is None and result["checked"] == 3
    flagged = [w for w in warnings(app) if w[0] == "intent_30_days"]
    assert flagged == [("intent_30_days", "tender", seeded[t], 1, "open") for t in ("T1", "T2", "T3")]
    message = finance.ok(finance.get(f"/api/supervision/warnings/{result['raised'][0]}"))["message"]
    assert message.startswith("交易项目 JY-T1 于 2026-10-11 发布采购公告，项目未公开采购意向（应不少于 30 日）")
    again = finance.start("supervision_scan", {})
    assert scan_outputs(finance, again["id"])["supervision.intent_30_days"]["intent_30_days"]["raised"] == []


def test_only_the_administrator_sets_rules_within_their_ranges(app, login):
    admin, clerk, auditor = login("admin"), login("clerk"), login("auditor")

    def put(user, code, body):
        return user.client.put(f"/api/supervision/rules/{code}", headers=user.headers, json=body)

    for user in (clerk, auditor):
        response = put(user, "contract_not_filed", {"params": {"days": 10}})
        assert response.status_code == 403 and response.json["message"] == "只有系统管理员可以设置预警规则"
    refusals = [({"params": {"weeks": 2}}, "params.weeks", "规则“合同未按时备案”没有参数 weeks（可设置：days）"),
                ({"params": {"days": -1}}, "params.days", "天数应在 0 到 365 之间"),
                ({"params": {"days": "7.5"}}, "params.days", "天数应为整数"),
                ({"params": {"days": True}}, "params.days", "天数应为整数")]
    for body, field, message in refusals:
        response = put(admin, "contract_not_filed", body)
        assert response.status_code == 400 and response.json["errors"] == {field: [message]}, response.json
    bad_amount = put(admin, "split_purchase", {"params": {"limit_amount": "12.345"}})
    assert bad_amount.json["errors"] == {"params.limit_amount": ["限额金额（元）应在 0.01 到 1000000000000 之间，最多两位小数"]}
    assert put(admin, "split_purchase", {"params": {"limit_amount": "NaN"}}).status_code == 400
    assert put(admin, "contract_not_filed", {"enabled": "maybe"}).status_code == 400
    assert put(admin, "no_such_rule", {"enabled": False}).status_code == 404
    rules = {r["code"]: r for r in admin.ok(admin.get("/api/supervision/rules"))}
    assert rules["contract_not_filed"]["params"] == {"days": 7} and rules["split_purchase"]["enabled"] is True

    done = admin.ok(put(admin, "split_purchase", {"params": {"limit_amount": 800000, "min_count": 3}}))
    assert done["params"] == {"limit_amount": "800000.00", "min_count": 3}
