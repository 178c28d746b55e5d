"""Safe evaluation of the expressions analysts write in diagrams.

Conditions, input parameters, candidate groups and assignees may be written the
Camunda way (``${approved == true}``, ``${amount >= 2000000 && !urgent}``) or as
plain expressions (``approved``). Both are translated to a Python expression
tree and checked against a whitelist before anything is evaluated: no imports,
no attribute access to private names, no calls beyond a few pure functions.

Evaluation is bounded (``bounded.py``): nesting depth, sizes of numbers, texts and
lists, repetition and powers are checked before they are computed, and the running
step's deadline between operations. What can be known from the text alone — too
deep, or literals such as ``'x'*600000000`` — is refused when the diagram is deployed.
"""
import ast
import copy
import decimal
import io
import re
import tokenize

from ..models import DomainError
from . import bounded, juel_methods, limits


class ExpressionError(Exception):
    """An expression that is not allowed or does not parse."""


class ExpressionLimit(ExpressionError):
    """An expression that would compute something too big (or nests too deep): a defect of the diagram."""


_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)

# JUEL words → Python words, applied token by token so strings are left alone.
_WORDS = {"true": "True", "false": "False", "null": "None", "eq": "==", "ne": "!=",
          "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}

# Camunda 7's built-in date functions join the pure functions (juel_methods.py).
_FUNCTIONS = {**bounded.FUNCTIONS, "dateTime": juel_methods.date_time, "now": juel_methods.date_time}

_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
    ast.Dict, ast.Set, ast.Subscript, ast.Attribute, ast.Call, ast.keyword, ast.Slice,
)
_MAX_LENGTH = 2000
_ALLOWED_CALLS = "size()、isEmpty()、contains()、dateTime()/now() 及 plusDays() 等、len、min、max、abs、round、sum、int、str"
MAX_DEPTH = 100  # nesting of the expression tree; CPython's compiler gives up (RecursionError) far beyond it


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
    if tokens.count("?") > MAX_DEPTH:
        raise _too_deep()
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


def _too_deep():
    return ExpressionLimit(f"表达式嵌套超过 {MAX_DEPTH} 层 / expression nested deeper than {MAX_DEPTH}")


