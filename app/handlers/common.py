"""What the handlers of records entered on a contract share: loading records under a row lock, and attachments."""
from sqlalchemy import select

from ..models import Attachment, DomainError, NotFound
from ..models.attachment import hashes


def lock(ctx, model, ident, what, field=None):
    """A record of the instance's unit, locked (``SELECT … FOR UPDATE``) and re-read, so checks see the latest
    committed amounts even if the row was loaded earlier in this transaction."""
    if ident in (None, ""):
        raise DomainError("MISSING_INPUT", f"缺少{what}编号", field=field, status=400)
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise DomainError("INVALID_INPUT", f"{what}编号不正确", field=field, status=400) from None
    obj = ctx.session.get(model, ident, with_for_update=True, populate_existing=True)
    if obj is None:
        raise NotFound(what, ident)
    if ctx.instance.unit_id is not None and obj.unit_id != ctx.instance.unit_id:
        raise DomainError("WRONG_UNIT", f"{what} {ident} 不属于本单位", status=403)
    return obj


def own(ctx, model, key, what):
    """The record this instance works on (set by its first submission), locked; None before that."""
    ident = ctx.get(key)
    if ident in (None, ""):
        return None
    return lock(ctx, model, ident, what, field=key)


def own_on(ctx, model, key, what, contract):
    """``own`` for a record entered on a contract (payment, acceptance, supplement): it must be that contract's."""
    record = own(ctx, model, key, what)
    if record is not None:
        record.check_contract(contract)
    return record


def attachments(ctx, key, label, required=True):
    """The attachments a form field names, checked to be the unit's: [{attachment_id, name, sha256}]."""
    return Attachment.resolve(ctx.session, ctx.get(key), ctx.instance.unit_id, key, label, required)


def outputs(record, key, attached=None, **extra):
    """Output variables: the record's id and number, and the content hash of every attachment used, so the
    history shows exactly which files were submitted."""
    out = {key: record.id, f"{key[:-3]}_number": record.number, "contract_id": record.contract_id, **extra}
    if attached is not None:
        out["attachments"] = hashes(attached)
    return out


def uploaded(ctx, label, record_type=None, record_id=None, key="attachment_ids"):
    """The files uploaded in a form's 附件 picker (``attachment_ids``, optional): checked to exist and to be the
    instance's unit (400 naming the field otherwise), and bound to the record they document (``bind``).
    [{attachment_id, name, sha256}]"""
    attached = Attachment.resolve(ctx.session, ctx.get(key), ctx.instance.unit_id, key, label, required=False)
    bind(ctx, attached, record_type, record_id)
    return attached


def bind(ctx, attached, record_type, record_id):
    """Files uploaded on a task (against its instance, no record yet) now belong to ``record_type``/``record_id``
    too, so the record's page lists them; files uploaded against a record keep it."""
    if attached and record_type and record_id:
        for row in ctx.session.scalars(select(Attachment).where(
                Attachment.id.in_([a["attachment_id"] for a in attached]), Attachment.record_type.is_(None))):
            row.record_type, row.record_id = record_type, record_id
