"""Units, users and agencies from Excel (系统管理员): templates and all-or-nothing imports with the row report.
GET/POST /api/units/import-template, /api/units/import, /api/users/import-template, /api/users/import,
/api/agencies/import-template, /api/agencies/import (代理机构库)."""
from flask import Response
from flask_smorest import Blueprint

from ..models.agency_import import AGENCY_COLUMNS, import_agencies
from ..models.importing import template
from ..models.org_import import UNIT_COLUMNS, USER_COLUMNS, import_units, import_users
from . import schemas
from .common import groups_only, transaction
from .imports import UPLOAD_DOC, uploaded_xlsx
from .schemas import Int

blp = Blueprint("org_import", __name__, url_prefix="/api", description="单位与用户 Excel 导入（系统管理员）")
ADMIN_ONLY = "只有系统管理员可以导入单位和用户"


class ImportResult(schemas.Base):
    rows = Int()
    created = Int()
    updated = Int()
    unchanged = Int()


def xlsx_download(columns, title, filename):
    return Response(template(columns, title), mimetype=schemas.XLSX,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@blp.route("/units/import-template", methods=["GET"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**schemas.file_response("单位导入模板（.xlsx）"))
def units_template():
    return xlsx_download(UNIT_COLUMNS, "单位", "units-template.xlsx")


@blp.route("/users/import-template", methods=["GET"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**schemas.file_response("用户导入模板（.xlsx）"))
def users_template():
    return xlsx_download(USER_COLUMNS, "用户", "users-template.xlsx")


@blp.route("/units/import", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**UPLOAD_DOC)
@blp.response(200, ImportResult)
@blp.alt_response(400, schema=schemas.ApiError, description="`details.problems`: [{row, column, message}]，整个文件未导入")
def units_import():
    """单位导入（按单位编码新增或更新；上级单位可在同一文件中）。全部成功才导入。"""
    data = uploaded_xlsx()
    with transaction() as (session, _):
        return import_units(session, data)


@blp.route("/users/import", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**UPLOAD_DOC)
@blp.response(200, ImportResult)
@blp.alt_response(400, schema=schemas.ApiError, description="`details.problems`: [{row, column, message}]，整个文件未导入")
def users_import():
    """用户导入（按用户名新增或更新姓名、单位、岗位、授权；新用户须有初始密码）。全部成功才导入。"""
    data = uploaded_xlsx()
    with transaction() as (session, actor):
        return import_users(session, data, actor)


@blp.route("/agencies/import-template", methods=["GET"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**schemas.file_response("代理机构导入模板（.xlsx）"))
def agencies_template():
    return xlsx_download(AGENCY_COLUMNS, "代理机构", "agencies-template.xlsx")


@blp.route("/agencies/import", methods=["POST"])
@groups_only("admin", message=ADMIN_ONLY)
@blp.doc(**UPLOAD_DOC)
@blp.response(200, ImportResult)
@blp.alt_response(400, schema=schemas.ApiError, description="`details.problems`: [{row, column, message}]，整个文件未导入")
def agencies_import():
    """代理机构导入（按统一社会信用代码新增或更新；校验位按 GB 32100 检查）。全部成功才导入。"""
    data = uploaded_xlsx()
    with transaction() as (session, _):
        return import_agencies(session, data)
