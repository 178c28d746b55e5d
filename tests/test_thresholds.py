"""Thresholds as data (限额标准): the seeds' figures by default, set by an administrator through the API, checked at
registration (分散采购限额, 001 §2.2.1 注①; 自行采购 below the region's limit) and at plan application (004 §3 where
the region has that rule, e.g. 柳江)."""
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
    # 004 §3: the 柳江 district's rule, not every region's
    assert money(rows[("transaction", "柳江", "goods")]["amount"]) == wan(30)
    assert money(rows[("transaction", "柳江", "services")]["amount"]) == wan(30)
    assert money(rows[("transaction", "柳江", "works")]["amount"]) == wan(400)
    assert rows[("transaction", "柳江", "works")]["source"] == "004 §3 柳江区"
    # 001 §4.1.1 注: reserved whole up to 200万 / 400万; above, the share per category
    assert [money(rows[("sme_whole", "*", c)]["amount"]) for c in ("goods", "services", "works")] == \
        [wan(200), wan(200), wan(400)]
    assert [money(rows[("sme_share", "*", c)]["amount"]) for c in ("goods", "services", "works")] == \
        [money(30), money(30), money(40)]
    assert len(rows) == 11 * 3 + 3 + 6

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
    assert "0 到 100" in put({"thresholds": [{"kind": "sme_share", "region": "*", "category": "goods",
                                              "amount": 101}]})["thresholds"]["0"]["amount"][0]
    assert "区划应为 *" in put({"thresholds": [{"kind": "sme_whole", "region": "福州", "category": "goods",
                                              "amount": 1}]})["thresholds"]["0"]["region"][0]
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


def test_fujian_unit_may_buy_itself_below_its_decentralized_limit_not_at_it(login):
    """No national ban: a 省级 unit's 自行采购 is judged by 福建省级's 分散采购限额 (goods 50万, works 100万)."""
    clerk, reviewer = login("clerk"), login("reviewer")
    below = clerk.start("project_registration", {**PROJECT, "amount": 400000, "implementation_form": "self",
                                                 "justification": ""})
    assert names(reviewer.tasks(), below["id"]) == ["审核岗审核"]
    for amount in (500000, 500000.01):  # at the limit, and just above it
        response = clerk.post("/api/processes/project_registration/instances",
                              {"data": {**PROJECT, "name": f"自购{amount}", "amount": amount,
                                        "implementation_form": "self", "justification": "说明"}})
        assert response.status_code == 400, response.json
        assert response.json["errors"]["implementation_form"][0].startswith(
            f"货物类项目金额 {amount:,.2f} 元，达到省级分散采购限额 50万元（含）以上，属于政府采购，须按政府采购方式采购，"
            "不能自行采购（001 §2.2.1 注①）")
    works = clerk.start("project_registration", {**PROJECT, "category": "works", "amount": 999999.99,
                                                 "budget_line_id": 3, "implementation_form": "self"})
    assert names(reviewer.tasks(), works["id"]) == ["审核岗审核"]


def test_liujiang_units_follow_the_transaction_threshold_at_30_wan(app, login):
    from decimal import Decimal
    from app.models import DomainError, Unit
    from app.models.threshold import check_self_procurement
    admin = login("admin")  # a 柳江区 unit, made by the administrator: 004 §3 is its rule
    made = admin.post("/api/units", {"code": "LJ001", "name": "柳江区教育局", "level": "county", "region": "柳州市柳江区"})
    assert made.status_code == 201, made.json
    made = made.json
    with app.extensions["db"].Session() as session:
        unit = session.get(Unit, made["id"])
        check_self_procurement(session, "goods", Decimal("299999.99"), "项目", unit)  # just below: allowed
        for amount in ("300000", "300000.01"):  # at and just above: refused, naming 柳江's rule
            try:
                check_self_procurement(session, "goods", Decimal(amount), "项目", unit)
                raise AssertionError(amount)
            except DomainError as error:
                assert error.message == (f"货物类项目金额 {Decimal(amount):,.2f} 元，达到柳江区划交易系统限额 30万元（含）以上，"
                                         "须委托代理机构或集中采购机构通过交易系统采购，不能自行采购（004 §3）")
        check_self_procurement(session, "works", Decimal("3999999.99"), "项目", unit)
        try:
            check_self_procurement(session, "works", Decimal("4000000"), "项目", unit)
            raise AssertionError("works at 400万")
        except DomainError as error:
            assert "柳江区划交易系统限额 400万元（含）以上" in error.message
        # The same 40万 goods purchase by a Fujian provincial unit is below its 分散采购限额: allowed.
        check_self_procurement(session, "goods", Decimal("400000"), "项目", session.get(Unit, 1))


def test_plan_application_refuses_self_procurement_at_the_threshold(login):
    clerk, reviewer, admin = login("clerk"), login("reviewer"), login("admin")
    # A 自行采购 project whose plan reaches the threshold: the admin adds a transaction rule for every region (*).
    project = register_project(clerk, reviewer, amount=290000, implementation_form="self", justification="")
    admin.ok(admin.client.put("/api/thresholds", headers=admin.headers, json={"thresholds": [
        {"kind": "transaction", "region": "*", "category": "goods", "amount": 200000}]}))
    refused = apply_plan(clerk, project["id"], amount=250000, sme_reserved_amount=250000)
    assert refused["data"]["error_message"] == ("货物类采购计划金额 250,000.00 元，达到所有区划交易系统限额 20万元（含）以上，"
                                                "须委托代理机构或集中采购机构通过交易系统采购，不能自行采购（004 §3）")
    assert names(reviewer.tasks(), refused["id"]) == []
    assert names(clerk.tasks(), refused["id"]) == ["编辑采购计划"]
    fine = apply_plan(clerk, project["id"], amount=150000, sme_reserved_amount=150000)
    assert names(reviewer.tasks(), fine["id"]) == ["采购单位审核岗审核"]
