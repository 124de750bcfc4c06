"""What intake's use cases need of the world outside its domain: its own store, the other services
whose records it reads or asks to record (identity's registry, review's compliance results and
proposals, funding's disbursements and finance concurrences) and the cycle workflows (Temporal).
The adapters are ``services/intake/store.py``, ``services/intake/adapters.py`` and
``services/intake/gateway.py``; the fakes of the outbound ones are in ``tests/support/fakes_intake.py``.

Calls to another service forward the caller's token: the other service authorises the same person
(the workflow's service account for the activities, province finance for its concurrence)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from aicc.platform.pagination import Page, PageRequest
from services.intake.domain.model import (
    Application,
    ApplicationFilter,
    ComplianceOutcome,
    Cycle,
    CycleDecision,
    Disbursement,
    Eligibility,
    EligibilityRules,
    FinanceConcurrence,
    Material,
    Organization,
    Proposal,
    ProposalLine,
    Recommendation,
    StatusChange,
)
from workflows.cycle.models import (
    CitySignoff,
    ComplianceDecisions,
    ComplianceResult,
    Conclusion,
    CycleInput,
    CycleStatus,
    DeadlineExtension,
    ProposalDecision,
    ProposalRevision,
    PublicityOutcome,
    Resumption,
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

    async def policy_snapshots(self, policy_id: str) -> list[str]:
        """The SHA-256 of each distinct snapshot of ``policy_id`` the cycles hold, first used first."""
        ...

    async def application(self, application_id: str, *, for_update: bool = False) -> Application | None: ...

    async def application_of(self, cycle_id: str, organization_id: str) -> Application | None: ...

    async def applications_by_id(
        self, application_ids: list[str], *, for_update: bool = False
    ) -> dict[str, Application]:
        """The stored ones of these applications, by id (unknown ids left out)."""
        ...

    async def add_application(self, application: Application, materials: list[Material]) -> None: ...

    async def save_application(self, application: Application) -> None:
        """Stores the application's fields; its timeline grows only by ``add_status_change``."""
        ...

    async def add_status_change(self, cycle_id: str, change: StatusChange) -> None:
        """Appends one step to the history of an application of that cycle (a second step with the
        same seq fails)."""
        ...

    async def add_status_changes(self, cycle_id: str, changes: list[StatusChange]) -> None:
        """Many applications of the cycle moved at once: each one's status set to its step's and the
        step appended to its history."""
        ...

    async def submitted_by_city(self, cycle_id: str) -> dict[str, int]:
        """How many SUBMITTED applications each city has in the cycle (cities with none left out)."""
        ...

    async def awarded_elsewhere(self, organization_id: str, cycle_id: str) -> list[Application]:
        """The organisation's applications AWARDED or PAID in cycles other than ``cycle_id``."""
        ...

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

    async def recommendations_page(
        self, cycle_id: str, city_code: str | None, page: PageRequest
    ) -> Page[Recommendation]:
        """The cycle's recorded recommendations by city code (of that city only, unless None)."""
        ...

    async def decision_by_key(self, cycle_id: str, idempotency_key: str) -> CycleDecision | None: ...

    async def add_decision(self, decision: CycleDecision) -> None: ...

    async def decisions_page(self, cycle_id: str, page: PageRequest) -> Page[CycleDecision]:
        """The cycle's recorded decisions in the order they were taken."""
        ...

    async def last_decision(self, cycle_id: str, kind: str) -> CycleDecision | None:
        """The latest recorded decision of that kind (a ``DecisionKind``), if any."""
        ...


class IdentityRegistry(Protocol):
    """The identity service's organisation registry, as the caller sees it."""

    async def organization(self, organization_id: str) -> Organization | None:
        """The organisation; None when it is unknown or not visible to the caller (NOT_FOUND)."""
        ...

    async def eligibility(
        self, organization_id: str, as_of: date, rules: EligibilityRules | None = None
    ) -> Eligibility:
        """The Art. 5 screen of the organisation on that day (Beijing date), under the cycle policy's
        eligibility rules (the province's defaults when None)."""
        ...


class ReviewRecords(Protocol):
    """What review holds and intake reads (every page): compliance results and proposal versions."""

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceOutcome]:
        """Every compliance result recorded for the cycle."""
        ...

    async def proposal(self, cycle_id: str, version: int) -> Proposal:
        """One version of the cycle's proposal (0: the latest); NOT_FOUND when there is none."""
        ...


class FundingRecords(Protocol):
    """What funding holds and intake reads or asks it to record."""

    async def disbursements(self, cycle_id: str) -> list[Disbursement]:
        """Every payment request of the cycle, in the order requested."""
        ...

    async def record_finance_concurrence(
        self, cycle_id: str, proposal_version: int, agree: bool, opinion: str, lines: list[ProposalLine]
    ) -> FinanceConcurrence:
        """Records province finance's concurrence (or return) with the funded lines it concerns, under
        the caller's (finance's) own token; a repeat for the same version answers the first record."""
        ...


class CycleWorkflows(Protocol):
    """One workflow per cycle: start it, read its state, hand it a human decision.

    Each decision is a validated update: a refusal (wrong phase, stale proposal version, incomplete
    content) comes back as the same domain error the workflow raised; a cycle whose workflow is not
    running is FAILED_PRECONDITION (``CYCLE_NOT_RUNNING``)."""

    async def start(self, inp: CycleInput) -> str:
        """Starts the cycle's workflow; returns its id. A second start is ALREADY_EXISTS."""
        ...

    async def status(self, cycle_id: str, *, wait: float = 3.0) -> CycleStatus | None:
        """The workflow's state; None when it cannot be read within ``wait`` seconds (a worker
        answers: while none runs, e.g. one crashed and is restarting, the answer waits for it)."""
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

    async def revise_proposal(self, cycle_id: str, revision: ProposalRevision) -> int:
        """Returns the version of the revised proposal."""
        ...

    async def extend_deadline(self, cycle_id: str, extension: DeadlineExtension) -> str:
        """Returns the current phase's deadline as extended (ISO 8601, UTC)."""
        ...

    async def resume(self, cycle_id: str, resumption: Resumption) -> str:
        """Resumes a cycle that needs attention; returns the phase it resumes in."""
        ...
