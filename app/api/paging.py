"""Paging for every list endpoint, as ``GET /api/tasks`` pages (docs/api.md "Paging"): ``page`` (from 1) and
``per_page`` (default 50, at most 200: a larger one is served as 200) in the query (``schemas.Paging``: zero,
negative or non-numeric is 400 with the field's Chinese message); the body is the page's list, the headers say where
it is: X-Total-Count, X-Page, X-Per-Page and ``Link: <…&page=N+1>; rel="next"`` when more follow. A page past the
end is an empty list. Pages are limit/offset over the endpoint's order, which always ends in a unique column."""
from flask import request, url_for
from sqlalchemy import func, select

from ..engine import tasklist


def per_page(args):
    return min(args.get("per_page") or tasklist.DEFAULT_PER_PAGE, tasklist.MAX_PER_PAGE)


def headers(info, count):
    """X-Total-Count, X-Page, X-Per-Page and a Link to the next page when there is one."""
    out = {"X-Total-Count": str(info["total"]), "X-Page": str(info["page"]), "X-Per-Page": str(info["per_page"])}
    if info["page"] * info["per_page"] < info["total"] and count:
        args = {k: v for k, v in request.args.items() if k != "page"}
        out["Link"] = f'<{url_for(request.endpoint, **request.view_args, **args, page=info["page"] + 1)}>; rel="next"'
    return out


def _info(args, total):
    size = per_page(args)
    return {"page": max(1, args.get("page") or 1), "pages": max(1, -(-total // size)), "total": total,
            "per_page": size}


def of_query(session, query, args, convert=None):
    """(one page of ``query``'s rows, converted, paging headers): one count and one limited query in SQL."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    info = _info(args, total)
    rows = list(session.scalars(query.limit(info["per_page"]).offset((info["page"] - 1) * info["per_page"])))
    rows = [convert(row) for row in rows] if convert else rows
    return rows, headers(info, len(rows))


def of_list(items, args):
    """(one page of a list computed in Python, paging headers): for lists that are not one query."""
    info = _info(args, len(items))
    start = (info["page"] - 1) * info["per_page"]
    rows = items[start:start + info["per_page"]]
    return rows, headers(info, len(rows))
