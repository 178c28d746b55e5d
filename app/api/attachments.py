"""Attachments (附件): upload once (multipart), reference by id in task data, download where the record is visible.

Config: ``ATTACHMENT_STORE`` (``database``, the default, or ``disk``: app/storage.py), ``ATTACHMENTS_DIR`` (default
``instance/attachments``: the disk store's files, and every upload while it is checked) and ``ATTACHMENT_MAX_BYTES``
(default 10 MB), each from the app config or the environment. A refused upload (too large, wrong type, content not
matching the extension) gets a Chinese message (400/413) and leaves neither a file nor a row.
"""
import os

from flask import current_app, request, send_file
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..models import (RECORDS, Acceptance, Attachment, DomainError, NotFound, Payment, ProcessInstance, Subcontract,
                      SupplementaryContract, WriteOff)
from .. import storage
from ..models.attachment import DEFAULT_MAX_BYTES, size_text
from ..ops import settings
from ..models.inputs import check_text, parse_id
from .common import current_user, login_required, now, read_session, transaction, writer_required
from . import paging
from .schemas import ApiError, Base, Int, Paging, file_response

blp = Blueprint("attachments", __name__, url_prefix="/api/attachments", description="附件")

# Records an attachment may be uploaded against: the `<record>_id` records, and those entered on contracts.
TARGETS = {**RECORDS, "payment": Payment, "writeoff": WriteOff, "acceptance": Acceptance,
           "supplementary_contract": SupplementaryContract, "subcontract": Subcontract}
TARGET_LABELS = {"plan": "采购计划", "project": "项目", "tender": "交易项目", "budget_line": "预算指标", "contract": "合同",
                 "requirement": "采购需求", "payment": "支付申请", "writeoff": "冲销申请", "acceptance": "履约验收",
                 "supplementary_contract": "补充合同", "subcontract": "分包合同"}
# Multipart framing and the small form fields around the file.
_SLACK = 64 * 1024


def attachments_dir():
    return settings.attachments_dir(current_app.config)


def max_bytes():
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or os.environ.get("ATTACHMENT_MAX_BYTES")
               or DEFAULT_MAX_BYTES)


def _too_large(limit):
    return DomainError("ATTACHMENT_TOO_LARGE", f"附件超过大小上限 {size_text(limit)}，请压缩或拆分后上传", field="file", status=413)


def _bad(field, message):
    return DomainError("INVALID_INPUT", message, field=field, status=400)


class AttachmentOut(Base):
    id = Int()
    name = fields.String(metadata={"description": "原文件名"})
    size = Int(metadata={"description": "字节数"})
    content_type = fields.String()
    sha256 = fields.String(metadata={"description": "内容的 SHA-256（十六进制）"})
    unit_id = Int(allow_none=True)
    record_type = fields.String(allow_none=True)
    record_id = Int(allow_none=True)
    instance_id = Int(allow_none=True)
    uploaded_by = Int(allow_none=True)
    uploaded_at = fields.DateTime()


class AttachmentQuery(Paging):
    record_type = fields.String(validate=validate.OneOf(list(TARGETS), error="不支持的记录类型"))
    record_id = Int()
    instance_id = Int()


def _target(session, user, form):
    """Where the upload belongs: (folder, unit_id, record_type, record_id, instance_id), checked to be visible."""
    for key, value in form.items(multi=True):  # multipart: the request guard leaves these to us
        check_text(key, "form")
        check_text(value, key)
    record_type = (form.get("record_type") or "").strip()
    record_id = (form.get("record_id") or "").strip()
    instance_id = (form.get("instance_id") or "").strip()
    units = user.unit_ids(session)
    if record_type or record_id:
        if record_type not in TARGETS:
            raise _bad("record_type", f"不支持的记录类型“{record_type}”" if record_type else "请填写附件所属记录的类型")
        if not record_id.isdecimal():
            raise _bad("record_id", "记录编号应为整数")
        record = session.get(TARGETS[record_type], parse_id(record_id) or 0)
        if record is None or record.unit_id not in units:
            raise NotFound(TARGET_LABELS[record_type], record_id)
        return f"{record_type}/{record.id}", record.unit_id, record_type, record.id, None
    if instance_id:
        if not instance_id.isdecimal():
            raise _bad("instance_id", "流程实例编号应为整数")
        instance = session.get(ProcessInstance, parse_id(instance_id) or 0)
        if instance is None or (instance.unit_id is not None and instance.unit_id not in units):
            raise NotFound("流程实例", instance_id)
        return f"instance/{instance.id}", instance.unit_id, None, None, instance.id
    unit_id = (form.get("unit_id") or "").strip()
    if unit_id:  # a start form about no record yet: the unit the procedure is started for
        if not unit_id.isdecimal() or int(unit_id) not in units:
            raise _bad("unit_id", "只能为本人所在单位上传附件")
        return f"unit/{int(unit_id)}", int(unit_id), None, None, None
    raise _bad("record_type", "请指定附件所属的记录（record_type 与 record_id）或流程实例（instance_id）")


