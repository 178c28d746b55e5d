"""Record references in forms are picked by what people see — 2026-350001-001 教学设备购置, XM2026000004 … — not typed
as database ids (issue 15 point 8). Generic: any form field keyed ``<record>_id`` (DESIGN.md data convention) whose
record has a unit becomes a searchable select of that record among the user's units; the value sent is still the
id, so the server validates it exactly as before. The stored form is not changed, only the copy the page renders.
"""
from sqlalchemy import select

from . import present

LIMIT = 300  # newest first; the server checks whatever is chosen


def _reference_fields(components, found):
    for c in components or []:
        key = str(c.get("key") or "")
        if c.get("type") == "number" and key.endswith("_id") and key != "unit_id":
            found.setdefault(key[:-3], []).append(c)
        _reference_fields(c.get("components"), found)
    return found


def options(session, record_type, unit_ids):
    model = present.model_for(record_type)
    if model is None or not hasattr(model, "unit_id"):
        return None
    query = select(model).where(model.unit_id.in_(unit_ids)).order_by(model.id.desc()).limit(LIMIT)
    if hasattr(model, "status"):
        query = query.where(model.status.notin_(("deleted",)))
    out = []
    for obj in session.scalars(query):
        brief = present.record_brief(record_type, obj)
        label = f"{brief['number']} {brief['name']}".strip()
        if brief["status_label"]:
            label += f"（{brief['status_label']}）"
        out.append({"label": label, "value": obj.id})
    return out


def with_pickers(session, schema, data, unit_ids):
    """Turn the schema's reference fields into searchable selects (in place) and put their options into ``data``."""
    if not schema or not unit_ids:
        return schema
    for record_type, components in _reference_fields(schema.get("components"), {}).items():
        choices = options(session, record_type, unit_ids)
        if choices is None:
            continue
        values_key = f"_choices_{record_type}"
        data[values_key] = choices
        for c in components:
            c["type"], c["searchable"], c["valuesKey"] = "select", True, values_key
            c.pop("decimalDigits", None), c.pop("increment", None)
            c["validate"] = {"required": (c.get("validate") or {}).get("required", False)}
            if c.get("description") and "编号" in c["description"]:
                c["description"] = "输入编号或名称搜索"
    return schema
