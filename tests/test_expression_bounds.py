"""Expressions are bounded: sizes of numbers, texts and lists, repetition, powers and nesting. What the text
alone shows is refused at deployment; what depends on instance data fails the step cleanly (422 + incident)."""
import decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine import deployments
from app.engine.deployments import DeploymentError
from app.engine.expressions import ExpressionError, ExpressionLimit, compile_expression, evaluate, execute_script
from app.models import HistoryEvent, ProcessDefinition, ProcessInstance
from test_engine_rest import deploy as rest_deploy

FIXTURES = Path(__file__).parent / "fixtures"
DEEP_NOT = "${" + "!" * 1980 + "approved}"  # a condition nested ~2,000 deep within the length limit


@pytest.mark.parametrize("expression", [
    "'x'*600000000",
    "${'x' * 600000000 == 'x'}",
    "[0] * 600000000",
    "${int(Decimal('1e400000')) > 0}",
    "int(Decimal('1e400000')) + 1",
    "Decimal('1e999') * Decimal('1e999')",
    "round(1, -1000000000)",
    "'%0999999999d' % 1",
    "sum([[1] * 100000] * 100000, [])",
    "-" * 1999 + "1",
    DEEP_NOT,
    "+".join(["1"] * 500),
    "a ? 1 : " * 120 + "2",
])
def test_refused_from_the_text_alone(expression):
    with pytest.raises(ExpressionLimit):
        compile_expression(expression)


@pytest.mark.parametrize("expression", [
    "10**10**10",  # no powers at all
    "(" * 2000 + "1" + ")" * 2000,  # too long (and too deep)
    "${" + "(" * 300 + "1" + ")" * 300 + "}",  # deeper than Python's parser nests brackets
])
def test_refused_never_a_recursion_error(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, {})


@pytest.mark.parametrize("expression, data", [
    ("text * times", {"text": "x", "times": 600000000}),
    ("items * times", {"items": [1, 2], "times": 600000000}),
    ("int(Decimal(digits))", {"digits": "1e400000"}),
    ("int(digits)", {"digits": "9" * 5000}),
    ("x * x", {"x": 10 ** 900}),
    ("Decimal(a) * Decimal(a)", {"a": "1e999"}),
    ("round(x, n)", {"x": 1, "n": -10 ** 9}),
    ("str([s, s, s, s, s, s, s, s, s, s, s, s])", {"s": "y" * 100000}),
    ("text + text", {"text": "y" * 600000}),
    ("sum(parts, '')", {"parts": ["y" * 400000] * 3}),
    ("fmt % n", {"fmt": "%0999999999d", "n": 1}),
])
def test_refused_with_instance_data(expression, data):
    compile_expression(expression)  # nothing wrong with the text
    with pytest.raises(ExpressionLimit):
        evaluate(expression, data)


@pytest.mark.parametrize("expression, expected", [
    ("Decimal('12.50') * 2", decimal.Decimal("25.00")),
    ("'ab' * 3", "ababab"),
    ("[1] * 3", [1, 1, 1]),
    ("sum([1, 2, 3])", 6),
    ("sum(amounts)", decimal.Decimal("3.50")),
    ("round(2.567, 2)", 2.57),
    ("int('12') + int(Decimal('3.9'))", 15),
    ("str(amount)", "1000000"),
    ("amount * 100 // 3 % 7", 5),
    ("${amount > 500000 ? 'high' : 'low'}", "high"),
])
def test_ordinary_expressions_still_work(expression, expected):
    data = {"amount": 1000000, "amounts": [decimal.Decimal("1.25"), decimal.Decimal("2.25")]}
    assert evaluate(expression, data) == expected


def test_script_lines_are_bounded_too():
    data = {"text": "x"}
    with pytest.raises(ExpressionLimit):
        execute_script("a = text * 1000\nb = a * 999\nc = b * 1000", data)
    assert len(data["b"]) == 999000  # the lines before the refused one ran
    with pytest.raises(ExpressionLimit, match="合计"):  # many lines cannot add up to what one may not make
        execute_script("a = text * 400000\nb = text * 400000\nc = text * 400000", {"text": "x"})
    with pytest.raises(ExpressionLimit, match="200"):
        execute_script("a = 1\n" * 201, {})


