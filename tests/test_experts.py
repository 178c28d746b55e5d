"""专家抽取 (seed 001 ch.10): a random draw from the expert pool honouring avoidances, reproducible from its stored
seed; the list, answers, adjustment (补抽) with a new seed, revocation only while nobody answered."""
import pytest
from sqlalchemy import select

from app.models.expert import ANY_REGION, PoolShort, draw, pool_digest
from helpers import names

# The demo pool (app/models/expert.py seed_demo_experts): 信息技术 experts are ids 1, 9, 17, 25, 33 (id 1 works at
# 福州大学); 财务会计 ids 6, 14, 22, 30, 38 (id 14 at 福州大学); 法律 id 7 is the only available one of 福建省本级.
IT, FINANCE = [1, 9, 17, 25, 33], [6, 14, 22, 30, 38]


def pool(n=12):
    return [{"id": i, "category": "it" if i % 2 else "law", "region": "福州市" if i % 3 else "厦门市",
             "unit": f"单位{i % 4}", "id_number": f"35010019800101{i:03d}X"[-18:], "available": i != 5}
            for i in range(1, n + 1)]


def test_the_draw_is_a_pure_function_of_its_inputs():
    groups = [{"category": "it", "region": ANY_REGION, "count": 2}, {"category": "law", "region": ANY_REGION, "count": 2}]
    first = draw(pool(), ["单位0"], [], groups, [2, 2], "00000000000000aa")
    again = draw(list(reversed(pool())), [" 单位0 "], [], groups, [2, 2], "00000000000000aa")
    assert first == again  # order of the pool and blanks in names do not matter
    assert first[0]["candidates"] == [1, 3, 7, 9, 11]  # 5 unavailable; no avoided unit among the odd ids but 单位0
    assert first[1]["candidates"] == [2, 6, 10]  # 4, 8, 12 are at 单位0
    assert all(len(g["drawn"]) == 2 and set(g["drawn"]) <= set(g["candidates"]) for g in first)
    # Another seed draws (for some seed) other experts; the same seed always the same ones.
    results = {tuple(map(tuple, (g["drawn"] for g in draw(pool(), ["单位0"], [], groups, [2, 2], f"{s:016x}"))))
               for s in range(20)}
    assert len(results) > 1
    # Avoidance by ID number, exclusion of experts already drawn, and a region.
    avoided = draw(pool(), [], [pool()[0]["id_number"]], [{"category": "it", "region": "福州市", "count": 1}], [1],
                   "ab", exclude_ids=[7])
    assert avoided[0]["candidates"] == [11]  # it + 福州市: 1, 5, 7, 11 → 1 avoided, 5 unavailable, 7 excluded
    with pytest.raises(PoolShort) as short:
        draw(pool(), [], [], groups[:1] + [{"category": "law", "region": "厦门市", "count": 3}], [2, 3], "ab")
    assert short.value.message == "第 2 组（法律，厦门市）需抽取 3 人，符合条件的专家只有 2 人，请调整抽取条件"
    assert pool_digest(pool()) == pool_digest(pool()) != pool_digest(pool(11))


def extraction(api, ident):
    return api.ok(api.get(f"/api/expert-extractions/{ident}"))


def start_data(**overrides):
    data = {"title": "智慧校园网络设备采购需求论证", "method": "requirement",
            "avoid_units": [{"unit_name": "福州大学"}],
            "avoid_id_numbers": [],
            "groups": [{"category": "it", "region": ANY_REGION, "count": 2},
                       {"category": "finance", "region": ANY_REGION, "count": 2}]}
    data.update(overrides)
    return data


def list_task(clerk, iid):
    return clerk.task_named("评审专家名单", iid)


def act(clerk, iid, **data):
    return clerk.complete(list_task(clerk, iid)["id"], data)


