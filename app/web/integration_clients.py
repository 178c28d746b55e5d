"""集成客户端 page for the administrator: the budget system's clients, their keys (shown once, on creation or
renewal), revocation, and the latest calls of the integration API. The same model methods as
/api/integration-clients."""
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..api.common import now, read_session, transaction
from ..models import DomainError, NotFound
from ..models.integration import KEY_DAYS, KEY_MAX_DAYS, MACHINE_ROLES, IntegrationCall, IntegrationClient
from . import bp
from .common import NAV, login_required, refuse, web_user

NAV.append(("web.integration_clients", "集成客户端", "integration_clients", {"admin", "auditor"}))


def _page(key=None, client=None, status=200, error=None):
    session = read_session()
    clients = list(session.scalars(select(IntegrationClient).order_by(IntegrationClient.id)))
    calls = list(session.scalars(select(IntegrationCall).order_by(IntegrationCall.id.desc()).limit(50)))
    return render_template("integration_clients.html", active="integration_clients", clients=clients, calls=calls,
                           names={c.id: c.name for c in clients}, roles=MACHINE_ROLES, new_key=key,
                           key_client=client, error=error, can_write="admin" in web_user().groups, now=now(),
                           key_days=KEY_DAYS, key_max_days=KEY_MAX_DAYS), status


@bp.route("/integration-clients")
@login_required
def integration_clients():
    if not web_user().groups & {"admin", "auditor"}:
        return refuse(403, "只有系统管理员可以管理集成客户端")
    return _page()


@bp.route("/integration-clients", methods=["POST"])
@login_required
def integration_client_action():
    """新增 (name), 更换密钥 / 吊销 (client_id + action); a new key is shown on this answer only."""
    if "admin" not in web_user().groups:
        return refuse(403, "只有系统管理员可以管理集成客户端")
    action = request.form.get("action", "create")
    days = request.form.get("valid_days", KEY_DAYS, type=int)  # not a number → the model's 400 message
    days = days if days is not None else 0
    try:
        with transaction() as (session, user):
            if action == "create":
                client, key = IntegrationClient.create(session, request.form.get("name"),
                                                       request.form.get("role") or "budget_system", user.username, now(),
                                                       days)
                return _page(key, client.name)
            client_id = request.form.get("client_id", type=int)
            client = session.get(IntegrationClient, client_id or 0, with_for_update=True)
            if client is None:
                raise NotFound("集成客户端", client_id)
            if action == "key":
                key = client.issue_key(now(), days)
                return _page(key, client.name)
            client.revoke(now())
    except DomainError as err:
        return _page(status=err.status if err.status < 500 else 400, error=err.message)
    flash(f"已吊销客户端 {client.name}：其后的调用均被拒绝（401）。", "success")
    return redirect(url_for("web.integration_clients"))
