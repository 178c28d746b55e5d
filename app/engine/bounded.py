"""The operations and functions expressions run with, each refusing a result too big *before* computing it.

Python computes ``10**10**10``, ``'x'*600000000`` or ``int(Decimal('1e400000'))`` in C, where no deadline
can interrupt it: the only defence is not to start. ``expressions`` routes every arithmetic operator
through ``binop`` and every allowed function through its bounded version here; between operations the
running step's deadline is checked (``limits.check_time``).
"""
import decimal
import operator
from decimal import Decimal

from . import limits

MAX_SIZE = 1_000_000  # characters of a text, or elements of a value counted through nested lists
MAX_DIGITS = 1000  # decimal digits of an integer; largest exponent of a Decimal
MAX_INT_BITS = 3322  # an integer of MAX_DIGITS digits
MAX_ROUND_DIGITS = 100

# Decimal arithmetic inside an expression: the usual precision, exponents bounded, overflow an error.
DECIMALS = decimal.Context(prec=28, Emax=MAX_DIGITS, Emin=-MAX_DIGITS,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


class TooBig(Exception):
    """A value or an operation beyond the bounds above; the message says which, in Chinese and English."""


def size(value, limit=MAX_SIZE):
    """Characters and elements in ``value``, shared sub-lists counted each time they appear (that is what
    printing or storing it costs); counting stops once past ``limit``."""
    total, stack, visited = 0, [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += len(item)
            if total > limit:
                return total
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend(c for c in children if isinstance(c, (str, list, tuple, set, frozenset, dict)))
        else:
            total += 1
        if total > limit:
            return total
        visited += 1
        if visited % 4096 == 0:
            limits.check_time()
    return total


def check(value):
    """Refuse a value no expression should produce (or store in instance data)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise TooBig(f"整数超过 {MAX_DIGITS} 位 / integer over {MAX_DIGITS} digits")
    elif isinstance(value, Decimal):
        if value.is_finite() and (abs(value.adjusted()) > MAX_DIGITS or len(value.as_tuple().digits) > MAX_DIGITS):
            raise TooBig(f"小数超过 {MAX_DIGITS} 位 / decimal over {MAX_DIGITS} digits")
    elif size(value) > MAX_SIZE:
        raise TooBig(f"文本或列表超过 {MAX_SIZE} 个字符/元素 / text or list over {MAX_SIZE} characters/elements")
    return value


def _sequence(value):
    return isinstance(value, (str, list, tuple))


def _int(value):
    return isinstance(value, int)


def _check_mult(a, b):
    if _sequence(a) and _int(b) or _sequence(b) and _int(a):
        seq, times = (a, b) if _sequence(a) else (b, a)
        if times > 0 and size(seq, MAX_SIZE // times + 1) * times > MAX_SIZE:
            raise TooBig(f"重复后的文本或列表超过 {MAX_SIZE} 个字符/元素 / repetition over {MAX_SIZE}")
    elif _int(a) and _int(b) and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
        raise TooBig(f"乘积超过 {MAX_DIGITS} 位 / product over {MAX_DIGITS} digits")


def _check_pow(a, b):
    if _int(a) and _int(b) and b > 0 and abs(a) > 1 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
        raise TooBig(f"乘方结果超过 {MAX_DIGITS} 位 / power over {MAX_DIGITS} digits")


def _check_add(a, b):
    if _sequence(a) and _sequence(b) and size(a) + size(b) > MAX_SIZE:
        raise TooBig(f"拼接后的文本或列表超过 {MAX_SIZE} 个字符/元素 / concatenation over {MAX_SIZE}")


def _check_mod(a, _b):
    if isinstance(a, str):
        raise TooBig("不允许用 % 格式化文本 / % string formatting is not allowed")


_OPERATORS = {"Add": (operator.add, _check_add), "Sub": (operator.sub, None), "Mult": (operator.mul, _check_mult),
              "Div": (operator.truediv, None), "FloorDiv": (operator.floordiv, None),
              "Mod": (operator.mod, _check_mod), "Pow": (operator.pow, _check_pow)}


def binop(name, a, b):
    """``a <name> b`` once the result is known to be small enough."""
    limits.check_time()
    function, precheck = _OPERATORS[name]
    if precheck is not None:
        precheck(a, b)
    return check(function(a, b))


# -- the functions expressions may call -------------------------------------------------------------------
def to_int(value=0, *base):
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > MAX_DIGITS:
        raise TooBig(f"整数超过 {MAX_DIGITS} 位 / integer over {MAX_DIGITS} digits")
    if isinstance(value, str) and len(value) > MAX_DIGITS + 10:
        raise TooBig(f"整数超过 {MAX_DIGITS} 位 / integer over {MAX_DIGITS} digits")
    return check(int(value, *base))


def to_decimal(value="0", *args):
    if isinstance(value, str) and len(value) > 2 * MAX_DIGITS:
        raise TooBig(f"小数超过 {MAX_DIGITS} 位 / decimal over {MAX_DIGITS} digits")
    return check(Decimal(value, *args))


def to_str(value=""):
    check(value)
    return check(str(value))


def bounded_round(number, ndigits=None):
    if ndigits is not None and (not _int(ndigits) or abs(ndigits) > MAX_ROUND_DIGITS):
        raise TooBig(f"round 的位数须在 ±{MAX_ROUND_DIGITS} 以内 / round() digits beyond ±{MAX_ROUND_DIGITS}")
    return round(number, ndigits) if ndigits is not None else round(number)


def bounded_sum(iterable, start=0):
    items = list(iterable)
    if all(isinstance(v, (int, float, Decimal)) for v in [start, *items]):
        return check(sum(items, start))  # numbers: each within bounds, so their sum is too (a few bits more)
    total = start
    for item in items:  # texts or lists: concatenation checked step by step
        total = binop("Add", total, item)
    return total


FUNCTIONS = {
    "len": len, "min": min, "max": max, "abs": abs, "round": bounded_round, "sum": bounded_sum,
    "any": any, "all": all, "int": to_int, "float": float, "str": to_str, "bool": bool,
    "Decimal": to_decimal, "sorted": sorted,
}
