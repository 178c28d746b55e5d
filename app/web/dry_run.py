"""部署预演 page for analysts: choose the changed .bpmn / .form files, see which running instances (and recent
completed ones) the change would leave on their path and which it would send elsewhere, and where. The page only
posts the files to POST /api/deployments/dry-run (session cookie + CSRF header) and draws the report."""
from flask import render_template

from . import bp
from .common import NAV, login_required, refuse, web_user

ANALYSTS = {"analyst"}
NAV.append(("web.dry_run", "部署预演", "dry_run", ANALYSTS))


@bp.route("/dry-run", endpoint="dry_run")
@login_required
def dry_run_page():
    if not (web_user().groups & ANALYSTS):
        return refuse(403, "只有业务分析（analyst）可以预演部署")
    return render_template("dry_run.html", active="dry_run")
