"""Official documents over real gRPC: ExportDocument (and ExportProposal) for the proposal, the
publicity notice (公示) and the announcement (公布, with its 文号), as PDF (CJK font embedded, every
page numbered "第 N 页 共 M 页", the total row, the issuing bodies, date and seal block) and xlsx
(numbers as numbers, the total row, the USCC column, print setup, autofilter) — each file parsed —
and every refusal."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import openpyxl
from pypdf import PdfReader

from aicc.platform.clock import SHANGHAI
from aicc.review.v1 import review_pb2 as pb
from tests.service.test_review import expect, make_world, stamp
from tests.service.test_review_records import (  # noqa: F401 - fixtures
    DOC_NO,
    a_year,
    intake,
    suite,
    uscc_of,
)

PDF, XLSX = pb.EXPORT_FORMAT_PDF, pb.EXPORT_FORMAT_XLSX
KINDS = {
    pb.DOCUMENT_KIND_PROPOSAL: "proposal",
    pb.DOCUMENT_KIND_PUBLICITY_NOTICE: "publicity-notice",
    pb.DOCUMENT_KIND_ANNOUNCEMENT: "announcement",
}


def pdf_pages(content: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(content)).pages]


def unembedded_fonts(content: bytes) -> list[str]:
    """What ``pdffonts`` would show with "emb no": fonts without a FontFile/FontFile2/FontFile3."""
    missing, seen = [], 0
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            seen += 1
            parts = [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]
            descriptors = [p["/FontDescriptor"].get_object() for p in parts if "/FontDescriptor" in p]
            if not any(k in d for d in descriptors for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font["/BaseFont"]))
    assert seen, "the PDF uses no font at all"
    return missing


def sheet_table(content: bytes, first_header: str) -> tuple[object, int, list[tuple], dict[str, int]]:
    """(worksheet, header row index (0-based), data rows, header → column)."""
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == first_header)
    return ws, head, rows, {h: i for i, h in enumerate(rows[head])}


async def publicise_and_announce(s, cycle: str) -> None:
    """The computed proposal through an unchanged publicity to its announcement."""
    worker = s.stub("review", await s.worker_token())
    await worker.OpenPublicity(
        pb.OpenPublicityRequest(cycle_id=cycle, ends_at=stamp(datetime.now(UTC) + timedelta(days=7)))
    )
    await worker.ClosePublicity(pb.ClosePublicityRequest(cycle_id=cycle))
    await worker.RecordAnnouncement(
        pb.RecordAnnouncementRequest(cycle_id=cycle, document_no=DOC_NO, announced_by="usr_prov_ind")
    )


async def announced(s, w, intake_server, cycle: str) -> None:
    """A year through an unchanged publicity to its announcement."""
    await a_year(s, w, intake_server, cycle)
    await publicise_and_announce(s, cycle)


async def test_the_three_documents_as_pdf_officials_can_sign_and_file(suite, intake):  # noqa: F811
    w = await make_world(suite)
    cycle = "cy-docs"
    await announced(suite, w, intake, cycle)
    province = suite.stub("review", w.province)
    today = datetime.now(UTC).astimezone(SHANGHAI)
    issued = f"{today.year}年{today.month}月{today.day}日"
    titles = {
        "proposal": "拟支持名单及资金分配建议",
        "publicity-notice": "拟支持项目名单的公示",
        "announcement": "支持项目名单的通知",
    }
    for kind, name in KINDS.items():
        doc = await province.ExportDocument(pb.ExportDocumentRequest(cycle_id=cycle, kind=kind, format=PDF))
        assert (doc.filename, doc.media_type) == (f"{name}-{cycle}-v1.pdf", "application/pdf")
        pages = pdf_pages(doc.content)
        text = "".join(pages)
        assert all(f"第 {n} 页 共 {len(pages)} 页" in p for n, p in enumerate(pages, start=1)), name
        assert unembedded_fonts(doc.content) == [], name
        flat = "".join(text.split())  # lines wrap anywhere in Chinese text
        assert titles[name] in flat
        assert "合计" in text
        assert "300.00" in text  # A 200 + B 100 万元: the total
        assert uscc_of("B") in text
        for seal in ("山东省工业和信息化厅", "山东省财政厅", issued, "（盖章）", "签发人"):
            assert seal in pages[-1], (name, seal)
        if name == "announcement":
            assert pages[0].lstrip().startswith(DOC_NO)
        if name == "publicity-notice":
            assert "山东省工业和信息化厅门户网站" in text
        if name == "proposal":
            assert "拟奖补200.00万元（该等级最高200.00万元）" in flat
    # ExportProposal answers the same official document.
    old = await province.ExportProposal(pb.ExportProposalRequest(cycle_id=cycle, format=PDF))
    assert old.filename == f"proposal-{cycle}-v1.pdf"
    assert unembedded_fonts(old.content) == []
    assert "第 1 页 共" in pdf_pages(old.content)[0]


async def test_the_three_documents_as_print_ready_xlsx(suite, intake):  # noqa: F811
    w = await make_world(suite)
    cycle = "cy-xlsx"
    await announced(suite, w, intake, cycle)
    auditor_reads = suite.stub("review", w.province)
    for kind, (first, amount_col, n) in {
        pb.DOCUMENT_KIND_PROPOSAL: ("排名", "奖补金额（万元）", 5),
        pb.DOCUMENT_KIND_PUBLICITY_NOTICE: ("序号", "拟奖补金额（万元）", 3),  # A, B and the reserve C
        pb.DOCUMENT_KIND_ANNOUNCEMENT: ("序号", "奖补金额（万元）", 2),
    }.items():
        doc = await auditor_reads.ExportDocument(
            pb.ExportDocumentRequest(cycle_id=cycle, kind=kind, format=XLSX)
        )
        assert doc.filename == f"{KINDS[kind]}-{cycle}-v1.xlsx"
        ws, head, rows, col = sheet_table(doc.content, first)
        data = rows[head + 1 : head + 1 + n]
        total = rows[head + 1 + n]
        assert [r[col["统一社会信用代码"]] for r in data][:2] == [uscc_of("A"), uscc_of("B")]
        amounts = [r[col[amount_col]] for r in data if r[col[amount_col]] is not None]
        assert all(isinstance(a, int | float) for a in amounts)
        assert [Decimal(str(a)) for a in amounts[:2]] == [Decimal(200), Decimal(100)]
        assert total[1] == "合计"
        assert isinstance(total[col[amount_col]], int | float)
        assert Decimal(str(total[col[amount_col]])) == Decimal(300)
        assert ws.cell(row=head + 2, column=col[amount_col] + 1).number_format == "#,##0.00"
        assert ws.cell(row=head + 2 + n, column=col[amount_col] + 1).number_format == "#,##0.00"
        # Print setup: one page wide, header row repeated, page numbers, the filter over the table.
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.orientation == ("landscape" if kind == pb.DOCUMENT_KIND_PROPOSAL else "portrait")
        assert ws.print_title_rows.replace("$", "") == f"{head + 1}:{head + 1}"
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
        last_col = openpyxl.utils.get_column_letter(len(rows[head]))
        assert ws.auto_filter.ref == f"A{head + 1}:{last_col}{head + 1 + n}"
        assert "山东省工业和信息化厅" in [r[1] for r in rows[head + n + 2 :]]


async def test_document_refusals(suite, intake):  # noqa: F811
    w = await make_world(suite)
    cycle = "cy-doc-refusals"
    await a_year(suite, w, intake, cycle)
    province = suite.stub("review", w.province)
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT, province.ExportDocument(pb.ExportDocumentRequest(cycle_id=cycle))
    )
    assert {v.field for v in err.violations} == {"kind", "format"}
    for kind, version in (
        (pb.DOCUMENT_KIND_PUBLICITY_NOTICE, 0),  # never publicised
        (pb.DOCUMENT_KIND_ANNOUNCEMENT, 0),  # not announced
        (pb.DOCUMENT_KIND_PROPOSAL, 9),  # no such version
    ):
        await expect(
            grpc.StatusCode.NOT_FOUND,
            province.ExportDocument(
                pb.ExportDocumentRequest(cycle_id=cycle, kind=kind, version=version, format=PDF)
            ),
        )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ExportDocument(
            pb.ExportDocumentRequest(cycle_id="nope", kind=pb.DOCUMENT_KIND_PROPOSAL, format=PDF)
        ),
    )
    expert = suite.stub("review", next(iter(w.tokens.values())))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        expert.ExportDocument(
            pb.ExportDocumentRequest(cycle_id=cycle, kind=pb.DOCUMENT_KIND_PROPOSAL, format=PDF)
        ),
    )
    # The announcement of another version than the announced one does not exist.
    await publicise_and_announce(suite, cycle)
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ExportDocument(
            pb.ExportDocumentRequest(
                cycle_id=cycle, kind=pb.DOCUMENT_KIND_ANNOUNCEMENT, version=2, format=XLSX
            )
        ),
    )
    ok = await province.ExportDocument(
        pb.ExportDocumentRequest(cycle_id=cycle, kind=pb.DOCUMENT_KIND_ANNOUNCEMENT, version=1, format=XLSX)
    )
    assert ok.content.startswith(b"PK")
