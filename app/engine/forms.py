"""Server-side validation of task data against its Camunda Form (form-js JSON), with marshmallow.

The same schema serves the REST API and the web UI, so both refuse the same input with the
same Chinese messages. Only keys the form declares reach the process: a caller cannot set
``initiator``, ``unit_id`` or any other variable the form does not ask for.
"""
import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..models import DomainError
from ..models.amounts import AmountError, parse_number
from ..models.base import MONEY_MAX, MONEY_RANGE_MESSAGE, parse_day
from ..models.inputs import FORM_MAX_ROWS, FORM_MAX_TEXT, MAX_ID, SAFE_NUMBER, check_json
from . import form_conditions

MESSAGES = {
    "required": "此项为必填项",
    "null": "此项不能为空",
    "invalid": "格式不正确",
    "type": "格式不正确",
}
_STATIC = {"text", "spacer", "separator", "image", "html", "button", "iframe", "table", "expression", "documentPreview"}


class Number(fields.Field):
    """form-js number: a JSON number or numeric string; kept JSON-friendly (int or float).

    Strict, never rounded: ``integer`` refuses fractions (2026.5 is no year), ``money`` takes at most two places
    up to ``MONEY_MAX``; any other number stays within what a browser holds exactly."""

    def __init__(self, decimal_digits=None, integer=False, money=False, maximum=None, **kwargs):
        super().__init__(**kwargs)
        self.decimal_digits, self.integer, self.money, self.maximum = decimal_digits, integer, money, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        try:  # `450,000` and `４５０，０００` are 450000; `450,00` is refused, never read as another number
            number = parse_number(value, money=self.money)
        except AmountError as err:
            raise ValidationError(str(err)) from None
        if self.money and abs(number) > MONEY_MAX:
            raise ValidationError(MONEY_RANGE_MESSAGE)
        if abs(number) > (self.maximum or SAFE_NUMBER):
            raise ValidationError(f"数值超出范围（应不大于 {self.maximum or SAFE_NUMBER}）")
        if self.integer and number != number.to_integral_value():
            raise ValidationError("请输入整数")
        places = 2 if self.money and self.decimal_digits is None else self.decimal_digits
        if places is not None and -number.normalize().as_tuple().exponent > places:
            raise ValidationError(f"最多保留 {places} 位小数")
        return int(number) if number == number.to_integral_value() else float(number)


def _integer_key(key):
    """Data conventions (DESIGN.md): `<record>_id` references, years, counts and day counts are whole numbers."""
    return key == "year" or key == "count" or key.endswith(("_id", "_count", "_days"))


def _money_key(key):
    """Money is in yuan under keys ending in `amount` (and unit prices), two places at most."""
    return key.endswith(("amount", "price"))


class Boolean(fields.Boolean):
    default_error_messages = {"invalid": "请选择是或否"}


