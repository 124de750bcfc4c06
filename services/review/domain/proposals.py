"""The proposal (拟支持名单及资金分配建议, Art. 10-11) and its versions.

- **Computed** (version 1): once every sheet is in, the compliant candidates are ranked into tiers
  and the budget allocated (:mod:`services.review.domain.scoring`). Each line names the applicant
  organisation and its USCC, the tier's cap (``cap_fen``: an award is *at most* that, Art. 11) and
  the outlier-flagged experts by name (never by internal id).
- **Revised** (:func:`revise_proposal`): a returned proposal, changed by province industry through
  intake and the workflow: an amount up to the line's cap, 0 to remove an award, a reserve promoted;
  each change's reason on its line. Never above the budget; above the quota only when the policy's
  quota is soft, with a reason.
- **Objection upheld** (:func:`withdrawn`): an application removed from the publicised list; the
  reserves move up into what it frees, in rank order (publicity).

Every version is kept (append-only); :func:`get_proposal` reads any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from aicc.platform.errors import FailedPrecondition, FieldViolation, invalid, not_found, wrong_phase
from aicc.platform.money import format_wan_yuan
from aicc.platform.policy import Policy
from services.review.domain import scoring
from services.review.domain.compliance import compliant_candidates, review_cycle
from services.review.domain.model import (
    AssignmentStatus,
    Phase,
    Proposal,
    ProposalBasis,
    ReviewCycle,
    ScoreSheet,
    few,
    is_funded,
)
from services.review.domain.ports import ExpertRegistry, ReviewRepository, ReviewUnitOfWork

Sheets = dict[str, dict[str, dict[str, Decimal]]]  # {application: {expert: {indicator: points}}}
Line = dict[str, Any]

# What a document shows for a flagged expert whose name is on no record (never the internal id).
UNNAMED_EXPERT = "评审专家（姓名未登记）"


def is_listed(line: Mapping[str, Any]) -> bool:
    """On the proposal as an award or a reserve (i.e. something one may object to)."""
    return bool(line.get("reserve")) or int(line.get("amount_fen") or 0) > 0


def line_cap(policy: Policy, tier: str) -> int:
    """The most a line of this tier may be awarded (its tier's amount, never above the award cap);
    0 for a line without a tier."""
    found = next((t for t in policy.tiers if t.key == tier), None)
    return min(found.amount_fen, policy.award_cap_fen) if found else 0


def restated(lines: list[Line], budget_fen: int) -> tuple[list[Line], int]:
    """The lines with ``budget_left_fen`` recomputed in rank order, and the amount allocated."""
    left = budget_fen
    for x in lines:
        if is_funded(x):
            left -= int(x["amount_fen"])
        x["budget_left_fen"] = left
    return lines, budget_fen - left


# ------------------------------------------------------------------------------------ computing


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
) -> tuple[list[scoring.Candidate], Sheets]:
    """What the proposal is computed from: the compliant candidates not removed by an upheld
    objection, and the latest version of each of their experts' sheets."""
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
    return candidates, {app: s for app, s in sheets.items() if app not in removed}


@dataclass(frozen=True)
class RankingInputs:
    """Everything a proposal version was computed from."""

    candidates: list[scoring.Candidate]
    sheets: Sheets
    budget_fen: int
    policy_json: str  # the cycle's policy snapshot


async def ranking_inputs(uow: ReviewUnitOfWork, *, cycle_id: str, version: int = 0) -> RankingInputs:
    """What a proposal version (0 = latest) was ranked from. With
    :func:`services.review.domain.export.export_csv` these become the CSV files from which
    ``aicc rank --policy <snapshot> --budget-yuan <budget/100>`` recomputes the computed version
    (and the ranking of any later one; what officials changed is on its lines' revision reasons)."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
        proposal = await find_proposal(repo, cycle_id=cycle_id, version=version)
        candidates, sheets = await _ranking_inputs(repo, cycle, list(proposal.removed_application_ids))
        return RankingInputs(candidates, sheets, proposal.budget_fen, cycle.policy_json)


def _names(names: Mapping[str, str], ids: Iterable[str]) -> list[str]:
    return [names.get(u) or UNNAMED_EXPERT for u in ids]


async def compute_lines(
    repo: ReviewRepository, cycle: ReviewCycle, *, budget_fen: int, names: Mapping[str, str]
) -> tuple[list[Line], int]:
    """The proposal's lines (each naming its applicant organisation, USCC, cap and flagged experts'
    names) and the amount allocated."""
    policy = cycle.policy()
    candidates, sheets = await _ranking_inputs(repo, cycle, [])
    of = {c.application_id: c for c in await repo.candidates(cycle.cycle_id)}
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
        {
            "application_id": x["application_id"],
            "organization_id": of[x["application_id"]].organization_id,
            **x,
            "uscc": of[x["application_id"]].uscc,
            "cap_fen": line_cap(policy, x["tier"]),
            "flagged_expert_names": _names(names, x["flagged_experts"]),
        }
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


def recorded_names(cycle: ReviewCycle) -> dict[str, str]:
    """The experts' names as the draw recorded them (user id → display name)."""
    return {e["user_id"]: str(e.get("display_name") or "") for e in cycle.pool_json or []}


