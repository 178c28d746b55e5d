"""站内通知: one's own notices, the unread count, mark-as-read, and where e-mail copies go."""
import re

from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

from ..models import DomainError, Notice, NoticePreference
from . import schemas
from .common import current_user, login_required, now, read_session, transaction
from .schemas import Int

blp = Blueprint("notices", __name__, url_prefix="/api/notices", description="站内通知")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,20}$")


class NoticeSchema(schemas.Base):
    id = Int()
    kind = fields.String(metadata={"description": "arrived/returned/urged/overdue/copied/delegated/resolved/…"})
    kind_label = fields.String()
    title = fields.String()
    body = fields.String()
    instance_id = Int(allow_none=True)
    task_id = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Boolean()


class NoticeList(schemas.Base):
    unread = Int()
    items = fields.List(fields.Nested(NoticeSchema))


class NoticeQuery(schemas.Base):
    unread = fields.Boolean(metadata={"description": "只看未读"})
    limit = Int(validate=validate.Range(min=1, max=500, error="数量应在 1 到 500 之间"))


class ReadInput(schemas.Base):
    ids = fields.List(Int(), metadata={"description": "要标为已读的通知；不填则全部标为已读"})


class ReadResult(schemas.Base):
    marked = Int()
    unread = Int()


class Preference(schemas.Base):
    email = fields.String(allow_none=True, validate=validate.Length(max=200, error="邮箱地址过长"))


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(NoticeQuery, location="query", error_status_code=400)
@blp.response(200, NoticeList)
def list_notices(args):
    session, user = read_session(), current_user()
    query = select(Notice).where(Notice.username == user.username)
    if args.get("unread"):
        query = query.where(Notice.read_at.is_(None))
    rows = session.scalars(query.order_by(Notice.id.desc()).limit(args.get("limit", 100)))
    return {"unread": Notice.unread(session, user.username), "items": [r.to_dict() for r in rows]}


@blp.route("/read", methods=["POST"])
@login_required
@blp.arguments(ReadInput, error_status_code=400)
@blp.response(200, ReadResult)
def mark_read(body):
    with transaction() as (session, user):
        marked = Notice.mark_read(session, user.username, now(), body.get("ids"))
        return {"marked": marked, "unread": Notice.unread(session, user.username)}


@blp.route("/preference", methods=["GET"])
@login_required
@blp.response(200, Preference)
def get_preference():
    row = read_session().get(NoticePreference, current_user().username)
    return {"email": row.email if row else None}


@blp.route("/preference", methods=["PUT"])
@login_required
@blp.arguments(Preference, error_status_code=400)
@blp.response(200, Preference)
@blp.alt_response(400, schema=schemas.ApiError)
def put_preference(body):
    email = (body.get("email") or "").strip() or None
    if email is not None and not _EMAIL.match(email):
        raise DomainError("INVALID_INPUT", "邮箱地址格式不正确", field="email", status=400)
    with transaction() as (session, user):
        row = session.get(NoticePreference, user.username) or NoticePreference(username=user.username)
        row.email = email
        session.add(row)
        return {"email": email}
