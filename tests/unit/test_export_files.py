"""Official documents as pure functions: what each says (documents.py) and the files they become
(export_files.py) — PDF pages numbered "第 N 页 共 M 页" with the CJK font embedded, a total row,
the issuing bodies, date and seal block; xlsx numbers, totals, USCC, print setup, autofilter; and
reasons written for officials (Chinese, 万元, experts by name, never by id)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from aicc.platform.errors import FailedPrecondition
from aicc.platform.policy import find_policy
from services.review.domain import documents, export_files
from services.review.domain.model import Announcement, Proposal, PublicityNotice

NOW = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)
POLICY = find_policy("shandong-2026")


def _line(i: int) -> dict:
    tier = "excellent" if i <= 2 else ("advanced" if i <= 30 else "none")
    funded = i <= 15
    cap = {"excellent": 200_000_000, "advanced": 100_000_000}.get(tier, 0)
    return {
        "application_id": f"app-{i:02d}",
        "organization_id": f"org-{i}",
        "rank": i,
        "enterprise": f"测试企业{i}有限公司",
        "city": "370600" if i % 2 else "379999",
        "final_score": "91.5",
        "dimension_scores": {},
        "tier": tier,
        "amount_fen": cap if funded else 0,
        "reserve": not funded and tier != "none",
        "reason": "rank and score, with expert ids usr_deviant_01",
        "budget_left_fen": 0,
        "tie_break": "dimension:2" if i == 3 else None,
        "flagged_experts": ["usr_deviant_01"] if i == 2 else [],
        "flagged_expert_names": ["张评审"] if i == 2 else [],
        "uscc": f"91370600MA3C{i:04d}XY",
        "cap_fen": cap,
    }


def _proposal(n: int) -> Proposal:
    lines = [_line(i) for i in range(1, n + 1)]
    allocated = sum(x["amount_fen"] for x in lines if not x["reserve"])
    return Proposal(
        "c-1", 3, lines, 2_000_000_000, allocated, "r", [], NOW, basis="revised", previous_version=2
    )


def _text(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def _fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """(name, embedded) of every font the pages use: embedded = a FontFile2/FontFile/FontFile3."""
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            targets = [font]
            targets += [d.get_object() for d in font.get("/DescendantFonts", [])]
            descriptor = next(
                (t["/FontDescriptor"].get_object() for t in targets if "/FontDescriptor" in t), {}
            )
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.append((str(font["/BaseFont"]), embedded))
    return out


def test_proposal_pdf_numbers_every_page_embeds_its_font_and_ends_with_totals_and_seal():
    pdf = export_files.document_pdf(documents.proposal_document(POLICY, _proposal(40), NOW))
    pages = _text(pdf)
    assert len(pages) > 1
    assert all(f"第 {n} 页 共 {len(pages)} 页" in t for n, t in enumerate(pages, start=1))
    fonts = _fonts(pdf)
    assert fonts
    assert all(embedded for _, embedded in fonts), fonts
    assert all("WenQuanYi" in name for name, _ in fonts)
    text = "".join(pages)
    assert "拟支持名单及资金分配建议" in text
    assert "合计" in text
    assert "1,700.00" in text  # the total: 2 x 200 + 13 x 100 万元
    assert "91370600MA3C0001XY" in text
    for seal in ("山东省工业和信息化厅", "山东省财政厅", "2026年9月1日", "（盖章）", "签发人"):
        assert seal in pages[-1]


def test_reasons_are_chinese_with_wan_yuan_and_name_experts_never_by_id():
    p = _proposal(20)
    ctx = documents.ReasonContext.of(POLICY, p.lines)
    flagged = documents.official_reason(p.lines[1], ctx)
    assert "张评审" in flagged
    assert "usr_deviant_01" not in flagged
    assert "拟奖补 200.00 万元（该等级最高 200.00 万元）" in flagged
    assert "达到卓越级（90 分及以上）" in flagged
    tied = documents.official_reason(p.lines[2], ctx)
    assert "与相邻申报同分，按第2维度“服务能力”得分排序" in tied
    reserve = documents.official_reason(p.lines[15], ctx)
    assert "列为备选第 1 位（名额（15 个）已满）" in reserve
    none = documents.official_reason(_line(35), ctx)
    assert "未达到先进级分数线（80 分）" in none
    pdf_text = "".join(_text(export_files.document_pdf(documents.proposal_document(POLICY, p, NOW))))
    assert "usr_deviant_01" not in pdf_text
    assert "张评审" in pdf_text


def test_proposal_xlsx_numbers_totals_uscc_print_setup_and_autofilter():
    p = _proposal(20)
    ws = openpyxl.load_workbook(
        io.BytesIO(export_files.document_xlsx(documents.proposal_document(POLICY, p, NOW)))
    ).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "排名")
    header = rows[head]
    col = {h: i for i, h in enumerate(header)}
    data = [r for r in rows[head + 1 :] if r[0] is not None]
    assert len(data) == 20
    first = data[0]
    assert first[: col["等级"] + 1] == (
        1,
        "测试企业1有限公司",
        "91370600MA3C0001XY",
        "烟台市",
        91.5,
        "卓越级",
    )
    assert first[col["奖补金额（万元）"]] == 200
    assert isinstance(first[col["奖补上限（万元）"]], int | float)
    assert data[1][col["城市"]] == "379999"  # an unknown code is shown as it is
    assert data[15][col["备选"]] == "是"
    assert "usr_deviant_01" not in str(data[1][col["理由"]])
    total = rows[head + 1 + 20]
    assert total[1] == "合计"
    assert Decimal(str(total[col["奖补金额（万元）"]])) == Decimal("1700.00")  # 2 x 200 + 13 x 100
    amount_cell = ws.cell(row=head + 2, column=col["奖补金额（万元）"] + 1)
    assert amount_cell.number_format == "#,##0.00"
    facts = {r[0]: r[1] for r in rows[:head] if r[0]}
    assert facts["生成时间"].startswith("2026-09-01 09:00:00")
    assert facts["名单版本"] == "v3"
    # Print-ready: landscape, one page wide, the header row on every page, page numbers, a filter.
    assert ws.page_setup.orientation == "landscape"
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows.replace("$", "") == f"{head + 1}:{head + 1}"
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    assert ws.auto_filter.ref == f"A{head + 1}:J{head + 1 + 20}"
    assert ws.freeze_panes == f"A{head + 2}"
    signature = [r[1] for r in rows[head + 22 :] if r[1]]
    assert signature[-5:] == [
        "山东省工业和信息化厅",
        "山东省财政厅",
        "2026年9月1日",
        "（盖章）",
        "签发人：____________",
    ]


def test_notice_lists_awards_then_reserves_with_its_period_and_place():
    p = _proposal(20)
    notice = PublicityNotice("c-1", 3, NOW, NOW + timedelta(days=7), "山东省工业和信息化厅门户网站")
    doc = documents.notice_document(POLICY, p, notice, NOW)
    assert doc.title == "关于2026年度山东省省级工业领域AI能力中心奖补资金拟支持项目名单的公示"
    assert [r[-1] for r in doc.rows] == ["拟支持"] * 15 + ["备选"] * 5
    text = "".join(_text(export_files.document_pdf(doc)))
    assert "公示期：2026年9月1日至2026年9月8日" in text
    assert "山东省工业和信息化厅门户网站" in text
    ws = openpyxl.load_workbook(io.BytesIO(export_files.document_xlsx(doc))).active
    assert ws.page_setup.orientation == "portrait"
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "序号")
    assert rows[head + 21][1] == "合计"
    assert rows[head + 21][5] == 1700


def test_announcement_carries_its_document_number_and_announced_lines():
    p = _proposal(16)
    a = Announcement("c-1", 3, "鲁工信数据〔2026〕88号", NOW + timedelta(days=10), "usr_x", p.funded())
    doc = documents.announcement_document(POLICY, a, None)
    assert doc.document_no == "鲁工信数据〔2026〕88号"
    assert len(doc.rows) == 15
    pdf = export_files.document_pdf(doc)
    pages = _text(pdf)
    assert pages[0].lstrip().startswith("鲁工信数据〔2026〕88号")
    assert "2026年9月11日" in pages[-1]
    assert all(embedded for _, embedded in _fonts(pdf))


def test_a_missing_font_is_a_precondition_naming_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(export_files, "FONT_FILES", (tmp_path / "none.ttc",))
    with pytest.raises(FailedPrecondition) as e:
        export_files.font_file()
    assert e.value.reason == "PDF_FONT_MISSING"
    assert "fonts-wqy-microhei" in e.value.message
