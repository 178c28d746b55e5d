"""Verify every instance's history: hash chain and stored state (replay); open an incident per break.

    DATABASE_URL=postgresql+psycopg://… python scripts/verify_histories.py [--database URL] [--dry-run] [--full]

Reads in read-only transactions; then, unless --dry-run, opens one ``history_tamper`` incident per
broken instance that has none open yet and leaves a replay checkpoint per verified instance
(``app.engine.audit.run_daily``, as the daily job). Without --full the state check continues from each
instance's last verified checkpoint (docs/replay.md); --full replays every instance from its first event.
--dry-run replays in full and writes nothing. Exit status 0 when every instance verifies, 1 when any is broken.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    parser.add_argument("--dry-run", action="store_true", help="report only, open no incidents, replay in full")
    parser.add_argument("--full", action="store_true", help="replay every instance from its first event")
    args = parser.parse_args(argv)

    from app import ROOT
    from app.db import Database
    from app.engine import audit
    from app.models import ProcessInstance, utcnow
    from sqlalchemy import select

    db = Database(args.database or os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'govproc.db'}")
    try:
        if args.dry_run:
            with audit.readonly_session(db) as session:
                broken = []
                ids = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
                for instance_id in ids:
                    result = audit.verify(session, session.get(ProcessInstance, instance_id))
                    if not result["ok"]:
                        broken.append(instance_id)
                        print(f"✗ 实例 {instance_id}: {result['reason']}")
            summary = {"checked": len(ids), "broken": broken, "incidents": []}
        else:
            summary = audit.run_daily(db, utcnow(), full=args.full)
            resumed = sum(1 for seq in summary["replayed_from"].values() if seq)
            print(f"从检查点继续 {resumed} 个，从头重放 {summary['checked'] - resumed} 个 / {resumed} continued from "
                  f"a checkpoint, {summary['checked'] - resumed} replayed from event 1")
            for instance_id in summary["broken"]:
                print(f"✗ 实例 {instance_id}")
    finally:
        db.dispose()
    print(f"已校验 {summary['checked']} 个实例，{len(summary['broken'])} 个异常，新建异常事件 "
          f"{len(summary['incidents'])} 个 / checked {summary['checked']}, broken {len(summary['broken'])}, "
          f"new incidents {len(summary['incidents'])}")
    return 1 if summary["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
