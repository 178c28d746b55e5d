"""Thresholds as data (限额标准): the seeds' figures by default, set by an administrator through the API, checked at
registration (分散采购限额, 001 §2.2.1 注①; 自行采购 only below 004 §3) and at plan application (004 §3)."""
from helpers import PROJECT, apply_plan, money, names, register_project


def _rows(api):
    return {(r["kind"], r["region"], r["category"]): r for r in api.ok(api.get("/api/thresholds"))}


def test_defaults_are_the_seeds_figures_and_only_admins_set_them(login):
    admin = login("admin")
    rows = _rows(admin)
    wan = lambda n: money(n * 10000)  # noqa: E731
    # 001 §2.2.1 注①
    for region in ("省级", "福州", "泉州", "漳州", "三明", "莆田"):
        assert money(rows[("decentralized", region, "works")]["amount"]) == wan(100)
        assert money(rows[("decentralized", region, "goods")]["amount"]) == wan(50)
        assert money(rows[("decentralized", region, "services")]["amount"]) == wan(50)
    for region in ("平潭", "龙岩", "宁德", "南平"):
        assert money(rows[("decentralized", region, "works")]["amount"]) == wan(60)
        assert money(rows[("decentralized", region, "goods")]["amount"]) == wan(50)
    assert money(rows[("decentralized", "厦门", "works")]["amount"]) == wan(200)
    assert money(rows[("decentralized", "厦门", "services")]["amount"]) == wan(100)
    # 004 §3
    assert money(rows[("transaction", "*", "goods")]["amount"]) == wan(30)
    assert money(rows[("transaction", "*", "services")]["amount"]) == wan(30)
    assert money(rows[("transaction", "*", "works")]["amount"]) == wan(400)
    assert rows[("transaction", "*", "works")]["source"] == "004 §3"
    assert len(rows) == 11 * 3 + 3

    # Reading: administrators and auditors; everyone else 403. Writing: administrators only.
    assert login("auditor").get("/api/thresholds").status_code == 200
    for user in ("clerk", "reviewer", "leader", "finance", "agency", "analyst"):
        assert login(user).get("/api/thresholds").status_code == 403, user
    body = {"thresholds": [{"kind": "transaction", "region": "*", "category": "goods", "amount": 1}]}
    for user in ("clerk", "auditor", "finance"):
        response = login(user).client.put("/api/thresholds", json=body, headers=login(user).headers)
        assert response.status_code == 403 and "系统管理员" in response.json["message"], user
    assert login("clerk").client.put("/api/thresholds", json={"thresholds": "x"},
                                     headers=login("clerk").headers).status_code == 403  # role before the body

    # The administrator changes 厦门's works limit and adds a region of its own.
    response = admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "decentralized", "region": "厦门", "category": "works", "amount": "2500000.00"},
        {"kind": "decentralized", "region": "福清", "category": "goods", "amount": 600000}]})
    assert response.status_code == 200, response.json
    rows = _rows(admin)
    changed = rows[("decentralized", "厦门", "works")]
    assert money(changed["amount"]) == money(2500000) and changed["updated_by"] == "admin" and changed["updated_at"]
    assert money(rows[("decentralized", "福清", "goods")]["amount"]) == money(600000)
    assert rows[("decentralized", "厦门", "goods")]["updated_by"] is None


def test_bad_values_get_chinese_field_messages_and_change_nothing(login):
    admin = login("admin")
    before = _rows(admin)

    def put(body):
        response = admin.client.put("/api/thresholds", json=body, headers=admin.headers)
        assert response.status_code == 400, response.json
        return response.json["errors"]

    errors = put({"thresholds": [{"kind": "transaction", "region": "*", "category": "goods", "amount": 300000},
                                 {"kind": "limit", "region": "", "category": "food", "amount": -5}]})
    row = errors["thresholds"]["1"]
    assert "分散采购限额" in row["kind"][0] and "区划" in row["region"][0]
    assert "goods" in row["category"][0] and "应大于 0 元" in row["amount"][0]
    assert "两位小数" in put({"thresholds": [{"kind": "transaction", "region": "*", "category": "goods",
                                              "amount": "1.234"}]})["thresholds"]["0"]["amount"][0]
    assert "数字" in put({"thresholds": [{"kind": "transaction", "region": "*", "category": "goods",
                                          "amount": "三十万"}]})["thresholds"]["0"]["amount"][0]
    assert "必填" in put({"thresholds": [{"kind": "transaction"}]})["thresholds"]["0"]["region"][0]
    assert "至少" in put({"thresholds": []})["thresholds"][0]
    assert "必填" in put({})["thresholds"][0]
    assert _rows(admin) == before


