"""Numbers as people type them: `450,000`, `450000`, `４５０，０００`, `45万`, `¥450,000.00 元`.

Either the digits typed are read exactly, or the input is refused with a Chinese reason — never a different
number. A comma is a thousands separator only where it groups three digits (`450,00` is refused, not read as
45000 or 450.00); full-width digits and punctuation are their ASCII twins (NFKC); `万`/`亿` scale money exactly.
app/web/static/money.js reads input the same way in the browser, so both sides agree on what was typed.
"""
import re
import unicodedata
from decimal import Decimal, InvalidOperation

# API callers may send exponents ("1e5"); people's separators are commas grouping three digits.
NUMBER = re.compile(r"[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
SCALES = (("万元", 4), ("亿元", 8), ("万", 4), ("亿", 8), ("元", 0))
NOT_A_NUMBER = "请输入数字"
BAD_GROUPING = "千分位逗号位置不正确（应每三位一个，如 450,000）"
NO_SPACES = "数字中间不能有空格"


class AmountError(ValueError):
    """The typed text is no number; ``str(err)`` is the Chinese reason shown next to the field."""


def parse_number(value, money=False):
    """Decimal for a JSON number or typed text, else AmountError. ``money`` also reads ¥ and 元/万/亿 units."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)) or len(str(value)) > 100:
        raise AmountError(NOT_A_NUMBER)
    if not isinstance(value, str):
        number = Decimal(str(value))
        if not number.is_finite():
            raise AmountError(NOT_A_NUMBER)
        return number
    text = unicodedata.normalize("NFKC", value).strip()
    shift = 0
    if money:
        text = text.lstrip("¥").strip()
        for unit, places in SCALES:
            if text.endswith(unit):
                text, shift = text[: -len(unit)].strip(), places
                break
    if re.search(r"[0-9,.]\s+[0-9,.]", text):
        raise AmountError(NO_SPACES)
    if not NUMBER.fullmatch(text):
        raise AmountError(BAD_GROUPING if "," in text and re.fullmatch(r"[+-]?[0-9,.]+", text) else NOT_A_NUMBER)
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise AmountError(NOT_A_NUMBER) from None
    return number.scaleb(shift) if shift else number
