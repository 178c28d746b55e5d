"""Attachments (附件): 合同文本, 说明附件, 验收材料 and the like, uploaded once and referenced by id.

A file is uploaded (``POST /api/attachments``) against a record (``record_type``/``record_id``, e.g. the contract a
payment is for) or a process instance; its bytes are kept by an attachment store (``app/storage.py``: an
``attachment_content`` row, or a file under ``<ATTACHMENTS_DIR>/<record or instance folder>/``), and it is
described by one ``attachment`` row: original name, size, content type, SHA-256, store and relative path, unit,
uploader, time. Task data carries only ids (fields ending ``_attachment_ids`` or
``attachment_id``); the handler that uses them calls ``Attachment.resolve`` and returns ``{attachment_id,
sha256}`` for each, so the exact content that was submitted is in the instance history.

Limits (checked before anything is kept): at most ``max_bytes`` (``ATTACHMENT_MAX_BYTES``, default 10 MB), and
only PDF, Word (doc/docx), Excel (xls/xlsx), JPG, PNG and ZIP — by extension *and* by the file's content, so a
renamed executable is refused. A refused upload leaves neither a file nor a row.
"""
import hashlib
import re
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime, utcnow

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# extension → (content type, what people call it)
TYPES = {
    "pdf": ("application/pdf", "PDF 文件"),
    "doc": ("application/msword", "Word 文件"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文件"),
    "xls": ("application/vnd.ms-excel", "Excel 文件"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 文件"),
    "jpg": ("image/jpeg", "JPG 图片"),
    "jpeg": ("image/jpeg", "JPG 图片"),
    "png": ("image/png", "PNG 图片"),
    "zip": ("application/zip", "ZIP 压缩包"),
}
# What the content must be for each extension (see ``sniff``); a .zip may hold anything zipped, Office files too.
EXPECTED = {"pdf": {"pdf"}, "doc": {"doc"}, "docx": {"docx"}, "xls": {"xls"}, "xlsx": {"xlsx"}, "jpg": {"jpg"},
            "jpeg": {"jpg"}, "png": {"png"}, "zip": {"zip", "docx", "xlsx"}}
SNIFFED = {"pdf": "是 PDF 文件", "doc": "是 Word 文件", "docx": "是 Word 文件", "xls": "是 Excel 文件",
           "xlsx": "是 Excel 文件", "jpg": "是 JPG 图片", "png": "是 PNG 图片", "zip": "是 ZIP 压缩包",
           "ole": "是其他 Office 97-2003 文件", None: "无法识别"}
ALLOWED_TEXT = "PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG、PNG、ZIP"

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 64 * 1024


def _utf16(name):
    return name.encode("utf-16-le")


def sniff(path):
    """What the file's content is: pdf, doc, xls, ole (other Office 97-2003), docx, xlsx, zip, jpg, png or None."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(_OLE):
        # The compound file's directory names its streams (UTF-16): WordDocument for Word, Workbook/Book for Excel.
        body = Path(path).read_bytes()
        if _utf16("WordDocument") in body:
            return "doc"
        if _utf16("Workbook") in body or _utf16("Book") in body:
            return "xls"
        return "ole"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return "zip"
    return None


def size_text(size):
    """10 MB, 2.5 MB, 512 KB."""
    mb = 1024 * 1024
    if size >= mb:
        return f"{size // mb} MB" if size % mb == 0 else f"{size / mb:.1f} MB"
    return f"{max(size, 1) / 1024:.0f} KB"


def _refuse(message, status=400):
    return DomainError("ATTACHMENT_REFUSED", message, field="file", status=status)


def clean_name(filename):
    """The name people see (no directories, no control characters); never used as a path."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".") or "附件"
    return name[-200:]


def extension(name):
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(300))  # relative to ATTACHMENTS_DIR (disk store); a name otherwise
    # Where the content is: ``database`` (an attachment_content row) or ``disk`` (ATTACHMENTS_DIR/path); app/storage.py
    store: Mapped[str] = mapped_column(String(16), default="disk", server_default="disk")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    record_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), nullable=True, index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow)

    # -- storing an upload ----------------------------------------------------------------------
    @staticmethod
    def receive(stream, filename, root, max_bytes=DEFAULT_MAX_BYTES):
        """Copy an uploaded stream into a temporary file under ``root``, checking size and type on the way.

        Returns (temporary path, name, extension, size, sha256); the caller hands it to ``storage.save`` or
        deletes it. Anything refused raises ``DomainError`` (400, or 413 when too large) after
        removing what was written.
        """
        name = clean_name(filename)
        ext = extension(name)
        if ext not in TYPES:
            shown = f"“.{ext}”" if ext else "（无扩展名）"
            raise _refuse(f"不支持的文件类型{shown}：仅允许上传 {ALLOWED_TEXT} 文件")
        tmp_dir = Path(root) / ".incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as out:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise _refuse(f"附件“{name}”超过大小上限 {size_text(max_bytes)}，请压缩或拆分后上传", 413)
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise _refuse(f"附件“{name}”是空文件")
            found = sniff(tmp)
            if found not in EXPECTED[ext]:
                raise _refuse(f"附件“{name}”的内容与扩展名不符：扩展名为 .{ext}（{TYPES[ext][1]}），"
                              f"实际内容{SNIFFED[found]}；请上传真实的 {TYPES[ext][1]}")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, name, ext, size, digest.hexdigest()

    # -- referencing attachments from task data ---------------------------------------------------------
    @classmethod
    def resolve(cls, session, value, unit_id, field, label, required=True):
        """The attachments named by ``value`` (a list of ids, one id, or "3,4"), all of ``unit_id``.

        Returns [{attachment_id, name, sha256}] as records and the history keep them; 400 naming ``field``
        for an empty required list, a malformed id or an attachment that is not the unit's."""
        if value in (None, "", []):
            ids = []
        elif isinstance(value, (list, tuple)):
            ids = list(value)
        elif isinstance(value, str):
            ids = [part for part in re.split(r"[,，\s]+", value) if part]
        else:
            ids = [value]
        parsed = []
        for ident in ids:
            if isinstance(ident, dict):
                ident = ident.get("attachment_id", ident.get("id"))
            if isinstance(ident, bool) or not (isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit())):
                raise DomainError("INVALID_INPUT", f"{label}编号“{ident}”不正确", field=field, status=400)
            if int(ident) not in parsed:
                parsed.append(int(ident))
        if required and not parsed:
            raise DomainError("INVALID_INPUT", f"请上传{label}", field=field, status=400)
        rows = {a.id: a for a in session.scalars(select(cls).where(cls.id.in_(parsed)))} if parsed else {}
        out = []
        for ident in parsed:
            row = rows.get(ident)
            if row is None or (unit_id is not None and row.unit_id != unit_id):
                raise DomainError("INVALID_INPUT", f"{label} {ident} 不存在或不属于本单位", field=field, status=400)
            out.append({"attachment_id": row.id, "name": row.name, "sha256": row.sha256})
        return out

    def to_dict(self):
        return {"id": self.id, "name": self.name, "size": self.size, "content_type": self.content_type,
                "sha256": self.sha256, "unit_id": self.unit_id, "record_type": self.record_type,
                "record_id": self.record_id, "instance_id": self.instance_id, "uploaded_by": self.uploaded_by,
                "uploaded_at": self.uploaded_at}


class AttachmentContent(Base):
    """The bytes of an attachment kept in the database (``ATTACHMENT_STORE=database``): its own table, so listing
    attachments never reads them, written in the same transaction as the attachment row."""

    __tablename__ = "attachment_content"

    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def hashes(attachments):
    """What a handler returns for the history: [{attachment_id, sha256}]."""
    return [{"attachment_id": a["attachment_id"], "sha256": a["sha256"]} for a in attachments]
