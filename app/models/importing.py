"""Excel imports (budget lines, units, users): all or nothing, with a row-by-row report in Chinese.

A sheet's first row names its columns by their Chinese labels (the downloadable template has exactly them).
Every data row is checked and applied in a savepoint of its own, so one bad row never hides the next one's
problems; if any row has a problem the caller's transaction is rolled back whole (``ImportRefused``) and the
report lists every problem as (row, column, what is wrong). Nothing is half-imported."""
import io

from .base import DomainError

MAX_BYTES = 10 * 1024 * 1024  # an .xlsx of 10 MB holds far more rows than any province's budget lines
MAX_ROWS = 20000


class ImportRefused(DomainError):
    """400 with ``problems`` [{row, column, message}] (row 1 is the header; column is its Chinese label)."""

    def __init__(self, problems, message=None):
        super().__init__("IMPORT_REFUSED", message or f"导入文件有 {len(problems)} 处问题，整个文件未导入，请修改后重新导入",
                         status=400)
        self.problems = problems
        self.details = {"problems": problems}


class Column:
    def __init__(self, key, label, required=True, example="", note=""):
        self.key, self.label, self.required, self.example, self.note = key, label, required, example, note


def template(columns, title):
    """The .xlsx template: the header row, one example row, and a sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append([c.label for c in columns])
    sheet.append([c.example for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(columns):
        sheet.column_dimensions[chr(ord("A") + i)].width = max(14, len(column.label) * 3)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "是否必填", "说明"])
    for column in columns:
        notes.append([column.label, "必填" if column.required else "选填", column.note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(data, columns):
    """[(row number, {key: value})] from the first sheet of ``data`` (bytes of an .xlsx); ImportRefused for a file
    that is too large, not an .xlsx, or whose header does not match ``columns``. Empty rows are skipped."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([{"row": None, "column": None, "message": f"文件大小超过 {MAX_BYTES // 1024 // 1024} MB"}],
                            f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB），未导入")
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
    except Exception:  # noqa: BLE001 - any unreadable file is the same refusal to the user
        raise ImportRefused([{"row": None, "column": None, "message": "文件不是有效的 Excel（.xlsx）文件"}],
                            "文件不是有效的 Excel（.xlsx）文件，未导入") from None
    labels = [str(h).strip() if h is not None else "" for h in (header or [])]
    while labels and not labels[-1]:
        labels.pop()
    problems = []
    known = {c.label for c in columns}
    for i, label in enumerate(labels):
        if label not in known:
            problems.append({"row": 1, "column": label or f"第 {i + 1} 列", "message": f"无法识别的列“{label}”，请使用导入模板"})
        elif labels.index(label) != i:
            problems.append({"row": 1, "column": label, "message": f"列“{label}”重复"})
    for column in columns:
        if column.required and column.label not in labels:
            problems.append({"row": 1, "column": column.label, "message": f"缺少必填列“{column.label}”，请使用导入模板"})
    if problems:
        raise ImportRefused(problems, "表头与导入模板不一致，整个文件未导入")
    index = {c.key: labels.index(c.label) for c in columns if c.label in labels}
    out = []
    try:
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            if len(out) >= MAX_ROWS:
                raise ImportRefused([{"row": number, "column": None, "message": f"数据超过 {MAX_ROWS} 行"}],
                                    f"数据超过 {MAX_ROWS} 行，请分批导入")
            out.append((number, {key: values[i] if i < len(values) else None for key, i in index.items()}))
    finally:
        book.close()
    if not out:
        raise ImportRefused([{"row": 2, "column": None, "message": "文件中没有数据行"}], "文件中没有数据行，未导入")
    return out


def text(value):
    """A cell as stripped text ('' for empty; 350001.0 typed as a number is '350001')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def apply_rows(session, rows, columns, apply_row, unique=()):
    """Apply ``apply_row(values)`` to every row, each in a savepoint; the ``unique`` keys name a row's identity
    within the file (a repeat is a problem). Returns what ``apply_row`` returned, or raises ImportRefused with
    every problem when any row had one — the caller's transaction then rolls back everything."""
    labels = {c.key: c.label for c in columns}
    problems, results, seen = [], [], {}
    for number, values in rows:
        if unique:
            identity = tuple(text(values.get(k)) for k in unique)
            if all(identity) and identity in seen:
                problems.append({"row": number, "column": labels[unique[0]],
                                 "message": f"与第 {seen[identity]} 行重复（{'、'.join(identity)}）"})
                continue
            seen[identity] = number
        savepoint = session.begin_nested()
        try:
            results.append(apply_row(values))
            session.flush()
            savepoint.commit()
        except DomainError as err:
            savepoint.rollback()
            field = {"unit_id": "unit_code", "grants": "grant_codes", "parent_id": "parent_code",
                     "agency_id": "agency_code"}.get(err.field, err.field)
            problems.append({"row": number, "column": labels.get(field, field), "message": err.message})
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: p["row"]))
    return results