def test_extraction_draw_answers_adjust_and_complete(app, login):
    clerk, admin = login("clerk"), login("admin")
    pool_experts = admin.ok(admin.get("/api/experts", query_string={"category": "it"}))
    assert [e["id"] for e in pool_experts] == IT and len(pool_experts[0]["id_number"]) == 18
    assert "*" in clerk.ok(clerk.get("/api/experts"))[0]["id_number"]  # masked for everyone but the admin
    avoided_id = next(e for e in pool_experts if e["id"] == 9)["id_number"]

    instance = clerk.start("expert_extraction", start_data(avoid_id_numbers=[{"id_number": avoided_id.lower()}]))
    iid, data = instance["id"], instance["data"]
    eid = data["extraction_id"]
    record = extraction(clerk, eid)
    assert record["status"] == "drawn" and record["number"] == f"ZJ2026{eid:06d}"
    assert record["avoid_units"] == ["福建省教育厅", "福州大学"]  # the purchasing unit avoids itself
    assert record["avoid_id_numbers"] == [avoided_id]
    # Candidates honour the avoidances (1 works at 福州大学, 9 by ID number; 14 at 福州大学).
    assert data["candidate_ids"] == [[17, 25, 33], [6, 22, 30, 38]]
    drawn = data["drawn_expert_ids"]
    assert len(drawn[0]) == 2 and set(drawn[0]) <= {17, 25, 33} and len(drawn[1]) == 2
    assert len(data["draw_seed"]) == 16 and data["draw_round"] == 1
    assert sorted(e["expert_id"] for e in record["experts"]) == sorted(drawn[0] + drawn[1])
    assert names(clerk.tasks(), iid) == ["评审专家名单"]
    form_data = clerk.ok(clerk.get(f"/api/tasks/{list_task(clerk, iid)['id']}"))["data"]
    assert "| 编号 | 组 | 姓名 |" in form_data["expert_list"] and form_data["pending_count"] == 4

    # The same inputs and seed draw the same experts: from the record, and from the history's outputs alone.
    assert clerk.ok(clerk.get(f"/api/expert-extractions/{eid}/verify")) == {
        "ok": True, "draws": [{"round": 1, "seed": data["draw_seed"], "pool_digest_ok": True, "same_result": True,
                               "ok": True}]}
    with app.extensions["db"].Session() as s:
        from app.models import ExpertDraw
        stored = s.scalars(select(ExpertDraw).where(ExpertDraw.extraction_id == eid)).one()
        p = stored.params
        assert draw(stored.pool, p["avoid_units"], p["avoid_id_numbers"], p["groups"], p["needs"], data["draw_seed"],
                    p["exclude_ids"]) == [{"candidates": c, "drawn": d} for c, d in
                                          zip(data["candidate_ids"], data["drawn_expert_ids"])]
    event = next(e for e in clerk.history(iid) if e["type"] == "service_task")
    assert event["data"]["outputs"]["draw_seed"] == data["draw_seed"]
    assert event["data"]["outputs"]["candidate_ids"] == data["candidate_ids"]

    # Answers: one IT expert declines, the others accept. Answering twice or for a stranger is refused.
    decliner, acceptor = drawn[0]
    act(clerk, iid, action="answer", answers=[{"expert_id": decliner, "answer": "declined"},
                                              {"expert_id": acceptor, "answer": "accepted"}]
        + [{"expert_id": x, "answer": "accepted"} for x in drawn[1]])
    task_id = list_task(clerk, iid)["id"]
    again = clerk.post(f"/api/tasks/{task_id}/complete",
                       {"data": {"action": "answer", "answers": [{"expert_id": acceptor, "answer": "declined"}]}})
    assert again.status_code == 409 and again.json["code"] == "ALREADY_ANSWERED"
    stranger = clerk.post(f"/api/tasks/{task_id}/complete",
                          {"data": {"action": "answer", "answers": [{"expert_id": 1, "answer": "accepted"}]}})
    assert stranger.status_code == 400 and "不在本次抽取的专家名单中" in stranger.json["message"]
    assert list_task(clerk, iid)["id"] == task_id  # refused: the task is still open, nothing changed
    # No revocation once someone answered; no confirmation while a group is short.
    refused = act(clerk, iid, action="revoke", revoke_reason="项目暂缓")
    assert refused["data"]["error_code"] == "EXPERTS_ANSWERED"
    assert "已有 4 位专家应答" in refused["data"]["error_message"]
    refused = act(clerk, iid, action="complete")
    assert refused["data"]["error_code"] == "EXPERTS_MISSING" and "第 1 组还差 1 人" in refused["data"]["error_message"]
    assert extraction(clerk, eid)["status"] == "drawn"

    # Adjust: the decliner is replaced by a further draw with a new stored seed.
    adjusted = act(clerk, iid, action="adjust")["data"]
    assert adjusted["draw_round"] == 2 and adjusted["draw_seed"] != data["draw_seed"]
    remaining = ({17, 25, 33} - set(drawn[0]))
    assert adjusted["candidate_ids"] == [sorted(remaining), []]
    assert adjusted["drawn_expert_ids"] == [sorted(remaining), []] and adjusted["replaced_expert_ids"] == [decliner]
    record = extraction(clerk, eid)
    assert [(e["expert_id"], e["answer"], e["replaced"], e["round"]) for e in record["experts"]
            if e["expert_id"] == decliner] == [(decliner, "declined", True, 1)]
    # Nothing more to draw: refused with a message, the list stays.
    assert act(clerk, iid, action="adjust")["data"]["error_code"] == "NOTHING_TO_DRAW"
    # Adjusting may raise a count (never change a drawn group's category); the pool must still suffice.
    raised = act(clerk, iid, action="adjust", groups=[{"category": "it", "region": ANY_REGION, "count": 3},
                                                       {"category": "finance", "region": ANY_REGION, "count": 2}])
    assert raised["data"]["error_code"] == "POOL_SHORT"
    assert "第 1 组（信息技术，不限）需抽取 1 人，符合条件的专家只有 0 人" in raised["data"]["error_message"]
    changed = act(clerk, iid, action="adjust", groups=[{"category": "law", "region": ANY_REGION, "count": 2},
                                                        {"category": "finance", "region": ANY_REGION, "count": 2}])
    assert "不能更改专家分类或区域" in changed["data"]["error_message"]

    new_expert = adjusted["drawn_expert_ids"][0][0]
    act(clerk, iid, action="answer", answers=[{"expert_id": new_expert, "answer": "accepted"}])
    done = act(clerk, iid, action="complete")
    assert done["status"] == "completed"
    record = extraction(clerk, eid)
    assert record["status"] == "completed" and len(record["draws"]) == 2
    assert clerk.ok(clerk.get(f"/api/expert-extractions/{eid}/verify"))["ok"] is True
    assert clerk.ok(clerk.get(f"/api/instances/{iid}/verify"))["ok"] is True
    topics = [e["data"]["topic"] for e in clerk.history(iid) if e["type"] == "service_task"]
    assert topics == ["expert.submit", "expert.record_answers", "expert.adjust", "expert.record_answers",
                      "expert.complete"]


