"""Handlers for expert extraction (专家抽取, seed 001 ch.10). The draw and its rules are in app/models/expert.py;
every draw's seed, candidate ids and drawn ids go into the outputs, so the instance history holds them."""
from ..models import Unit
from ..models.expert import ANSWERS, CATEGORIES, ExpertExtraction
from . import handler


def _extraction(ctx):
    return ctx.record(ExpertExtraction, ctx.require("extraction_id"), "专家抽取")


def _listing(ctx, extraction):
    """评审专家名单 for the task form: a short table (ids for answering, names, answers)."""
    rows = [x for x in extraction.listing(ctx.session) if not x["replaced"]]
    lines = ["| 编号 | 组 | 姓名 | 工作单位 | 分类 | 应答 |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['expert_id']} | {r['group']} | {r['name']} | {r['unit_name']} | "
              f"{CATEGORIES.get(r['category'], r['category'])} | {ANSWERS[r['answer']]} |" for r in rows]
    return {"expert_list": "\n".join(lines), "expert_ids": [r["expert_id"] for r in rows],
            "pending_count": sum(1 for r in rows if r["answer"] == "pending"),
            "declined_count": sum(1 for r in rows if r["answer"] == "declined"),
            "extraction_status": extraction.status}


@handler("expert.submit")
def submit(ctx):
    """提交即开始抽取 (001 §10.1.5): create the requirement table and draw."""
    unit = ctx.session.get(Unit, ctx.instance.unit_id)
    values = {key: ctx.get(key) for key in ("title", "method", "project_id", "avoid_units", "avoid_id_numbers",
                                            "groups")}
    extraction, draw = ExpertExtraction.create(ctx.session, unit, values, ctx.user_id, ctx.now)
    return {"extraction_id": extraction.id, "extraction_number": extraction.number, **draw.outputs(),
            **_listing(ctx, extraction)}


@handler("expert.record_answers")
def record_answers(ctx):
    extraction = _extraction(ctx)
    extraction.record_answers(ctx.get("answers") or [], ctx.now)
    ctx.session.flush()
    return {**_listing(ctx, extraction), "answers": []}  # recorded: not to be sent again with the next action


@handler("expert.adjust")
def adjust(ctx):
    """调整专家需求表: replace declined experts (and draw for raised counts), with a new stored seed."""
    extraction = _extraction(ctx)
    draw, replaced = extraction.adjust(ctx.session, ctx.get("groups"), ctx.now)
    ctx.session.flush()
    return {**draw.outputs(), "replaced_expert_ids": [x.expert_id for x in replaced], **_listing(ctx, extraction)}


@handler("expert.revoke")
def revoke(ctx):
    extraction = _extraction(ctx)
    extraction.revoke(ctx.get("revoke_reason"), ctx.now)
    return {"extraction_status": extraction.status}


@handler("expert.complete")
def complete(ctx):
    extraction = _extraction(ctx)
    extraction.complete(ctx.now)
    return {"extraction_status": extraction.status}
