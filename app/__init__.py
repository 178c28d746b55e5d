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
        SECRET_KEY=None,  # from the environment or generated per installation: app/secret_key.py
        TOKEN_TTL_SECONDS=int(os.environ.get("TOKEN_TTL_SECONDS", 8 * 3600)),  # sessions and tokens alike
        # Sign-in throttling per user name and per client address (app/api/signin.py, README "Security").
        LOGIN_FREE_FAILURES=int(os.environ.get("LOGIN_FREE_FAILURES", 3)),
        LOGIN_LOCK_FAILURES=int(os.environ.get("LOGIN_LOCK_FAILURES", 10)),
        LOGIN_ADDRESS_FREE_FAILURES=int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", 10)),
        LOGIN_ADDRESS_LOCK_FAILURES=int(os.environ.get("LOGIN_ADDRESS_LOCK_FAILURES", 30)),
        LOGIN_LOCK_SECONDS=int(os.environ.get("LOGIN_LOCK_SECONDS", 15 * 60)),
        LOGIN_MAX_DELAY_SECONDS=int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", 60)),
        # HTTPS=1 when users reach the service over TLS: Secure cookies and HSTS (app/security_headers.py).
        HTTPS=os.environ.get("HTTPS", "0") == "1",
        # How many reverse proxies in front set X-Forwarded-For/-Proto (0: none; the client is the peer).
        TRUSTED_PROXIES=int(os.environ.get("TRUSTED_PROXIES", 0)),
        BPMN_DIR=str(ROOT / "bpmn"),
        FORMS_DIR=str(ROOT / "forms"),
        DEPLOY_ON_START=True,
        # Off in web workers started by `python -m app serve`, which prepares the database once beforehand.
        PREPARE_ON_START=os.environ.get("PREPARE_ON_START", "1") != "0",
        DEMO_DATA=os.environ.get("DEMO_DATA", "1") != "0",  # 0: a real deployment, see ADMIN_PASSWORD
        ADMIN_PASSWORD=os.environ.get("ADMIN_PASSWORD", ""),
        CLOCK=utcnow,
        # embedded: ticks inside this process; external: run `python -m app.engine.scheduler`; off: never.
        SCHEDULER=os.environ.get("SCHEDULER", "embedded"),
        SCHEDULER_INTERVAL_SECONDS=int(os.environ.get("SCHEDULER_INTERVAL_SECONDS", 30)),
        # Long polling of /engine-rest/external-task/fetchAndLock is bounded so a request never holds a worker long.
        EXTERNAL_TASK_MAX_POLL_MS=int(os.environ.get("EXTERNAL_TASK_MAX_POLL_MS", 20000)),
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
    from .ops.health import init_ops; init_ops(app)  # noqa: E702 - request ids, logs, /healthz /readyz /metrics
    if app.config["DATABASE_URL"].startswith("sqlite:///"):
        Path(app.config["DATABASE_URL"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)

    from .engine import limits
    limits.configure(app.config)  # STEP_MAX_TRANSITIONS, STEP_MAX_SECONDS, TIMER_MIN_SECONDS (README "Limits")
    from .engine import threshold_decision
    threshold_decision.register()  # the models ask the 限额标准 decision through it (imports point one way)
    db = Database(app.config["DATABASE_URL"])
    app.extensions["db"] = db
    if app.config["PREPARE_ON_START"]:
        from .startup import prepare
        prepare(app)  # schema, start-up deployment, seeds: once, under a lock (app/startup.py)
    from .secret_key import configure
    configure(app, db)  # SECRET_KEY: the environment's, or this installation's generated key
    from .security_headers import init_security
    init_security(app)

    from .api import init_api
    init_api(app)
    from .web import init_web; init_web(app)  # noqa: E702 - task-list web UI
    if app.config["SCHEDULER"] == "embedded" and not app.config.get("TESTING"):
        from .engine.scheduler import start_embedded
        start_embedded(app)
    return app
