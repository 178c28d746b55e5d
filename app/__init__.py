"""Government-procurement BPM service: create_app() wires the database, engine, API and UI together."""
import os
from pathlib import Path

from flask import Flask

from .db import Database
from .models import utcnow

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(
        DATABASE_URL=os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'govproc.db'}"),
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        TOKEN_TTL_SECONDS=int(os.environ.get("TOKEN_TTL_SECONDS", 8 * 3600)),
        BPMN_DIR=str(ROOT / "bpmn"),
        FORMS_DIR=str(ROOT / "forms"),
        DEPLOY_ON_START=True,
        DEMO_DATA=os.environ.get("DEMO_DATA", "1") != "0",  # 0: a real deployment, see ADMIN_PASSWORD
        ADMIN_PASSWORD=os.environ.get("ADMIN_PASSWORD", ""),
        CLOCK=utcnow,
        # embedded: ticks inside this process; external: run `python -m app.engine.scheduler`; off: never.
        SCHEDULER=os.environ.get("SCHEDULER", "embedded"),
        SCHEDULER_INTERVAL_SECONDS=int(os.environ.get("SCHEDULER_INTERVAL_SECONDS", 30)),
        API_TITLE="政府采购流程服务 API",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)

    from .engine import limits
    limits.configure(app.config)  # STEP_MAX_TRANSITIONS, STEP_MAX_SECONDS, TIMER_MIN_SECONDS (README "Limits")
    db = Database(app.config["DATABASE_URL"])
    app.extensions["db"] = db
    db.create_all()
    with db.Session() as session, session.begin():
        if app.config["DEPLOY_ON_START"]:
            from .engine.deployments import deploy_directory
            deploy_directory(session, app.config["BPMN_DIR"], app.config["FORMS_DIR"], now=app.config["CLOCK"]())
        if app.config["DEMO_DATA"]:
            from .demo import seed
            seed(session)
        else:
            from .models.org import ensure_admin
            ensure_admin(session, app.config["ADMIN_PASSWORD"])  # the first administrator of an empty database
        from .models.threshold import seed_defaults
        seed_defaults(session)  # 限额标准: the seeds' figures when the table is empty

    from .api import init_api
    init_api(app)
    from .web import init_web; init_web(app)  # noqa: E702 - task-list web UI
    if app.config["SCHEDULER"] == "embedded" and not app.config.get("TESTING"):
        from .engine.scheduler import start_embedded
        start_embedded(app)
    return app