class YesNo(fields.Field):
    """A radio of "true"/"false" (as Camunda Modeler writes the values) read as a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value in (True, "true", "True"):
            return True
        if value in (False, "false", "False"):
            return False
        raise ValidationError("请选择有效的选项")


class IsoDate(fields.Field):
    def __init__(self, subtype="date", **kwargs):
        super().__init__(**kwargs)
        self.subtype = subtype

    def _deserialize(self, value, attr, data, **kwargs):
        text = value.strip() if isinstance(value, str) else ""
        if self.subtype == "time":
            if _TIME.fullmatch(text):
                return text
            raise ValidationError("时间格式不正确（应为 HH:MM）")
        day = parse_day(text)
        if day is None:
            raise ValidationError("日期格式不正确（应为 YYYY-MM-DD）")
        if self.subtype == "date":
            return day.isoformat()
        return datetime.fromisoformat(text).isoformat() if len(text) > 10 else day.isoformat()


_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


def _length_messages(v):
    lo, hi = v.get("minLength"), v.get("maxLength")
    if lo is None and hi is None:
        return []
    return [validate.Length(min=lo, max=hi, error=(
        f"长度应不少于 {lo} 个字符" if hi is None else f"长度应不超过 {hi} 个字符" if lo is None
        else f"长度应在 {lo} 到 {hi} 个字符之间"))]


def _range_validators(v):
    lo, hi = v.get("min"), v.get("max")
    if lo is None and hi is None:
        return []
    return [validate.Range(min=lo, max=hi, error=(
        f"应不小于 {lo}" if hi is None else f"应不大于 {hi}" if lo is None else f"应在 {lo} 到 {hi} 之间"))]


def _options(component):
    values = component.get("values")
    return [o.get("value") for o in values] if isinstance(values, list) else None


def _pattern(pattern):
    """form-js checks ``pattern`` with ``new RegExp(pattern).test(value)``: a match anywhere in the value, not
    anchored at the start as Python's ``re.match`` (``validate.Regexp``) would be. A pattern Python cannot read
    refuses nothing here rather than failing the request (lint reports it at deployment)."""
    try:
        compiled = re.compile(str(pattern))
    except re.error:
        return lambda value: None

    def check(value):
        if value is not None and compiled.search(str(value)) is None:
            raise ValidationError("格式不正确")
    return check


def _field_for(component, context=None, optional=False):
    v = component.get("validate") or {}
    kind = component.get("type")
    # ``optional``: the field (or its group) has a hide condition the server cannot tell (no context, or beyond
    # form_conditions): never required. Where it can, _collect has left a hidden field out, a shown one is as declared.
    required = bool(v.get("required")) and not component.get("readonly") and not component.get("disabled") \
        and not optional
    common = {"required": required, "allow_none": not required, "error_messages": dict(MESSAGES)}
    if "defaultValue" in component:
        # form-js fills defaults in the browser; API callers get the same defaults here.
        common.update(required=False, load_default=component["defaultValue"])
    validators = []
    if kind in ("textfield", "textarea"):
        validators += _length_messages(v if v.get("maxLength") is not None else {**v, "maxLength": FORM_MAX_TEXT})
        if v.get("pattern"):
            validators.append(_pattern(v["pattern"]))
        if v.get("validationType") == "email":
            validators.append(validate.Email(error="邮箱格式不正确"))
        if v.get("validationType") == "phone":
            validators.append(validate.Regexp(r"^\+?[0-9 \-]{6,20}$", error="电话号码格式不正确"))
        if required:
            validators.append(validate.Length(min=1, error=MESSAGES["required"]))
        return _TextField(validate=validators, **common)
    if kind == "number":
        key = str(component.get("key") or "")
        digits = component.get("decimalDigits")
        return Number(decimal_digits=digits, integer=digits == 0 or _integer_key(key), money=_money_key(key),
                      maximum=MAX_ID if key.endswith("_id") else None, validate=_range_validators(v), **common)
    if kind == "checkbox":
        return Boolean(**common)
    if kind in ("select", "radio"):
        options = _options(component)
        if options is None and context is not None and component.get("valuesExpression"):
            found = form_conditions.options(component["valuesExpression"], context)
            options = None if found is form_conditions.UNKNOWN else found
        if options is not None and set(options) == {"true", "false"}:
            return YesNo(**common)  # data convention: decisions such as `approved` are booleans
        if options is not None:
            validators.append(validate.OneOf(options, error="请选择有效的选项"))
        return fields.Raw(validate=validators, **common)
    if kind in ("checklist", "taglist"):
        options = _options(component)
        inner = fields.Raw(validate=[validate.OneOf(options, error="请选择有效的选项")] if options else [])
        validators.append(_max_rows())
        if required:
            validators.append(validate.Length(min=1, error=MESSAGES["required"]))
        return fields.List(inner, validate=validators, **common)
    if kind == "datetime":
        return IsoDate(subtype=component.get("subtype", "date"), **common)
    if kind == "filepicker":
        return fields.Raw(**common)
    return fields.Raw(**common)


class _TextField(fields.String):
    """Strings; numbers typed into a textfield are accepted as their text, surrounding blanks trimmed."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        value = super()._deserialize(value, attr, data, **kwargs)
        return value.strip()


def _max_rows():
    return validate.Length(max=FORM_MAX_ROWS, error=f"最多 {FORM_MAX_ROWS} 项")


def _hidden(component, context):
    """True when the component's ``conditional.hide`` holds for ``context`` (form-js neither validates nor submits
    a hidden field); False when it is shown; None when it cannot be told here (no context or an expression beyond
    form_conditions): then the field is optional and its value kept, as before."""
    hide = (component.get("conditional") or {}).get("hide")
    if not hide:
        return False
    if context is None:
        return None
    found = form_conditions.condition(hide, context)
    return None if found is form_conditions.UNKNOWN else found


def _collect(components, declared, context=None, optional=False):
    for component in components:
        kind = component.get("type")
        if kind in _STATIC:
            continue
        hidden = _hidden(component, context)
        if hidden:
            continue  # not declared: its value is dropped (unknown keys are excluded) and nothing is required
        optional_here = optional or hidden is None
        if kind == "group" and not component.get("path"):
            _collect(component.get("components", []), declared, context, optional_here)
        elif kind in ("group", "dynamiclist") and component.get("path"):
            sub = build_schema({"components": component.get("components", [])})
            if kind == "dynamiclist":
                declared[component["path"]] = fields.List(fields.Nested(sub), required=False, allow_none=True,
                                                          validate=[_max_rows()])
            else:
                declared[component["path"]] = fields.Nested(sub, required=False, allow_none=True)
        elif component.get("key"):
            declared[component["key"]] = _field_for(component, context, optional_here)


