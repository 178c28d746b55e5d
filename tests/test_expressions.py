"""The safe evaluator: Camunda-style and plain expressions run; anything else is refused."""
import pytest

from app.engine.expressions import ExpressionError, evaluate, execute_script

DATA = {"approved": True, "amount": 2500000, "plan": {"amount": 5}, "name": "a&&b", "none": None,
        "unit_level": "provincial"}


@pytest.mark.parametrize("expression, expected", [
    ("approved", True),
    ("${approved == true}", True),
    ("${approved == false}", False),
    ("amount >= 2000000", True),
    ("${amount >= 2000000 && !approved}", False),
    ("${amount gt 100 and approved}", True),
    ("${approved || false}", True),
    ("${plan.amount > 3}", True),
    ('${name == "a&&b"}', True),
    ("${empty none}", True),
    ('${unit_level == "provincial"}', True),
    ("${missing == null}", True),
    ("len(name) + max(1, 2)", 6),
    ("${amount / 2}", 1250000),
])
def test_allowed(expression, expected):
    assert evaluate(expression, DATA) == expected


@pytest.mark.parametrize("expression", [
    "__import__('os').system('echo pwned')",
    "${__import__('os')}",
    "().__class__.__bases__",
    "plan.__class__",
    "open('/etc/passwd')",
    "[x for x in plan]",
    "lambda: 1",
    "getattr(plan, 'x')",
    "exec('1')",
    "a := 1",
    "${",
    "",
])
def test_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, DATA)


def test_script_lines_only_assignments():
    data = {"x": 2}
    execute_script("y = x * 2\n# comment\nz = y > 3", data)
    assert data == {"x": 2, "y": 4, "z": True}
    with pytest.raises(ExpressionError):
        execute_script("import os", {})
    with pytest.raises(ExpressionError):
        execute_script("__builtins__ = 1", {})
