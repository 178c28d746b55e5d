"""Attachment stores: where an attachment's bytes live (``ATTACHMENT_STORE``, README 运维 / Operations).

- ``database`` (the default, SQLite and PostgreSQL): an ``attachment_content`` row written in the same
  transaction as the ``attachment`` row, so every worker on the database sees the file the moment its row
  exists, a rolled-back upload leaves nothing, and a database backup holds the files.
- ``disk``: a file under ``ATTACHMENTS_DIR`` — one machine, or a filesystem every worker mounts there.

Each row says where its content is (``attachment.store``), so rows of both kinds are read correctly after the
setting changes. Uploads are checked (size, type, content) by ``Attachment.receive`` before any store sees them.
"""
import hashlib
import io
import os
import uuid
from pathlib import Path

from .models import Attachment, AttachmentContent, DomainError
from .models.attachment import TYPES

_CHUNK = 64 * 1024


def _missing(row):
    return DomainError("ATTACHMENT_MISSING", f"附件 {row.id}（{row.name}）的文件不存在", status=409)


def _corrupt(row):
    return DomainError("ATTACHMENT_CORRUPT", f"附件 {row.id}（{row.name}）的文件与登记的校验值不一致，可能已被改动",
                       status=409)


def save(session, received, root, store, folder, unit_id, uploaded_by, now, record_type=None, record_id=None,
         instance_id=None):
    """Add the attachment row and its content in ``store``, in the caller's transaction. Returns (row, path of a
    file to delete if that transaction does not commit, or None)."""
    tmp, name, ext, size, sha256 = received
    row = Attachment(name=name, size=size, content_type=TYPES[ext][0], sha256=sha256,
                     path=f"{folder}/{uuid.uuid4().hex}.{ext}", store=store, unit_id=unit_id, record_type=record_type,
                     record_id=record_id, instance_id=instance_id, uploaded_by=uploaded_by, uploaded_at=now)
    session.add(row)
    session.flush()
    if store == "database":
        session.add(AttachmentContent(attachment_id=row.id, data=Path(tmp).read_bytes()))
        session.flush()
        Path(tmp).unlink(missing_ok=True)
        return row, None
    target = Path(root) / row.path
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return row, target


def discard(*paths):
    for path in paths:
        if path is not None:
            Path(path).unlink(missing_ok=True)


def _chunks(session, row, root):
    """The stored bytes in chunks; ATTACHMENT_MISSING when they are gone."""
    if row.store == "database":
        content = session.get(AttachmentContent, row.id)
        if content is None:
            raise _missing(row)
        yield content.data
        return
    try:
        with open(Path(root) / row.path, "rb") as fh:
            yield from iter(lambda: fh.read(_CHUNK), b"")
    except FileNotFoundError:
        raise _missing(row) from None


def digest(session, row, root):
    """SHA-256 of what is stored now (raises ATTACHMENT_MISSING)."""
    sha = hashlib.sha256()
    for chunk in _chunks(session, row, root):
        sha.update(chunk)
    return sha.hexdigest()


def verify(session, row, root):
    """The stored content is still what was recorded at upload (and in the history): else 409."""
    if digest(session, row, root) != row.sha256:
        raise _corrupt(row)


def open_verified(session, row, root):
    """What ``send_file`` serves: the file's path (disk) or its bytes (database), checked against the record."""
    verify(session, row, root)
    if row.store == "database":
        return io.BytesIO(session.get(AttachmentContent, row.id).data)
    return Path(root) / row.path


def read(session, row, root):
    """All of the stored bytes (backups copy disk files with this)."""
    return b"".join(_chunks(session, row, root))
