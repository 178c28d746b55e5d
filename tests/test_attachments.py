"""The attachment store: upload (size and type limits, by extension and by content), storage in the database
(the default) or on disk under the configured directory — every test runs with both — download only for those
who may see the record (auditors read), and refused uploads that leave neither a file nor a row."""
import hashlib
import io

import pytest
from sqlalchemy import select, update

from contract_records import JPG, PDF, PNG, attach, filed_contract, office_zip, ole, upload


@pytest.fixture(autouse=True, params=["database", "disk"])
def store(request, app, tmp_path):
    path = tmp_path / "附件库"
    app.config["ATTACHMENTS_DIR"] = str(path)
    app.config["ATTACHMENT_STORE"] = request.param
    return path


def files_on_disk(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored(app, root):
    """{path: bytes} of every stored attachment, whichever store holds it (disk files are named by their path)."""
    from app.models import Attachment, AttachmentContent
    with app.extensions["db"].Session() as s:
        kept = {a.path: c.data for a, c in s.execute(select(Attachment, AttachmentContent).join(
            AttachmentContent, AttachmentContent.attachment_id == Attachment.id))}
    kept.update({path: (root / path).read_bytes() for path in files_on_disk(root)})
    return kept


def tamper(app, root, attachment_id, content):
    """Change (or, with None, delete) what the store holds for an attachment, behind the service's back."""
    from app.models import Attachment, AttachmentContent
    with app.extensions["db"].Session() as s, s.begin():
        row = s.get(Attachment, attachment_id)
        if row.store == "disk":
            (root / row.path).unlink() if content is None else (root / row.path).write_bytes(content)
        elif content is None:
            s.delete(s.get(AttachmentContent, attachment_id))
        else:
            s.execute(update(AttachmentContent).where(AttachmentContent.attachment_id == attachment_id)
                      .values(data=content))


def rows(app):
    from sqlalchemy import func, select
    from app.models import Attachment
    with app.extensions["db"].Session() as s:
        return s.scalar(select(func.count()).select_from(Attachment))


@pytest.fixture
def contract(login):
    return filed_contract(login)


ALLOWED = [
    ("合同文本.pdf", PDF, "application/pdf"),
    ("补充协议.docx", office_zip("docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("支付明细.xlsx", office_zip("xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("旧版说明.doc", ole("WordDocument"), "application/msword"),
    ("旧版明细.xls", ole("Workbook"), "application/vnd.ms-excel"),
    ("现场照片.JPG", JPG, "image/jpeg"),
    ("现场照片.jpeg", JPG, "image/jpeg"),
    ("签收单.png", PNG, "image/png"),
    ("验收资料.zip", office_zip("zip"), "application/zip"),
    ("打包的合同.zip", office_zip("docx"), "application/zip"),
]


def test_upload_store_and_download_each_allowed_type(app, login, store, contract):
    clerk = login("clerk2")
    for name, content, content_type in ALLOWED:
        before = set(stored(app, store))
        body = upload(clerk, content, name, record_type="contract", record_id=contract["id"])
        assert body["name"] == name and body["size"] == len(content) and body["content_type"] == content_type
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        assert (body["record_type"], body["record_id"], body["unit_id"]) == \
            ("contract", contract["id"], contract["unit_id"])
        (path,) = set(stored(app, store)) - before
        assert path.startswith(f"contract/{contract['id']}/") and path.endswith("." + name.rsplit(".", 1)[1].lower())
        assert stored(app, store)[path] == content

        response = clerk.get(f"/api/attachments/{body['id']}")
        assert response.status_code == 200 and response.data == content, name
        assert response.headers["Content-Type"].startswith(content_type)
        assert response.headers["X-Content-SHA256"] == body["sha256"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "attachment;" in response.headers["Content-Disposition"]
    assert rows(app) == len(ALLOWED)


def test_download_only_where_the_record_is_visible(app, login, contract):
    clerk, auditor, other, other_reviewer = login("clerk2"), login("auditor"), login("clerk"), login("reviewer")
    file_id = attach(clerk, contract["id"], "合同文本.pdf")
    assert login("reviewer2").get(f"/api/attachments/{file_id}").data == PDF  # same unit, another role
    assert auditor.get(f"/api/attachments/{file_id}").data == PDF  # the auditor reads everything
    assert auditor.ok(auditor.get(f"/api/attachments/{file_id}/info"))["id"] == file_id
    for user in (other, other_reviewer):
        response = user.get(f"/api/attachments/{file_id}")
        assert response.status_code == 404 and response.json["message"] == f"附件 {file_id} 不存在"
        assert user.get(f"/api/attachments/{file_id}/info").status_code == 404
        assert user.ok(user.get("/api/attachments", query_string={"record_type": "contract",
                                                                  "record_id": contract["id"]})) == []
    listed = clerk.ok(clerk.get("/api/attachments", query_string={"record_type": "contract",
                                                                  "record_id": contract["id"]}))
    assert [a["id"] for a in listed] == [file_id]
    assert clerk.get("/api/attachments/999").status_code == 404
    assert app.test_client().get(f"/api/attachments/{file_id}").status_code == 401
    # Auditors read, never write.
    response = auditor.client.post("/api/attachments", headers=auditor.headers, content_type="multipart/form-data",
                                   data={"file": (io.BytesIO(PDF), "a.pdf"), "record_type": "contract",
                                         "record_id": str(contract["id"])})
    assert response.status_code == 403


def test_upload_against_an_instance(app, login, store, contract):
    clerk = login("clerk2")
    file_id = attach(clerk, contract["id"])
    instance = clerk.start("contract_payment", {"contract_id": contract["id"], "amount": 100,
                                                "payment_attachment_ids": [file_id]})
    body = upload(clerk, PNG, "补充截图.png", instance_id=instance["id"])
    assert body["instance_id"] == instance["id"] and body["unit_id"] == contract["unit_id"]
    assert any(p.startswith(f"instance/{instance['id']}/") for p in stored(app, store))
    listed = clerk.ok(clerk.get("/api/attachments", query_string={"instance_id": instance["id"]}))
    assert [a["id"] for a in listed] == [body["id"]]
    refused = upload(login("clerk"), PNG, "x.png", status=404, instance_id=instance["id"])
    assert refused["message"] == f"流程实例 {instance['id']} 不存在"


REFUSED = [
    ("病毒.exe", b"MZ\x90\x00", 400, "不支持的文件类型“.exe”：仅允许上传 PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG、PNG、ZIP 文件"),
    ("说明", PDF, 400, "不支持的文件类型（无扩展名）"),
    ("截图.pdf", PNG, 400, "附件“截图.pdf”的内容与扩展名不符：扩展名为 .pdf（PDF 文件），实际内容是 PNG 图片；请上传真实的 PDF 文件"),
    ("合同.docx", office_zip("zip"), 400, "实际内容是 ZIP 压缩包"),
    ("明细.xlsx", office_zip("docx"), 400, "扩展名为 .xlsx（Excel 文件），实际内容是 Word 文件"),
    ("旧版.doc", ole("Workbook"), 400, "实际内容是 Excel 文件"),
    ("伪装.jpg", b"MZ\x90\x00" * 10, 400, "实际内容无法识别"),
    ("伪装.zip", b"PK\x03\x04 not really a zip", 400, "实际内容无法识别"),
    ("空.pdf", b"", 400, "附件“空.pdf”是空文件"),
]


def test_refused_uploads_leave_nothing(app, login, store, contract):
    clerk = login("clerk2")
    for name, content, status, message in REFUSED:
        body = upload(clerk, content, name, status=status, record_type="contract", record_id=contract["id"])
        assert message in body["message"] and body["code"] == "ATTACHMENT_REFUSED", (name, body)
        assert body["errors"] == {"file": [body["message"]]}
        assert stored(app, store) == {} and files_on_disk(store) == [] and rows(app) == 0


def test_too_large_is_refused_with_413(app, login, store, contract):
    clerk = login("clerk2")
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    # Within the limit exactly: accepted.
    exact = PDF + b"%" * (1024 - len(PDF))
    assert upload(clerk, exact, "刚好.pdf", record_type="contract", record_id=contract["id"])["size"] == 1024
    # One byte over: refused while reading, nothing kept.
    body = upload(clerk, exact + b"%", "超限.pdf", status=413, record_type="contract", record_id=contract["id"])
    assert body["message"] == "附件“超限.pdf”超过大小上限 1 KB，请压缩或拆分后上传"
    # Far over: refused from the request size, before the body is read.
    body = upload(clerk, PDF + b"%" * 200_000, "很大.pdf", status=413, record_type="contract", record_id=contract["id"])
    assert body["message"] == "附件超过大小上限 1 KB，请压缩或拆分后上传" and body["code"] == "ATTACHMENT_TOO_LARGE"
    assert len(stored(app, store)) == 1 and rows(app) == 1


def test_default_limit_is_ten_megabytes(app, login, store, contract):
    clerk = login("clerk2")
    app.config.pop("ATTACHMENT_MAX_BYTES", None)
    big = PDF + b"%" * (10 * 1024 * 1024 - len(PDF) + 1)
    body = upload(clerk, big, "扫描件.pdf", status=413, record_type="contract", record_id=contract["id"])
    assert body["message"] == "附件“扫描件.pdf”超过大小上限 10 MB，请压缩或拆分后上传"
    assert stored(app, store) == {} and files_on_disk(store) == [] and rows(app) == 0


def test_upload_target_is_required_and_checked(app, login, store, contract):
    clerk = login("clerk2")

    def post(data):
        data = {**data, "file": (io.BytesIO(PDF), "合同.pdf")}
        return clerk.client.post("/api/attachments", data=data, headers=clerk.headers, content_type="multipart/form-data")

    response = post({})
    assert response.status_code == 400
    assert response.json["errors"] == {"record_type": ["请指定附件所属的记录（record_type 与 record_id）或流程实例（instance_id）"]}
    response = post({"record_type": "invoice", "record_id": "1"})
    assert response.status_code == 400 and response.json["errors"] == {"record_type": ["不支持的记录类型“invoice”"]}
    response = post({"record_type": "contract", "record_id": "abc"})
    assert response.status_code == 400 and response.json["errors"] == {"record_id": ["记录编号应为整数"]}
    response = post({"record_type": "contract", "record_id": "999"})
    assert response.status_code == 404 and response.json["message"] == "合同 999 不存在"
    other = login("clerk")
    response = other.client.post("/api/attachments", headers=other.headers, content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(PDF), "a.pdf"), "record_type": "contract",
                                       "record_id": str(contract["id"])})
    assert response.status_code == 404
    response = clerk.client.post("/api/attachments", headers=clerk.headers, content_type="multipart/form-data",
                                 data={"record_type": "contract", "record_id": str(contract["id"])})
    assert response.status_code == 400 and response.json["errors"] == {"file": ["请选择要上传的文件"]}
    assert stored(app, store) == {} and files_on_disk(store) == [] and rows(app) == 0


def test_names_never_become_paths(app, login, store, contract):
    clerk = login("clerk2")
    body = upload(clerk, PDF, "../../etc/合同.pdf", record_type="contract", record_id=contract["id"])
    assert body["name"] == "合同.pdf"
    (path,) = stored(app, store)
    assert path.startswith(f"contract/{contract['id']}/") and "etc" not in path


def test_a_changed_file_is_not_served(app, login, store, contract):
    clerk = login("clerk2")
    file_id = attach(clerk, contract["id"])
    tamper(app, store, file_id, PDF + b"tampered")
    response = clerk.get(f"/api/attachments/{file_id}")
    assert response.status_code == 409 and response.json["code"] == "ATTACHMENT_CORRUPT"
    assert "与登记的校验值不一致" in response.json["message"]
    tamper(app, store, file_id, None)
    response = clerk.get(f"/api/attachments/{file_id}")
    assert response.status_code == 409 and response.json["code"] == "ATTACHMENT_MISSING"


def test_attachments_dir_is_configurable_and_defaults_under_instance(app, login, tmp_path, contract):
    from app.api.attachments import attachments_dir
    app.config["ATTACHMENT_STORE"] = "disk"
    with app.app_context():
        app.config.pop("ATTACHMENTS_DIR")
        assert attachments_dir().as_posix().endswith("instance/attachments")
        app.config["ATTACHMENTS_DIR"] = str(tmp_path / "elsewhere")
        assert attachments_dir() == tmp_path / "elsewhere"
    upload(login("clerk2"), PDF, "a.pdf", record_type="contract", record_id=contract["id"])
    assert len(files_on_disk(tmp_path / "elsewhere")) == 1


def test_each_row_is_read_from_the_store_that_holds_it(app, login, store, contract):
    """Switching ATTACHMENT_STORE later keeps every earlier attachment readable."""
    clerk = login("clerk2")
    first = attach(clerk, contract["id"], "先传.pdf")
    app.config["ATTACHMENT_STORE"] = "disk" if app.config["ATTACHMENT_STORE"] == "database" else "database"
    second = upload(clerk, PNG, "后传.png", record_type="contract", record_id=contract["id"])["id"]
    assert clerk.get(f"/api/attachments/{first}").data == PDF
    assert clerk.get(f"/api/attachments/{second}").data == PNG
    from app.models import Attachment
    with app.extensions["db"].Session() as s:
        assert {s.get(Attachment, first).store, s.get(Attachment, second).store} == {"disk", "database"}


def test_an_unknown_store_stops_start_up(app):
    from app import create_app
    with pytest.raises(ValueError, match="ATTACHMENT_STORE 只能是 database 或 disk"):
        create_app({"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "SECRET_KEY": "test",
                    "ATTACHMENT_STORE": "s3"})
