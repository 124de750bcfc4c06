"""Official documents as the files officials sign and file — PDF and xlsx — and the one plain xlsx
table writer (:func:`table_xlsx`) that ``aicc rank`` uses too.

An :class:`OfficialDocument` (what :mod:`services.review.domain.documents` assembles: title, 文号,
body, facts, a table with its total row, the issuing bodies and date) becomes

- **PDF** (:func:`document_pdf`): A4, the CJK font embedded (WenQuanYi Micro Hei from Debian's
  ``fonts-wqy-microhei``; every text in it, so every font in the file is embedded), the table's
  header repeated on each page, the total row, the issuing bodies, the date and a signature/seal
  block (盖章, 签发), and "第 N 页 共 M 页" at the foot of every page;
- **xlsx** (:func:`document_xlsx`): numbers as numbers (amounts in 万元 with a number format), the
  total row, print setup (orientation, fit to width, header row repeated on every printed page,
  header and footer with page numbers), an autofilter over the table and a frozen header.

Pure functions: data in, bytes out (the font file is the only thing read; no clock: the caller
passes every date).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aicc.platform.errors import FailedPrecondition

__all__ = [
    "FONT_FILES",
    "PDF_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "Column",
    "OfficialDocument",
    "document_pdf",
    "document_xlsx",
    "table_xlsx",
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"
AMOUNT_FORMAT = "#,##0.00"

# The CJK font embedded in every PDF: Debian's fonts-wqy-microhei (the image and CI install it),
# then the paths other distributions use for the same package.
FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"),
)
FONT = "WenQuanYiMicroHei"


# ------------------------------------------------------------------------------------ the model


@dataclass(frozen=True)
class Column:
    header: str
    width: float | None = None  # xlsx characters
    # Excel number format for the column's data cells, e.g. "#,##0.00".
    number_format: str | None = None
    pdf_mm: float = 20  # PDF column width
    align_right: bool = False


@dataclass(frozen=True)
class OfficialDocument:
    """What an official document says, ready to print. Cells are text, int or Decimal (amounts in
    万元); ``total`` is the table's total row (same width)."""

    filename_stem: str
    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    total: Sequence[Any]
    issuer: str
    issued_on: str  # e.g. 2026年9月1日
    co_issuer: str = ""
    document_no: str = ""  # 文号
    subtitle: str = ""
    paragraphs: Sequence[str] = ()
    facts: Sequence[tuple[str, str]] = ()
    notes: Sequence[str] = ()
    landscape: bool = False
    sheet_title: str = "名单"
    footer_label: str = ""  # printed beside the page number, e.g. the cycle and version

    def signature_lines(self) -> list[str]:
        """The issuing bodies, the date and the seal and signature lines."""
        bodies = [b for b in (self.issuer, self.co_issuer) if b]
        return [*bodies, self.issued_on, "（盖章）", "签发人：____________"]


# ------------------------------------------------------------------------------------ xlsx


def table_xlsx(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    sheet_title: str = "proposal",
    preamble: Sequence[Sequence[Any]] = (),
) -> bytes:
    """One worksheet: optional ``preamble`` lines (e.g. 周期, 版本), then a bold header row that
    stays frozen while scrolling, then ``rows``; per-column number formats and widths."""
    wb, ws = _workbook(sheet_title)
    header_row = _write_table(ws, columns, rows, preamble)
    ws.freeze_panes = f"A{header_row + 1}"
    return _saved(wb)


def _workbook(sheet_title: str) -> tuple[Any, Any]:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new workbook has one sheet
        raise TypeError("a new workbook has no worksheet")
    ws.title = sheet_title
    return wb, ws


