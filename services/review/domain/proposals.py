"""The proposal (拟支持名单及资金分配建议, Art. 10-11): once every sheet is in, the compliant
candidates are ranked into tiers and the budget allocated (:mod:`services.review.domain.scoring`);
each version is kept, with what it was computed from, and each line names the applicant
organisation. Also the proposal as the files officials open (:mod:`.export_files`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from aicc.platform.errors import FailedPrecondition, not_found, present, wrong_phase
from services.review.domain import export_files, scoring
from services.review.domain.compliance import compliant_candidates, review_cycle
from services.review.domain.model import AssignmentStatus, Phase, Proposal, ReviewCycle, ScoreSheet, few
from services.review.domain.ports import ReviewRepository, ReviewUnitOfWork

Sheets = dict[str, dict[str, dict[str, Decimal]]]  # {application: {expert: {indicator: points}}}


def is_listed(line: dict[str, Any]) -> bool:
    """On the proposal as an award or a reserve (i.e. something one may object to)."""
    return bool(line.get("reserve")) or int(line.get("amount_fen") or 0) > 0


async def _sheets_for_proposal(repo: ReviewRepository, cycle_id: str) -> Sheets:
    """The latest version of each expert's sheet, for the assignments that were scored."""
    scored = {
        (a.application_id, a.expert_user_id)
        for a in await repo.assignments(cycle_id)
        if a.status == AssignmentStatus.SCORED
    }
    latest: dict[tuple[str, str], ScoreSheet] = {}
    for s in await repo.sheets(cycle_id):
        key = (s.application_id, s.expert_user_id)
        if key in scored and (key not in latest or s.version > latest[key].version):
            latest[key] = s
    out: Sheets = {}
    for (app, expert), s in latest.items():
        out.setdefault(app, {})[expert] = {x["indicator_id"]: Decimal(x["points"]) for x in s.scores}
    return out


async def _ranking_inputs(
    repo: ReviewRepository, cycle: ReviewCycle, removed: list[str]
) -> tuple[list[scoring.Candidate], Sheets, dict[str, str]]:
    """What the proposal is computed from: the compliant candidates not removed by an upheld
    objection, the latest version of each of their experts' sheets, and their organisations."""
    kept = [c for c in await compliant_candidates(repo, cycle.cycle_id) if c.application_id not in removed]
    candidates = [
        scoring.Candidate(
            application_id=c.application_id,
            enterprise=c.enterprise_name,
            city=c.city_code,
            submitted_at=c.submitted_at,
        )
        for c in kept
    ]
    sheets = await _sheets_for_proposal(repo, cycle.cycle_id)
    organizations = {c.application_id: c.organization_id for c in kept}
    return candidates, {app: s for app, s in sheets.items() if app not in removed}, organizations


@dataclass(frozen=True)
class RankingInputs:
    """Everything a proposal version was computed from."""

    candidates: list[scoring.Candidate]
    sheets: Sheets
    budget_fen: int
    policy_json: str  # the cycle's policy snapshot


async def ranking_inputs(uow: ReviewUnitOfWork, *, cycle_id: str, version: int = 0) -> RankingInputs:
    """What a proposal version (0 = latest) was computed from. With
    :func:`services.review.domain.export.export_csv` these become the CSV files from which
    ``aicc rank --policy <snapshot> --budget-yuan <budget/100>`` recomputes the same proposal."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        proposal = await find_proposal(repo, cycle_id=cycle_id, version=version)
        candidates, sheets, _ = await _ranking_inputs(repo, cycle, list(proposal.removed_application_ids))
        return RankingInputs(candidates, sheets, proposal.budget_fen, cycle.policy_json)


async def compute_lines(
    repo: ReviewRepository, cycle: ReviewCycle, *, removed: list[str], budget_fen: int
) -> tuple[list[dict[str, Any]], int]:
    """The proposal's lines (each naming its applicant organisation) and the amount allocated."""
    policy = cycle.policy()
    candidates, sheets, organizations = await _ranking_inputs(repo, cycle, removed)
    try:
        rows = scoring.proposal_to_json_rows(
            scoring.compute_proposal(policy, candidates, sheets, budget_fen=budget_fen)
        )
    except scoring.ScoringError as e:
        problems = [f"{w}: {p}" for w, p in e.problems]
        raise FailedPrecondition(
            f"the score sheets cannot be ranked: {few(problems)}",
            f"评分表无法排序：{few(problems)}",
            reason="SCORING_INCONSISTENT",
        ) from None
    lines = [
        {"application_id": x["application_id"], "organization_id": organizations[x["application_id"]], **x}
        for x in rows
    ]
    allocated = sum(x["amount_fen"] for x in lines if not x["reserve"])
    return lines, allocated


