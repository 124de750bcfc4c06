"""A city's joint recommendation (联合行文, Art. 8): each of the city's two bureaus signs the same
content through the cycle's workflow, an official for the own city only; once both have signed, the
workflow records the document here and every application in it is marked recommended or not."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import NotFound
from aicc.platform.ports import UnitOfWork
from services.intake.domain.cycles import actor, require_cycle
from services.intake.domain.model import Application, ApplicationStatus, Recommendation, Signoff
from services.intake.domain.ports import CycleWorkflows, IntakeRepository
from workflows.cycle.models import CitySignoff, RecommendationItem, SignoffResult


async def sign_city_recommendation(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    city_code: str,
    document_no: str,
    items: list[RecommendationItem],
) -> SignoffResult:
    """SignCityRecommendation: the caller's bureau signs its own city's recommendation."""
    if principal.city_code != city_code:
        raise authz.denied(
            f"officials of city {principal.city_code} cannot sign for city {city_code}",
            "不能代其他城市签署推荐意见",
        )
    await require_cycle(uow, cycle_id)
    role = authz.CITY_INDUSTRY if principal.has(authz.CITY_INDUSTRY) else authz.CITY_FINANCE
    signoff = CitySignoff(
        actor=actor(principal, role), city_code=city_code, document_no=document_no, items=items
    )
    return await workflows.sign_city_recommendation(cycle_id, signoff)


async def record_recommendation(
    *,
    uow: UnitOfWork[IntakeRepository],
    cycle_id: str,
    city_code: str,
    document_no: str,
    items: list[RecommendationItem],
    signoffs: list[Signoff],
    now: datetime,
) -> list[Application]:
    """RecordRecommendation (the workflow, once both bureaus signed): the document kept once (a
    retry records nothing twice), each application of the city marked; returns them."""
    r = Recommendation(cycle_id, city_code, document_no, list(items), list(signoffs), recorded_at=now)
    async with uow() as repo:
        if await repo.recommendation(r.cycle_id, r.city_code) is None:
            await repo.add_recommendation(r)
        marked = []
        for item in r.items:
            app = await repo.application(item.application_id, for_update=True)
            if app is None or app.cycle_id != r.cycle_id or app.city_code != r.city_code:
                raise NotFound(
                    f"application {item.application_id} is not in city {r.city_code}",
                    "该项目不属于本市",
                    reason="APPLICATION_NOT_IN_CITY",
                )
            app.status = (
                ApplicationStatus.RECOMMENDED if item.recommended else ApplicationStatus.NOT_RECOMMENDED
            )
            app.recommendation_document_no = r.document_no
            app.recommendation_opinion = item.opinion
            await repo.save_application(app)
            marked.append(app)
    return marked
