"""Camunda 7's /engine-rest/decision-definition (issue 18): list/count with Camunda's query parameters, by id, by
key (latest version), the DMN XML, and evaluate by id and by key with typed variables in and Camunda's result list
(one object per matched rule, typed outputs) out."""
from pathlib import Path

import pytest

from test_engine_rest import basic, deploy

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DMN = FIXTURES / "dmn_thresholds.dmn"


@pytest.fixture
def rest(app):
    client = app.test_client()
    assert deploy(client, [DMN], name="rules").status_code == 200

    def get(path, user="clerk"):
        return client.get(f"/engine-rest{path}", headers=basic(user))

    def post(path, body, user="clerk"):
        return client.post(f"/engine-rest{path}", json=body, headers=basic(user))
    get.post, get.client = post, client
    return get


def redeploy_changed(rest, tmp_path):
    changed = tmp_path / "dmn_thresholds.dmn"
    changed.write_text(DMN.read_text(encoding="utf-8").replace('"主要领导"</text></outputEntry>\n      </rule>\n'
                                                                '      <rule id="Rule_level_mid">',
                                                                '"单位负责人"</text></outputEntry>\n      </rule>\n'
                                                                '      <rule id="Rule_level_mid">'),
                       encoding="utf-8")
    assert deploy(rest.client, [changed], name="rules v2").status_code == 200


def test_list_count_get_and_latest_by_key(rest, tmp_path):
    listed = rest("/decision-definition?sortBy=key&sortOrder=asc").json
    # The fixture's three decisions, beside the service's own (bpmn/thresholds.dmn, bpmn/review_chain.dmn).
    assert [(d["key"], d["version"], d["resource"]) for d in listed] == [
        ("amount_chain", 1, "dmn_thresholds.dmn"), ("procurement_method", 1, "dmn_thresholds.dmn"),
        ("review_chain", 1, "review_chain.dmn"), ("review_level", 1, "dmn_thresholds.dmn"),
        ("thresholds", 1, "thresholds.dmn")]
    first = listed[1]
    assert set(first) >= {"id", "key", "category", "name", "version", "resource", "deploymentId",
                          "decisionRequirementsDefinitionId", "decisionRequirementsDefinitionKey", "tenantId",
                          "versionTag", "historyTimeToLive"}
    assert first["id"].startswith("procurement_method:1:") and first["name"] == "采购方式（分散采购限额）"
    assert rest(f"/decision-definition/{first['id']}").json == first
    redeploy_changed(rest, tmp_path)
    assert rest("/decision-definition/count").json == {"count": 8}  # every decision of the changed file, again
    assert rest("/decision-definition/count?key=review_level").json == {"count": 2}
    assert rest("/decision-definition/count?latestVersion=true").json == {"count": 5}
    assert rest("/decision-definition/count?keyLike=review%25&version=2").json == {"count": 1}
    assert rest("/decision-definition/count?keyLike=%25chain").json == {"count": 3}
    latest = rest("/decision-definition/key/review_level").json
    assert latest["version"] == 2
    assert [d["version"] for d in rest("/decision-definition?key=review_level&sortBy=version&sortOrder=desc"
                                       "&maxResults=1").json] == [2]
    assert rest("/decision-definition?tenantIdIn=t1").json == []
    assert rest("/decision-definition/key/nope").status_code == 404
    assert rest("/decision-definition/review_level:9:99999").status_code == 404
    assert rest("/decision-definition?sortBy=key").status_code == 400
    assert rest("/decision-definition/count", user="nobody").status_code == 401


def test_xml_by_id_and_key(rest):
    by_key = rest("/decision-definition/key/amount_chain/xml").json
    assert by_key["id"].startswith("amount_chain:1:") and "<decision id=\"amount_chain\"" in by_key["dmnXml"]
    assert rest(f"/decision-definition/{by_key['id']}/xml").json == by_key


def test_evaluate_by_key_and_id_answers_camunda_result_lists(rest, tmp_path):
    goods = {"category": {"value": "goods", "type": "String"}, "amount": {"value": 1200000, "type": "Double"}}
    answer = rest.post("/decision-definition/key/procurement_method/evaluate", {"variables": goods})
    assert answer.status_code == 200, answer.json
    assert answer.json == [{"method": {"type": "String", "value": "公开招标", "valueInfo": {}},
                            "needs_tender": {"type": "Boolean", "value": True, "valueInfo": {}}}]
    chain = rest.post("/decision-definition/key/amount_chain/evaluate",
                      {"variables": {"amount": {"value": 6000000, "type": "Long"}}}).json
    assert [r["reviewer"]["value"] for r in chain] == ["科室负责人", "分管领导", "主要领导"]  # COLLECT: every rule
    none = rest.post("/decision-definition/key/procurement_method/evaluate",
                     {"variables": {"category": {"value": "works", "type": "String"},
                                    "amount": {"value": -1, "type": "Integer"}}})
    assert none.status_code == 200 and none.json == []
    first_version = rest("/decision-definition?key=review_level").json[0]["id"]
    redeploy_changed(rest, tmp_path)
    top = {"variables": {"amount": {"value": 9000000, "type": "Integer"}}}
    assert rest.post("/decision-definition/key/review_level/evaluate", top).json == [
        {"level": {"type": "String", "value": "单位负责人", "valueInfo": {}}}]  # key: the latest version
    assert rest.post(f"/decision-definition/{first_version}/evaluate", top).json == [
        {"level": {"type": "String", "value": "主要领导", "valueInfo": {}}}]  # id: that version


def test_evaluate_bad_input_is_400_never_500(rest, tmp_path):
    bad_type = rest.post("/decision-definition/key/review_level/evaluate",
                         {"variables": {"amount": {"value": "lots", "type": "Integer"}}})
    assert bad_type.status_code == 400 and "amount" in bad_type.json["message"]
    clash = tmp_path / "dmn_thresholds.dmn"  # a UNIQUE table whose rules overlap: Camunda refuses the result
    clash.write_text(DMN.read_text(encoding="utf-8").replace("<text>&gt;= 1000000</text></inputEntry>\n"
                                                             "        <outputEntry id=\"LiteralExpression_3\">",
                                                             "<text>&gt;= 0</text></inputEntry>\n"
                                                             "        <outputEntry id=\"LiteralExpression_3\">"),
                     encoding="utf-8")
    assert deploy(rest.client, [clash], name="clash").status_code == 200
    wrong = rest.post("/decision-definition/key/procurement_method/evaluate",
                      {"variables": {"category": {"value": "goods", "type": "String"},
                                     "amount": {"value": 5, "type": "Integer"}}})
    assert wrong.status_code == 400 and wrong.json["type"] == "RestException", wrong.json
    assert "procurement_method" in wrong.json["message"] and "Traceback" not in wrong.json["message"]
    assert rest.post("/decision-definition/key/review_level/evaluate", ["x"]).status_code == 400
    assert rest.post("/decision-definition/key/nope/evaluate", {}).status_code == 404
