"""A cycle's supervision progress, which the cycle workflow reads before concluding supervision."""

from __future__ import annotations

from aicc.platform.ports import UnitOfWork
from services.supervision.domain.awards import require_cycle
from services.supervision.domain.model import SupervisionStatus
from services.supervision.domain.ports import SupervisionRepository


async def supervision_status(*, uow: UnitOfWork[SupervisionRepository], cycle_id: str) -> SupervisionStatus:
    async with uow() as repo:
        await require_cycle(repo, cycle_id)
        return await repo.status(cycle_id)
