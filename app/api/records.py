"""Domain records of the caller's units: budgets, projects, plans."""
from flask_smorest import Blueprint
from sqlalchemy import select

from ..models import BudgetLine, NotFound, Plan, Project, Tender
from ..models.agency import sees_record
from . import schemas
from .common import current_user, login_required, read_session

blp = Blueprint("records", __name__, url_prefix="/api", description="业务记录")


def _visible(session, model, ident, what):
    user = current_user()
    obj = session.get(model, ident)
    if obj is None or not sees_record(session, user, obj):  # 代理机构库: another agency's work is not found
        raise NotFound(what, ident)
    return obj


@blp.route("/budgets", methods=["GET"])
@login_required
@blp.response(200, schemas.Budget(many=True))
def budgets():
    session = read_session()
    units = current_user().unit_ids(session)
    return [b.to_dict() for b in session.scalars(
        select(BudgetLine).where(BudgetLine.unit_id.in_(units)).order_by(BudgetLine.code))]


@blp.route("/projects/<int:project_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.Project)
def project(project_id):
    session = read_session()
    return _visible(session, Project, project_id, "项目").to_dict(session)


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.Plan)
def plan(plan_id):
    session = read_session()
    return _visible(session, Plan, plan_id, "采购计划").to_dict()


@blp.route("/tenders/<int:tender_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.Tender)
def tender(tender_id):
    session = read_session()
    return _visible(session, Tender, tender_id, "交易项目").to_dict()
