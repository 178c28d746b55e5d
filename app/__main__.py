"""``python -m app [serve|prepare|rotate-secret [--drop-old]|db …|backup|restore|verify]``.

- ``serve`` (the default, what ``./run.sh`` runs): prepare the database once, then serve through gunicorn
  (app/serve.py; HOST, PORT, WEB_WORKERS, WEB_THREADS, WEB_TIMEOUT … from the environment);
- ``prepare``: only bring the database to head, deploy ``bpmn/`` and ``forms/`` and seed (once, under a lock),
  e.g. before starting web workers and schedulers on several machines;
- ``rotate-secret``: a new generated signing key; the previous one keeps verifying until the next rotation
  (``--drop-old``: forget it now, everyone signs in again). Restart the service afterwards.

- ``db upgrade|downgrade|current|history``, ``backup``, ``restore``, ``verify``: the operator commands
  (app/manage.py, README 运维 / Operations).

While developing, ``flask --app app run --debug`` serves through Werkzeug's development server instead.
"""
import sys


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "serve"
    if command in ("db", "backup", "restore", "verify"):
        from .manage import main as manage
        return manage([command, *args])
    if command == "serve":
        from .serve import main as serve
        serve()
    elif command == "prepare":
        from .serve import prepare_database
        app = prepare_database()
        print(f"数据库已就绪 / database prepared ({app.config['DATABASE_URL'].split('://')[0]})")
    elif command == "rotate-secret":
        from . import create_app
        from .secret_key import rotate
        app = create_app({"SCHEDULER": "off", "PREPARE_ON_START": False})
        try:
            kept = rotate(app.extensions["db"], drop_old="--drop-old" in args)
        except RuntimeError as err:
            print(err, file=sys.stderr)
            return 1
        if "--drop-old" in args:  # replay checkpoints are signed with the dropped keys: verify in full once
            from sqlalchemy import delete
            from .models import ReplayCheckpoint
            with app.extensions["db"].Session() as session, session.begin():
                session.execute(delete(ReplayCheckpoint))
        print(f"已生成新的签名密钥，保留 {kept} 个旧密钥用于验证；请重启服务 / new signing key made, "
              f"{kept} older key(s) still verify; restart the service")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
