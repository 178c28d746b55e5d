"""Replay one instance from its history and say whether it reaches the stored state (read only).

    DATABASE_URL=postgresql+psycopg://… python scripts/replay.py <instance_id> [--json] [--database URL]

Without --database, DATABASE_URL (or the embedded SQLite file instance/govproc.db) is used. Prints one
line per history event (✓ / ✗) and the verdict; --json prints the full report instead. Exit status:
0 the replay agrees with the stored instance, 1 it diverges, 2 no such instance.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _url(args):
    from app import ROOT
    return args.database or os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'govproc.db'}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("instance_id", type=int)
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--database", help="database URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)

    from app.db import Database
    from app.engine import audit, replay
    from app.models import ProcessInstance

    db = Database(_url(args))
    try:
        with audit.readonly_session(db) as session:
            instance = session.get(ProcessInstance, args.instance_id)
            if instance is None:
                print(f"流程实例 {args.instance_id} 不存在 / no such instance", file=sys.stderr)
                return 2
            report = replay.replay(session, instance)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    else:
        for step in report["steps"]:
            mark = "✓" if step["ok"] else "✗"
            print(f"{mark} {step['seq']:>4} {step['type']:<19} {step['task'] or '':<30} {step['actor'] or ''}")
            if not step["ok"]:
                print(f"       {step.get('reason')}\n       expected: {json.dumps(step['expected'], ensure_ascii=False)}"
                      f"\n       actual:   {json.dumps(step['actual'], ensure_ascii=False)}")
        state = report["state"]
        if report["ok"]:
            print(f"重放与存储状态一致 / replay agrees with the stored state ({report['events']} events)")
        elif report["first_divergence"] and report["first_divergence"]["type"] == "stored_state":
            print(f"存储状态与重放不符 / stored state differs: {state['reason']}")
            for diff in state["differences"]:
                print(f"       {json.dumps(diff, ensure_ascii=False)}")
        else:
            print(f"重放在事件 {report['first_divergence']['seq']} 处分歧 / replay diverges at event "
                  f"{report['first_divergence']['seq']}: {report['first_divergence']['reason']}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
