"""Handlers for procurement requirements (采购需求)."""
from ..models import Project, Requirement
from . import handler


def _requirement(ctx):
    return ctx.record(Requirement, ctx.require("requirement_id"), "采购需求")


@handler("requirement.save")
def save(ctx):
    if ctx.get("requirement_id"):
        requirement = _requirement(ctx)
        requirement.edit(ctx.get("title"), ctx.get("content"))
    else:
        project = ctx.record(Project, ctx.require("project_id"), "项目")
        requirement = Requirement(unit_id=project.unit_id, project_id=project.id, status="draft",
                                  title=ctx.get("title") or project.name, content=ctx.get("content") or "")
        ctx.session.add(requirement)
        ctx.session.flush()
    return {"requirement_id": requirement.id}


@handler("requirement.finalize")
def finalize(ctx):
    _requirement(ctx).finalize()
    return {}


@handler("requirement.void")
def void(ctx):
    _requirement(ctx).void(ctx.get("void_reason") or ctx.get("reason"))
    return {}