def _saved(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write_table(
    ws: Any, columns: Sequence[Column], rows: Sequence[Sequence[Any]], preamble: Sequence[Sequence[Any]]
) -> int:
    """Preamble, a blank line, the bold header, the rows with their formats; answers the header row."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for line in preamble:
        ws.append(list(line))
    if preamble:
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        ws.append([])
    header_row = len(preamble) + 2 if preamble else 1
    ws.append([c.header for c in columns])
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    for i, col in enumerate(columns, start=1):
        if col.number_format:
            for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=i, max_col=i):
                cell.number_format = col.number_format
        if col.width:
            ws.column_dimensions[get_column_letter(i)].width = col.width
    return header_row


def _print_setup(ws: Any, doc: OfficialDocument, header_row: int, last_row: int) -> None:
    from openpyxl.utils import get_column_letter

    last_col = get_column_letter(len(doc.columns))
    ws.freeze_panes = f"A{header_row + 1}"
    ws.auto_filter.ref = f"A{header_row}:{last_col}{max(last_row, header_row)}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape" if doc.landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddHeader.center.text = doc.title
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.right.text = doc.footer_label


def document_xlsx(doc: OfficialDocument) -> bytes:
    """The document as one worksheet: title (文号, subtitle, body, facts), the table with its
    total row, then the issuing bodies, date and seal lines; print-ready."""
    from openpyxl.styles import Font, PatternFill

    wb, ws = _workbook(doc.sheet_title)
    preamble: list[list[Any]] = [[doc.title]]
    preamble += [[x] for x in (doc.document_no, doc.subtitle) if x]
    preamble += [[p] for p in doc.paragraphs]
    preamble += [[k, v] for k, v in doc.facts]
    header_row = _write_table(ws, doc.columns, doc.rows, preamble)
    last_data = header_row + len(doc.rows)
    ws.append(list(doc.total))
    total_row = last_data + 1
    for cell in ws[total_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF1F7")
    for i, col in enumerate(doc.columns, start=1):
        if col.number_format:
            ws.cell(row=total_row, column=i).number_format = col.number_format
    ws.append([])
    for note in doc.notes:
        ws.append([None, note])
    for line in doc.signature_lines():  # column B: column A holds only ranks and totals' blanks
        ws.append([None, line])
    _print_setup(ws, doc, header_row, last_data)
    return _saved(wb)


# ------------------------------------------------------------------------------------ PDF


def font_file() -> Path:
    """The CJK font file to embed; FAILED_PRECONDITION naming the package when none is installed."""
    found = next((p for p in FONT_FILES if p.is_file()), None)
    if found is None:
        raise FailedPrecondition(
            "no CJK font to embed in PDF documents: install the Debian package fonts-wqy-microhei "
            f"(looked for {', '.join(str(p) for p in FONT_FILES)})",
            "未安装可嵌入PDF的中文字体：请安装 fonts-wqy-microhei 软件包",
            reason="PDF_FONT_MISSING",
        )
    return found


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font_file()), subfontIndex=0))


def _numbered_canvas(label: str, width: float) -> type:
    """A canvas that knows the page count when it saves: "第 N 页 共 M 页" on every page, in the
    embedded font (also its initial font, so no unembedded standard font enters the file)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["initialFontName"] = FONT
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(FONT, 9)
                page = f"第 {self.getPageNumber()} 页 共 {total} 页"
                self.drawCentredString(width / 2, 8 * mm, page)
                if label:
                    self.drawRightString(width - 15 * mm, 8 * mm, label)
                super().showPage()
            super().save()

    return NumberedCanvas


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


class _Styles:
    def __init__(self) -> None:
        from reportlab.lib.styles import ParagraphStyle

        self.cell = ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK")
        self.right = ParagraphStyle("right", parent=self.cell, alignment=2)
        self.head = ParagraphStyle("head", parent=self.cell, fontSize=9, leading=12)
        self.title = ParagraphStyle("title", parent=self.cell, fontSize=16, leading=24, alignment=1)
        self.centre = ParagraphStyle("centre", parent=self.cell, fontSize=10.5, leading=16, alignment=1)
        self.body = ParagraphStyle("body", parent=self.cell, fontSize=10.5, leading=17, firstLineIndent=21)
        self.facts = ParagraphStyle("facts", parent=self.cell, fontSize=9.5, leading=13)
        self.sign = ParagraphStyle("sign", parent=self.cell, fontSize=10.5, leading=18, alignment=2)


def _para(text: Any, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(_cell_text(text)), style)


def _table(doc: OfficialDocument, st: _Styles) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    def row(cells: Sequence[Any], style: Any = None) -> list[Any]:
        return [
            _para(v, style or (st.right if c.align_right else st.cell))
            for c, v in zip(doc.columns, cells, strict=True)
        ]

    data = [[_para(c.header, st.head) for c in doc.columns]]
    data += [row(r) for r in doc.rows]
    data.append(row(doc.total))
    table = Table(data, colWidths=[c.pdf_mm * mm for c in doc.columns], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.95)),
                ("BACKGROUND", (0, -1), (-1, -1), colors.Color(0.93, 0.94, 0.97)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _story(doc: OfficialDocument, st: _Styles) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

    story: list[Any] = []
    if doc.document_no:
        story.append(_para(doc.document_no, st.centre))
    story.append(_para(doc.title, st.title))
    if doc.subtitle:
        story.append(_para(doc.subtitle, st.centre))
    story.append(Spacer(1, 3 * mm))
    story += [_para(p, st.body) for p in doc.paragraphs]
    if doc.facts:
        width = sum(c.pdf_mm for c in doc.columns) * mm
        per_row = 3
        cells = [_para(f"{k}：{v}", st.facts) for k, v in doc.facts]
        cells += [_para("", st.facts)] * (-len(cells) % per_row)
        facts = Table(
            [cells[i : i + per_row] for i in range(0, len(cells), per_row)],
            colWidths=[width / per_row] * per_row,
        )
        facts.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT)]))
        story.append(facts)
    story.append(Spacer(1, 3 * mm))
    story.append(_table(doc, st))
    story += [_para(n, st.body) for n in doc.notes]
    story.append(Spacer(1, 10 * mm))
    story.append(KeepTogether([_para(line, st.sign) for line in doc.signature_lines()]))
    return story


def document_pdf(doc: OfficialDocument) -> bytes:
    """A4 (landscape when the document says so) with the CJK font embedded; see the module."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_font()
    margin = 15 * mm if doc.landscape else 18 * mm
    pagesize = landscape(A4) if doc.landscape else A4
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=doc.title,
        author=doc.issuer,
        subject=doc.document_no or doc.subtitle,
        invariant=1,
        initialFontName=FONT,
    )
    canvasmaker: Callable[..., Any] = _numbered_canvas(doc.footer_label, pagesize[0])
    pdf.build(_story(doc, _Styles()), canvasmaker=canvasmaker)
    return buf.getvalue()
