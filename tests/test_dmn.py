"""DMN decision tables: deployed with diagrams through /engine-rest, asked by business rule tasks, replayed."""
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import dmn
from app.models import DecisionDefinition, HistoryEvent, ProcessInstance
from tests.test_engine_rest import add_demo_user, basic, deploy

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DMN, BPMN = FIXTURES / "dmn_thresholds.dmn", FIXTURES / "dmn_route.bpmn"
STARTUP = [p.name for p in (FIXTURES.parent.parent / "bpmn").glob("*.dmn")]  # the service's own decisions


def _tables():
    tables, problems = dmn.parse(DMN.read_text(encoding="utf-8"), DMN.name)
    assert problems == []
    return {t.key: t for t in tables}


@pytest.mark.parametrize("category, amount, method", [
    ("goods", 999999.99, "分散采购"), ("goods", 1000000, "公开招标"), ("services", 1000000.01, "公开招标"),
    ("goods", "1000000.00", "公开招标"), ("works", 3999999.99, "分散采购"), ("works", 4000000, "公开招标"),
    ("works", 0, "分散采购"),
])
def test_unique_table_at_and_around_the_threshold(category, amount, method):
    outcome = dmn.evaluate(_tables()["procurement_method"], {"category": category, "amount": amount})
    assert [r["method"] for r in outcome["results"]] == [method]
    assert outcome["results"][0]["needs_tender"] is (method == "公开招标")


def test_unique_table_without_a_matching_rule_gives_no_result():
    outcome = dmn.evaluate(_tables()["procurement_method"], {"category": "works", "amount": -1})
    assert outcome["results"] == [] and dmn.map_result(outcome["results"], "singleResult", "x") is None


@pytest.mark.parametrize("amount, level", [
    (1000000, "科室负责人"), (1000000.01, "分管领导"), (4999999.99, "分管领导"), (5000000, "主要领导"),
])
def test_first_table_takes_the_first_matching_rule(amount, level):
    outcome = dmn.evaluate(_tables()["review_level"], {"amount": amount})
    assert dmn.map_result(outcome["results"], "singleEntry", "review_level") == level


@pytest.mark.parametrize("amount, chain", [
    (999999.99, ["科室负责人"]), (1000000, ["科室负责人", "分管领导"]),
    (4999999.99, ["科室负责人", "分管领导"]), (5000000, ["科室负责人", "分管领导", "主要领导"]),
])
def test_collect_table_and_result_mappings(amount, chain):
    results = dmn.evaluate(_tables()["amount_chain"], {"amount": amount})["results"]
    assert dmn.map_result(results, "collectEntries", "amount_chain") == chain
    assert dmn.map_result(results, "resultList", "amount_chain") == [{"reviewer": r} for r in chain]
    assert dmn.map_result(results, None, "amount_chain") == [{"reviewer": r} for r in chain]
    if len(chain) > 1:
        with pytest.raises(dmn.DecisionError, match="只允许一条"):
            dmn.map_result(results, "singleEntry", "amount_chain")


def test_unique_table_with_overlapping_rules_is_an_error():
    text = DMN.read_text(encoding="utf-8").replace("&lt; 1000000", "&lt;= 1000000")
    table = {t.key: t for t in dmn.parse(text, "x.dmn")[0]}["procurement_method"]
    assert dmn.evaluate(table, {"category": "goods", "amount": 999999})["matched"] == ["Rule_goods_below"]
    with pytest.raises(dmn.DecisionError, match="UNIQUE"):
        dmn.evaluate(table, {"category": "goods", "amount": 1000000})


