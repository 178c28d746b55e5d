"""What the handlers of records entered on a contract share: loading records under a row lock, and attachments."""
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
