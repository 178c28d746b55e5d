"""Merge a procedure's edit form into its start form (issue 19: one form per procedure step kind).

    python scripts/merge_edit_form.py contract_change                  (forms/contract_change_edit.form)
    python scripts/merge_edit_form.py requirement_drafting requirement_edit

The components of both forms are lined up (by key, or text for texts). What only the start form has (its heading,
the field choosing the record) hides once the instance has started (``conditional.hide: =initiator != null``);
what only the edit form has (its heading, 重新提交 / 放弃 / 删除) at the start (``=initiator = null``); the check's
error and the reviewer's comment where they are unset (``=error_message = null``, ``=comment = null``). A choice
whose options differ gets them by ``valuesExpression`` (``=if initiator = null then [...] else [...]``); a field
whose description differs keeps the start's. Any other difference in a field both forms have stops the merge: decide
it by hand. Then the diagrams' ``camunda:formRef="<edit>"`` name the start form and the edit form is deleted. Field
keys do not change. Check the result with scripts/lint_bpmn.py and the procedure's tests.
"""
import argparse
import copy
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_ONLY = "=initiator != null"
EDIT_ONLY = "=initiator = null"


class MergeError(Exception):
    pass


def _bare(component):
    out = {k: v for k, v in component.items() if k not in ("id", "layout")}
    if "components" in out:
        out["components"] = [_bare(c) for c in out["components"]]
    return out


def _signature(component):
    return component.get("key") or component.get("path") or component.get("text") or component.get("type")


def _hidden(component, expression):
    out = copy.deepcopy(component)
    old = (out.get("conditional") or {}).get("hide")
    if old and not old.startswith("="):
        raise MergeError(f"{_signature(component)}: conditional.hide “{old}” is not a FEEL expression")
    out["conditional"] = {"hide": f"{old} or {expression[1:]}" if old else expression}
    return out


def _options(values):
    return "[" + ", ".join('{label: %s, value: %s}' % (json.dumps(o["label"], ensure_ascii=False),
                                                       json.dumps(o["value"], ensure_ascii=False))
                           for o in values) + "]"


def _both(start, edit, notes):
    a, b = _bare(start), _bare(edit)
    if a == b:
        return start
    differ = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    if differ == {"values"} and start.get("type") in ("radio", "select"):
        out = copy.deepcopy(start)
        del out["values"]
        first, then = _options(start["values"]), _options(edit["values"])
        out["valuesExpression"] = f"=if initiator = null then {first} else {then}"
        notes.append(f"{_signature(start)}: options by step")
        return out
    if differ == {"description"}:
        notes.append(f"{_signature(start)}: the start's description kept")
        return start
    raise MergeError(f"{_signature(start)} differs in {', '.join(sorted(differ))}: merge it by hand")


def merge_schemas(start, edit):
    """(merged schema, notes). Raises MergeError for what needs a person."""
    ours, theirs = start["components"], edit["components"]
    merged, notes = [], []
    matcher = difflib.SequenceMatcher(a=[_signature(c) for c in ours], b=[_signature(c) for c in theirs],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            merged += [_both(a, b, notes) for a, b in zip(ours[i1:i2], theirs[j1:j2])]
            continue
        for component in ours[i1:i2]:
            merged.append(_hidden(component, START_ONLY))
            notes.append(f"start only: {str(_signature(component)).splitlines()[0]}")
        for component in theirs[j1:j2]:
            text = component.get("text") or "" if component.get("type") == "text" else ""
            if text.startswith("{{#if error_message}}"):
                merged.append(_hidden(component, "=error_message = null"))
            elif text.startswith("{{#if comment}}"):
                merged.append(_hidden(component, "=comment = null"))
            else:
                merged.append(_hidden(component, EDIT_ONLY))
                notes.append(f"edit only: {str(_signature(component)).splitlines()[0]}")
    ids = [c.get("id") for c in merged if c.get("id")]
    keys = [c.get("key") for c in merged if c.get("key")]
    if len(ids) != len(set(ids)) or len(keys) != len(set(keys)):
        raise MergeError("the merged form would repeat a component id or a key: merge it by hand")
    return {**start, "components": merged}, notes


def merge(name, edit_name, root=ROOT):
    start_path, edit_path = root / "forms" / f"{name}.form", root / "forms" / f"{edit_name}.form"
    start, edit = (json.loads(p.read_text(encoding="utf-8")) for p in (start_path, edit_path))
    merged, notes = merge_schemas(start, edit)
    edit_key = edit.get("id") or edit_name
    start_key = start.get("id") or name
    pattern = re.compile(rf'camunda:formRef="{re.escape(edit_key)}"')
    touched = []
    for diagram in sorted((root / "bpmn").glob("*.bpmn")):
        text = diagram.read_text(encoding="utf-8")
        if pattern.search(text):
            diagram.write_text(pattern.sub(f'camunda:formRef="{start_key}"', text), encoding="utf-8")
            touched.append(diagram.name)
    start_path.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    edit_path.unlink()
    return notes, touched


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the start form: forms/<name>.form")
    parser.add_argument("edit", nargs="?", help="the edit form (default <name>_edit)")
    args = parser.parse_args(argv)
    try:
        notes, touched = merge(args.name, args.edit or f"{args.name}_edit")
    except MergeError as err:
        print(f"{args.name}: {err}", file=sys.stderr)
        return 1
    print(f"{args.name}: " + "; ".join(notes))
    print(f"formRef now names {args.name} in: {', '.join(touched) or '(no diagram)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