async def pool_names(cycle: ReviewCycle, experts: ExpertRegistry) -> dict[str, str]:
    """The experts' names: as recorded with the draw; identity is asked only when the recorded pool
    lacks a name (draws recorded before names were kept)."""
    names = recorded_names(cycle)
    if all(names.values()):
        return names
    found = {e.user_id: e.display_name for e in await experts.experts() if e.display_name}
    return {**found, **{u: n for u, n in names.items() if n}}


async def compute_proposal(
    uow: ReviewUnitOfWork, experts: ExpertRegistry, *, cycle_id: str, budget_fen: int, now: datetime
) -> Proposal:
    """Ranks the compliant candidates into tiers and allocates the budget (0: the policy's) as
    proposal version 1. Once computed, repeating the call returns version 1 unchanged."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id)
    names = await pool_names(cycle, experts) if cycle.phase == Phase.EXPERT_REVIEW else {}
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        if cycle.phase != Phase.EXPERT_REVIEW and (computed := await repo.proposal(cycle_id, 1)):
            return await completed(repo, cycle, computed)
        if cycle.phase != Phase.EXPERT_REVIEW:
            raise wrong_phase("ComputeProposal", cycle.phase, Phase.EXPERT_REVIEW, "计算拟支持名单")
        await _check_expert_review_complete(repo, cycle_id)
        budget = budget_fen or cycle.policy().budget_fen
        lines, allocated = await compute_lines(repo, cycle, budget_fen=budget, names=names)
        proposal = Proposal(
            cycle_id=cycle_id,
            version=1,
            lines=lines,
            budget_fen=budget,
            allocated_fen=allocated,
            reason="computed from the expert score sheets / 根据专家评分计算",
            removed_application_ids=[],
            created_at=now,
            basis=ProposalBasis.COMPUTED,
        )
        await repo.add_proposal(proposal)
        cycle.phase = Phase.PROPOSAL
        await repo.save_cycle(cycle)
        return proposal


# ------------------------------------------------------------------------------------ reading

LINE_KEYS = ("organization_id", "uscc", "cap_fen", "flagged_expert_names")


async def completed(repo: ReviewRepository, cycle: ReviewCycle, proposal: Proposal) -> Proposal:
    """Lines stored before they carried their organisation, USCC, cap or experts' names get them
    from the candidates, the policy snapshot and the recorded pool (nothing else changes)."""
    if all(k in x for x in proposal.lines for k in LINE_KEYS) and all(
        x["organization_id"] for x in proposal.lines
    ):
        return proposal
    of = {c.application_id: c for c in await repo.candidates(proposal.cycle_id)}
    policy = cycle.policy()
    names = recorded_names(cycle)

    def fill(x: Line) -> Line:
        c = of.get(x["application_id"])
        return {
            **x,
            "organization_id": x.get("organization_id") or (c.organization_id if c else ""),
            "uscc": x.get("uscc", c.uscc if c else ""),
            "cap_fen": x.get("cap_fen", line_cap(policy, x.get("tier", "none"))),
            "flagged_expert_names": x.get(
                "flagged_expert_names", _names(names, x.get("flagged_experts") or [])
            ),
        }

    return replace(proposal, lines=[fill(x) for x in proposal.lines])


async def find_proposal(repo: ReviewRepository, *, cycle_id: str, version: int) -> Proposal:
    """A proposal version (0 = the latest) within a use case that holds the repository."""
    cycle = await review_cycle(repo, cycle_id)
    found = await (repo.latest_proposal(cycle_id) if version == 0 else repo.proposal(cycle_id, version))
    if found is None:
        raise not_found("proposal", f"{cycle_id} v{version}" if version else cycle_id, "拟支持名单")
    return await completed(repo, cycle, found)


async def get_proposal(uow: ReviewUnitOfWork, *, cycle_id: str, version: int) -> Proposal:
    """A proposal version (0 = the latest); NOT_FOUND for an unknown cycle or version."""
    async with uow() as repo:
        return await find_proposal(repo, cycle_id=cycle_id, version=version)


# ------------------------------------------------------------------------------------ revising


@dataclass(frozen=True)
class ChangeIn:
    """One line of a revision: its new amount (0 removes the award; with ``promote``, 0 means the
    cap), why, and whether it brings a reserve in."""

    application_id: str
    amount_fen: int
    reason: str
    promote: bool = False


def _who(x: Line) -> str:
    return f"{x['application_id']} ({x.get('enterprise', '')})"


def _change_problem(x: Line, c: ChangeIn) -> tuple[str, str, str] | None:
    """Why a change cannot apply to its line (field, English, Chinese), or None."""
    funded, cap = is_funded(x), int(x.get("cap_fen") or 0)
    amount = c.amount_fen or (cap if c.promote else 0)
    if cap == 0 and (c.promote or c.amount_fen > 0):
        field = "promote" if c.promote else "amount_fen"
        return (
            field,
            f"line {_who(x)} has no tier: it cannot be funded",
            "该申报未达到任何等级，不能获得支持",
        )
    if c.promote and funded:
        return (
            "promote",
            f"line {_who(x)} is already funded: change its amount without promote",
            "该申报已获支持，无需递补",
        )
    if not c.promote and not funded:
        what = "a reserve" if x.get("reserve") else "not funded"
        return (
            "promote",
            f"line {_who(x)} is {what}: set promote to bring it into the list",
            "该申报未获支持，须以递补方式纳入",
        )
    if amount > cap:
        return (
            "amount_fen",
            f"line {_who(x)}: {format_wan_yuan(amount)} 万元 is above its tier's cap of {format_wan_yuan(cap)} "
            "万元 (Art. 11: at most)",
            f"申报 {x['application_id']}（{x.get('enterprise', '')}）的金额 {format_wan_yuan(amount)} 万元超过其等级上限 "
            f"{format_wan_yuan(cap)} 万元（第十一条：最高不超过）",
        )
    return None


def applied(lines: list[Line], changes: list[ChangeIn], base_version: int) -> list[Line]:
    """The lines with every change applied (copies), or INVALID_ARGUMENT naming each change that
    cannot apply and its line."""
    out = [dict(x) for x in lines]
    by_app = {x["application_id"]: x for x in out}
    problems: list[FieldViolation] = []
    for i, c in enumerate(changes):
        x = by_app.get(c.application_id)
        if x is None:
            problems.append(
                FieldViolation(
                    f"changes[{i}].application_id",
                    f"{c.application_id} is not a line of proposal v{base_version}",
                    f"{c.application_id} 不是第 {base_version} 版名单中的申报",
                )
            )
            continue
        problem = _change_problem(x, c)
        if problem is not None:
            problems.append(FieldViolation(f"changes[{i}].{problem[0]}", problem[1], problem[2]))
            continue
        x["amount_fen"] = c.amount_fen or (int(x["cap_fen"]) if c.promote else 0)
        x["reserve"] = False
        x["revision_reason"] = c.reason
        if c.promote:
            x["promoted"] = "revision"
    if problems:
        raise invalid(problems, "the revision cannot be applied", "拟支持名单的修改无法执行")
    return out


def _check_quota(policy: Policy, lines: list[Line], note: str) -> None:
    funded = sum(1 for x in lines if is_funded(x))
    if funded <= policy.quota:
        return
    if policy.quota_mode == "hard":
        raise FailedPrecondition(
            f"the revision funds {funded} applications, above the quota of {policy.quota}; the policy's "
            "quota is hard (quota_mode: hard, Art. 11)",
            f"修改后支持 {funded} 家，超过名额 {policy.quota} 家；本政策名额为刚性上限（第十一条）",
            reason="QUOTA_EXCEEDED",
            metadata={"funded": str(funded), "quota": str(policy.quota), "quota_mode": "hard"},
        )
    if not note.strip():
        raise invalid(
            [
                FieldViolation(
                    "note",
                    f"funding {funded} applications, above the soft quota of {policy.quota}, needs a reason",
                    f"支持 {funded} 家超过名额 {policy.quota} 家（柔性名额），须说明理由",
                )
            ]
        )


def _check_budget(lines: list[Line], budget_fen: int) -> None:
    total = sum(int(x["amount_fen"]) for x in lines if is_funded(x))
    if total > budget_fen:
        raise FailedPrecondition(
            f"the revision allocates {format_wan_yuan(total)} 万元, above the budget of "
            f"{format_wan_yuan(budget_fen)} 万元",
            f"修改后拟分配 {format_wan_yuan(total)} 万元，超过预算 {format_wan_yuan(budget_fen)} 万元",
            reason="BUDGET_EXCEEDED",
            metadata={"allocated_fen": str(total), "budget_fen": str(budget_fen)},
        )


def _is_retry(latest: Proposal, base_version: int, changes: list[ChangeIn], note: str) -> bool:
    return (
        latest.basis == ProposalBasis.REVISED
        and latest.previous_version == base_version
        and latest.changes == [asdict(c) for c in changes]
        and latest.note == note
    )


async def revise_proposal(
    uow: ReviewUnitOfWork,
    *,
    cycle_id: str,
    base_version: int,
    changes: list[ChangeIn],
    note: str,
    decided_by: str,
    now: datetime,
) -> Proposal:
    """A new version from ``base_version`` (the latest, while the proposal is with province
    industry: phase PROPOSAL) with ``changes`` applied, each reason on its line. Repeating the same
    revision answers the version it made."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        latest = await repo.latest_proposal(cycle_id)
        if latest is not None and _is_retry(latest, base_version, changes, note):
            return await completed(repo, cycle, latest)
        if cycle.phase != Phase.PROPOSAL or latest is None:
            raise wrong_phase("ReviseProposal", cycle.phase, Phase.PROPOSAL, "修改拟支持名单")
        if base_version != latest.version:
            raise FailedPrecondition(
                f"proposal v{base_version} is not the latest version (v{latest.version}); revise the latest",
                f"第 {base_version} 版不是最新版本（第 {latest.version} 版），请在最新版本上修改",
                reason="STALE_PROPOSAL_VERSION",
                metadata={"latest_version": str(latest.version)},
            )
        base = await completed(repo, cycle, latest)
        lines = applied(base.lines, changes, base_version)
        _check_quota(cycle.policy(), lines, note)
        _check_budget(lines, base.budget_fen)
        lines, allocated = restated(lines, base.budget_fen)
        extra = f": {note}" if note else ""
        proposal = Proposal(
            cycle_id=cycle_id,
            version=latest.version + 1,
            lines=lines,
            budget_fen=base.budget_fen,
            allocated_fen=allocated,
            reason=(
                f"revised by {decided_by} from v{base_version}, {len(changes)} change(s){extra} / "
                f"由 {decided_by} 在第 {base_version} 版基础上修改 {len(changes)} 处{'：' + note if note else ''}"
            ),
            removed_application_ids=list(base.removed_application_ids),
            created_at=now,
            basis=ProposalBasis.REVISED,
            previous_version=base_version,
            decided_by=decided_by,
            note=note,
            changes=[asdict(c) for c in changes],
        )
        await repo.add_proposal(proposal)
        return proposal


