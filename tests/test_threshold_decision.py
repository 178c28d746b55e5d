"""限额标准 as the DMN decision ``thresholds`` (bpmn/thresholds.dmn): each threshold at, just below and just above its
boundary; the 系统设置 page / PUT /api/thresholds deploys a new version with who and when; a Modeler deployment of
the table is what the rules use; start-up never reverts a later version; the former table's edits are adopted."""
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import dmn, threshold_decision
from app.engine.deployments import deploy, deploy_directory
from app.models import DecisionDefinition, DomainError, Unit
from app.models import threshold

ROOT = Path(__file__).resolve().parent.parent
CENT = Decimal("0.01")


def _unit(session, name, region, level="county"):
    unit = Unit(code=name[:8], name=name, level=level, region=region)
    session.add(unit)
    session.flush()
    return unit


def _refused(session, category, amount, unit):
    try:
        threshold.check_self_procurement(session, category, amount, "项目", unit)
    except DomainError as error:
        assert error.code == "AGENCY_REQUIRED" and error.field == "implementation_form"
        return error.message
    return None


def _evaluate(session, kind, region, category):
    row = session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == "thresholds")
                          .order_by(DecisionDefinition.version.desc()).limit(1)).first()
    results = dmn.evaluate(dmn.table_of(row), {"kind": kind, "region": region, "category": category})["results"]
    return Decimal(str(results[0]["amount"])) if results else None


def test_the_decision_is_deployed_at_start_up_with_the_seed_figures(app):
    with app.extensions["db"].Session() as session:
        assert _evaluate(session, "decentralized", "省级", "goods") == 500000
        assert _evaluate(session, "decentralized", "平潭", "works") == 600000
        assert _evaluate(session, "decentralized", "厦门", "works") == 2000000
        assert _evaluate(session, "transaction", "柳江", "works") == 4000000
        assert _evaluate(session, "transaction", "福州", "goods") is None  # 004 §3 is 柳江's rule only
        assert _evaluate(session, "sme_whole", "福州", "services") == 2000000  # "-": every region
        assert _evaluate(session, "sme_share", "*", "works") == 40
        assert {(r.kind, r.region, r.category): r.amount for r in threshold.all_rows(session)} == \
            {d[:3]: d[3] for d in threshold.DEFAULTS}


@pytest.mark.parametrize("region, level, category, limit", [
    ("福建省", "provincial", "goods", 500000), ("福州市", "city", "works", 1000000),
    ("龙岩市", "city", "works", 600000), ("厦门市", "city", "services", 1000000)])
def test_decentralized_limit_at_just_below_and_just_above(app, region, level, category, limit):
    with app.extensions["db"].Session() as session:
        unit = _unit(session, f"{region}测试单位", region, level)
        limit = Decimal(limit)
        assert threshold.decentralized_limit(session, unit, category)[1] == limit
        assert _refused(session, category, limit - CENT, unit) is None
        for amount in (limit, limit + CENT):
            assert "分散采购限额" in _refused(session, category, amount, unit), amount


@pytest.mark.parametrize("category, limit", [("goods", 300000), ("services", 300000), ("works", 4000000)])
def test_transaction_threshold_at_just_below_and_just_above(app, category, limit):
    with app.extensions["db"].Session() as session:
        unit = _unit(session, "柳江区测试局", "柳州市柳江区")
        limit = Decimal(limit)
        assert threshold.transaction_threshold(session, category, unit) == ("柳江", limit)
        assert _refused(session, category, limit - CENT, unit) is None
        for amount in (limit, limit + CENT):
            assert "柳江区划交易系统限额" in _refused(session, category, amount, unit), amount


def _sme(session, category, amount, reserved):
    from app.models.plan import Plan
    plan = Plan(category=category, amount=Decimal(amount), sme_reserved_amount=Decimal(reserved), sme_reason="")
    try:
        plan.check_sme(session)
    except DomainError as error:
        assert error.code == "SME_RULE"
        return error.message
    return None


@pytest.mark.parametrize("category, whole, share", [("goods", 2000000, 30), ("works", 4000000, 40)])
def test_sme_whole_and_share_at_just_below_and_just_above(app, category, whole, share):
    with app.extensions["db"].Session() as session:
        whole = Decimal(whole)
        assert threshold.sme_rule(session, category) == (whole, Decimal(share) / 100)
        for amount in (whole - CENT, whole):  # at most the line: reserved whole
            assert _sme(session, category, amount, amount) is None
            assert "应全部预留给中小企业" in _sme(session, category, amount, amount - CENT)
        above = whole + CENT  # above it: at least the share
        assert _sme(session, category, above, (above * share / 100).quantize(CENT, "ROUND_UP")) is None
        assert "预留比例应不低于" in _sme(session, category, above, (above * share / 100 - CENT).quantize(CENT))


