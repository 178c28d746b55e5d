"""GET /api/year-end/<year>: progress of the year-end cleanup per category, and the budget report."""
from flask_smorest import Blueprint, abort
from marshmallow import fields

from ..models.year_end import progress
from . import schemas
from .common import current_user, login_required, read_session
from .schemas import Int

blp = Blueprint("year_end", __name__, url_prefix="/api/year-end", description="年终处理")


class CategorySchema(schemas.Base):
    category = fields.String()
    label = fields.String()
    procedure = fields.String(allow_none=True)
    found = Int()
    not_started = Int(metadata={"description": "its instance is queued, not yet started"})
    in_progress = Int()
    done = Int()
    blocked = Int()


class ItemSchema(schemas.Base):
    id = Int()
    category = fields.String()
    label = fields.String()
    record_type = fields.String()
    record_id = Int()
    project_id = Int(allow_none=True)
    unit_id = Int()
    procedure = fields.String(allow_none=True)
    instance_id = Int(allow_none=True)
    state = fields.String(metadata={"description": "not_started / in_progress / done / blocked"})
    note = fields.String()
    reminded_at = fields.DateTime(allow_none=True)


class BudgetReportSchema(schemas.Budget):
    adjustable = fields.Boolean(metadata={"description": "unused now: can be adjusted in the budget system"})


class ProgressSchema(schemas.Base):
    year = Int()
    categories = fields.List(fields.Nested(CategorySchema))
    items = fields.List(fields.Nested(ItemSchema))
    unclassified = fields.List(fields.Nested(ItemSchema))
    budgets = fields.List(fields.Nested(BudgetReportSchema))


@blp.route("/<int(min=2000, max=2100):year>", methods=["GET"])  # other years: 404
@login_required
@blp.response(200, ProgressSchema)
def year_progress(year):
    """Finance and auditors see every unit; others see their units' items and budgets."""
    user = current_user()
    session = read_session()
    if user.groups & {"finance", "auditor", "admin"}:
        return progress(session, year)
    units = user.unit_ids(session)
    if not units:
        abort(403, message="您没有可查看的单位")
    return progress(session, year, units)
