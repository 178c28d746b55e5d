"""Typed numbers (app/models/amounts.py): read exactly or refused with a reason, never another number."""
from decimal import Decimal

import pytest

from app.engine.forms import validate_data
from app.models import DomainError, money
from app.models.amounts import AmountError, parse_number

FORM = {"components": [{"type": "number", "key": "amount"}, {"type": "number", "key": "quantity"}]}


@pytest.mark.parametrize("typed, expected", [
    ("450,000", "450000"), ("450000", "450000"), ("４５０，０００", "450000"), ("45万", "450000"),
    ("45.5万元", "455000"), ("¥450,000.00 元", "450000"), ("  1,234.50 ", "1234.50"), ("0.5万", "5000"),
    ("1亿", "100000000"), (450000, "450000"), (12.5, "12.5")])
def test_money_is_read_exactly(typed, expected):
    assert parse_number(typed, money=True) == Decimal(expected)
    assert money(typed) == Decimal(expected).quantize(Decimal("0.01"))


@pytest.mark.parametrize("typed, reason", [
    ("450,00", "千分位"), ("4,50,000", "千分位"), ("1,5", "千分位"), ("450 000", "空格"), ("45o000", "数字"),
    ("1.2.3", "数字"), ("", "数字"), (True, "数字"), ("NaN", "数字"), ("Infinity", "数字")])
def test_ambiguous_text_is_refused(typed, reason):
    with pytest.raises(AmountError, match=reason):
        parse_number(typed, money=True)
    with pytest.raises(DomainError):
        money(typed)


def test_forms_never_read_a_comma_as_a_decimal_point():
    assert validate_data(FORM, {"amount": "450,000", "quantity": "1,000"}) == {"amount": 450000, "quantity": 1000}
    assert validate_data(FORM, {"amount": "45万"}) == {"amount": 450000}
    for data, field in (({"amount": "450,00"}, "amount"), ({"quantity": "1,5"}, "quantity"),
                        ({"quantity": "5万"}, "quantity"), ({"amount": "45.1234567万"}, None)):
        with pytest.raises(Exception) as refused:
            validate_data(FORM, data)
        messages = refused.value.messages
        assert set(messages) == {field or "amount"}, messages
