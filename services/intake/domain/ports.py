"""What intake's use cases need of the world outside its domain: its own store, the identity
registry (another service) and the cycle workflows (Temporal). The adapters are
``services/intake/store.py``, ``services/intake/adapters.py`` and ``services/intake/gateway.py``; the
fakes of the last two are in ``tests/support/fakes_intake.py``."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from aicc.platform.pagination import Page, PageRequest
from services.intake.domain.model import (
    Application,
    ApplicationFilter,
    Cycle,
    Eligibility,
    Material,
    Organization,
    Recommendation,
)
from workflows.cycle.models import (
    CitySignoff,
    ComplianceDecisions,
    ComplianceResult,
    Conclusion,
    CycleInput,
    CycleStatus,
    ProposalDecision,
    PublicityOutcome,
    SignoffResult,
)


class IntakeRepository(Protocol):
    """Intake's records, inside one unit of work (one transaction)."""

    async def cycle(self, cycle_id: str, *, for_update: bool = False) -> Cycle | None: ...

    async def add_cycle(self, cycle: Cycle) -> None: ...

    async def save_cycle(self, cycle: Cycle) -> None: ...

    async def cycles_page(self, page: PageRequest) -> Page[Cycle]:
        """Cycles in the order they were created."""
        ...

    async def application(self, application_id: str, *, for_update: bool = False) -> Application | None: ...

    async def application_of(self, cycle_id: str, organization_id: str) -> Application | None: ...

    async def add_application(self, application: Application, materials: list[Material]) -> None: ...

    async def save_application(self, application: Application) -> None: ...

    async def applications(self, where: ApplicationFilter) -> list[Application]:
        """Every application matching ``where``, in the order they were created."""
        ...

    async def applications_page(self, where: ApplicationFilter, page: PageRequest) -> Page[Application]:
        """One page of the applications matching ``where``, in the order they were created."""
        ...

    async def materials(self, application_id: str) -> list[Material]: ...

    async def materials_of(self, application_ids: list[str]) -> dict[str, list[Material]]:
        """Materials of several applications at once: {application_id: [material, …]}."""
        ...

    async def recommendation(self, cycle_id: str, city_code: str) -> Recommendation | None: ...

    async def add_recommendation(self, recommendation: Recommendation) -> None: ...


class IdentityRegistry(Protocol):
    """The identity service's organisation registry, as the caller sees it."""

    async def organization(self, organization_id: str) -> Organization | None:
        """The organisation; None when it is unknown or not visible to the caller (NOT_FOUND)."""
        ...

    async def eligibility(self, organization_id: str, as_of: date) -> Eligibility:
        """The Art. 5 screen of the organisation on that day (Beijing date)."""
        ...


class CycleWorkflows(Protocol):
    """One workflow per cycle: start it, read its state, hand it a human decision.

    Each decision is a validated update: a refusal (wrong phase, stale proposal version, incomplete
    content) comes back as the same domain error the workflow raised; a cycle whose workflow is not
    running is FAILED_PRECONDITION (``CYCLE_NOT_RUNNING``)."""

    async def start(self, inp: CycleInput) -> str:
        """Starts the cycle's workflow; returns its id. A second start is ALREADY_EXISTS."""
        ...

    async def status(self, cycle_id: str) -> CycleStatus | None:
        """The workflow's state; None when it cannot be read."""
        ...

    async def sign_city_recommendation(self, cycle_id: str, signoff: CitySignoff) -> SignoffResult: ...

    async def decide_compliance(self, cycle_id: str, decisions: ComplianceDecisions) -> ComplianceResult: ...

    async def conclude_expert_review(self, cycle_id: str, conclusion: Conclusion) -> int:
        """Returns the version of the proposal computed."""
        ...

    async def decide_finance_concurrence(self, cycle_id: str, decision: ProposalDecision) -> str: ...

    async def resubmit_proposal(self, cycle_id: str, conclusion: Conclusion) -> int: ...

    async def decide_party_group_approval(self, cycle_id: str, decision: ProposalDecision) -> str: ...

    async def decide_publicity_outcome(self, cycle_id: str, outcome: PublicityOutcome) -> int: ...

    async def conclude_supervision(self, cycle_id: str, conclusion: Conclusion) -> str: ...
