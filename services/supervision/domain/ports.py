"""What supervision's use cases need of the world outside the domain: its repository (implemented
by ``services/supervision/store.py``). Supervision calls no other service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aicc.platform.pagination import Page, PageRequest
from services.supervision.domain.model import (
    Award,
    Evaluation,
    MonitoringReport,
    PerformanceTarget,
    SupervisedCycle,
    SupervisionConclusion,
    SupervisionStatus,
)


class DuplicateKey(Exception):
    """An ``add_*`` met a unique key a concurrent transaction took first; the unit of work is lost
    (rolled back) and may be tried again."""


class SupervisionRepository(Protocol):
    """Supervision's records within one transaction (one unit of work)."""

    async def cycle(self, cycle_id: str) -> SupervisedCycle | None: ...

    async def add_cycle(self, cycle: SupervisedCycle) -> None: ...

    async def award(self, cycle_id: str, application_id: str) -> Award | None: ...

    async def awards(self, cycle_id: str) -> list[Award]:
        """Every award of a cycle (at most the policy's quota), by application id."""
        ...

    async def add_award(self, award: Award) -> None: ...

    async def targets_of(self, cycle_id: str, application_id: str) -> list[PerformanceTarget]:
        """The targets of one award (one per template), by code."""
        ...

    async def page_targets(
        self, cycle_id: str, application_ids: Sequence[str], page: PageRequest
    ) -> Page[PerformanceTarget]:
        """One page of the targets of these awards, ordered by application id, code, target id."""
        ...

    async def add_target(self, target: PerformanceTarget) -> None: ...

    async def update_targets(self, targets: Sequence[PerformanceTarget]) -> None:
        """Stores what a use case changed in these (existing) targets."""
        ...

    async def add_report(self, report: MonitoringReport) -> None: ...

    async def report_count(self, cycle_id: str, application_id: str) -> int: ...

    async def evaluation(self, cycle_id: str, application_id: str) -> Evaluation | None: ...

    async def add_evaluation(self, evaluation: Evaluation) -> None:
        """Raises :class:`DuplicateKey` when the award was evaluated by a concurrent transaction."""
        ...

    async def status(self, cycle_id: str) -> SupervisionStatus: ...

    async def conclusion(self, cycle_id: str) -> SupervisionConclusion | None: ...

    async def add_conclusion(self, conclusion: SupervisionConclusion) -> None:
        """Raises :class:`DuplicateKey` when a concurrent transaction recorded the cycle's conclusion."""
        ...
