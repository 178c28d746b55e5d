"""The few FEEL expressions a Camunda Form uses to choose a field's options, evaluated on the server so a form
shared by a procedure's start and edit steps checks each step's options as form-js offers them (issue 19).

Supported (anything else is "unknown": no option check, as for a field without options):
- conditions: ``x = null``, ``x != null``, ``is defined(x)``, ``not(is defined(x))``,
  ``x = "text"``, ``x != "text"``, ``x = true`` / ``false`` / a number, joined by ``and`` / ``or``
  (``and`` binds first, no parentheses); ``x`` may be a dotted path;
- ``valuesExpression``: ``=[{label: "…", value: "…"}, …]`` or ``=if <condition> then [list] else [list]``.
Never evaluates anything but these patterns (no eval, no FEEL engine).
"""
import re

UNKNOWN = object()
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_LITERAL = r'null|true|false|-?\d+(?:\.\d+)?|"[^"\\]*"'
_COMPARE = re.compile(rf"^({_PATH})\s*(!=|=)\s*({_LITERAL})$")
_DEFINED = re.compile(rf"^(not\(\s*)?is defined\(\s*({_PATH})\s*\)(\s*\))?$")
_OPTION = re.compile(r'\{\s*label\s*:\s*"([^"\\]*)"\s*,\s*value\s*:\s*"([^"\\]*)"\s*\}')
_LIST = re.compile(r"^\[\s*(?:" + _OPTION.pattern + r"\s*(?:,\s*" + _OPTION.pattern + r"\s*)*)?\]$")
_IF = re.compile(r"^if\s+(.+?)\s+then\s+(\[.*?\])\s+else\s+(\[.*\])$", re.S)


def _lookup(context, path):
    value = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _literal(text):
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text[1:-1]
    return float(text)


def _atom(text, context):
    text = text.strip()
    match = _DEFINED.match(text)
    if match and bool(match.group(1)) == bool(match.group(3)):
        defined = _lookup(context, match.group(2)) is not None
        return not defined if match.group(1) else defined
    match = _COMPARE.match(text)
    if match:
        value, expected = _lookup(context, match.group(1)), _literal(match.group(3))
        if isinstance(expected, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            equal = float(value) == expected
        else:
            equal = value == expected
        return equal if match.group(2) == "=" else not equal
    return UNKNOWN


def condition(expression, context):
    """True / False, or UNKNOWN when ``expression`` is outside the supported patterns."""
    if not isinstance(expression, str):
        return UNKNOWN
    text = expression.strip()
    text = text[1:] if text.startswith("=") else text
    any_true = False
    for alternative in re.split(r"\s+or\s+", text):
        values = [_atom(part, context) for part in re.split(r"\s+and\s+", alternative)]
        if UNKNOWN in values:
            return UNKNOWN
        any_true = any_true or all(values)
    return any_true


def options(expression, context):
    """The option values a ``valuesExpression`` yields, or UNKNOWN."""
    if not isinstance(expression, str):
        return UNKNOWN
    text = expression.strip()
    text = text[1:].strip() if text.startswith("=") else text
    match = _IF.match(text)
    if match:
        chosen = condition(match.group(1), context)
        if chosen is UNKNOWN:
            return UNKNOWN
        text = match.group(2) if chosen else match.group(3)
    if not _LIST.match(text.strip()):
        return UNKNOWN
    return [value for _, value in _OPTION.findall(text)]
