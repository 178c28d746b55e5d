"""DMN decision tables as Camunda Modeler writes them (DMN 1.1–1.3), evaluated by our safe expressions.

SpiffWorkflow's DMN engine rewrites input entries into Python text for its script engine and knows neither FEEL
unary tests (``[1..5]``, ``"a","b"``, ``not(…)``) nor Camunda's result mapping, so the table is read here: input
expressions, input entries and output entries are FEEL/JUEL-like text compiled by ``expressions`` (no arbitrary
code). Every problem found names its element, so a bad table is refused at deployment with all reasons at once.
"""
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..models import DomainError
from . import expressions

HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT"}
AGGREGATIONS = {"SUM", "MIN", "MAX", "COUNT"}
MAPPINGS = {"singleEntry", "singleResult", "collectEntries", "resultList"}
_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.S)
_COMPARE = re.compile(r"^(<=|>=|<|>|=|!=)\s*(.+)$", re.S)


class DecisionError(DomainError):
    """A decision could not give a result the task can use (e.g. two rules of a UNIQUE table matched)."""

    status = 422

    def __init__(self, message):
        super().__init__("DECISION_ERROR", message)


@dataclass
class Table:
    key: str
    name: str
    hit_policy: str = "UNIQUE"
    aggregation: str | None = None
    inputs: list = field(default_factory=list)  # (id, label, expression, typeRef)
    outputs: list = field(default_factory=list)  # (id, name)
    rules: list = field(default_factory=list)  # (id, [tests per input], [output expression or None])


def _local(node):
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node, name):
    return [c for c in node if _local(c) == name]


def _text(node, child="text"):
    found = _children(node, child) if node is not None else []
    return (found[0].text or "").strip() if found else ""


def _split(text):
    """Top-level comma-separated parts, leaving commas inside strings, brackets and parentheses alone."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def compile_tests(text):
    """A FEEL unary test → a structure ``matches`` evaluates; raises ExpressionError when it cannot be read."""
    text = expressions.unwrap(text).strip() if expressions.is_juel(text) else text.strip()
    if text in ("", "-"):
        return None
    if text.startswith("not(") and text.endswith(")"):
        return ("not", [_compile_one(p) for p in _split(text[4:-1])])
    return ("any", [_compile_one(p) for p in _split(text)])


def _compile_one(part):
    if not part:
        raise expressions.ExpressionError("输入条目中有空的条件 / empty test")
    found = _RANGE.match(part)
    if found and found.group(1) != ")" and found.group(4) != "(":
        lo, hi = found.group(2), found.group(3)
        expressions.compile_expression(lo)
        expressions.compile_expression(hi)
        return ("range", found.group(1) == "[", lo, hi, found.group(4) == "]")
    found = _COMPARE.match(part)
    if found:
        expressions.compile_expression(found.group(2))
        return ("cmp", found.group(1), found.group(2))
    expressions.compile_expression(part)
    return ("eq", part)


def _matches_one(test, value, data):
    kind = test[0]
    try:
        if kind == "range":
            _, lo_in, lo, hi, hi_in = test
            low, high = expressions.evaluate(lo, data), expressions.evaluate(hi, data)
            if value is None:
                return False
            return (value >= low if lo_in else value > low) and (value <= high if hi_in else value < high)
        if kind == "cmp":
            other = expressions.evaluate(test[2], data)
            op = test[1]
            if op in ("=", "!="):
                return (value == other) == (op == "=")
            if value is None or other is None:
                return False
            return {"<": value < other, "<=": value <= other, ">": value > other, ">=": value >= other}[op]
        expected = expressions.evaluate(test[1], data)
        return value in expected if isinstance(expected, (list, tuple, set)) else value == expected
    except TypeError:
        return False  # FEEL: comparing a number with a string is null, i.e. no match


def matches(tests, value, data):
    if tests is None:
        return True
    hit = any(_matches_one(t, value, data) for t in tests[1])
    return not hit if tests[0] == "not" else hit


def _coerce(value, type_ref):
    """An input of typeRef number given as text (money is kept as "12345.67") compares as a number."""
    if (type_ref or "").lower() in ("number", "integer", "long", "double") and isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return value
    return value


def parse(text, filename):
    """(tables, problems) of one .dmn file's text."""
    problems = []

    def problem(element, message):
        problems.append({"file": filename, "element": element, "message": message})

    try:
        root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        problem(None, f"DMN 文件不是格式正确的 XML / not well-formed XML: {exc}")
        return [], problems
    if _local(root) != "definitions" or "omg.org/spec/DMN" not in (etree.QName(root).namespace or ""):
        problem(None, "不是 DMN 文件（根元素应为 DMN definitions） / not a DMN file")
        return [], problems
    tables = []
    for decision in _children(root, "decision"):
        key = (decision.get("id") or "").strip()
        if not key or len(key) > 100:
            problem(key or None, "决策缺少 id（或超过 100 个字符） / decision needs an id")
            continue
        found = _children(decision, "decisionTable")
        if not found:
            problem(key, f"决策 {key} 不是决策表（本服务只执行 DMN 决策表，不执行文字表达式/决策需求图） / "
                         f"only decision tables are supported")
            continue
        tables.append(_table(decision, found[0], key, problem))
    if not tables and not problems:
        problem(None, "DMN 文件中没有决策 / no decision in file")
    return tables, problems


