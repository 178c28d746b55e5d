"""``python -m app verify``: is this deployment whole? Every process instance's history verifies (hash chain and
stored state against its replay, app/engine/audit.py) and every attachment's stored bytes have the SHA-256 its
record (and the history) holds. Read-only; run after every restore and whenever in doubt."""
from sqlalchemy import select

from . import settings


def verify(db, config=None):
    """{instances, broken_instances: [{id, reason}], attachments, broken_attachments: [{id, reason}]}."""
    from .. import storage
    from ..engine import audit
    from ..models import Attachment, DomainError, ProcessInstance
    root = settings.attachments_dir(config)
    report = {"instances": 0, "broken_instances": [], "attachments": 0, "broken_attachments": []}
    with audit.readonly_session(db) as session:
        for instance_id in session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)).all():
            result = audit.verify(session, session.get(ProcessInstance, instance_id))
            report["instances"] += 1
            if not result["ok"]:
                report["broken_instances"].append({"id": instance_id, "reason": result["reason"]})
            session.expunge_all()  # keep memory flat over many instances
        for row in session.scalars(select(Attachment).order_by(Attachment.id)).all():
            report["attachments"] += 1
            try:
                storage.verify(session, row, root)
            except DomainError as exc:
                report["broken_attachments"].append({"id": row.id, "reason": exc.message})
    return report


def verify_command():
    from ..db import Database
    db = Database(settings.database_url())
    try:
        report = verify(db)
    finally:
        db.dispose()
    print(f"流程实例 {report['instances']} 个，历史校验不通过 {len(report['broken_instances'])} 个；"
          f"附件 {report['attachments']} 个，校验不通过 {len(report['broken_attachments'])} 个")
    for item in report["broken_instances"]:
        print(f"  流程实例 {item['id']}：{item['reason']}")
    for item in report["broken_attachments"]:
        print(f"  {item['reason']}")
    ok = not report["broken_instances"] and not report["broken_attachments"]
    print("校验通过" if ok else "校验未通过")
    return 0 if ok else 1
