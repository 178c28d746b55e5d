"""Limits every input shares, and the checks that hold them: ids, text, JSON shape.

Whatever reaches the database or a process variable passed through here (the request guard in
``app/api/guard.py``, form validation in ``app/engine/forms.py``, deployments), so a NUL byte, a lone
surrogate, an id past the column's range or JSON nested 100,000 deep is a 400 with a Chinese message —
never a database error or a RecursionError.
"""
import json
import math
import re

from .base import DomainError

# Every id column is a 32-bit INTEGER on PostgreSQL; SQLite allows more, so the smaller range rules.
MAX_ID = 2**31 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Numbers a browser (form-js) holds exactly; a form number without its own bounds stays within them.
SAFE_NUMBER = 2**53 - 1
# Request bodies: nesting and list sizes far beyond any form, small enough to walk at once.
JSON_MAX_DEPTH = 32
JSON_MAX_ITEMS = 1000
# Rows of a form's dynamic list (采购内容清单 items, members, …) and entries of a checklist.
FORM_MAX_ROWS = 500
# Characters of a form text field that declares no maxLength of its own.
FORM_MAX_TEXT = 10000

_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS = re.compile(r"[0-9]{1,10}")


def bad_input(message, field="_"):
    return DomainError("INVALID_INPUT", message, field=field, status=400)


def parse_id(value):
    """A record id from a path, query, form or variable: a whole number (or text of ASCII digits) in 1..MAX_ID;
    else None.

    Callers answer None with 404 (nothing can have that id) or 400, as the place asks."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_ID:
        value = int(value)  # 3.0 from a JSON number is 3; 1.5 is no id
    if isinstance(value, int):
        ident = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        ident = int(value.strip())
    else:
        return None
    return ident if 1 <= ident <= MAX_ID else None


def text_problem(text):
    """Why this text cannot be stored (NUL byte, lone surrogate), or None."""
    if "\x00" in text:
        return "不能包含空字符（\\u0000）"
    if _SURROGATE.search(text):
        return "含有无效的 Unicode 字符（孤立的代理项），请检查输入或文件编码"
    return None


def check_text(text, field="_"):
    problem = text_problem(text)
    if problem:
        raise bad_input(f"{_label(field)}{problem}", field)
    return text


_LABELS = {"path": "请求地址", "query": "查询参数名", "form": "表单字段名", "Authorization": "登录凭据"}


def _label(field):
    return "" if field in ("_", "", None) else f"{_LABELS.get(field, field)}："


def check_json(value, field="_", max_depth=JSON_MAX_DEPTH, max_items=JSON_MAX_ITEMS):
    """Walk parsed JSON without recursion: depth, list sizes, finite numbers, storable text (keys too)."""
    stack = [(value, field, 1)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            raise bad_input(f"数据嵌套层数超过 {max_depth} 层", where)
        if isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, float) and not math.isfinite(node):
            raise bad_input(f"{_label(where)}数字超出范围", where)
        elif isinstance(node, dict):
            for key, item in node.items():
                check_text(str(key), where)
                stack.append((item, key if where == "_" else f"{where}.{key}", depth + 1))
        elif isinstance(node, list):
            if len(node) > max_items:
                raise bad_input(f"{_label(where)}列表最多 {max_items} 项", where)
            stack.extend((item, f"{where}.{i}", depth + 1) for i, item in enumerate(node))
    return value


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def loads(data, field="_", max_depth=JSON_MAX_DEPTH, max_items=JSON_MAX_ITEMS):
    """Parse JSON text or bytes strictly (no NaN/Infinity), refusing what ``check_json`` refuses."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise bad_input(f"数据嵌套层数超过 {max_depth} 层", field) from None
    except UnicodeDecodeError:
        raise bad_input("内容不是有效的 UTF-8 编码", field) from None
    except ValueError:
        raise bad_input("内容不是有效的 JSON", field) from None
    return check_json(value, field, max_depth, max_items)