def test_pool_short_goes_back_with_the_group_and_revoke_before_answers(login):
    clerk = login("clerk")
    instance = clerk.start("expert_extraction", start_data(groups=[
        {"category": "it", "region": ANY_REGION, "count": 1}, {"category": "law", "region": "福建省本级", "count": 2}]))
    iid = instance["id"]
    assert instance["data"]["error_code"] == "POOL_SHORT"
    assert instance["data"]["error_message"] == \
        "第 2 组（法律，福建省本级）需抽取 2 人，符合条件的专家只有 1 人，请调整抽取条件"
    assert "extraction_id" not in instance["data"]  # nothing was drawn
    assert clerk.ok(clerk.get("/api/expert-extractions")) == []
    edit = clerk.task_named("修改抽取条件", iid)
    done = clerk.complete(edit["id"], start_data(action="submit", groups=[
        {"category": "it", "region": ANY_REGION, "count": 1}, {"category": "law", "region": "福建省本级", "count": 1}]))
    eid = done["data"]["extraction_id"]
    assert done["data"]["drawn_expert_ids"][1] == [7]

    # Nobody answered yet: the requirement table can be revoked (with a reason).
    refused = clerk.complete(list_task(clerk, iid)["id"], {"action": "revoke"}, status=400)
    assert "必须填写撤销原因" in refused["errors"]["revoke_reason"][0]  # the form asks before anything runs
    revoked = act(clerk, iid, action="revoke", revoke_reason="论证会议取消")
    assert revoked["status"] == "completed"
    record = extraction(clerk, eid)
    assert record["status"] == "revoked" and record["revoke_reason"] == "论证会议取消"

    # Form checks: at least a group, a known category, counts in range; bad ID numbers are refused.
    bad = clerk.post("/api/processes/expert_extraction/instances", {"data": start_data(
        groups=[{"category": "astrology", "count": 0}])})
    assert bad.status_code == 400 and "groups" in bad.json["errors"]
    odd = clerk.start("expert_extraction", start_data(avoid_id_numbers=[{"id_number": "12345"}]))
    assert odd["data"]["error_code"] == "INVALID_INPUT" and "格式不正确" in odd["data"]["error_message"]


