"""Handlers for 采购项目变更, 项目结项 and 实施形式变更 (seed 001 §2.2.3, §2.2.5, §2.3). The rules are on
``Project`` (app/models/project_lifecycle.py); these read the form data and return what the history keeps."""
from ..models import Attachment, DomainError, Project, money
from ..models.attachment import hashes
from ..models.project import CATEGORIES
from . import handler
from .project import _choice, _funds


def _project(ctx):
    return ctx.record(Project, ctx.require("project_id"), "项目")


def _change_values(ctx):
    """The proposed record, from the 变更 form (the same fields as registration, without year and form)."""
    amount = money(ctx.require("amount"))
    name = (ctx.get("name") or "").strip()
    if not name:
        raise DomainError("INVALID_INPUT", "请填写项目名称", field="name", status=400)
    return {"name": name, "category": _choice(ctx, "category", CATEGORIES), "amount": amount,
            "region": ctx.get("region") or "", "items": ctx.get("items") or [],
            "is_government_procurement": bool(ctx.get("is_government_procurement", True)),
            "justification": ctx.get("justification") or "", "funds": _funds(ctx)}


@handler("project.request_change")
def request_change(ctx):
    """变更申请: only an unused project; the leader (需求领导) reviews it."""
    project = _project(ctx)
    project.request_change(ctx.session, _change_values(ctx), ctx.get("change_reason"))
    return {"project_number": project.number}


@handler("project.apply_change")
def apply_change(ctx):
    """变更审核通过: a new version; budget occupation follows the changed funds."""
    project = _project(ctx)
    version = project.apply_change(ctx.session, _change_values(ctx), ctx.get("change_reason") or "", ctx.user_id,
                                   ctx.now, ctx.instance.id)
    return {"project_version": version.version}


@handler("project.return_request")
def return_request(ctx):
    """变更/结项 rejected by the leader, or approved but no longer applicable: the request is withdrawn from the
    project and the clerk gets it back — with the rule that refused it, when one did."""
    _project(ctx).clear_pending()
    return {key: ctx.data[key] for key in ("error_code", "error_message") if ctx.data.get(key)}


def _closing_attachments(ctx):
    return Attachment.resolve(ctx.session, ctx.get("closing_attachment_ids"), ctx.instance.unit_id,
                              "closing_attachment_ids", "项目结项附件")


@handler("project.request_closing")
def request_closing(ctx):
    """结项申请: contract filed and accepted (无验收不结项), a reason and the 结项附件."""
    project = _project(ctx)
    attached = _closing_attachments(ctx)
    project.request_closing(ctx.session, ctx.get("reason"))
    return {"project_number": project.number, "attachments": hashes(attached)}


@handler("project.close")
def close(ctx):
    project = _project(ctx)
    attached = _closing_attachments(ctx)
    version = project.close(ctx.session, ctx.get("reason"), attached, ctx.user_id, ctx.now, ctx.instance.id)
    return {"project_version": version.version}


@handler("project.change_implementation_form")
def change_implementation_form(ctx):
    """实施形式变更: saved when the new form fits the project's amount and category, refused otherwise."""
    project = _project(ctx)
    version = project.change_implementation_form(ctx.session, ctx.get("implementation_form"), ctx.get("reason"),
                                                 ctx.user_id, ctx.now, ctx.instance.id)
    return {"project_version": version.version}
