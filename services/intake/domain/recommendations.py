"""A city's joint recommendation (联合行文, Art. 8): each of the city's two bureaus signs the same
content through the cycle's workflow, an official for the own city only. Intake holds the list, so
it checks a sign-off against its own records first: every SUBMITTED application of the city exactly
once, each with the signing bureau's opinion. Once both have signed, the workflow records the
document here with both bureaus' opinions, and every application in it is marked recommended or not
(a step of its history). The records are read back by the province and by the city itself."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import FailedPrecondition, FieldViolation, NotFound, invalid
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.intake.domain import timeline
from services.intake.domain.cycles import actor, cycle_of, require_cycle
from services.intake.domain.model import (
    Application,
    ApplicationFilter,
    ApplicationStatus,
    Recommendation,
    RecommendationLine,
    Signoff,
)
from services.intake.domain.ports import CycleWorkflows, IntakeRepository
from workflows.cycle.models import CitySignoff, RecommendationItem, SignoffResult

# Lists in a refusal name at most this many applications.
LISTED = 20


def _listed(ids: list[str]) -> str:
    more = f" … (+{len(ids) - LISTED})" if len(ids) > LISTED else ""
    return ", ".join(ids[:LISTED]) + more


async def _submitted_of_city(repo: IntakeRepository, cycle_id: str, city_code: str) -> list[Application]:
    if await repo.recommendation(cycle_id, city_code) is not None:
        raise FailedPrecondition(
            f"city {city_code} has already recommended in cycle {cycle_id}",
            f"城市 {city_code} 本年度已完成联合推荐",
            reason="CITY_ALREADY_RECOMMENDED",
        )
    where = ApplicationFilter(cycle_id=cycle_id, city_code=city_code, status=ApplicationStatus.SUBMITTED)
    apps = await repo.applications(where)
    if not apps:
        raise FailedPrecondition(
            f"city {city_code} has no submitted application in cycle {cycle_id}",
            f"城市 {city_code} 本年度无待推荐的申报项目",
            reason="NO_SUBMITTED_APPLICATIONS",
        )
    return apps


def check_items(city_code: str, apps: list[Application], items: list[RecommendationItem]) -> None:
    """Every SUBMITTED application of the city exactly once, nothing else (duplicates and missing
    opinions are refused by the request's own validation)."""
    expected = {a.application_id for a in apps}
    given = [i.application_id for i in items]
    violations = [
        FieldViolation(
            f"items[{n}].application_id",
            f"{aid} is not a submitted application of city {city_code} in this cycle",
            f"{aid} 不是本市本年度已提交的申报项目",
        )
        for n, aid in enumerate(given)
        if aid not in expected
    ]
    missing = sorted(expected - set(given))
    if missing:
        violations.append(
            FieldViolation(
                "items",
                f"must list each of the city's {len(expected)} submitted applications; missing: {_listed(missing)}",
                f"须逐一列明本市全部 {len(expected)} 个已提交申报项目的推荐意见，缺少：{_listed(missing)}",
            )
        )
    if violations:
        raise invalid(
            violations,
            "the recommendation does not match the city's submitted applications",
            "推荐意见与本市已提交的申报项目不一致",
        )


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
    """SignCityRecommendation: the caller's bureau signs its own city's recommendation, which must
    give its opinion on each of the city's submitted applications."""
    if principal.city_code != city_code:
        raise authz.denied(
            f"officials of city {principal.city_code} cannot sign for city {city_code}",
            "不能代其他城市签署推荐意见",
        )
    async with uow() as repo:
        await cycle_of(repo, cycle_id)
        apps = await _submitted_of_city(repo, cycle_id, city_code)
    check_items(city_code, apps, items)
    role = authz.CITY_INDUSTRY if principal.has(authz.CITY_INDUSTRY) else authz.CITY_FINANCE
    signoff = CitySignoff(
        actor=actor(principal, role), city_code=city_code, document_no=document_no, items=items
    )
    return await workflows.sign_city_recommendation(cycle_id, signoff)


def _not_in_city(application_id: str, city_code: str) -> NotFound:
    return NotFound(
        f"application {application_id} is not in city {city_code}",
        "该项目不属于本市",
        reason="APPLICATION_NOT_IN_CITY",
        metadata={"application_id": application_id},
    )


async def _mark(repo: IntakeRepository, r: Recommendation, line: RecommendationLine, now: datetime) -> None:
    app = await repo.application(line.application_id, for_update=True)
    if app is None or app.cycle_id != r.cycle_id or app.city_code != r.city_code:
        raise _not_in_city(line.application_id, r.city_code)
    if app.status != ApplicationStatus.SUBMITTED:
        return  # marked by an earlier call (or moved on since): never back
    app.recommendation_document_no = r.document_no
    app.recommendation_opinion = line.opinion or next((o.opinion for o in line.opinions), "")
    status = ApplicationStatus.RECOMMENDED if line.recommended else ApplicationStatus.NOT_RECOMMENDED
    note = timeline.recommendation_note(line.recommended, r.document_no, line.opinions)
    await timeline.move(repo, app, status, at=now, note=note)


async def record_recommendation(
    *,
    uow: UnitOfWork[IntakeRepository],
    cycle_id: str,
    city_code: str,
    document_no: str,
    items: list[RecommendationLine],
    signoffs: list[Signoff],
    now: datetime,
) -> Recommendation:
    """RecordRecommendation (the workflow, once both bureaus signed): the document kept once with
    both bureaus' opinions (a retry records nothing twice and answers the first record), each
    application of the city marked; returns the recorded document."""
    draft = Recommendation(cycle_id, city_code, document_no, list(items), list(signoffs), recorded_at=now)
    async with uow() as repo:
        await cycle_of(repo, cycle_id)
        r = await repo.recommendation(cycle_id, city_code)
        if r is None:
            r = draft
            await repo.add_recommendation(r)
        for line in r.items:
            await _mark(repo, r, line, now)
    return r


def visible_city(p: Principal, city_code: str | None) -> str | None:
    """A city official reads its own city's records whatever it asks for (an official without a
    city, none); province readers as asked (None: every city)."""
    if authz.is_province_wide(p):
        return city_code or None
    return p.city_code


async def list_recommendations(
    *,
    uow: UnitOfWork[IntakeRepository],
    principal: Principal,
    cycle_id: str,
    city_code: str | None,
    page: PageRequest,
) -> Page[Recommendation]:
    """ListRecommendations: the cycle's joint recommendations with both bureaus' opinions per
    application, by city; a city official sees its own city's only."""
    await require_cycle(uow, cycle_id)
    async with uow() as repo:
        return await repo.recommendations_page(cycle_id, visible_city(principal, city_code), page)
