"""On-site reviews (Art. 9: 必要时组织现场答辩或现场核查): province industry records an on-site
defence or a site verification of an application during compliance or expert review. Append-only:
a later visit is a new record."""

from __future__ import annotations

from datetime import date, datetime

from aicc.platform.auth import Principal
from aicc.platform.errors import not_found, wrong_phase
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.review.domain.compliance import review_cycle
from services.review.domain.model import ON_SITE_PHASES, OnSiteKind, OnSiteReview
from services.review.domain.ports import ReviewRepository, ReviewUnitOfWork


async def _known_application(repo: ReviewRepository, cycle_id: str, application_id: str) -> None:
    if await repo.candidate(cycle_id, application_id) is None:
        raise not_found("application", application_id, "申报")


async def record_on_site_review(
    uow: ReviewUnitOfWork,
    p: Principal,
    *,
    cycle_id: str,
    application_id: str,
    kind: OnSiteKind,
    held_on: date,
    participants: list[str],
    findings: str,
    now: datetime,
) -> OnSiteReview:
    """Records an on-site defence or site verification of one application, during compliance or
    expert review."""
    async with uow() as repo:
        cycle = await review_cycle(repo, cycle_id, lock=True)
        await _known_application(repo, cycle_id, application_id)
        if cycle.phase not in ON_SITE_PHASES:
            raise wrong_phase("RecordOnSiteReview", cycle.phase, ON_SITE_PHASES, "记录现场答辩或现场核查")
        review = OnSiteReview(
            on_site_review_id=new_id("osr"),
            cycle_id=cycle_id,
            application_id=application_id,
            kind=kind,
            held_on=held_on.isoformat(),
            participants=[x.strip() for x in participants],
            findings=findings,
            recorded_by=p.user_id,
            recorded_at=now,
        )
        await repo.add_on_site_review(review)
        return review


async def on_site_reviews(
    uow: ReviewUnitOfWork, *, cycle_id: str, application_id: str, page: PageRequest
) -> Page[OnSiteReview]:
    """One page of the cycle's on-site reviews (of one application when given), by date held."""
    async with uow() as repo:
        await review_cycle(repo, cycle_id)
        if application_id:
            await _known_application(repo, cycle_id, application_id)
        return await repo.on_site_reviews_page(cycle_id, application_id or None, page)
