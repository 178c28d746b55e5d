"""Helpers for the procedures on a filed contract (补充合同, 分包合同, 合同支付, 冲销, 履约验收) and attachments."""
import io
import tempfile
import zipfile

from sqlalchemy import func, select

from helpers import approve
from test_contracts import file_contract, filed_plan

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


def office_zip(kind):
    """A minimal .docx (word/document.xml) or .xlsx (xl/workbook.xml), or a plain zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        if kind == "docx":
            archive.writestr("word/document.xml", "<w:document/>")
        elif kind == "xlsx":
            archive.writestr("xl/workbook.xml", "<workbook/>")
        else:
            archive.writestr("readme.txt", "验收照片")
    return buffer.getvalue()


def ole(stream_name):
    """The start of an Office 97-2003 compound file naming one stream (WordDocument / Workbook)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + stream_name.encode("utf-16-le") + b"\x00" * 64


def upload(user, content=PDF, name="支付依据.pdf", status=201, **target):
    """POST /api/attachments; ``target``: record_type/record_id or instance_id. Returns the body."""
    config = user.client.application.config
    if not config.get("ATTACHMENTS_DIR"):  # never the checkout's instance/ folder from a test
        config["ATTACHMENTS_DIR"] = tempfile.mkdtemp(prefix="attachments-")
    data = {k: str(v) for k, v in target.items()}
    data["file"] = (io.BytesIO(content), name)
    response = user.client.post("/api/attachments", data=data, headers=user.headers, content_type="multipart/form-data")
    assert response.status_code == status, (response.status_code, response.json)
    return response.json


def attach(user, contract_id, name="支付依据.pdf", content=PDF):
    """Upload one file against the contract; returns its id."""
    return upload(user, content, name, record_type="contract", record_id=contract_id)["id"]


def filed_contract(login, amount=150000, plan_amount=200000, **overrides):
    """A filed contract of 福州市教育局 (clerk2/reviewer2)."""
    plan = filed_plan(login, plan_amount=plan_amount)
    return file_contract(login, plan["id"], amount=amount, **overrides)


def contract(user, contract_id):
    return user.ok(user.get(f"/api/contracts/{contract_id}"))


def set_project_status(app, project_id, status):
    """Project closing (结项) is another procedure's; here its outcome is set directly."""
    from app.models import Project
    with app.extensions["db"].Session() as s, s.begin():
        s.get(Project, project_id).status = status


def counts(app, *models):
    """Row counts of the tables a refused step must leave alone (engine tables included)."""
    from app.models import Attachment, HistoryEvent, HumanTask, ProcessInstance
    with app.extensions["db"].Session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (*models, Attachment, HistoryEvent, HumanTask, ProcessInstance)}


def contract_row(app, contract_id):
    from app.models import Contract
    with app.extensions["db"].Session() as s:
        return s.get(Contract, contract_id).to_dict()


def refused(user, key, data, status, text):
    response = user.post(f"/api/processes/{key}/instances", {"data": data})
    assert response.status_code == status, (response.status_code, response.json)
    assert text in response.json["message"], response.json
    return response.json


def refused_completion(user, task_id, data, status, text):
    response = user.post(f"/api/tasks/{task_id}/complete", {"data": data})
    assert response.status_code == status, (response.status_code, response.json)
    assert text in response.json["message"], response.json
    return response.json


def service_outputs(history, topic):
    return [e["data"]["outputs"] for e in history if e["type"] == "service_task" and e["data"]["topic"] == topic]


def record_changes(history, record):
    return [c["fields"] for e in history for c in e["changes"] if c["record"] == record]


__all__ = ["approve", "file_contract", "filed_plan"]