def test_visibility_and_auditor(login):
    clerk = login("clerk")
    instance = clerk.start("expert_extraction", start_data())
    eid = instance["data"]["extraction_id"]
    assert login("clerk2").get(f"/api/expert-extractions/{eid}").status_code == 404
    auditor = login("auditor")
    assert auditor.ok(auditor.get(f"/api/expert-extractions/{eid}/verify"))["ok"] is True
    assert auditor.post(f"/api/tasks/{list_task(clerk, instance['id'])['id']}/complete",
                        {"data": {"action": "complete"}}).status_code in (403, 404)


def test_the_administrator_keeps_the_pool(app, login):
    from app.models.expert import id_check
    admin, clerk, auditor = login("admin"), login("clerk"), login("auditor")
    body = "35010219800101001"
    new = {"name": "林文华", "category": "law", "region": "福州市", "unit_name": "福建理则律师事务所",
           "id_number": (body + id_check(body)).lower(), "title": "律师", "phone": "0591-88886666"}
    for user in (clerk, auditor):
        response = user.post("/api/experts", new)
        assert response.status_code == 403 and response.json["message"] == "只有系统管理员可以维护专家库"
    # Shape first (every field at once, in Chinese), then the ID number's check character, then duplicates.
    bad = admin.post("/api/experts", {"category": "cooking", "id_number": "123", "phone": "call me"})
    assert bad.status_code == 400 and bad.json["errors"] == {
        "name": ["请填写姓名"], "region": ["请填写所在区划"], "unit_name": ["请填写工作单位"],
        "category": ["专家分类应为 it（信息技术）、education（教学仪器设备）、medical（医疗设备）、construction（建设工程）、"
                     "cost（工程造价）、finance（财务会计）、law（法律）、property（物业管理）"],
        "id_number": ["身份证号码应为 18 位"], "phone": ["联系电话格式不正确"]}
    wrong = admin.post("/api/experts", {**new, "id_number": body + ("0" if id_check(body) != "0" else "1")})
    assert wrong.status_code == 400 and wrong.json["errors"] == {"id_number": ["身份证号码校验位不正确，请核对"]}
    assert admin.post("/api/experts", {**new, "region": "不限"}).json["errors"] == {"region": ["专家所在区划不能是“不限”"]}

    added = admin.post("/api/experts", new)
    assert added.status_code == 201, added.json
    expert = added.json
    assert expert["id_number"] == body + id_check(body) and expert["updated_by"] == "admin" and expert["available"]
    again = admin.post("/api/experts", new)
    assert again.status_code == 409 and again.json["code"] == "EXPERT_EXISTS"
    seen = next(e for e in clerk.ok(clerk.get("/api/experts", query_string={"category": "law"}))
                if e["id"] == expert["id"])
    assert seen["id_number"] == "350***********" + expert["id_number"][-4:] and "phone" not in seen

    # 暂停抽取: no longer drawn; changes are checked like an addition; nothing else moves.
    paused = admin.ok(admin.client.patch(f"/api/experts/{expert['id']}", headers=admin.headers,
                                         json={"available": False, "title": "高级律师"}))
    assert paused["available"] is False and paused["title"] == "高级律师" and paused["name"] == "林文华"
    assert expert["id"] in [e["id"] for e in admin.ok(admin.get("/api/experts", query_string={"available": False}))]
    clash = admin.client.patch(f"/api/experts/{expert['id']}", headers=admin.headers,
                               json={"id_number": admin.ok(admin.get("/api/experts"))[0]["id_number"]})
    assert clash.status_code == 409
    assert admin.client.patch("/api/experts/99999", headers=admin.headers, json={"title": "x"}).status_code == 404
    assert clerk.client.patch(f"/api/experts/{expert['id']}", headers=clerk.headers,
                              json={"available": True}).status_code == 403
