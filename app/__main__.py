"""`python -m app`: run the service (PORT, DATABASE_URL from the environment); `python -m app db|backup|restore|verify`:
the operator commands (app/manage.py)."""
import os
import sys

from . import create_app


def main():
    if len(sys.argv) > 1:
        from .manage import main as manage
        sys.exit(manage(sys.argv[1:]))
    app = create_app()
    if app.config["DEMO_DATA"]:
        from .demo_activity import seed_activity
        seed_activity(app)  # work in progress for the demo users, on a fresh database only
    port = int(os.environ.get("PORT", 5000))
    host = os.environ.get("HOST", "127.0.0.1")
    print(f"政府采购流程服务 running on http://{host}:{port} ({app.config['DATABASE_URL'].split('://')[0]})")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
