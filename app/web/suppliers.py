"""供应商库 page: everyone reads the library; clerks, agencies, finance and administrators propose a supplier;
finance and administrators admit or refuse it. The same model methods as /api/suppliers."""
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..api.common import now, read_session, transaction
from ..api.suppliers import PROPOSERS, REVIEWERS
from ..models import DomainError, NotFound
from ..models.supplier import STATUSES, Supplier
from . import bp
from .common import NAV, login_required, web_user

NAV.append(("web.suppliers", "供应商库", "suppliers", None))
FIELDS = ("name", "credit_code", "contact_name", "contact_phone", "address")


def _page(status=200, error=None, form=None):
    user, session = web_user(), read_session()
    state = request.args.get("status") if request.args.get("status") in STATUSES else None
    q = (request.args.get("q") or "").strip()[:64]
    query = select(Supplier).order_by(Supplier.status != "pending", Supplier.name)
    if state:
        query = query.where(Supplier.status == state)
    if q:
        query = query.where(Supplier.name.like(f"%{q}%") | Supplier.credit_code.like(f"%{q.upper()}%"))
    return render_template("suppliers.html", active="suppliers", items=list(session.scalars(query)),
                           statuses=STATUSES, f={"status": state, "q": q}, error=error, form=form or {},
                           can_propose=bool(user.groups & set(PROPOSERS)),
                           can_review=bool(user.groups & set(REVIEWERS))), status


@bp.route("/suppliers")
@login_required
def suppliers():
    return _page()


@bp.route("/suppliers", methods=["POST"])
@login_required
def supplier_propose():
    if not web_user().groups & set(PROPOSERS):
        return _page(403, "只有经办岗、代理机构、财政部门和系统管理员可以申请供应商入库")
    form = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    try:
        with transaction() as (session, user):
            supplier = Supplier.propose(session, {**form, "is_sme": request.form.get("is_sme") == "on"},
                                        user.username, now())
            name = supplier.name
    except DomainError as err:
        return _page(err.status if err.status < 500 else 400, err.message, form)
    flash(f"已申请供应商 {name} 入库，待财政部门审核。", "success")
    return redirect(url_for("web.suppliers"))


@bp.route("/suppliers/<int:supplier_id>/review", methods=["POST"])
@login_required
def supplier_review(supplier_id):
    if not web_user().groups & set(REVIEWERS):
        return _page(403, "只有财政部门和系统管理员可以审核供应商入库")
    approved = request.form.get("approved") == "true"
    try:
        with transaction() as (session, user):
            supplier = session.get(Supplier, supplier_id, with_for_update=True)
            if supplier is None:
                raise NotFound("供应商", supplier_id)
            supplier.review(approved, request.form.get("comment"), user.username, now())
            name = supplier.name
    except DomainError as err:
        return _page(err.status if err.status < 500 else 400, err.message)
    flash(f"供应商 {name} {'已入库' if approved else '不予入库'}。", "success")
    return redirect(url_for("web.suppliers"))
