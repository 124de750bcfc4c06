"""What the cycle's workflow records in intake through its activities (role "system"): the phase
reached, for phase-gated actions such as submission; when the application window closes, how many
applications each city carries on to the city review (the list stays here); and every decision the
workflow accepted, as the cycle's official decision log (read back by province readers and
auditors). Each call is idempotent: the workflow retries its activities."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.intake.domain.cycles import cycle_of, require_cycle
from services.intake.domain.decisions import apply_extension
from services.intake.domain.model import CycleDecision, DecisionKind
from services.intake.domain.ports import IntakeRepository
from workflows.cycle.models import Phase


async def record_cycle_phase(
    *, uow: UnitOfWork[IntakeRepository], cycle_id: str, phase: Phase, note: str, proposal_version: int
) -> None:
    """RecordCyclePhase: the phase the workflow entered, with its note and proposal version."""
    async with uow() as repo:
        cycle = await cycle_of(repo, cycle_id, for_update=True)
        cycle.phase = phase
        cycle.note = note
        cycle.proposal_version = proposal_version
        await repo.save_cycle(cycle)


async def close_application_window(*, uow: UnitOfWork[IntakeRepository], cycle_id: str) -> dict[str, int]:
    """CloseApplicationWindow: how many submitted, eligible applications each city has (the list
    stays in intake: review and the cities read it here). Drafts never submitted stay drafts;
    ineligible ones are not forwarded to the city."""
    async with uow() as repo:
        await cycle_of(repo, cycle_id)
        return await repo.submitted_by_city(cycle_id)


def extension_of(d: CycleDecision) -> tuple[Phase, datetime] | None:
    """The phase and new deadline a DEADLINE_EXTENDED decision carries (details ``phase`` or the
    reference, and ``new_deadline``, ISO 8601), if readable."""
    try:
        phase = Phase(d.details.get("phase") or d.reference)
        return phase, datetime.fromisoformat(d.details["new_deadline"])
    except (KeyError, ValueError):
        return None


async def record_cycle_decision(
    *, uow: UnitOfWork[IntakeRepository], decision: CycleDecision, now: datetime
) -> CycleDecision:
    """RecordCycleDecision: the decision kept once per idempotency key (a repeat answers the first
    record). An extended deadline of the call also moves intake's own dates."""
    async with uow() as repo:
        await cycle_of(repo, decision.cycle_id, for_update=True)  # one writer of a cycle's log at a time
        first = await repo.decision_by_key(decision.cycle_id, decision.idempotency_key)
        if first is not None:
            return first
        d = replace(decision, decision_id=new_id("dec"), recorded_at=now)
        await repo.add_decision(d)
        extended = extension_of(d) if d.kind == DecisionKind.DEADLINE_EXTENDED else None
        if extended is not None:
            await apply_extension(repo, d.cycle_id, *extended)
        return d


async def list_cycle_decisions(
    *, uow: UnitOfWork[IntakeRepository], cycle_id: str, page: PageRequest
) -> Page[CycleDecision]:
    """ListCycleDecisions: the cycle's decision log in the order the decisions were taken."""
    await require_cycle(uow, cycle_id)
    async with uow() as repo:
        return await repo.decisions_page(cycle_id, page)
