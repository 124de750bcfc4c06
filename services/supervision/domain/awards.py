"""The awards under supervision, as every use case looks them up: an unknown cycle or award (and,
for a caller who may not see it, another's award) is NOT_FOUND."""

from __future__ import annotations

from aicc.platform.errors import NotFound, not_found
from services.supervision.domain.model import Award
from services.supervision.domain.ports import SupervisionRepository


def cycle_not_found(cycle_id: str) -> NotFound:
    return not_found("supervised cycle", cycle_id, "监管年度")


def award_not_found(cycle_id: str, application_id: str) -> NotFound:
    return not_found("award", f"{cycle_id}/{application_id}", "获奖项目")


async def require_cycle(repo: SupervisionRepository, cycle_id: str) -> None:
    if await repo.cycle(cycle_id) is None:
        raise cycle_not_found(cycle_id)


async def require_award(repo: SupervisionRepository, cycle_id: str, application_id: str) -> Award:
    """The award of a cycle under supervision; the cycle is looked for first (its error comes first)."""
    await require_cycle(repo, cycle_id)
    award = await repo.award(cycle_id, application_id)
    if award is None:
        raise award_not_found(cycle_id, application_id)
    return award
