"""Operator commands: ``python -m app db|backup|restore|verify …`` (README 运维 / Operations).

They read DATABASE_URL, ATTACHMENT_STORE and ATTACHMENTS_DIR from the environment like the service does, and
never start it: no deployment of ``bpmn/``, no demo data, no scheduler. Exit code 0 on success, 1 when refused
or when verification finds a problem, 2 for a usage error.
"""
import argparse
import logging
import sys

from .ops import settings


def _db():
    from .db import Database
    return Database(settings.database_url())


def _parser():
    parser = argparse.ArgumentParser(prog="python -m app", description="政府采购流程服务：运维命令")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="数据库结构版本（Alembic 迁移）")
    db_commands = db.add_subparsers(dest="action", required=True)
    up = db_commands.add_parser("upgrade", help="升级到最新版本（或指定版本）")
    up.add_argument("revision", nargs="?", default="head")
    down = db_commands.add_parser("downgrade", help="降级到指定版本（-1 为上一版本，base 为空库）")
    down.add_argument("revision")
    db_commands.add_parser("current", help="数据库当前的结构版本")
    db_commands.add_parser("history", help="全部迁移版本")
    rev = db_commands.add_parser("revision", help="（开发者）新建迁移脚本")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true", help="与模型比较，生成草稿（须逐行审阅）")

    backup = commands.add_parser("backup", help="在线备份数据库与附件到一个归档文件")
    backup.add_argument("archive")
    restore = commands.add_parser("restore", help="从归档恢复到空的目标库，然后校验")
    restore.add_argument("archive")
    restore.add_argument("--force", action="store_true", help="目标库非空时也覆盖（先清空）")
    commands.add_parser("verify", help="校验：每个流程实例的历史、每个附件的 SHA-256")
    return parser


def _db_command(args):
    from .ops import migrate
    db = _db()
    try:
        if args.action == "upgrade":
            applied = migrate.upgrade(db, args.revision, settings={})
            print(f"已升级：{', '.join(applied)}" if applied else "已是目标版本，无需升级")
            print(f"当前版本：{migrate.current(db)}")
        elif args.action == "downgrade":
            before, after = migrate.downgrade(db, args.revision)
            print(f"已从 {before} 降级到 {after or 'base（空库）'}")
        elif args.action == "current":
            revision = migrate.current(db)
            state = "（最新）" if revision == migrate.head() else f"（最新为 {migrate.head()}，请运行 db upgrade）"
            print(f"{revision or '无（空库或迁移之前的版本建立）'} {state}")
        elif args.action == "history":
            for script in migrate.scripts().walk_revisions():
                mark = " 不可逆" if getattr(script.module, "irreversible", None) else ""
                print(f"{script.down_revision or 'base'} -> {script.revision}  {script.doc}{mark}")
        elif args.action == "revision":
            _revision(db, args, migrate)
    finally:
        db.dispose()
    return 0


def _revision(db, args, migrate):
    """A new revision numbered after head; --autogenerate compares a database at head with the models."""
    from alembic import command
    number = f"{int(migrate.head()) + 1:04d}" if migrate.scripts().get_heads() else migrate.BASELINE
    with migrate.locked(db.url) as conn:
        cfg = migrate.alembic_config(db.url, conn)
        script = command.revision(cfg, message=args.message, autogenerate=args.autogenerate, rev_id=number)
    print(f"已生成 {script.path}：请逐行审阅（数据迁移、SQLite 批量模式、downgrade、irreversible）")


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    from .ops.migrate import MigrationError
    try:
        if args.command == "db":
            return _db_command(args)
        from .ops import backup
        if args.command == "backup":
            return backup.backup_command(args.archive)
        if args.command == "restore":
            return backup.restore_command(args.archive, force=args.force)
        if args.command == "verify":
            from .ops.verify import verify_command
            return verify_command()
    except (MigrationError, ValueError) as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
