"""The proposal's files as pure functions: xlsx cells, PDF pages with page numbers."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
from pypdf import PdfReader

from services.review.domain.export_files import ProposalDoc, proposal_filename, proposal_pdf, proposal_xlsx


def _doc(n: int) -> ProposalDoc:
    lines = [
        {
            "rank": i,
            "enterprise": f"测试企业{i}有限公司",
            "city": "370600" if i % 2 else "379999",
            "final_score": "91.5",
            "tier": "excellent" if i == 1 else "none",
            "amount_fen": 123_456_789 if i == 1 else 0,
            "reserve": i == 2,
            "reason": "理由 " * 40,
        }
        for i in range(1, n + 1)
    ]
    p = SimpleNamespace(
        cycle_id="c-1", version=3, lines=lines, budget_fen=2_000_000_000, allocated_fen=123_456_789
    )
    return ProposalDoc(p, datetime(2026, 9, 1, 1, 0, tzinfo=UTC), title="测试办法")


def test_xlsx_cells():
    ws = openpyxl.load_workbook(io.BytesIO(proposal_xlsx(_doc(2)))).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "排名")
    first, second = rows[head + 1], rows[head + 2]
    assert first[:7] == (1, "测试企业1有限公司", "烟台市", 91.5, "卓越级", 123.46, None)
    assert second[2] == "379999"
    assert second[4] == "—"
    assert second[6] == "是"
    facts = {r[0]: r[1] for r in rows[:head] if r[0]}
    assert facts["生成时间"].startswith("2026-09-01 09:00:00")
    assert facts["拟分配金额（万元）"] == "123.46"
    assert Decimal(str(first[5])) == Decimal("123.46")


def test_pdf_pages_are_numbered():
    reader = PdfReader(io.BytesIO(proposal_pdf(_doc(40))))
    assert len(reader.pages) > 1
    assert all(f"第 {n} 页" in p.extract_text() for n, p in enumerate(reader.pages, start=1))
    assert proposal_filename("c-1", 3, "pdf") == "proposal-c-1-v3.pdf"