def test_decision_tables_decide_the_route_and_replay_agrees(app, login):
    client = app.test_client()
    response = deploy(client, [BPMN, DMN], name="dmn")
    assert response.status_code == 200, response.json
    decisions = response.json["deployedDecisionDefinitions"]
    assert {d["key"]: d["version"] for d in decisions.values()} == {
        "procurement_method": 1, "review_level": 1, "amount_chain": 1}
    assert all(d["resource"] == "dmn_thresholds.dmn" for d in decisions.values())
    add_demo_user(app)
    started = {}
    for amount in (999999.99, 1000000, 1000000.01):
        variables = {"category": {"value": "goods", "type": "String"}, "amount": {"value": amount, "type": "Double"}}
        answer = client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                             headers=basic("demo"))
        assert answer.status_code == 200, answer.json
        started[amount] = int(answer.json["id"])
    with app.extensions["db"].Session() as s:
        data = {a: s.get(ProcessInstance, iid).data for a, iid in started.items()}
        events = s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == started[1000000],
                                                      HistoryEvent.type == "decision_evaluated")
                           .order_by(HistoryEvent.seq)).all()
    assert data[999999.99]["method_result"] == {"method": "分散采购", "needs_tender": False}
    assert data[1000000]["method_result"] == {"method": "公开招标", "needs_tender": True}
    assert [data[a]["review_level"] for a in started] == ["科室负责人", "科室负责人", "分管领导"]
    assert data[1000000]["review_chain"] == ["科室负责人", "分管领导"]
    assert [(e.task.split(":")[0], e.data["decision"], e.data["version"]) for e in events] == [
        ("d_method", "procurement_method", 1), ("d_level", "review_level", 1), ("d_chain", "amount_chain", 1)]
    assert events[0].data["matched"] == ["Rule_goods_above"] and events[0].data["inputs"]["预算金额（元）"] == 1000000
    demo = login("demo")
    tasks = {t["instance_id"]: t["name"] for t in demo.tasks()}
    assert tasks[started[999999.99]] == "确认分散采购" and tasks[started[1000000]] == "确认公开招标"
    for iid in started.values():
        assert demo.ok(demo.get(f"/api/instances/{iid}/verify"))["ok"] is True


def test_a_changed_table_is_a_new_version_and_latest_binding_uses_it(app, tmp_path):
    client = app.test_client()
    assert deploy(client, [BPMN, DMN], name="dmn").status_code == 200
    again = deploy(client, [DMN], name="dmn")  # unchanged: no new version
    assert again.status_code == 200 and again.json["deployedDecisionDefinitions"] is None
    changed = tmp_path / DMN.name
    changed.write_text(DMN.read_text(encoding="utf-8").replace("1000000", "2000000"), encoding="utf-8")
    answer = deploy(client, [changed], name="dmn")
    assert {d["key"]: d["version"] for d in answer.json["deployedDecisionDefinitions"].values()}["review_level"] == 2
    add_demo_user(app)
    variables = {"category": {"value": "goods", "type": "String"}, "amount": {"value": 1500000, "type": "Long"}}
    iid = int(client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                          headers=basic("demo")).json["id"])
    with app.extensions["db"].Session() as s:
        assert s.get(ProcessInstance, iid).data["method_result"]["method"] == "分散采购"
        assert len(s.scalars(select(DecisionDefinition).where(DecisionDefinition.key == "amount_chain")).all()) == 2


def _refused(client, files):
    response = deploy(client, files, name="bad")
    assert response.status_code == 400, response.json
    return {(e["mainElementId"], e["message"]) for f in response.json["details"].values() for e in f["errors"]}


def test_a_bad_table_is_refused_naming_the_element(app, tmp_path):
    bad = tmp_path / "bad.dmn"
    bad.write_text(DMN.read_text(encoding="utf-8").replace("&gt;= 4000000", "&gt;= import os")
                   .replace('hitPolicy="FIRST"', 'hitPolicy="PRIORITY"'), encoding="utf-8")
    errors = _refused(app.test_client(), [bad])
    elements = {element for element, _ in errors}
    assert {"UnaryTests_8", "DecisionTable_level"} <= elements
    assert all("/" in message and any("\u4e00" <= ch <= "\u9fff" for ch in message) for _, message in errors)
    broken = tmp_path / "broken.dmn"
    broken.write_text("<definitions", encoding="utf-8")
    assert any("XML" in m for _, m in _refused(app.test_client(), [broken]))
    with app.extensions["db"].Session() as s:
        assert s.scalars(select(DecisionDefinition).where(DecisionDefinition.resource_name.not_in(STARTUP))).first() is None


def test_business_rule_task_problems_are_refusals_not_500(app, tmp_path):
    text = BPMN.read_text(encoding="utf-8")
    missing = tmp_path / "missing.bpmn"
    missing.write_text(text.replace(' camunda:decisionRef="procurement_method"', ""), encoding="utf-8")
    unknown = tmp_path / "unknown.bpmn"
    unknown.write_text(text.replace('camunda:decisionRef="amount_chain"', 'camunda:decisionRef="no_such"')
                       .replace('mapDecisionResult="singleEntry"', 'mapDecisionResult="single"'), encoding="utf-8")
    client = app.test_client()
    errors = _refused(client, [missing, DMN])
    assert [e for e, m in errors if "decisionRef" in m] == ["d_method"]
    errors = _refused(client, [unknown, DMN])
    assert {e for e, _ in errors} == {"d_level"}  # an unknown decision is not a refusal: see below