def test_registration_reaching_the_decentralized_limit_needs_government_procurement_and_a_justification(login):
    clerk, reviewer = login("clerk"), login("reviewer")  # 福建省教育厅: 省级, goods/services 50万, works 100万
    register_project(clerk, reviewer, amount=300000, justification="")
    # 30万 + 25万 = 55万 ≥ 50万: government procurement, and the accumulation must be explained.
    second = {**PROJECT, "name": "实验室耗材", "amount": 250000, "justification": ""}
    response = clerk.post("/api/processes/project_registration/instances", {"data": second})
    assert response.status_code == 400, response.json
    message = response.json["errors"]["justification"][0]
    assert "累计 550,000.00 元" in message and "省级分散采购限额 50万元" in message and "累计达到限额标准相关说明" in message
    response = clerk.post("/api/processes/project_registration/instances",
                          {"data": {**second, "is_government_procurement": False, "justification": "说明"}})
    assert response.status_code == 400
    assert "“是否政府采购”应选择“是”" in response.json["errors"]["is_government_procurement"][0]
    assert money(clerk.budget(1)["used_amount"]) == money(300000)  # nothing of the refused attempts stayed
    assert names(reviewer.tasks()) == []
    ok = clerk.start("project_registration", {**second, "justification": "本年度已执行实验室设备项目 30 万元，同品目累计达限额"})
    assert names(reviewer.tasks(), ok["id"]) == ["审核岗审核"]

    # Below the limit a project is free to be non-government procurement; works count separately (100万).
    works = clerk.start("project_registration", {**PROJECT, "name": "围墙维修", "category": "works", "amount": 900000,
                                                 "budget_line_id": 3, "is_government_procurement": False})
    assert names(reviewer.tasks(), works["id"]) == ["审核岗审核"]
    # A project that alone reaches the limit is government procurement without an accumulation note.
    big = clerk.start("project_registration", {**PROJECT, "name": "教学楼改造", "category": "works",
                                               "amount": 1500000, "budget_line_id": 3, "justification": ""})
    assert names(reviewer.tasks(), big["id"]) == ["审核岗审核"]


def test_city_unit_uses_its_regions_limit_and_the_admins_figures(login):
    clerk, reviewer, admin = login("clerk2"), login("reviewer2"), login("admin")  # 福州市: goods 50万
    register_project(clerk, reviewer, amount=400000, budget_line_id=4, justification="")
    data = {**PROJECT, "name": "课桌椅补充", "amount": 150000, "budget_line_id": 4, "justification": ""}
    response = clerk.post("/api/processes/project_registration/instances", {"data": data})
    assert response.status_code == 400 and "福州分散采购限额 50万元" in response.json["message"]
    # The administrator raises 福州's goods limit to 60万: 55万 no longer reaches it.
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "decentralized", "region": "福州", "category": "goods", "amount": 600000}]}))
    instance = clerk.start("project_registration", data)
    assert names(reviewer.tasks(), instance["id"]) == ["审核岗审核"]


def test_registration_allows_self_procurement_only_below_the_transaction_threshold(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    response = clerk.post("/api/processes/project_registration/instances",
                          {"data": {**PROJECT, "amount": 300000, "implementation_form": "self"}})
    assert response.status_code == 400
    assert response.json["errors"]["implementation_form"][0].startswith(
        "货物类项目金额 300,000.00 元，达到 30万元（含）以上，须委托代理机构或集中采购机构")
    works = clerk.start("project_registration", {**PROJECT, "category": "works", "amount": 3990000,
                                                 "budget_line_id": 3, "implementation_form": "self"})
    assert names(reviewer.tasks(), works["id"]) == ["审核岗审核"]


def test_plan_application_refuses_self_procurement_at_the_threshold(login):
    clerk, reviewer, admin = login("clerk"), login("reviewer"), login("admin")
    # A 自行采购 project whose plan reaches the threshold (the admin lowered it after registration).
    project = register_project(clerk, reviewer, amount=290000, implementation_form="self", justification="")
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "transaction", "region": "*", "category": "goods", "amount": 200000}]}))
    refused = apply_plan(clerk, project["id"], amount=250000, sme_reserved_amount=250000)
    assert refused["data"]["error_message"] == ("货物类采购计划金额 250,000.00 元，达到 20万元（含）以上，"
                                                "须委托代理机构或集中采购机构通过交易系统采购，不能自行采购（004 §3）")
    assert names(reviewer.tasks(), refused["id"]) == []
    assert names(clerk.tasks(), refused["id"]) == ["编辑采购计划"]
    fine = apply_plan(clerk, project["id"], amount=150000, sme_reserved_amount=150000)
    assert names(reviewer.tasks(), fine["id"]) == ["采购单位审核岗审核"]
