"""The proposal (拟支持名单及资金分配建议) as files officials open — xlsx and PDF, Chinese text,
amounts in 万元 — and the one xlsx table writer (:func:`table_xlsx`) that ``aicc rank`` uses too.

Pure functions: data in, bytes out (no I/O, no clock: the caller passes the generation time).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from xml.sax.saxutils import escape

from aicc.platform.clock import SHANGHAI
from aicc.platform.jurisdictions import city_name
from aicc.platform.money import fen_to_wan_yuan, format_wan_yuan

__all__ = [
    "XLSX_MEDIA_TYPE",
    "PDF_MEDIA_TYPE",
    "Column",
    "ProposalDoc",
    "proposal_filename",
    "proposal_pdf",
    "proposal_xlsx",
    "table_xlsx",
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"
TIER_ZH = {"excellent": "卓越级", "advanced": "先进级"}
NO_TIER = "—"
DOC_TITLE = "拟支持名单及资金分配建议"


# ------------------------------------------------------------------------------------ shared xlsx


@dataclass(frozen=True)
class Column:
    header: str
    width: float | None = None
    # Excel number format for the column's data cells, e.g. "#,##0.00".
    number_format: str | None = None


def table_xlsx(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    sheet_title: str = "proposal",
    preamble: Sequence[Sequence[Any]] = (),
) -> bytes:
    """One worksheet: optional ``preamble`` lines (e.g. 周期, 版本), then a bold header row that
    stays frozen while scrolling, then ``rows``; per-column number formats and widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new workbook has one sheet
        raise TypeError("a new workbook has no worksheet")
    ws.title = sheet_title
    for line in preamble:
        ws.append(list(line))
    if preamble:
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        ws.append([])
    header_row = len(preamble) + 2 if preamble else 1  # after the preamble and a blank line
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
    ws.freeze_panes = f"A{header_row + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ proposal


class ProposalLike(Protocol):
    """A proposal (``model.Proposal``): lines are dicts as the scoring writes them."""

    @property
    def cycle_id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def lines(self) -> list[dict[str, Any]]: ...

    @property
    def budget_fen(self) -> int: ...

    @property
    def allocated_fen(self) -> int: ...


@dataclass(frozen=True)
class ProposalDoc:
    proposal: ProposalLike
    generated_at: datetime  # aware; shown Asia/Shanghai
    title: str = ""  # the programme's title (the cycle's policy), printed above the table
    tier_names: Mapping[str, str] | None = None  # tier key → 卓越级/先进级 (policy names)


COLUMNS = (
    Column("排名", 6),
    Column("申报单位", 34),
    Column("城市", 10),
    Column("最终得分", 10, "0.00"),
    Column("等级", 10),
    Column("奖补金额（万元）", 16, "#,##0.00"),
    Column("备选", 6),
    Column("理由", 80),
)


def _tier(doc: ProposalDoc, key: str) -> str:
    if not key or key == "none":
        return NO_TIER
    return (doc.tier_names or {}).get(key) or TIER_ZH.get(key, key)


def _score(value: Any) -> Decimal | str:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return str(value or "")


def _rows(doc: ProposalDoc) -> list[list[Any]]:
    return [
        [
            x.get("rank", 0),
            x.get("enterprise", ""),
            city_name(x.get("city", "")),
            _score(x.get("final_score", "")),
            _tier(doc, x.get("tier", "none")),
            fen_to_wan_yuan(int(x.get("amount_fen", 0))),
            "是" if x.get("reserve") else "",
            x.get("reason", ""),
        ]
        for x in doc.proposal.lines
    ]


def _facts(doc: ProposalDoc) -> list[tuple[str, str]]:
    p = doc.proposal
    return [
        ("评审周期", p.cycle_id),
        ("名单版本", f"v{p.version}"),
        ("预算总额（万元）", format_wan_yuan(p.budget_fen)),
        ("拟分配金额（万元）", format_wan_yuan(p.allocated_fen)),
        ("生成时间", _local(doc.generated_at)),
    ]


def _local(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def proposal_filename(cycle_id: str, version: int, ext: str) -> str:
    return f"proposal-{cycle_id}-v{version}.{ext}"


def proposal_xlsx(doc: ProposalDoc) -> bytes:
    preamble: list[list[Any]] = [[DOC_TITLE]]
    if doc.title:
        preamble.append([doc.title])
    preamble += [[k, v] for k, v in _facts(doc)]
    return table_xlsx(COLUMNS, _rows(doc), sheet_title="拟支持名单", preamble=preamble)


# ------------------------------------------------------------------------------------ PDF

FONT = "STSong-Light"  # a CID font built into every PDF reader: Chinese renders without font files


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def proposal_pdf(doc: ProposalDoc) -> bytes:
    """A4 landscape: title, the facts (cycle, version, budget, allocated, time), then the table
    (header repeated on every page; long reasons wrap), and 第 N 页 at the foot of each page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    base = ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK")
    right = ParagraphStyle("right", parent=base, alignment=2)
    head = ParagraphStyle("head", parent=base, fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=22, alignment=1)
    sub = ParagraphStyle("sub", parent=base, fontSize=10, leading=14, alignment=1)
    facts = ParagraphStyle("facts", parent=base, fontSize=9.5, leading=13)

    def para(text: Any, style=base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    story: list[Any] = [para(DOC_TITLE, title)]
    if doc.title:
        story.append(para(doc.title, sub))
    story.append(Spacer(1, 3 * mm))
    # One borderless row of facts (a Paragraph collapses spaces; the CID font has no U+00A0).
    story.append(
        Table(
            [[para(f"{k}：{v}", facts) for k, v in _facts(doc)]],
            colWidths=[40 * mm, 30 * mm, 55 * mm, 57 * mm, 85 * mm],
        )
    )
    story.append(Spacer(1, 3 * mm))

    data: list[list[Any]] = [[para(c.header, head) for c in COLUMNS]]
    for r in _rows(doc):
        rank, enterprise, city, score, tier, amount, reserve, reason = r
        data.append(
            [
                para(rank, right),
                para(enterprise),
                para(city),
                para(score, right),
                para(tier),
                para(f"{amount:,.2f}", right),
                para(reserve),
                para(reason),
            ]
        )
    widths = [12, 58, 18, 18, 16, 30, 12, 103]  # mm; 267 mm = A4 landscape less 15 mm margins
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.9, 0.95)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(
            document.pagesize[0] / 2,
            8 * mm,
            f"{doc.proposal.cycle_id} v{doc.proposal.version}　第 {document.page} 页",
        )
        canvas.restoreState()

    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{DOC_TITLE} {doc.proposal.cycle_id} v{doc.proposal.version}",
        author="aicc",
        invariant=1,
    )
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