# Choices that end something for good (取消采购, 终止, 撤销): where the form has a reason field, it is required
# for them even if the form leaves it optional for the other choices (tender_opening: 取消原因).
_ENDING = {"cancel", "terminate", "revoke"}


def _reason_rules(components):
    """[(choice key, {ending value: option label}, reason key, reason label)] among a form's top-level fields."""
    flat = []
    stack = list(components)
    while stack:
        c = stack.pop(0)
        flat.append(c)
        if c.get("type") == "group" and not c.get("path"):
            stack[0:0] = c.get("components") or []
    reasons = [c for c in flat if c.get("type") in ("textarea", "textfield")
               and (c.get("key") == "reason" or str(c.get("key") or "").endswith("_reason"))]
    rules = []
    for c in flat:
        values = c.get("values") if c.get("type") in ("radio", "select") else None
        ending = {o.get("value"): o.get("label") or o.get("value") for o in values or [] if o.get("value") in _ENDING}
        if ending and len(reasons) == 1:
            label = re.sub(r"[（(].*$", "", reasons[0].get("label") or "原因").strip() or "原因"
            rules.append((c["key"], ending, reasons[0]["key"], label))
    return rules


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason_rules = ()

    @validates_schema
    def reason_required_to_end(self, data, **kwargs):
        for choice, ending, reason, label in self.reason_rules:
            if data.get(choice) in ending and not str(data.get(reason) or "").strip():
                raise ValidationError({reason: [f"选择“{ending[data[choice]]}”时必须填写{label}"]})

    @validates_schema
    def review_comment_required(self, data, **kwargs):
        # Data convention (DESIGN.md): a review decision is `approved` plus `comment`, required when rejecting.
        if "approved" in self.fields and "comment" in self.fields and data.get("approved") is False \
                and not (data.get("comment") or "").strip():
            raise ValidationError({"comment": ["审核不通过时必须填写审核意见"]})


def build_schema(form, context=None):
    """``context``: the data the step shows the form with: options given by a ``valuesExpression`` are checked
    as form-js offers them there (one form for a procedure's start and edit steps offers each its actions)."""
    declared = {}
    _collect(form.get("components", []), declared, context)
    schema = _FormSchema.from_dict(declared, name="FormSchema")()
    schema.reason_rules = _reason_rules(form.get("components", []))
    return schema


def _dynamic(components):
    """Does the form depend on its data: options by ``valuesExpression``, fields hidden by ``conditional.hide``?"""
    return any(c.get("valuesExpression") or (c.get("conditional") or {}).get("hide")
               or _dynamic(c.get("components") or []) for c in components)


def _defaults(components):
    """{key: defaultValue} of the top-level fields (groups without a path included): a caller who leaves such a
    field out gets its default stored, so conditions read the default too."""
    found = {}
    for c in components:
        if c.get("type") == "group" and not c.get("path"):
            found.update(_defaults(c.get("components") or []))
        elif c.get("key") and "defaultValue" in c:
            found[c["key"]] = c["defaultValue"]
    return found


_cache = {}


def validate_data(form, data, cache_key=None, context=None):
    """Validated data for the form's keys, or raise ValidationError with {field: [中文 message]}.

    ``cache_key`` (a deployed form's content hash) lets its schema be built once. ``context``: the data the
    step shows the form with ({} for a start, the instance's data for a task): options a ``valuesExpression``
    gives (one form for a procedure's start and edit steps) are checked as form-js offers them there, and a
    field its ``conditional.hide`` hides there is neither required nor kept (form-js does not submit it).
    """
    if not isinstance(data, dict):
        raise ValidationError({"data": ["应为 JSON 对象"]})
    try:
        check_json(data)  # whatever the entry point: storable text, bounded nesting and lists
    except DomainError as err:
        raise ValidationError({err.field or "data": [err.message]}) from None
    if context is not None and _dynamic(form.get("components", [])):
        # form-js evaluates conditions on the form's data: the step's data and what was typed into its fields (a
        # caller cannot flip a condition with a key the form does not ask for); a field left out that has a default
        # is read as the default (which is what this load stores for it)
        typed = {k: v for k, v in data.items() if k in field_keys(form)}
        shown = {**context, **_defaults(form.get("components", [])), **typed}
        return build_schema(form, shown).load(data)
    schema = _cache.get(cache_key) if cache_key is not None else None
    if schema is None:
        schema = build_schema(form)
        if cache_key is not None:
            _cache[cache_key] = schema
    return schema.load(data)


def field_keys(form):
    declared = {}
    _collect(form.get("components", []), declared)
    return set(declared)