async def _check_expert_review_complete(repo: ReviewRepository, cycle_id: str) -> None:
    open_ = [
        f"{a.assignment_id} ({a.expert_user_id} on {a.application_id}: {a.status})"
        for a in await repo.assignments(cycle_id)
        if a.status not in (AssignmentStatus.SCORED, AssignmentStatus.RECUSED)
    ]
    sheets = await _sheets_for_proposal(repo, cycle_id)
    unscored = [
        c.application_id
        for c in await compliant_candidates(repo, cycle_id)
        if not sheets.get(c.application_id)
    ]
    if open_ or unscored:
        parts_en, parts_zh = [], []
        if open_:
            parts_en.append(f"assignments not yet scored or recused: {few(open_)}")
            parts_zh.append(f"尚未评分或回避的评审任务：{few(open_)}")
        if unscored:
            parts_en.append(f"applications without any score sheet: {few(unscored)}")
            parts_zh.append(f"尚无评分表的申报：{few(unscored)}")
        raise FailedPrecondition(
            "expert review is not complete; " + "; ".join(parts_en),
            "专家评审尚未完成：" + "；".join(parts_zh),
            reason="EXPERT_REVIEW_UNFINISHED",
        )


async def compute_proposal(
    uow: ReviewUnitOfWork, *, cycle_id: str, budget_fen: int, now: datetime
) -> Proposal:
    """Ranks the compliant candidates into tiers and allocates the budget (0: the policy's) as
    proposal version 1. Once computed, repeating the call returns the latest version unchanged."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        if cycle.phase in (Phase.PROPOSAL, Phase.PUBLICITY, Phase.ANNOUNCED):
            latest = await repo.latest_proposal(cycle_id)
            return await _with_organizations(repo, present(latest, "proposal"))
        if cycle.phase != Phase.EXPERT_REVIEW:
            raise wrong_phase("ComputeProposal", cycle.phase, Phase.EXPERT_REVIEW, "计算拟支持名单")
        await _check_expert_review_complete(repo, cycle_id)
        budget = budget_fen or cycle.policy().budget_fen
        lines, allocated = await compute_lines(repo, cycle, removed=[], budget_fen=budget)
        proposal = Proposal(
            cycle_id=cycle_id,
            version=1,
            lines=lines,
            budget_fen=budget,
            allocated_fen=allocated,
            reason="computed from the expert score sheets / 根据专家评分计算",
            removed_application_ids=[],
            created_at=now,
        )
        await repo.add_proposal(proposal)
        cycle.phase = Phase.PROPOSAL
        await repo.save_cycle(cycle)
        return proposal


async def _with_organizations(repo: ReviewRepository, proposal: Proposal) -> Proposal:
    """Lines stored before they named their organisation get it from the candidates."""
    if all(x.get("organization_id") for x in proposal.lines):
        return proposal
    organizations = {c.application_id: c.organization_id for c in await repo.candidates(proposal.cycle_id)}
    return replace(
        proposal,
        lines=[
            {**x, "organization_id": x.get("organization_id") or organizations.get(x["application_id"], "")}
            for x in proposal.lines
        ],
    )


async def find_proposal(repo: ReviewRepository, *, cycle_id: str, version: int) -> Proposal:
    """A proposal version (0 = the latest) within a use case that holds the repository."""
    await review_cycle(repo, cycle_id)
    found = await (repo.latest_proposal(cycle_id) if version == 0 else repo.proposal(cycle_id, version))
    if found is None:
        raise not_found("proposal", f"{cycle_id} v{version}" if version else cycle_id, "拟支持名单")
    return await _with_organizations(repo, found)


async def get_proposal(uow: ReviewUnitOfWork, *, cycle_id: str, version: int) -> Proposal:
    """A proposal version (0 = the latest); NOT_FOUND for an unknown cycle or version."""
    async with uow() as repo:
        return await find_proposal(repo, cycle_id=cycle_id, version=version)


async def proposal_document(
    uow: ReviewUnitOfWork, *, cycle_id: str, version: int, generated_at: datetime
) -> export_files.ProposalDoc:
    """The proposal (as :func:`get_proposal` finds it) with what its files print: the programme's
    title and tier names from the cycle's policy snapshot, and the generation time."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        proposal = await find_proposal(repo, cycle_id=cycle_id, version=version)
    policy = cycle.policy()
    return export_files.ProposalDoc(
        proposal=proposal,
        generated_at=generated_at,
        title=policy.title,
        tier_names={t.key: t.name for t in policy.tiers},
    )
