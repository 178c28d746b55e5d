"""What every Excel import endpoint shares: reading the uploaded file within the import's size limit."""
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from ..models.importing import MAX_BYTES, ImportRefused

_SLACK = 64 * 1024  # the multipart envelope around the file
TOO_LARGE = f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB），未导入"
UPLOAD_DOC = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary",
                                                                     "description": "按导入模板填写的 .xlsx 文件"}}}}}}}


def _too_large():
    return ImportRefused([{"row": None, "column": None, "message": TOO_LARGE}], TOO_LARGE)


def uploaded_xlsx():
    """The bytes of the multipart field ``file``; ImportRefused (400) when missing or too large — a 50 MB upload
    is refused from its Content-Length, before it is read."""
    if request.content_length is not None and request.content_length > MAX_BYTES + _SLACK:
        raise _too_large()
    request.max_content_length = MAX_BYTES + _SLACK
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise _too_large() from None
    if upload is None or not upload.filename:
        raise ImportRefused([{"row": None, "column": None, "message": "请选择要导入的 Excel 文件"}], "请选择要导入的 Excel 文件")
    data = upload.stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _too_large()
    return data
