"""Amounts in Camunda Forms and our pages (issue 15 point 1, "Bad input"): the digits typed are the value stored,
with or without separators, full-width or with 万; anything else is refused next to the field."""
import re

import pytest
from helpers import PROJECT
from playwright.sync_api import expect

from test_workbench import choose, field_error, submit, wait_form


def start_project(page, amount):
    page.goto("/start/project_registration")
    wait_form(page)
    page.get_by_label("项目名称").fill(f"金额输入 {amount}")
    choose(page, "品目类别", "货物")
    page.get_by_label("项目金额（元）").fill(amount)
    choose(page, "预算指标", "2026-350001-001")
    choose(page, "实施形式", "委托代理机构采购")
    page.get_by_label("采购内容", exact=True).fill("显微镜")
    page.get_by_label("数量").fill("10")
    page.get_by_label("说明（达到分散采购限额").fill(PROJECT["justification"])


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_typed_amounts_are_stored_exactly(pages, login, size):
    clerk = pages.login("clerk", size=size)
    stored = []
    for typed in ("450,000", "４５０，０００", "45万"):
        start_project(clerk, typed)
        amount = clerk.get_by_label("项目金额（元）")
        # What is read is shown while typing, in 元 and 万元, and with separators once the field is left.
        expect(clerk.get_by_text("＝ 450,000.00 元（45 万元）")).to_be_visible()
        clerk.get_by_label("项目名称").focus()
        expect(amount).to_have_value("450,000.00")
        if typed == "45万" and size == "phone":
            pages.shot(clerk, "money-form-phone")
        submit(clerk)
        clerk.wait_for_url(re.compile(r"/instances/\d+$"))
        stored.append(int(clerk.url.rsplit("/", 1)[1]))
    api = login("clerk")
    for instance_id in stored:
        assert api.ok(api.get(f"/api/instances/{instance_id}"))["data"]["amount"] == 450000
    clerk.goto("/projects")
    expect(clerk.get_by_test_id("record-table")).to_contain_text("450,000.00 元")
    expect(clerk.get_by_test_id("record-table")).not_to_contain_text("¥")
    assert not clerk.js_errors


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_ambiguous_amounts_are_refused_next_to_the_field(pages, size):
    clerk = pages.login("clerk", size=size)
    start_project(clerk, "450,00")
    submit(clerk)
    expect(field_error(clerk, "项目金额")).to_contain_text("千分位逗号位置不正确")
    expect(clerk.get_by_test_id("form-error")).to_contain_text("请检查标红的字段")
    for typed, reason in (("45o000", "请输入金额数字"), ("450 000", "数字中间不能有空格"), ("100.123", "最多保留 2 位小数")):
        clerk.get_by_label("项目金额（元）").fill(typed)
        submit(clerk)
        expect(field_error(clerk, "项目金额")).to_contain_text(reason)
    # 数量 is a whole number: a comma groups thousands there too, never a decimal point.
    clerk.get_by_label("数量").fill("1,5")
    submit(clerk)
    expect(field_error(clerk, "数量")).to_contain_text("千分位逗号位置不正确")
    expect(clerk).to_have_url(re.compile(r"/start/project_registration$"))
    if size == "phone":
        pages.shot(clerk, "money-refused-phone")
    assert not clerk.js_errors


def test_server_reads_amounts_the_same_way(login):
    api = login("clerk")
    for typed, expected in (("450,000", 450000), ("４５０，０００", 450000), ("45万", 450000), ("45.5万元", 455000)):
        instance = api.start("project_registration", {**PROJECT, "amount": typed})
        assert api.ok(api.get(f"/api/instances/{instance['id']}"))["data"]["amount"] == expected
    for typed in ("450,00", "4,50,000", "45o000", "450 000", "1.2.3"):
        refused = api.start("project_registration", {**PROJECT, "amount": typed}, status=400)
        assert "amount" in refused["errors"], (typed, refused)
