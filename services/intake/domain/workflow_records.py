"""What the cycle's workflow records in intake through its activities (role "system"): the phase
reached, for phase-gated actions such as submission, and, when the application window closes, the
applications it carries on to the city review."""

from __future__ import annotations

from aicc.platform.ports import UnitOfWork
from services.intake.domain.cycles import cycle_of
from services.intake.domain.model import ApplicationFilter, ApplicationStatus, Dossier
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


async def close_application_window(*, uow: UnitOfWork[IntakeRepository], cycle_id: str) -> list[Dossier]:
    """CloseApplicationWindow: the submitted, eligible applications with their materials (review
    shows the materials to each assigned expert after the no-conflict declaration). Drafts never
    submitted stay drafts; ineligible ones are not forwarded to the city."""
    async with uow() as repo:
        await cycle_of(repo, cycle_id)
        apps = await repo.applications(
            ApplicationFilter(cycle_id=cycle_id, status=ApplicationStatus.SUBMITTED)
        )
        materials = await repo.materials_of([a.application_id for a in apps])
    return [Dossier(a, materials[a.application_id]) for a in apps]
