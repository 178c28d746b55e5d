"""Which form a user task shows, resolved the way Camunda 7 resolves it.

- ``camunda:formRef="id"`` names a Camunda Form by its JSON ``id`` (the file name only when the form has none),
  with ``camunda:formRefBinding``: ``latest`` (default), ``deployment`` (the version deployed with the diagram)
  or ``version`` (``camunda:formRefVersion``). A pinned version is kept on the task row as ``id@version``;
- ``camunda:formKey="camunda-forms:deployment:x.form"`` (older Modelers) names the form file;
- a form key written as an expression (``${formKey}``) is evaluated over the task's variables when the task
  becomes ready;
- embedded HTML forms (``embedded:app:forms/x.html``, ``app:…``) live in a Java web application this service does
  not have: the task runs without a form (lint says so), as a generic form in Camunda's Tasklist would.
"""
import re

from sqlalchemy import select

from ..models import FormDefinition
from . import expressions

_CAMUNDA_FORMS = re.compile(r"^camunda-forms:(?:app|deployment):(?:.*/)?([^/]+?)(?:\.form)?$")
_PINNED = re.compile(r"^(.+)@(\d+)$")


def is_html_form(value):
    text = (value or "").strip()
    return text.startswith(("embedded:", "app:")) or text.endswith((".html", ".htm"))


def key_from(value):
    """The form key a formRef/formKey text names, or None (no form here: empty or an HTML form)."""
    text = (value or "").strip()
    if not text or is_html_form(text):
        return None
    match = _CAMUNDA_FORMS.match(text)
    return match.group(1) if match else text


def resolve(spec, data, definition=None, session=None):
    """The task row's form key for a ready task: expressions evaluated, the binding's version pinned."""
    key = getattr(spec, "form_key", None)
    if key and expressions.is_juel(key):
        key = key_from(str(expressions.template(key, data) or ""))
    if not key:
        return None
    binding = getattr(spec, "form_binding", "latest")
    if binding == "version" and getattr(spec, "form_version", None):
        return f"{key}@{spec.form_version}"
    if binding == "deployment" and definition is not None and session is not None:
        version = session.scalar(select(FormDefinition.version).where(
            FormDefinition.key == key, FormDefinition.deployment_id == definition.deployment_id).limit(1))
        if version is not None:
            return f"{key}@{version}"
    return key


def split(key):
    """``id@3`` → ("id", 3); ``id`` → ("id", None)."""
    match = _PINNED.match(key or "")
    return (match.group(1), int(match.group(2))) if match else (key, None)
