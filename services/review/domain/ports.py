"""What review's use cases need of the world outside its domain: its own records (the repository,
implemented by ``services/review/store.py``), identity's expert pool and intake's recommended
applications (other services, over gRPC: ``services/review/adapters.py``; the fakes are in
``tests/support/fakes_review.py``)."""

from __future__ import annotations

from typing import Protocol

from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.review.domain.model import (
    Announcement,
    Assignment,
    Candidate,
    ComplianceReview,
    Exclusion,
    Objection,
    OnSiteReview,
    Proposal,
    PublicityNotice,
    ReviewCycle,
    ScoreSheet,
)
from services.review.domain.panels import ExpertProfile


class ReviewRepository(Protocol):
    """Review's records, inside one unit of work (one transaction). ``lock`` takes the row for the
    rest of the transaction (SELECT … FOR UPDATE where the database has it)."""

    # -- cycles and candidates

    async def cycle(self, cycle_id: str, *, lock: bool = False) -> ReviewCycle | None: ...

    async def add_cycle(self, cycle: ReviewCycle) -> None: ...

    async def save_cycle(self, cycle: ReviewCycle) -> None: ...

    async def add_candidates(self, candidates: list[Candidate]) -> None: ...

    async def candidates(self, cycle_id: str) -> list[Candidate]:
        """The cycle's candidates by application id."""
        ...

    async def candidate(self, cycle_id: str, application_id: str) -> Candidate | None: ...

    # -- compliance

    async def add_compliance_reviews(self, reviews: list[ComplianceReview]) -> None: ...

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceReview]:
        """The cycle's decisions by application id."""
        ...

    async def compliance_reviews_page(self, cycle_id: str, page: PageRequest) -> Page[ComplianceReview]:
        """One page of the cycle's decisions by application id."""
        ...

    # -- panels

    async def assignment(self, assignment_id: str) -> Assignment | None: ...

    async def assignments(self, cycle_id: str) -> list[Assignment]:
        """The cycle's assignments in draw order (replacements last)."""
        ...

    async def assignments_page(
        self, *, cycle_id: str | None, expert_user_id: str | None, page: PageRequest
    ) -> Page[Assignment]:
        """One page of the assignments matching the filters (None: any), by cycle, then draw order."""
        ...

    async def add_assignments(self, assignments: list[Assignment]) -> None: ...

    async def save_assignment(self, assignment: Assignment) -> None: ...

    async def add_exclusions(self, exclusions: list[Exclusion]) -> None: ...

    async def exclusions(self, cycle_id: str) -> list[Exclusion]:
        """The cycle's exclusions in the order they were recorded."""
        ...

    # -- score sheets

    async def add_sheet(self, sheet: ScoreSheet) -> None: ...

    async def sheets_of_assignment(self, assignment_id: str) -> list[ScoreSheet]:
        """Every version of one assignment's sheet, oldest first."""
        ...

    async def sheets(self, cycle_id: str) -> list[ScoreSheet]:
        """Every sheet version of the cycle, by application, expert and version."""
        ...

    # -- proposals

    async def add_proposal(self, proposal: Proposal) -> None: ...

    async def proposal(self, cycle_id: str, version: int) -> Proposal | None: ...

    async def latest_proposal(self, cycle_id: str) -> Proposal | None: ...

    # -- publicity notices and the announcement

    async def add_notice(self, notice: PublicityNotice) -> None: ...

    async def save_notice(self, notice: PublicityNotice) -> None: ...

    async def notice(self, cycle_id: str, proposal_version: int) -> PublicityNotice | None: ...

    async def latest_notice(self, cycle_id: str) -> PublicityNotice | None:
        """The notice of the highest proposal version (the open one while publicity is open)."""
        ...

    async def notices_page(self, cycle_id: str, page: PageRequest) -> Page[PublicityNotice]:
        """One page of the cycle's notices, by proposal version."""
        ...

    async def add_announcement(self, announcement: Announcement) -> None: ...

    async def announcement(self, cycle_id: str) -> Announcement | None: ...

    # -- objections

    async def add_objection(self, objection: Objection) -> None: ...

    async def save_objection(self, objection: Objection) -> None: ...

    async def objection(self, objection_id: str, *, lock: bool = False) -> Objection | None: ...

    async def objections(self, cycle_id: str) -> list[Objection]:
        """The cycle's objections in the order they were filed."""
        ...

    async def objections_page(self, cycle_id: str, page: PageRequest) -> Page[Objection]:
        """One page of the cycle's objections in the order they were filed."""
        ...

    async def objections_without_prefix(self, prefix: str) -> list[Objection]:
        """Objections whose contact does not start with ``prefix`` (i.e. is not yet encrypted)."""
        ...

    # -- on-site reviews

    async def add_on_site_review(self, review: OnSiteReview) -> None: ...

    async def on_site_reviews_page(
        self, cycle_id: str, application_id: str | None, page: PageRequest
    ) -> Page[OnSiteReview]:
        """One page of the cycle's on-site reviews (of one application, when given), by date held."""
        ...


class ExpertRegistry(Protocol):
    """Identity's expert pool, the pool panels are drawn from (Art. 9).

    ``experts`` answers every registered expert (all pages), active or not, with the relations the
    conflict rules read (employer, employment, shareholdings, consulting). An unreachable registry
    raises :class:`aicc.platform.errors.Unavailable`; a refusal by identity its own domain error."""

    async def experts(self) -> list[ExpertProfile]: ...


class IntakeApplications(Protocol):
    """Intake's applications, the candidates a cycle's review opens with (Art. 9).

    ``recommended`` answers every application of the cycle that its city recommended (all pages),
    with the applicant's USCC and the materials experts will read, as review candidates. Asked with
    the caller's token (the workflow's service account). An unreachable intake raises
    :class:`aicc.platform.errors.Unavailable`; a refusal by intake its own domain error."""

    async def recommended(self, cycle_id: str) -> list[Candidate]: ...


# What every use case is handed: each call opens one transaction with the repository bound to it.
ReviewUnitOfWork = UnitOfWork[ReviewRepository]
