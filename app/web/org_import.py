"""单位与用户导入 page for the administrator: templates and the two Excel imports, with the row report of a
refused file. The 系统设置 page keeps adding and editing one unit or user at a time."""
from flask import flash, redirect, render_template, url_for

from ..api.common import transaction
from ..api.imports import uploaded_xlsx
from ..api.org_import import xlsx_download
from ..models.importing import ImportRefused
from ..models.agency_import import AGENCY_COLUMNS, import_agencies
from ..models.org_import import UNIT_COLUMNS, USER_COLUMNS, import_units, import_users
from . import bp
from .common import NAV, login_required, refuse, web_user

NAV.append(("web.org_import", "单位与用户导入", "org_import", {"admin"}))
KINDS = {"units": ("单位", UNIT_COLUMNS, "units-template.xlsx"), "agencies": ("代理机构", AGENCY_COLUMNS, "agencies-template.xlsx"),
         "users": ("用户", USER_COLUMNS, "users-template.xlsx")}
IMPORTS = {"units": lambda session, data, actor: import_units(session, data),
           "agencies": lambda session, data, actor: import_agencies(session, data), "users": import_users}


def _admin():
    return "admin" in web_user().groups


@bp.route("/org-import")
@login_required
def org_import():
    if not _admin():
        return refuse(403, "只有系统管理员可以导入单位和用户")
    return render_template("org_import.html", active="org_import", kinds=KINDS)


@bp.route("/org-import/<any(units, agencies, users):kind>/template.xlsx")
@login_required
def org_import_template(kind):
    if not _admin():
        return refuse(403, "只有系统管理员可以导入单位和用户")
    label, columns, filename = KINDS[kind]
    return xlsx_download(columns, label, filename)


@bp.route("/org-import/<any(units, agencies, users):kind>", methods=["POST"])
@login_required
def org_import_run(kind):
    if not _admin():
        return refuse(403, "只有系统管理员可以导入单位和用户")
    try:
        data = uploaded_xlsx()
        with transaction() as (session, actor):
            result = IMPORTS[kind](session, data, actor)
    except ImportRefused as err:
        return render_template("org_import.html", active="org_import", kinds=KINDS, kind=kind,
                               problems=err.problems, problem_message=err.message), 400
    flash(f"{KINDS[kind][0]}已导入 {result['rows']} 行：新增 {result['created']}，更新 {result['updated']}，"
          f"未变化 {result['unchanged']}。", "success")
    return redirect(url_for("web.org_import"))
