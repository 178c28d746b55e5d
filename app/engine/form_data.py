"""Camunda 7 generated task forms (``camunda:formData``) as Camunda Forms, so they render and validate like any
other form here (the browser and ``forms.validate_data`` alike).

Each ``camunda:formField`` becomes a form-js component: ``string`` → textfield, ``long`` → number (whole),
``boolean`` → checkbox, ``date`` → datetime (date), ``enum`` → select of its ``camunda:value``s; constraints
``required``, ``readonly``, ``minlength``/``maxlength``, ``min``/``max`` map to form-js ``validate``. A type or a
constraint Camunda delegates to Java (custom types, ``validator`` classes) is refused at deployment, naming it."""
_TYPES = {"string": "textfield", "long": "number", "boolean": "checkbox", "date": "datetime", "enum": "select"}
_CONSTRAINTS = {"required", "readonly", "minlength", "maxlength", "min", "max"}


def generated_key(process_id, element_id):
    return f"{process_id}.{element_id}"[:100]


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _default(kind, text):
    if text is None:
        return None
    if kind == "boolean":
        return str(text).strip().lower() == "true"
    if kind == "long":
        return _number(text)
    return text


def build(node, ns, element_id):
    """(form-js schema or None, [problem messages]) for the formData of ``node``."""
    fields = node.findall("./bpmn:extensionElements/camunda:formData/camunda:formField", ns)
    if not fields:
        return None, []
    components, problems = [], []
    for field in fields:
        key, kind = field.get("id"), (field.get("type") or "string")
        if not key or not key.isidentifier():
            problems.append(f"表单字段 id “{key}” 不是有效的变量名 / formField id must be a variable name")
            continue
        if kind not in _TYPES:
            problems.append(f"表单字段 {key} 的类型 “{kind}” 需要 Java 扩展，本服务不支持；请改用 string、long、boolean、date "
                            f"或 enum，或改用 Camunda Form（formRef） / custom form field type not supported")
            continue
        component = {"key": key, "type": _TYPES[kind], "label": field.get("label") or key, "id": f"Field_{key}"}
        if kind == "long":
            component["decimalDigits"] = 0
        if kind == "date":
            component.update(subtype="date", dateLabel=field.get("label") or key)
        if kind == "enum":
            component["values"] = [{"label": v.get("name") or v.get("id"), "value": v.get("id")}
                                   for v in field.findall("./camunda:value", ns)]
        default = _default(kind, field.get("defaultValue"))
        if default is not None and "${" not in str(default):
            component["defaultValue"] = default
        validate = {}
        for constraint in field.findall("./camunda:validation/camunda:constraint", ns):
            name, config = constraint.get("name"), constraint.get("config")
            if name not in _CONSTRAINTS:
                problems.append(f"表单字段 {key} 的校验 “{name}” 需要 Java 校验类，本服务不支持；请改用 required、minlength、"
                                f"maxlength、min、max、readonly / custom validator not supported")
            elif name == "required":
                validate["required"] = True
            elif name == "readonly":
                component["readonly"] = True
            elif _number(config) is None:
                problems.append(f"表单字段 {key} 的校验 {name} 需要整数参数 / {name} needs a number")
            else:
                validate[{"minlength": "minLength", "maxlength": "maxLength"}.get(name, name)] = _number(config)
        if validate:
            component["validate"] = validate
        components.append(component)
    schema = {"type": "default", "id": element_id, "components": components,
              "schemaVersion": 16, "generator": "camunda:formData"}
    return schema, problems
