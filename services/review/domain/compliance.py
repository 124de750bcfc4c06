"""Opening a cycle's review and the provincial compliance review (Art. 9): the workflow opens the
review with the policy snapshot; review reads the recommended applications from intake itself (the
workflow's payloads never carry the year's list); then one compliance decision is recorded per
application. Also the two lookups every other use case starts from: the review of a cycle, and its
compliant candidates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aicc.platform.errors import FailedPrecondition, FieldViolation, invalid, not_found, wrong_phase
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.policy import Policy, PolicyError
from services.review.domain.model import Candidate, ComplianceReview, Phase, ReviewCycle, few
from services.review.domain.ports import IntakeApplications, ReviewRepository, ReviewUnitOfWork


@dataclass(frozen=True)
class DecisionIn:
    application_id: str
    compliant: bool
    reasons: list[str]
    decided_by: str
    decided_at: datetime | None


async def review_cycle(repo: ReviewRepository, cycle_id: str, *, lock: bool = False) -> ReviewCycle:
    """The review of a cycle; NOT_FOUND when it was never opened."""
    c = await repo.cycle(cycle_id, lock=lock)
    if c is None:
        raise not_found("review cycle", cycle_id, "评审周期")
    return c


async def compliant_candidates(repo: ReviewRepository, cycle_id: str) -> list[Candidate]:
    ok = {r.application_id for r in await repo.compliance_reviews(cycle_id) if r.compliant}
    return [c for c in await repo.candidates(cycle_id) if c.application_id in ok]


def parse_policy(policy_json: str) -> Policy:
    try:
        return Policy.from_json(policy_json)
    except (PolicyError, ValueError) as e:
        errors = getattr(e, "errors", None) or [("", str(e))]
        raise invalid(
            [
                FieldViolation("policy_json", f"{p or '<policy>'}: {m}", f"{p or '<policy>'}：{m}")
                for p, m in errors
            ],
            "policy_json is not a valid policy",
            "政策快照无效",
        ) from None


async def _already_open(repo: ReviewRepository, cycle_id: str, asked: list[Candidate]) -> int:
    """A repeated opening: the stored candidates' count; refused when it names others."""
    stored = {c.application_id for c in await repo.candidates(cycle_id)}
    extra = sorted({c.application_id for c in asked} - stored)
    if extra:
        raise FailedPrecondition(
            f"review of cycle {cycle_id} is already open with other candidates (not among them: {few(extra)})",
            f"周期 {cycle_id} 的评审已开启，候选名单不同（未包含：{few(extra)}）",
            reason="REVIEW_ALREADY_OPEN",
            metadata={"cycle_id": cycle_id},
        )
    return len(stored)


def _distinct(cycle_id: str, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates of this cycle, each application once (the first seen)."""
    seen: dict[str, Candidate] = {}
    for c in candidates:
        if c.cycle_id != cycle_id:
            raise ValueError(f"candidates of another cycle than {cycle_id}")
        seen.setdefault(c.application_id, c)
    return list(seen.values())


async def open_review(
    uow: ReviewUnitOfWork,
    intake: IntakeApplications,
    *,
    cycle_id: str,
    policy_json: str,
    candidates: list[Candidate],
    now: datetime,
) -> int:
    """Stores the cycle's policy snapshot and candidates: those given (histories recorded before
    review read them itself), or else every application of the cycle intake holds as recommended,
    with its USCC and materials. Repeating the call changes nothing and does not ask intake again."""
    asked = _distinct(cycle_id, candidates)
    parse_policy(policy_json)
    async with uow() as repo:
        if await repo.cycle(cycle_id) is not None:
            return await _already_open(repo, cycle_id, asked)
    found = asked or _distinct(cycle_id, await intake.recommended(cycle_id))
    async with uow() as repo:
        if await repo.cycle(cycle_id, lock=True) is not None:  # opened meanwhile by a concurrent retry
            return await _already_open(repo, cycle_id, asked)
        await repo.add_cycle(
            ReviewCycle(
                cycle_id=cycle_id,
                policy_json=policy_json,
                phase=Phase.COMPLIANCE_REVIEW,
                opened_at=now,
                recusals=0,
            )
        )
        await repo.add_candidates(found)
        return len(found)


@dataclass(frozen=True)
class ComplianceCounts:
    decided: int
    compliant: int
    remaining: int


async def record_compliance(
    uow: ReviewUnitOfWork, *, cycle_id: str, decisions: list[DecisionIn], now: datetime
) -> ComplianceCounts:
    """One decision per application; repeating an identical decision is a no-op. Answers the
    cycle's counts: decided, compliant among them, and still to decide."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        existing = {r.application_id: r for r in await repo.compliance_reviews(cycle_id)}
        new: list[ComplianceReview] = []
        for d in decisions:
            if await repo.candidate(cycle_id, d.application_id) is None:
                raise not_found("application", d.application_id, "申报")
            prior = existing.get(d.application_id)
            if prior is not None:
                if prior.compliant == d.compliant and list(prior.reasons) == list(d.reasons):
                    continue
                raise FailedPrecondition(
                    f"application {d.application_id} already has a compliance decision "
                    f"({'compliant' if prior.compliant else 'not compliant'}, by {prior.decided_by}); it cannot be changed",
                    f"申报 {d.application_id} 已有合规性审核结论（{'合规' if prior.compliant else '不合规'}），不得更改",
                    reason="ALREADY_DECIDED",
                    metadata={"application_id": d.application_id},
                )
            if cycle.phase != Phase.COMPLIANCE_REVIEW:
                raise wrong_phase(
                    "RecordComplianceDecisions", cycle.phase, Phase.COMPLIANCE_REVIEW, "记录合规性审核结论"
                )
            review = ComplianceReview(
                cycle_id=cycle_id,
                application_id=d.application_id,
                compliant=d.compliant,
                reasons=list(d.reasons),
                decided_by=d.decided_by,
                decided_at=d.decided_at or now,
                recorded_at=now,
            )
            existing[d.application_id] = review
            new.append(review)
        await repo.add_compliance_reviews(new)
        total = len(await repo.candidates(cycle_id))
        compliant = sum(1 for r in existing.values() if r.compliant)
        return ComplianceCounts(len(existing), compliant, total - len(existing))


async def compliance_reviews(
    uow: ReviewUnitOfWork, *, cycle_id: str, page: PageRequest
) -> Page[ComplianceReview]:
    """One page of the cycle's compliance decisions, by application id."""
    async with uow() as repo:
        await review_cycle(repo, cycle_id)
        return await repo.compliance_reviews_page(cycle_id, page)
