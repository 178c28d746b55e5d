"""Safe evaluation of the expressions analysts write in diagrams.

Conditions, input parameters, candidate groups and assignees may be written the
Camunda way (``${approved == true}``, ``${amount >= 2000000 && !urgent}``) or as
plain expressions (``approved``). Both are translated to a Python expression
tree and checked against a whitelist before anything is evaluated: no imports,
no attribute access to private names, no calls beyond a few pure functions.
"""
import ast
import io
import re
import tokenize
from decimal import Decimal


class ExpressionError(Exception):
    """An expression that is not allowed or does not parse."""


_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)

# JUEL words → Python words, applied token by token so strings are left alone.
_WORDS = {"true": "True", "false": "False", "null": "None", "eq": "==", "ne": "!=",
          "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}

_FUNCTIONS = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "sum": sum,
    "any": any, "all": all, "int": int, "float": float, "str": str, "bool": bool,
    "Decimal": Decimal, "sorted": sorted,
}

_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
    ast.Dict, ast.Set, ast.Subscript, ast.Attribute, ast.Call, ast.keyword, ast.Slice,
)
_MAX_LENGTH = 2000


def _translate_juel(text):
    """Rewrite JUEL operators and literals into Python, leaving string literals untouched."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ExpressionError(f"表达式无法解析 / cannot parse: {text!r}") from exc
    out, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        pair = tok.string + (tokens[i + 1].string if i + 1 < len(tokens) else "")
        if pair in ("&&", "||") and tokens[i + 1].start == tok.end:
            out.append("and" if pair == "&&" else "or")
            i += 2
            continue
        if tok.type == tokenize.NAME and tok.string in _WORDS:
            out.append(_WORDS[tok.string])
        elif tok.type == tokenize.NAME and tok.string == "empty":
            out.append("not")
        elif tok.string == "!":
            out.append("not")
        elif tok.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            out.append(tok.string)
        i += 1
    return _ternary(out)


def _ternary(tokens):
    """JUEL ``cond ? a : b`` → Python ``(a) if (cond) else (b)`` (outermost, right-associative)."""
    depth, question = 0, None
    for i, tok in enumerate(tokens):
        if tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth -= 1
        elif tok == "?" and depth == 0 and question is None:
            question = i
        elif tok == ":" and depth == 0 and question is not None:
            cond, yes, no = tokens[:question], tokens[question + 1:i], tokens[i + 1:]
            return f"({_ternary(yes)}) if ({' '.join(cond)}) else ({_ternary(no)})"
    return " ".join(tokens)


def unwrap(expression):
    """Return the bare expression text, with a ``${…}`` wrapper removed."""
    if expression is None:
        return None
    match = _JUEL.match(expression)
    return match.group(1) if match else expression.strip()


def is_juel(expression):
    return bool(expression and _JUEL.match(expression))


def compile_expression(expression):
    """Parse and check an expression; return its code object or raise ExpressionError."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("表达式为空 / empty expression")
    if len(expression) > _MAX_LENGTH:
        raise ExpressionError("表达式过长 / expression too long")
    text = _translate_juel(unwrap(expression))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"表达式无法解析 / cannot parse: {expression!r}") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"表达式包含不允许的结构 {type(node).__name__} / construct not allowed: {expression!r}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"不允许访问私有名称 / private name not allowed: {node.id}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"不允许访问私有属性 / private attribute not allowed: {node.attr}")
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
                raise ExpressionError(f"不允许调用该函数 / call not allowed: {expression!r}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > _MAX_LENGTH:
            raise ExpressionError("字符串过长 / string too long")
    return compile(ast.fix_missing_locations(_AttributeToKey().visit(tree)), "<expression>", "eval")


class _AttributeToKey(ast.NodeTransformer):
    """``plan.amount`` reads the key ``amount`` of the mapping ``plan`` (JUEL property access)."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id="__getkey", ctx=ast.Load()),
                        args=[node.value, ast.Constant(node.attr)], keywords=[])
        return ast.copy_location(call, node)


def _getkey(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    raise ExpressionError(f"不能读取属性 {key} / cannot read attribute {key}")


class _Scope(dict):
    """Instance data as the evaluation namespace; unknown names are None, as in JUEL."""

    def __missing__(self, key):
        return None


_cache = {}


def evaluate(expression, data):
    """Evaluate an expression over instance data, safely."""
    code = _cache.get(expression)
    if code is None:
        code = compile_expression(expression)
        if len(_cache) < 10000:
            _cache[expression] = code
    scope = _Scope(data or {})
    scope.update(_FUNCTIONS)
    scope["__getkey"] = _getkey
    try:
        return eval(code, {"__builtins__": {}}, scope)  # noqa: S307 - code passed the whitelist above
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"表达式求值失败 / evaluation failed: {expression!r}: {exc}") from exc


def template(value, data):
    """An attribute that may hold ``${…}``: evaluate it; plain text stays as written."""
    if value is None:
        return None
    if is_juel(value):
        return evaluate(value, data)
    return value


def execute_script(script, data):
    """Run a script task: only lines of the form ``name = expression`` are allowed."""
    for lineno, line in enumerate((script or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, expr = line.partition("=")
        name = name.strip()
        if not sep or expr.startswith("=") or not name.isidentifier() or name.startswith("_"):
            raise ExpressionError(f"脚本第 {lineno} 行只允许“变量 = 表达式” / line {lineno}: only 'name = expression'")
        data[name] = evaluate(expr.strip(), data)
