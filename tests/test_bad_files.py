"""Files that used to 500: diagrams in latin-1, GBK or UTF-16 (decoded by their declaration or byte-order mark,
or refused clearly), two files defining one process, forms nested without end, and the auditor's Excel export of
values holding control characters or text that looks like a formula."""
import io
from pathlib import Path

from openpyxl import load_workbook

from helpers import PROJECT
from test_engine_rest import deploy

ROOT = Path(__file__).resolve().parent.parent
REVIEW = (ROOT / "bpmn" / "review.bpmn").read_text(encoding="utf-8")


def _diagram(key, encoding):
    """review.bpmn as process ``key``, declared and written in ``encoding`` (what latin-1 cannot hold becomes
    character references, as editors write it)."""
    text = REVIEW.replace('process id="review"', f'process id="{key}"').replace('id="Definitions_review"',
                                                                                f'id="Definitions_{key}"')
    text = text.replace('encoding="UTF-8"', f'encoding="{encoding}"')
    if encoding.upper() == "UTF-16":
        return text.encode("utf-16")  # with its byte-order mark
    return text.encode(encoding, errors="xmlcharrefreplace")


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_diagrams_in_latin1_gbk_and_utf16_deploy_with_their_chinese_names(app, tmp_path):
    client = app.test_client()
    for key, encoding in (("review_latin1", "ISO-8859-1"), ("review_gbk", "GBK"), ("review_utf16", "UTF-16")):
        response = deploy(client, [_write(tmp_path, f"{key}.bpmn", _diagram(key, encoding))], name=key)
        assert response.status_code == 200, response.json
        definition = next(iter(response.json["deployedProcessDefinitions"].values()))
        assert definition["key"] == key and definition["name"] == "审核（通用审批）"


def test_undecodable_diagrams_are_refused_in_chinese(app, tmp_path):
    client = app.test_client()
    cases = {
        "no_declaration.bpmn": ('<?xml version="1.0"?>' + REVIEW.split("?>", 1)[1]).encode("gbk"),  # GBK, says nothing
        "unknown.bpmn": REVIEW.replace('encoding="UTF-8"', 'encoding="X-MARTIAN"').encode("utf-8"),
        "lying.bpmn": REVIEW.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-8"),
    }
    for name, data in cases.items():
        response = deploy(client, [_write(tmp_path, name, data)], name=name)
        assert response.status_code == 400 and response.json["type"] == "ParseException", name
        assert "编码" in response.json["message"] or "XML" in response.json["message"], response.json["message"]
        assert name in response.json["details"]


def test_two_files_with_one_process_id_are_refused_and_nothing_is_deployed(app, tmp_path):
    from sqlalchemy import func, select
    from app.models import ProcessDefinition
    client = app.test_client()
    first = _write(tmp_path, "a.bpmn", _diagram("review_twice", "UTF-8"))
    second = _write(tmp_path, "b.bpmn", _diagram("review_twice", "UTF-8").replace(b"P3650D", b"P3000D"))
    response = deploy(client, [first, second], name="twice")
    assert response.status_code == 400, response.json
    assert "review_twice" in response.json["message"] and "重复" in response.json["message"]
    with app.extensions["db"].Session() as s:
        assert s.scalar(select(func.count()).where(ProcessDefinition.key == "review_twice")) == 0


def test_forms_nested_without_end_or_holding_nul_are_refused(app, tmp_path):
    client = app.test_client()
    deep = b'{"components": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    nul = b'{"components": [{"type": "textfield", "key": "a", "label": "\\u0000"}]}'
    for name, data in (("deep.form", deep), ("nul.form", nul), ("gbk.form", '{"components": []}'.encode("utf-16-le"))):
        response = deploy(client, [_write(tmp_path, name, data)], name=name)
        assert response.status_code == 400 and name in response.json["details"], (name, response.json)
    ok = deploy(client, [_write(tmp_path, "bom.form", '{"components": [], "id": "bom"}'.encode("utf-16"))])
    assert ok.status_code == 200, ok.json


def test_the_auditor_exports_values_with_control_characters_and_formulas_safely(app, login):
    clerk, auditor = login("clerk"), login("auditor")
    name = "实验\x07设备\x1b采购"
    formula = '=HYPERLINK("http://evil.example","点此")'
    instance = clerk.start("project_registration", {**PROJECT, "name": name}, business_key=formula)
    response = auditor.get(f"/api/instances/{instance['id']}/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    texts = "\n".join(c.value for c in cells)
    assert "实验\\u0007设备\\u001b采购" in texts and "\x07" not in texts
    assert all(c.data_type == "s" for c in cells)  # the clerk's "=…" stays text, never a formula
    assert any(c.value == formula for c in cells)
    exported = auditor.get(f"/api/instances/{instance['id']}/export.json").json
    assert exported["instance"]["data"]["name"] == name  # the JSON export keeps the exact value
