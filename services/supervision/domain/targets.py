"""Performance targets (Art. 14): one per award × template, set when the cycle enters supervision;
listed for the recipient, its city and the province."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import FailedPrecondition
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.supervision.domain.awards import award_not_found, require_cycle
from services.supervision.domain.model import (
    Award,
    AwardRef,
    PerformanceTarget,
    SupervisedCycle,
    TargetTemplate,
)
from services.supervision.domain.ports import DuplicateKey, SupervisionRepository


def award_conflict(application_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"award {application_id} is under supervision already with a different recipient or amount",
        f"获奖项目 {application_id} 已按不同的单位或金额纳入监管",
        reason="AWARD_CONFLICT",
    )


async def create_targets(
    *,
    uow: UnitOfWork[SupervisionRepository],
    cycle_id: str,
    awards: Sequence[AwardRef],
    templates: Sequence[TargetTemplate],
    now: datetime,
) -> list[PerformanceTarget]:
    """One target per award × template. Idempotent: what exists already is kept and returned.
    A cycle without awards is registered too, so that its (empty) status can be asked for."""
    try:
        async with uow() as repo:
            return await _create_targets(repo, cycle_id, awards, templates, now)
    except DuplicateKey:  # a concurrent call created them first: answer as a repeat
        pass
    async with uow() as repo:
        return await _create_targets(repo, cycle_id, awards, templates, now)


async def _create_targets(
    repo: SupervisionRepository,
    cycle_id: str,
    awards: Sequence[AwardRef],
    templates: Sequence[TargetTemplate],
    now: datetime,
) -> list[PerformanceTarget]:
    if await repo.cycle(cycle_id) is None:
        await repo.add_cycle(SupervisedCycle(cycle_id=cycle_id, created_at=now))
    for a in awards:
        known = await repo.award(cycle_id, a.application_id)
        if known is None:
            await repo.add_award(
                Award(
                    cycle_id=cycle_id,
                    application_id=a.application_id,
                    organization_id=a.organization_id,
                    city_code=a.city_code,
                    amount_fen=a.amount_fen,
                    created_at=now,
                )
            )
        elif not known.same_award(a):
            raise award_conflict(a.application_id)
    out: list[PerformanceTarget] = []
    for a in awards:
        existing = {t.code: t for t in await repo.targets_of(cycle_id, a.application_id)}
        for tpl in templates:
            target = existing.get(tpl.code)
            if target is None:
                target = PerformanceTarget(
                    target_id=new_id("tgt"),
                    cycle_id=cycle_id,
                    application_id=a.application_id,
                    organization_id=a.organization_id,
                    city_code=a.city_code,
                    code=tpl.code,
                    description=tpl.description,
                    unit=tpl.unit,
                    target_value=tpl.target_value,
                    reported_value="",
                    created_at=now,
                )
                await repo.add_target(target)
            out.append(target)
    return out


def may_see(p: Principal, award: Award) -> bool:
    """Applicants see their own organisation's awards, city officials their city's, the province all."""
    return authz.can_see_organization(p, award.organization_id, award.city_code)


async def list_targets(
    *,
    uow: UnitOfWork[SupervisionRepository],
    principal: Principal,
    cycle_id: str,
    application_id: str,
    page: PageRequest,
) -> Page[PerformanceTarget]:
    """One page of the targets the caller may see, of one award or (no ``application_id``) of every
    award of the cycle. Another's award looks like a missing one."""
    async with uow() as repo:
        await require_cycle(repo, cycle_id)
        visible = [a.application_id for a in await repo.awards(cycle_id) if may_see(principal, a)]
        if application_id:
            if application_id not in visible:
                raise award_not_found(cycle_id, application_id)
            visible = [application_id]
        if not visible:
            return Page([])
        return await repo.page_targets(cycle_id, visible, page)
