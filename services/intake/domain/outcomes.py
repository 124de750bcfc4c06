"""The applicant sees every step: after each stage of the year, the workflow asks intake to copy the
outcome onto its applications (RecordApplicationOutcomes). Intake reads the outcome from the
service that owns it, every page, under the caller's (the workflow's) token: review's compliance
results (COMPLIANCE), a proposal version (PROPOSAL, and ANNOUNCED for the announced list),
funding's disbursements (DISBURSED). Each application moves one step with a Chinese note (reasons,
amounts in 万元, a refused payment and why); a repeat changes nothing. An application only moves
forward from the states the stage follows (money paid is never un-paid by a later list)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aicc.platform.ports import UnitOfWork
from services.intake.domain import timeline
from services.intake.domain.cycles import require_cycle
from services.intake.domain.model import (
    ApplicationStatus,
    DecisionKind,
    Disbursement,
    OutcomeStage,
    PaymentStatus,
    Proposal,
)
from services.intake.domain.ports import FundingRecords, IntakeRepository, ReviewRecords

S = ApplicationStatus
LISTED = (S.COMPLIANT, S.PROPOSED, S.RESERVE, S.NOT_FUNDED, S.AWARDED)
# The states an application may be in for a stage's outcome to apply to it.
MOVES_FROM: dict[OutcomeStage, frozenset[ApplicationStatus]] = {
    OutcomeStage.COMPLIANCE: frozenset({S.RECOMMENDED, S.COMPLIANT, S.NON_COMPLIANT}),
    OutcomeStage.PROPOSAL: frozenset(LISTED),
    OutcomeStage.ANNOUNCED: frozenset(LISTED),
    OutcomeStage.DISBURSED: frozenset({S.AWARDED, S.PAYMENT_REFUSED, S.PAID}),
}
BATCH = 500  # applications per transaction


@dataclass(frozen=True)
class Outcome:
    status: ApplicationStatus
    note: str
    at: datetime


async def _compliance(review: ReviewRecords, cycle_id: str, now: datetime) -> dict[str, Outcome]:
    return {
        r.application_id: Outcome(
            S.COMPLIANT if r.compliant else S.NON_COMPLIANT,
            timeline.compliance_note(r.compliant, r.reasons),
            r.decided_at or now,
        )
        for r in await review.compliance_reviews(cycle_id)
    }


def _listed(proposal: Proposal, now: datetime, *, announced: bool, document_no: str) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    for line in proposal.lines:
        if line.funded and announced:
            out[line.application_id] = Outcome(S.AWARDED, timeline.awarded_note(line, document_no), now)
            continue
        status = S.PROPOSED if line.funded else S.RESERVE if line.reserve else S.NOT_FUNDED
        out[line.application_id] = Outcome(status, timeline.proposal_note(line, proposal.version), now)
    return out


def _payments(disbursements: Iterable[Disbursement], now: datetime) -> dict[str, Outcome]:
    """Per application: paid if any request was paid; otherwise the last refusal; pending ones wait."""
    out: dict[str, Outcome] = {}
    for d in disbursements:
        earlier = out.get(d.application_id)
        if earlier is not None and earlier.status == S.PAID:
            continue
        if d.status == PaymentStatus.PAID:
            out[d.application_id] = Outcome(
                S.PAID, timeline.paid_note(d.amount_fen, d.treasury_reference), now
            )
        elif d.status == PaymentStatus.FAILED:
            note = timeline.payment_refused_note(d.amount_fen, d.failure)
            out[d.application_id] = Outcome(S.PAYMENT_REFUSED, note, now)
    return out


async def _listed_outcomes(
    uow: UnitOfWork[IntakeRepository],
    review: ReviewRecords,
    cycle_id: str,
    stage: OutcomeStage,
    version: int,
    now: datetime,
) -> dict[str, Outcome]:
    proposal = await review.proposal(cycle_id, version)
    announced = stage == OutcomeStage.ANNOUNCED
    document_no = ""
    if announced:
        async with uow() as repo:
            outcome = await repo.last_decision(cycle_id, DecisionKind.PUBLICITY_OUTCOME)
        document_no = outcome.reference if outcome else ""
    return _listed(proposal, now, announced=announced, document_no=document_no)


async def _apply(
    uow: UnitOfWork[IntakeRepository], cycle_id: str, outcomes: dict[str, Outcome], moves_from: frozenset[S]
) -> int:
    updated = 0
    ids = sorted(outcomes)
    for i in range(0, len(ids), BATCH):
        async with uow() as repo:
            apps = await repo.applications_by_id(ids[i : i + BATCH], for_update=True)
            steps = [
                timeline.step(app, outcomes[aid].status, at=outcomes[aid].at, note=outcomes[aid].note)
                for aid, app in sorted(apps.items())
                if app.cycle_id == cycle_id and app.status in moves_from
            ]
            moved = [s for s in steps if s is not None]
            await repo.add_status_changes(cycle_id, moved)
            updated += len(moved)
    return updated


async def record_application_outcomes(
    *,
    uow: UnitOfWork[IntakeRepository],
    review: ReviewRecords,
    funding: FundingRecords,
    cycle_id: str,
    stage: OutcomeStage,
    proposal_version: int,
    now: datetime,
) -> int:
    """RecordApplicationOutcomes: every application of the cycle moved to the stage's outcome as the
    owning service records it; returns how many changed (0 on a repeat)."""
    await require_cycle(uow, cycle_id)
    if stage == OutcomeStage.COMPLIANCE:
        outcomes = await _compliance(review, cycle_id, now)
    elif stage == OutcomeStage.DISBURSED:
        outcomes = _payments(await funding.disbursements(cycle_id), now)
    else:
        outcomes = await _listed_outcomes(uow, review, cycle_id, stage, proposal_version, now)
    return await _apply(uow, cycle_id, outcomes, MOVES_FROM[stage])