# ------------------------------------------------------------------------- an upheld objection


def _renumbered(lines: list[Line], removed: Line, objection_id: str) -> list[Line]:
    out = []
    for place, x in enumerate(lines, start=1):
        if x.get("rank") != place:
            x = {
                **x,
                "rank": place,
                "reason": f"{x.get('reason', '')}; rank {x.get('rank')} → {place}: {removed['application_id']} "
                f"removed (objection {objection_id}) / 因异议成立移出 {removed['application_id']}，名次调整为第{place}名",
            }
        out.append(x)
    return out


def withdrawn(
    policy: Policy, base: Proposal, application_id: str, objection_id: str
) -> tuple[list[Line], int]:
    """The lines of ``base`` without ``application_id`` (an upheld objection): ranks close up, and
    the reserves move up in rank order into the freed quota and budget — each at its tier's cap,
    until the first that does not fit (as the allocation does). Officials' revisions stay. Answers
    the lines and the amount allocated."""
    removed = next(x for x in base.lines if x["application_id"] == application_id)
    lines = _renumbered(
        [dict(x) for x in base.lines if x["application_id"] != application_id], removed, objection_id
    )
    funded = sum(1 for x in lines if is_funded(x))
    left = base.budget_fen - sum(int(x["amount_fen"]) for x in lines if is_funded(x))
    for x in lines:
        if not x.get("reserve"):
            continue
        cap = int(x.get("cap_fen") or 0)
        if funded >= policy.quota or cap > left or cap == 0:
            break
        x.update(
            amount_fen=cap,
            reserve=False,
            promoted="objection",
            revision_reason=(
                f"异议 {objection_id} 经调查属实，申报 {application_id}（{removed.get('enterprise', '')}）移出名单，"
                f"本申报由备选递补，奖补 {format_wan_yuan(cap)} 万元 / promoted from the reserve: objection "
                f"{objection_id} upheld, {application_id} removed"
            ),
        )
        funded += 1
        left -= cap
    return restated(lines, base.budget_fen)