def _depth(tree):
    """Depth of the tree, walked without recursion (the tree may be deep enough to break recursion)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _parse(expression):
    text = _translate_juel(unwrap(expression))
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise ExpressionError(f"表达式无法解析 / cannot parse: {expression!r}") from exc
    except (RecursionError, MemoryError) as exc:
        raise _too_deep() from exc
    if _depth(tree) > MAX_DEPTH:
        raise _too_deep()
    return tree


def compile_expression(expression):
    """Parse and check an expression; return its code object or raise ExpressionError."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionError("表达式为空 / empty expression")
    if len(expression) > _MAX_LENGTH:
        raise ExpressionError("表达式过长 / expression too long")
    tree = _parse(expression)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"表达式包含不允许的结构 {type(node).__name__} / construct not allowed: {expression!r}")
        # `_count` is an ordinary variable name in Camunda; only dunder names (the evaluator's own) are refused.
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ExpressionError(f"不允许访问私有名称 / private name not allowed: {node.id}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise ExpressionError(f"不允许访问私有属性 / private attribute not allowed: {node.attr}")
        if isinstance(node, ast.Call):
            method = isinstance(node.func, ast.Attribute) and node.func.attr in juel_methods.METHODS
            if not (method or isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS) or node.keywords:
                raise ExpressionError(f"不允许调用该函数：Java Bean 或任意方法不执行，可用的有 {_ALLOWED_CALLS}；需要外部系统时"
                                      f"请改用外部任务（Topic） / call not allowed: {expression!r}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > _MAX_LENGTH:
            raise ExpressionError("字符串过长 / string too long")
    _check_literal_parts(tree, expression)
    return _code(tree)


def _code(tree):
    return compile(ast.fix_missing_locations(_Bounded().visit(tree)), "<expression>", "eval")


def _literal_only(node):
    """Made of literals and allowed calls only: its value is known before any instance exists."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return not any(isinstance(n, ast.Attribute) or (isinstance(n, ast.Name) and id(n) not in called)
                   for n in ast.walk(node))


def _check_literal_parts(tree, expression):
    """Compute, with the bounds, each largest part made of literals only (``int(Decimal('1e400000'))``,
    ``'x'*600000000``; ``**`` is not allowed at all): one too big refuses the expression now, at deployment,
    rather than failing every step that reaches it. Other errors (``1/0`` in a branch never taken) are left to
    run time."""
    stack = [tree.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.BinOp, ast.Call)) and _literal_only(node):
            try:
                _run(_code(ast.Expression(body=copy.deepcopy(node))), {}, expression)
            except ExpressionLimit:
                raise
            except ExpressionError:
                pass
        else:
            stack.extend(ast.iter_child_nodes(node))


class _Bounded(ast.NodeTransformer):
    """``plan.amount`` reads the key ``amount`` of the mapping ``plan`` (JUEL property access); ``a * b`` and
    the other operators go through ``bounded.binop``, which refuses results too big before computing them."""

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr in juel_methods.METHODS:
            target = self.visit(node.func.value)
            args = [self.visit(a) for a in node.args]
            call = ast.Call(func=ast.Name(id="__method", ctx=ast.Load()),
                            args=[target, ast.Constant(node.func.attr), *args], keywords=[])
            return ast.copy_location(call, node)
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id="__getkey", ctx=ast.Load()),
                        args=[node.value, ast.Constant(node.attr)], keywords=[])
        return ast.copy_location(call, node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id="__binop", ctx=ast.Load()),
                        args=[ast.Constant(type(node.op).__name__), node.left, node.right], keywords=[])
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
    return _run(code, data, expression)


def _run(code, data, expression):
    limits.check_time()
    scope = _Scope(data or {})
    scope.update(_FUNCTIONS)
    scope["__getkey"] = _getkey
    scope["__binop"] = bounded.binop
    scope["__method"] = juel_methods.call
    try:
        with decimal.localcontext(bounded.DECIMALS):
            # code passed the whitelist above; its operators and calls are the bounded ones
            return bounded.check(eval(code, {"__builtins__": {}}, scope))  # noqa: S307
    except (ExpressionError, DomainError):
        raise
    except (bounded.TooBig, decimal.Overflow, MemoryError, RecursionError) as exc:
        reason = exc if isinstance(exc, bounded.TooBig) else f"数值或嵌套超出范围 / out of range ({type(exc).__name__})"
        raise ExpressionLimit(f"表达式超出限制：{reason}: {expression!r}") from exc
    except Exception as exc:
        raise ExpressionError(f"表达式求值失败 / evaluation failed: {expression!r}: {exc}") from exc


def template(value, data):
    """An attribute that may hold ``${…}``: evaluate it; plain text stays as written."""
    if value is None:
        return None
    if is_juel(value):
        return evaluate(value, data)
    return value


MAX_SCRIPT_LINES = 200


def check_script_size(script):
    if len((script or "").splitlines()) > MAX_SCRIPT_LINES:
        raise ExpressionLimit(f"脚本超过 {MAX_SCRIPT_LINES} 行 / script longer than {MAX_SCRIPT_LINES} lines")


def execute_script(script, data):
    """Run a script task: only lines of the form ``name = expression`` are allowed. What one script assigns
    counts together against the size bound, so many lines cannot add up to a value no single one may make."""
    check_script_size(script)
    sizes = {}
    for lineno, line in enumerate((script or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, expr = line.partition("=")
        name = name.strip()
        if not sep or expr.startswith("=") or not name.isidentifier() or name.startswith("__"):
            raise ExpressionError(f"脚本第 {lineno} 行只允许“变量 = 表达式” / line {lineno}: only 'name = expression'")
        data[name] = evaluate(expr.strip(), data)
        sizes[name] = bounded.size(data[name])
        if sum(sizes.values()) > bounded.MAX_SIZE:
            raise ExpressionLimit(f"脚本第 {lineno} 行：脚本赋值合计超过 {bounded.MAX_SIZE} 个字符/元素 / "
                                  f"line {lineno}: the script's values exceed {bounded.MAX_SIZE} in all")


def display_name(name, data):
    """A name written as an expression (``${review_name}``: Camunda 7 evaluates task names) over ``data``; a plain
    name, or one that cannot be evaluated, is shown as written."""
    if not name or not is_juel(name):
        return name
    try:
        value = evaluate(name, data)
    except (ExpressionError, DomainError, LookupError, TypeError, ValueError):
        return name
    return str(value)[:200] if value not in (None, "") else name