# -- at deployment ------------------------------------------------------------------------------------------
def _edited(condition):
    text = (FIXTURES / "loop_no_wait.bpmn").read_text(encoding="utf-8")
    old = "${count &lt;= 0}"
    assert old in text
    return text.replace(old, condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


@pytest.mark.parametrize("condition", [
    "${'x' * 600000000 == 'x'}",
    "${int(Decimal('1e400000')) > 0}",
    "${10**10**10 > 0}",
    DEEP_NOT,
])
def test_deployment_refuses_a_condition_too_big(app, tmp_path, condition):
    path = tmp_path / "loop_no_wait.bpmn"
    path.write_text(_edited(condition), encoding="utf-8")
    response = rest_deploy(app.test_client(), [path])
    assert response.status_code == 400, response.json
    assert response.json["type"] == "ParseException"
    errors = response.json["details"]["loop_no_wait.bpmn"]["errors"]
    assert [e["mainElementId"] for e in errors] == ["Flow_l_again_l_end"]
    assert "RecursionError" not in response.json["message"]
    with app.extensions["db"].Session() as s, pytest.raises(DeploymentError) as refused:
        deployments.deploy(s, [("loop_no_wait.bpmn", _edited(condition))])
    assert refused.value.problems[0]["element"] == "Flow_l_again_l_end"


# -- at run time --------------------------------------------------------------------------------------------
def _deploy(app, clock, name):
    with app.extensions["db"].Session() as session, session.begin():
        deployments.deploy(session, [(f"{name}.bpmn", (FIXTURES / f"{name}.bpmn").read_bytes())],
                           deployed_by="analyst", now=clock())


def _counts(app):
    with app.extensions["db"].Session() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (ProcessInstance, HistoryEvent)]


@pytest.mark.parametrize("data", [
    {"text": "x", "times": 600000000, "digits": "1"},
    {"text": "x", "times": 2, "digits": "1e400000"},
])
def test_a_step_whose_expression_is_too_big_fails_cleanly(app, clock, login, data):
    _deploy(app, clock, "expr_bounds")
    clerk, admin = login("clerk"), login("admin")
    before = _counts(app)
    response = clerk.post("/api/processes/expr_bounds/instances", {"data": data})
    assert response.status_code == 422, response.json
    assert response.json["code"] == "EXPRESSION_LIMIT" and "e_calc" in response.json["message"]
    assert "表达式超出限制" in response.json["message"]
    assert _counts(app) == before
    assert app.extensions["db"].engine.pool.checkedout() == 0
    [incident] = admin.ok(admin.get("/api/incidents"))
    assert (incident["kind"], incident["task"], incident["instance_id"]) == ("expression_limit", "e_calc", None)

    fine = clerk.start("expr_bounds", {"text": "ab", "times": 2, "digits": "12"})
    assert fine["data"]["result"] == "abab" and fine["data"]["number"] == 12


def test_a_deep_condition_deployed_before_the_check_fails_the_step_not_the_service(app, clock, login):
    """A definition stored before the bounds existed (written here without the deployment's checks): its
    condition is refused when the step reaches it — 422 and an incident, no RecursionError, no 500."""
    _deploy(app, clock, "loop_no_wait")
    with app.extensions["db"].Session() as s, s.begin():
        current = deployments.latest(s, "loop_no_wait")
        s.add(ProcessDefinition(key="loop_no_wait", name=current.name, version=current.version + 1,
                                bpmn_xml=_edited(DEEP_NOT).replace("${count &gt; 0}", "${count &gt; 3}"),
                                content_hash="deep", resource_name="loop_no_wait.bpmn", deployed_by="analyst",
                                deployed_at=clock()))
    clerk = login("clerk")
    response = clerk.post("/api/processes/loop_no_wait/instances", {"data": {"path": "now"}})
    assert response.status_code == 422, response.json
    assert response.json["code"] == "EXPRESSION_LIMIT" and "嵌套" in response.json["message"]
    incident = login("admin").ok(login("admin").get("/api/incidents"))[0]
    assert (incident["kind"], incident["task"]) == ("expression_limit", "l_again")