@blp.route("", methods=["POST"])
@writer_required
@blp.response(201, AttachmentOut)
@blp.alt_response(400, schema=ApiError)
@blp.alt_response(413, schema=ApiError)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary"},
    "record_type": {"type": "string", "description": "所属记录类型，如 contract、payment"},
    "record_id": {"type": "integer"}, "instance_id": {"type": "integer", "description": "或所属流程实例"},
    "unit_id": {"type": "integer", "description": "或（尚无记录的申请）所属单位"}}}}}})
def upload():
    """上传附件（multipart，字段 file）；返回附件编号与 SHA-256。"""
    limit = max_bytes()
    if request.content_length is not None and request.content_length > limit + _SLACK:
        raise _too_large(limit)
    request.max_content_length = limit + _SLACK
    try:
        upload_file = request.files.get("file")
        form = request.form
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if upload_file is None or not upload_file.filename:
        raise _bad("file", "请选择要上传的文件")
    check_text(upload_file.filename, "file")
    session, user = read_session(), current_user()
    _target(session, user, form)  # refuse early, before reading the file
    root = attachments_dir()
    received = Attachment.receive(upload_file.stream, upload_file.filename, root, limit)
    stored = None
    try:
        with transaction() as (session, user):
            folder, unit_id, record_type, record_id, instance_id = _target(session, user, form)
            row, stored = storage.save(session, received, root, settings.attachment_store(current_app.config), folder,
                                       unit_id, user.id, now(), record_type=record_type, record_id=record_id,
                                       instance_id=instance_id)
            result = row.to_dict()
    except BaseException:
        storage.discard(received[0], stored)
        raise
    return result


@blp.route("", methods=["GET"])
@login_required
@blp.arguments(AttachmentQuery, location="query", error_status_code=400)
@blp.response(200, AttachmentOut(many=True))
def list_attachments(args):
    """附件清单：某记录或某流程实例的附件（仅本人可见单位的）。"""
    session, user = read_session(), current_user()
    query = select(Attachment).where(Attachment.unit_id.in_(user.unit_ids(session))).order_by(Attachment.id)
    if args.get("record_type"):
        query = query.where(Attachment.record_type == args["record_type"])
    if args.get("record_id") is not None:
        query = query.where(Attachment.record_id == args["record_id"])
    if args.get("instance_id") is not None:
        query = query.where(Attachment.instance_id == args["instance_id"])
    return paging.of_query(session, query, args, lambda a: a.to_dict())


def _visible(session, attachment_id):
    row = session.get(Attachment, attachment_id)
    if row is None or row.unit_id not in current_user().unit_ids(session):
        raise NotFound("附件", attachment_id)
    return row


@blp.route("/<int:attachment_id>/info", methods=["GET"])
@login_required
@blp.response(200, AttachmentOut)
def info(attachment_id):
    """附件信息（名称、大小、类型、SHA-256）。"""
    return _visible(read_session(), attachment_id).to_dict()


@blp.route("/<int:attachment_id>", methods=["GET"])
@login_required
@blp.doc(**file_response("文件内容（Content-Type 为上传时识别的类型）", "*/*"))
def download(attachment_id):
    """下载附件：与记录同单位的用户及审计可下载；内容与登记的 SHA-256 不一致时拒绝（409）。"""
    session = read_session()
    row = _visible(session, attachment_id)
    response = send_file(storage.open_verified(session, row, attachments_dir()), mimetype=row.content_type, as_attachment=True, download_name=row.name,
                         etag=row.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Content-SHA256"] = row.sha256
    return response