def test_a_put_deploys_a_new_version_recorded_with_who_when_and_what(app, login, clock):
    admin = login("admin")
    versions = admin.ok(admin.get("/api/thresholds/history"))
    first = versions[0]["version"]
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "decentralized", "region": "福州", "category": "goods", "amount": "600000"},
        {"kind": "transaction", "region": "福州", "category": "goods", "amount": "450000"}]}))
    history = admin.ok(admin.get("/api/thresholds/history"))
    assert history[0]["version"] == first + 1 and history[0]["deployed_by"] == "admin"
    assert history[0]["source"] == "系统设置" and history[0]["deployed_at"]
    assert [(c["kind"], c["region"], c["category"], c["old"], c["new"]) for c in history[0]["changes"]] == [
        ("decentralized", "福州", "goods", "500000.00", "600000.00"),
        ("transaction", "福州", "goods", None, "450000.00")]
    assert login("auditor").get("/api/thresholds/history").status_code == 200
    assert login("clerk").get("/api/thresholds/history").status_code == 403
    # The same values again: no new version.
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "decentralized", "region": "福州", "category": "goods", "amount": "600000.00"}]}))
    assert admin.ok(admin.get("/api/thresholds/history"))[0]["version"] == first + 1
    with app.extensions["db"].Session() as session:
        unit = _unit(session, "福州市测试局", "福州市")
        assert _refused(session, "goods", Decimal("449999.99"), unit) is None  # the new rule, just below
        assert "福州区划交易系统限额 45万元" in _refused(session, "goods", Decimal("450000"), unit)
        xml = session.scalars(select(DecisionDefinition.dmn_xml).where(DecisionDefinition.key == "thresholds")
                              .order_by(DecisionDefinition.version.desc()).limit(1)).first()
        assert '<text>"福州"</text>' in xml and "<text>450000</text>" in xml


def test_a_modeler_deployment_is_what_the_rules_use_and_start_up_keeps_it(app):
    text = (ROOT / "bpmn" / "thresholds.dmn").read_text(encoding="utf-8")
    changed = text.replace("<text>300000</text>", "<text>250000</text>")  # 柳江's goods and services
    assert changed != text
    with app.extensions["db"].Session() as session, session.begin():
        deploy(session, [("thresholds.dmn", changed.encode())], deployed_by="analyst", source="Camunda Modeler")
        unit = _unit(session, "柳江区测试局", "柳州市柳江区")
        assert _refused(session, "goods", Decimal("249999.99"), unit) is None
        assert "25万元" in _refused(session, "goods", Decimal("250000"), unit)
        # A restart deploys bpmn/ again: the file's (older) content is no change, the analyst's version stays.
        deploy_directory(session, str(ROOT / "bpmn"))
        assert "25万元" in _refused(session, "goods", Decimal("250000"), unit)
        row = next(r for r in threshold.all_rows(session) if r.key == ("transaction", "柳江", "goods"))
        assert row.amount == 250000 and row.updated_by == "analyst"


def test_start_up_adopts_what_an_administrator_set_in_the_former_table_once(app):
    with app.extensions["db"].Session() as session, session.begin():
        session.add(threshold.Threshold(kind="decentralized", region="南平", category="works",
                                        amount=Decimal("700000"), source="管理员设置", updated_by="admin"))
        session.add(threshold.Threshold(kind="decentralized", region="福州", category="goods",
                                        amount=Decimal("500000"), source="001 §2.2.1 注①"))  # a seeded row
        session.flush()
        deployment = threshold_decision.adopt_table(session)
        assert deployment is not None
        assert threshold.decentralized_limit(session, _unit(session, "南平市测试局", "南平市"), "works")[1] == 700000
        assert threshold_decision.adopt_table(session) is None  # adopted once; the table is history
        assert session.scalars(select(threshold.Threshold.source).where(
            threshold.Threshold.region == "南平")).one().startswith(threshold.MIGRATED)


def test_the_settings_page_shows_the_versions_with_who_and_what_changed(app, login):
    from helpers import Web
    admin = login("admin")
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "decentralized", "region": "厦门", "category": "works", "amount": "2500000"}]}))
    page = Web(app, "admin").get("/admin").data.decode()
    history = page[page.index('data-testid="threshold-history"'):]
    assert "系统设置页面" in history and "admin" in history
    assert "分散采购限额标准 · 厦门 · 工程：2,000,000.00 → 2,500,000.00" in history
    assert "初始版本（42 条规则）" in history


def test_a_region_that_cannot_be_a_table_entry_is_a_400(login):
    admin = login("admin")
    response = admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "transaction", "region": '柳"州', "category": "goods", "amount": 1}]})
    assert response.status_code == 400
    assert "引号" in response.json["errors"]["thresholds"]["0"]["region"][0]
