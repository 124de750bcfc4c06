"""The service and ``aicc rank`` agree: a review run over gRPC (identity and review in process),
its inputs exported with services.review.domain.export.export_csv, and ``aicc rank`` on those
CSV files with the cycle's policy snapshot and budget give the same rank, final score, tier,
amount and reserve for every application — indeed the same lines, reasons included."""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from aicc.cli import rank
from aicc.review.v1 import review_pb2 as pb
from services.review.domain import proposals
from services.review.domain.export import export_csv, policy_file_text
from services.review.service import ReviewApp
from tests.service.test_review import all_assignments, decision, make_world, policy_json, sheet, stamp
from tests.support.suite import InProcessSuite, suite_settings

TIER = {pb.TIER_EXCELLENT: "excellent", pb.TIER_ADVANCED: "advanced", pb.TIER_NONE: "none"}


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity", "review"]) as s:
        yield s


def _candidates(w) -> list[pb.Candidate]:
    """14 applications of enterprises A-E (several per enterprise), a few submitted at the same time."""
    base = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)
    out = []
    for i in range(14):
        k = "ABCDE"[i % 5]
        out.append(
            pb.Candidate(
                application_id=f"app-{i:02d}",
                organization_id=w.orgs[k],
                operator_organization_id=w.orgs["A-op"] if k == "A" else "",
                enterprise_name=f"企业{k}有限公司, 项目{i}",  # a comma: quoted in the CSV
                city_code="370200",
                submitted_at=stamp(base + timedelta(minutes=7 * (i // 3))),
            )
        )
    return out


def _rank_cli(tmp_path, policy_text: str, apps: str, scores: str, budget_fen: int) -> list[dict]:
    (tmp_path / "policy.json").write_text(policy_text, encoding="utf-8")
    (tmp_path / "APPS.csv").write_text(apps, encoding="utf-8")
    (tmp_path / "SCORES.csv").write_text(scores, encoding="utf-8")
    parser = argparse.ArgumentParser()
    rank.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "rank",
            "--policy",
            str(tmp_path / "policy.json"),
            "--applications",
            str(tmp_path / "APPS.csv"),
            "--scores",
            str(tmp_path / "SCORES.csv"),
            "--budget-yuan",
            str(budget_fen // 100),
            "--format",
            "json",
            "--out",
            str(tmp_path / "out.json"),
        ]
    )
    assert rank.run(args) == 0
    return json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))


async def test_service_proposal_equals_aicc_rank_on_the_exported_csv(suite, tmp_path):
    w = await make_world(suite, n_clean=6)
    worker = suite.stub("review", await suite.worker_token())
    cycle = "cycle-agree"
    cands = _candidates(w)
    await worker.OpenReview(
        pb.OpenReviewRequest(cycle_id=cycle, policy_json=policy_json(size=5), candidates=cands)
    )
    await worker.RecordComplianceDecisions(
        pb.RecordComplianceDecisionsRequest(
            cycle_id=cycle,
            decisions=[decision(c.application_id, c.application_id != "app-13") for c in cands],
        )
    )
    await worker.DrawPanels(pb.DrawPanelsRequest(cycle_id=cycle, seed=20260915))

    # Scores: a level per application (several equal: ties), each expert near it, now and then far.
    rnd = random.Random(4)
    level = {c.application_id: rnd.choice([0.95, 0.9, 0.86, 0.82, 0.82, 0.7]) for c in cands}
    for a in await all_assignments(worker, cycle_id=cycle):
        rv = suite.stub("review", w.tokens[a.expert_user_id])
        await rv.DeclareConflict(pb.DeclareConflictRequest(assignment_id=a.assignment_id, has_conflict=False))
        f = level[a.application_id] + rnd.choice([0, 0, 0, 0.01, -0.01, 0.03, -0.2])
        await rv.SubmitScoreSheet(
            pb.SubmitScoreSheetRequest(assignment_id=a.assignment_id, scores=sheet(f"{min(f, 1):.2f}"))
        )

    budget_fen = 5_500_000 * 100  # binds: some qualifying applications are reserve
    await worker.ComputeProposal(pb.ComputeProposalRequest(cycle_id=cycle, budget_fen=budget_fen))
    proposal = (
        await suite.stub("review", w.province).GetProposal(pb.GetProposalRequest(cycle_id=cycle))
    ).proposal
    assert any(x.reserve for x in proposal.lines)
    assert any(x.amount_fen for x in proposal.lines)
    assert any(x.tie_break for x in proposal.lines)

    # Export exactly what was ranked, as officials and auditors would.
    app = suite.hosts["review"].app
    assert isinstance(app, ReviewApp)
    inputs = await proposals.ranking_inputs(app.uow, cycle_id=cycle)
    assert inputs.budget_fen == budget_fen
    assert {c.application_id for c in inputs.candidates} == {f"app-{i:02d}" for i in range(13)}
    apps_csv, scores_csv = export_csv(inputs.candidates, inputs.sheets)
    rows = _rank_cli(tmp_path, policy_file_text(inputs.policy_json), apps_csv, scores_csv, inputs.budget_fen)

    cli = {r["application_id"]: r for r in rows}
    org_of = {c.application_id: c.organization_id for c in cands}
    assert set(cli) == {x.application_id for x in proposal.lines}
    for x in proposal.lines:
        r = cli[x.application_id]
        assert (r["rank"], r["final_score"], r["tier"], r["amount_fen"], r["reserve"]) == (
            x.rank,
            x.final_score,
            TIER[x.tier],
            x.amount_fen,
            x.reserve,
        ), x.application_id
        assert r["dimension_scores"] == {d.dimension: d.score for d in x.dimension_scores}
        assert (r["budget_left_fen"], r["tie_break"] or "", r["flagged_experts"]) == (
            x.budget_left_fen,
            x.tie_break,
            list(x.flagged_experts),
        )
        assert r["reason"] == x.reason
        assert r["enterprise"] == x.enterprise_name
        assert x.organization_id == org_of[x.application_id]