def _table(decision, node, key, problem):
    table = Table(key, decision.get("name") or key, (node.get("hitPolicy") or "UNIQUE").upper(),
                  node.get("aggregation"))
    where = node.get("id") or key
    if table.hit_policy not in HIT_POLICIES:
        problem(where, f"决策 {key} 的命中策略 {table.hit_policy} 不受支持，请改用 UNIQUE、FIRST、ANY、RULE ORDER 或 "
                       f"COLLECT / hit policy not supported")
    if table.aggregation and (table.hit_policy != "COLLECT" or table.aggregation not in AGGREGATIONS):
        problem(where, f"决策 {key} 的聚合 {table.aggregation} 无效（仅 COLLECT 可用 SUM、MIN、MAX、COUNT） / "
                       f"invalid aggregation")
    for item in _children(node, "input"):
        expr_node = (_children(item, "inputExpression") or [None])[0]
        expr = _text(expr_node)
        iid = item.get("id") or where
        if expr_node is not None and expr_node.get("expressionLanguage") not in (None, "", "feel", "juel", "FEEL",
                                                                                    "JUEL"):
            problem(iid, f"输入 {item.get('label') or iid} 使用了 {expr_node.get('expressionLanguage')} 脚本，请改用表达式 / "
                         f"scripted input expression not supported")
        elif not expr:
            problem(iid, f"输入 {item.get('label') or iid} 缺少输入表达式 / input expression missing")
        else:
            try:
                expressions.compile_expression(expr)
            except expressions.ExpressionError as exc:
                problem(iid, f"输入 {item.get('label') or iid} 的表达式: {exc}")
        table.inputs.append((iid, item.get("label") or expr, expr,
                             expr_node.get("typeRef") if expr_node is not None else None))
    for item in _children(node, "output"):
        name = item.get("name") or item.get("label") or item.get("id")
        table.outputs.append((item.get("id"), name))
    if not table.outputs:
        problem(where, f"决策 {key} 没有输出列 / decision table has no output")
    if len({name for _, name in table.outputs}) != len(table.outputs):
        problem(where, f"决策 {key} 的输出列名称重复 / duplicate output names")
    for rule in _children(node, "rule"):
        rid = rule.get("id") or where
        entries, outs = _children(rule, "inputEntry"), _children(rule, "outputEntry")
        if len(entries) != len(table.inputs) or len(outs) != len(table.outputs):
            problem(rid, f"规则 {rid} 的条目数与输入/输出列数不符 / rule entries do not match the columns")
            continue
        tests, values = [], []
        for entry in entries:
            try:
                tests.append(compile_tests(_text(entry)))
            except expressions.ExpressionError as exc:
                problem(entry.get("id") or rid, f"规则 {rid} 的输入条目 “{_text(entry)}”: {exc}")
                tests.append(None)
        for entry in outs:
            text = _text(entry)
            try:
                if text:
                    expressions.compile_expression(text)
                values.append(text or None)
            except expressions.ExpressionError as exc:
                problem(entry.get("id") or rid, f"规则 {rid} 的输出条目 “{text}”: {exc}")
                values.append(None)
        table.rules.append((rid, tests, values))
    return table


def evaluate(table, data):
    """{inputs, matched, results}: the input values, the ids of the rules applied and one dict per result."""
    values = [_coerce(expressions.evaluate(expr, data), type_ref) for _, _, expr, type_ref in table.inputs]
    hits = []
    for rid, tests, outs in table.rules:
        if all(matches(t, v, data) for t, v in zip(tests, values)):
            row = {name: (expressions.evaluate(o, data) if o else None)
                   for (_, name), o in zip(table.outputs, outs)}
            hits.append((rid, row))
            if table.hit_policy == "FIRST":
                break
    policy = table.hit_policy
    if policy == "UNIQUE" and len(hits) > 1:
        raise DecisionError(f"决策 {table.key} 为 UNIQUE，但有多条规则同时命中（{'、'.join(r for r, _ in hits)}） / "
                            f"more than one rule matched a UNIQUE table")
    if policy == "ANY" and len({repr(sorted(r.items())) for _, r in hits}) > 1:
        raise DecisionError(f"决策 {table.key} 为 ANY，但命中的规则输出不同 / ANY rules with different outputs")
    if policy == "ANY":
        hits = hits[:1]
    results = [row for _, row in hits]
    if policy == "COLLECT" and table.aggregation:
        name = table.outputs[0][1]
        column = [r[name] for r in results if r.get(name) is not None]
        if table.aggregation == "COUNT":
            value = len(column)
        else:
            value = {"SUM": sum, "MIN": min, "MAX": max}[table.aggregation](column) if column else None
        results = [{name: value}]
    return {"inputs": {label: v for (_, label, _, _), v in zip(table.inputs, values)},
            "matched": [rid for rid, _ in hits], "results": results}


def map_result(results, mapping, key):
    """Camunda 7's ``camunda:mapDecisionResult`` (resultList when not set)."""
    mapping = mapping or "resultList"
    if mapping == "resultList":
        return results
    if mapping == "collectEntries":
        if any(len(r) > 1 for r in results):
            raise DecisionError(f"决策 {key} 有多个输出列，不能用 collectEntries / collectEntries needs one output")
        return [next(iter(r.values())) for r in results]
    if len(results) > 1:
        raise DecisionError(f"决策 {key} 命中了 {len(results)} 条规则，{mapping} 只允许一条 / "
                            f"{mapping} needs at most one matched rule")
    if not results:
        return None
    if mapping == "singleResult":
        return results[0]
    if len(results[0]) > 1:
        raise DecisionError(f"决策 {key} 有多个输出列，不能用 singleEntry / singleEntry needs one output")
    return next(iter(results[0].values()))


_tables = {}  # content-addressed, like deployments._parsed_cache


def table_of(definition):
    """The parsed table of a deployed DecisionDefinition."""
    cache_key = (definition.content_hash, definition.key)
    hit = _tables.get(cache_key)
    if hit is None:
        tables, _ = parse(definition.dmn_xml, definition.resource_name)
        hit = next(t for t in tables if t.key == definition.key)
        _tables[cache_key] = hit
    return hit
