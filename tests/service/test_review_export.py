"""ExportProposal over gRPC: the proposal as xlsx and PDF (Chinese text, amounts in 万元), who may
export it, and its errors."""

from __future__ import annotations

import io
from decimal import Decimal

import grpc
import openpyxl
from pypdf import PdfReader

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.money import fen_to_wan_yuan
from aicc.review.v1 import review_pb2 as pb
from tests.service.test_review import (
    PASSWORD,
    expect,
    make_world,
    open_and_draw,
    score_everything,
    suite,  # noqa: F401 - the fixture
)


async def test_export_proposal_as_xlsx_and_pdf_for_province_and_auditors(suite):  # noqa: F811
    w = await make_world(suite)
    ident = await suite.admin()
    await ident.CreateUser(
        ipb.CreateUserRequest(username="audit-x", display_name="审计", password=PASSWORD, roles=["auditor"])
    )
    auditor = suite.stub("review", await suite.login("audit-x", PASSWORD))
    province = suite.stub("review", w.province)
    expert = suite.stub("review", next(iter(w.tokens.values())))

    cycle = "cycle-x"
    worker, _ = await open_and_draw(suite, w, cycle)
    await score_everything(
        suite, w, cycle, {"app-a": "0.95", "app-b": "0.85", "app-c": "0.82", "app-d": "0.70"}
    )
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle, budget_fen=3_000_000 * 100))
    proposal = (await province.GetProposal(pb.GetProposalRequest(cycle_id=cycle))).proposal
    assert len(proposal.lines) == 4
    assert proposal.allocated_fen > 0

    # xlsx: one row per line under a frozen bold header, amounts as numbers in 万元.
    x = await province.ExportProposal(pb.ExportProposalRequest(cycle_id=cycle, format=pb.EXPORT_FORMAT_XLSX))
    assert x.filename == f"proposal-{cycle}-v1.xlsx"
    assert x.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "排名")
    header, data = rows[head], [r for r in rows[head + 1 :] if r[0] is not None]
    assert ws.freeze_panes == f"A{head + 2}"
    assert ws.cell(row=head + 1, column=1).font.bold
    col = {h: i for i, h in enumerate(header)}
    assert {"申报单位", "城市", "最终得分", "等级", "奖补金额（万元）", "备选", "理由"} <= col.keys()
    assert len(data) == len(proposal.lines)
    for line, row in zip(proposal.lines, data, strict=True):
        assert row[col["排名"]] == line.rank
        assert row[col["申报单位"]] == line.enterprise_name
        assert row[col["城市"]] == "青岛市"
        amount = row[col["奖补金额（万元）"]]
        assert isinstance(amount, int | float)
        assert Decimal(str(amount)) == fen_to_wan_yuan(line.amount_fen)
        assert ws.cell(row=head + 2, column=col["奖补金额（万元）"] + 1).number_format == "#,##0.00"
    assert data[0][col["等级"]] == "卓越级"
    assert data[-1][col["等级"]] == "—"
    facts = {r[0]: r[1] for r in rows[:head] if r and r[0]}
    assert facts["评审周期"] == cycle
    assert facts["名单版本"] == "v1"
    assert facts["预算总额（万元）"] == "300.00"

    # PDF, read by an auditor: Chinese text extracts (the CID font maps back to Unicode).
    p = await auditor.ExportProposal(
        pb.ExportProposalRequest(cycle_id=cycle, version=1, format=pb.EXPORT_FORMAT_PDF)
    )
    assert p.content.startswith(b"%PDF")
    assert p.media_type == "application/pdf"
    assert p.filename == f"proposal-{cycle}-v1.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(p.content)).pages)
    assert "企业A有限公司" in text
    assert "卓越级" in text
    assert "拟支持名单" in text

    # Who and what.
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        expert.ExportProposal(pb.ExportProposalRequest(cycle_id=cycle, format=pb.EXPORT_FORMAT_PDF)),
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ExportProposal(pb.ExportProposalRequest(cycle_id="no-such", format=pb.EXPORT_FORMAT_PDF)),
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        province.ExportProposal(
            pb.ExportProposalRequest(cycle_id=cycle, version=9, format=pb.EXPORT_FORMAT_XLSX)
        ),
    )
    err = await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        province.ExportProposal(pb.ExportProposalRequest(cycle_id=cycle)),
    )
    assert "format" in [v.field for v in err.violations]
