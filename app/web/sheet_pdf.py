"""The 审批单 as PDF with fpdf2, the Chinese text in an embedded (subset) CJK font.

fpdf2 is pure Python and embeds TrueType/TTC fonts as subsets, so the PDF shows the same glyphs on any
reader without the reader having Chinese fonts. The font comes from a system package: Debian's
``fonts-wqy-microhei`` (文泉驿微米黑, Apache 2.0/GPLv3 with font exception, ~5 MB) by default, or
``fonts-noto-cjk``; ``PDF_CJK_FONT`` names another file.
"""
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from ..models.base import beijing

CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


class FontMissing(Exception):
    pass


def font_path(configured=None):
    for path in ([configured] if configured else []) + list(CANDIDATES):
        if path and Path(path).is_file():
            return path
    raise FontMissing("服务器未安装中文字体，无法生成 PDF（请安装 fonts-wqy-microhei 或设置 PDF_CJK_FONT）；"
                      "可先使用打印页面")


HEADINGS = FontFace(emphasis="", fill_color=(243, 244, 246))  # one regular CJK face: no bold variant to embed


def _when(value):
    return beijing(value) if value is not None else "—"


def render_pdf(data, configured_font=None):
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=font_path(configured_font), collection_font_number=0)
    pdf.set_title(f"审批单 {data['process']} #{data['instance'].id}")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, f"{data['process']} 审批单", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    instance = data["instance"]
    head = [("流程编号", f"#{instance.id}"), ("业务编号", instance.business_key or "—"), ("单位", data["unit"] or "—"),
            ("发起人", data["starter"]), ("发起时间", _when(instance.started_at)), ("状态", data["status"])]
    with pdf.table(col_widths=(25, 65, 25, 65), first_row_as_headings=False) as table:
        for i in range(0, len(head), 2):
            row = table.row()
            for label, value in head[i:i + 2]:
                row.cell(label)
                row.cell(str(value))
    if data["records"]:
        pdf.ln(3)
        pdf.cell(0, 8, "业务记录", new_x="LMARGIN", new_y="NEXT")
        with pdf.table(col_widths=(30, 40, 70, 40), headings_style=HEADINGS) as table:
            table.row(["类型", "编号", "名称", "状态"])
            for r in data["records"]:
                table.row([r["label"], str(r["number"]), r["name"] or "—", r["status_label"] or "—"])
    pdf.ln(3)
    pdf.cell(0, 8, "办理过程", new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(32, 34, 30, 22, 62), headings_style=HEADINGS) as table:
        table.row(["时间", "环节", "办理人", "结论", "意见"])
        for s in data["steps"]:
            step = s["task"] or s["title"]
            if s["task"] and s["type"] != "task_completed":
                step += f"（{s['title']}）"
            table.row([_when(s["at"]), step, s["actor"] or "—",
                       s["decision"] or s["title"], s["comment"] or "—"])
    pdf.ln(4)
    pdf.set_font("cjk", size=8)
    pdf.multi_cell(0, 5, f"历史记录 {data['events']} 条，哈希链末端：{data['hash']}；校验："
                         f"{'通过' if data['verified'] else '未通过'}。打印时间：{_when(data['printed_at'])}")
    return bytes(pdf.output())