def test_a_diagram_deploys_before_its_decisions_as_in_camunda_7(app):
    """Camunda 7 looks a decision up when the task is reached, and the Modeler deploys a .bpmn and its .dmn one at a
    time: the diagram deploys (with a warning), a start that reaches the task is a clear 422, and once the .dmn is
    deployed the same definition runs."""
    from test_engine_rest import add_demo_user
    client = app.test_client()
    assert deploy(client, [BPMN], name="diagram first").status_code == 200
    add_demo_user(app)
    variables = {"category": {"value": "goods", "type": "String"}, "amount": {"value": 5, "type": "Double"}}
    refused = client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                          headers=basic("demo"))
    assert refused.status_code == 422 and "procurement_method" in refused.json["message"], refused.json
    assert deploy(client, [DMN], name="decisions").status_code == 200
    started = client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                          headers=basic("demo"))
    assert started.status_code == 200, started.json


def test_dry_run_takes_decision_tables_and_deploys_nothing(app, login):
    from test_dry_run import dry_run
    analyst = login("analyst")
    report = analyst.ok(dry_run(analyst, [(BPMN.name, BPMN.read_bytes()), (DMN.name, DMN.read_bytes())]))
    assert [d["key"] for d in report["deploys"]] == ["dmn_route"]
    alone = analyst.ok(dry_run(analyst, [(BPMN.name, BPMN.read_bytes())]))  # decisions may come later (Camunda 7)
    assert [d["key"] for d in alone["deploys"]] == ["dmn_route"]
    with app.extensions["db"].Session() as s:
        assert s.scalars(select(DecisionDefinition).where(DecisionDefinition.resource_name.not_in(STARTUP))).first() is None


def test_dry_run_of_a_changed_table_shows_the_instances_it_would_decide_differently(app, login, tmp_path):
    from test_dry_run import dry_run
    client = app.test_client()
    assert deploy(client, [BPMN, DMN], name="dmn").status_code == 200
    add_demo_user(app)
    variables = {"category": {"value": "goods", "type": "String"}, "amount": {"value": 1500000, "type": "Long"}}
    iid = int(client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                          headers=basic("demo")).json["id"])
    analyst = login("analyst")
    text = DMN.read_text(encoding="utf-8")
    # 公开招标 from 2,000,000: the instance (1,500,000, 公开招标) would now be decided 分散采购
    moved = analyst.ok(dry_run(analyst, [(DMN.name, text.replace("1000000", "2000000").encode())]))
    assert {d["key"] for d in moved["decisions"]} == {"procurement_method", "review_level", "amount_chain"}
    [entry] = [e for e in moved["instances"] if e["instance_id"] == iid]
    assert entry["match"] is False and entry["divergence"]["expected"]["task"].startswith("d_method")
    assert entry["divergence"]["actual"]["result"] == {"method": "分散采购", "needs_tender": False}
    assert "决策结果" in entry["divergence"]["reason"]
    # 主要领导 from 6,000,000: nothing changes for 1,500,000
    same = analyst.ok(dry_run(analyst, [(DMN.name, text.replace("5000000", "6000000").encode())]))
    assert [e["match"] for e in same["instances"] if e["instance_id"] == iid] == [True]
    with app.extensions["db"].Session() as s:
        assert len(s.scalars(select(DecisionDefinition).where(DecisionDefinition.resource_name.not_in(STARTUP))).all()) == 3


def test_two_hits_of_a_unique_table_refuse_the_step_without_a_500(app, tmp_path):
    client = app.test_client()
    overlapping = tmp_path / DMN.name
    overlapping.write_text(DMN.read_text(encoding="utf-8").replace("&lt; 1000000", "&lt;= 1000000"), encoding="utf-8")
    assert deploy(client, [BPMN, overlapping], name="dmn").status_code == 200
    add_demo_user(app)
    variables = {"category": {"value": "goods", "type": "String"}, "amount": {"value": 1000000, "type": "Long"}}
    answer = client.post("/engine-rest/process-definition/key/dmn_route/start", json={"variables": variables},
                         headers=basic("demo"))
    assert 400 <= answer.status_code < 500 and "UNIQUE" in answer.json["message"], answer.json
    with app.extensions["db"].Session() as s:
        assert s.scalars(select(ProcessInstance).where(ProcessInstance.key == "dmn_route")).first() is None
