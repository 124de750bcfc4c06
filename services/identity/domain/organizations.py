"""Organisations: registration (USCC, city by division code, Art. 5(3) operating organisations),
who may read which, the city-scoped list, and the province's correction of an applicant's city.

Another organisation's or city's record answers NOT_FOUND, indistinguishable from a missing one."""

from __future__ import annotations

from datetime import datetime

from aicc.platform import authz, jurisdictions
from aicc.platform.auth import Principal
from aicc.platform.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, not_found
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import UnitOfWork
from services.identity.domain import uscc
from services.identity.domain.model import (
    APPLICANT_KINDS,
    PROVINCE_CODE,
    CityCorrection,
    Organization,
    OrganizationKind,
    invalid_field,
)
from services.identity.domain.ports import IdentityRepository


def organization_not_found(organization_id: str) -> NotFound:
    return not_found("organization", organization_id, "单位")


def may_read_organization(actor: Principal, org: Organization) -> bool:
    """Its own people, its city's officials and province-wide readers; the system and security
    administrators (the registry, account
    administration) and experts (conflict declarations name organisations); an enterprise's people
    also read its operating organisation."""
    return (
        authz.can_see_organization(actor, org.organization_id, org.city_code)
        or actor.has(authz.SYSTEM_ADMIN, authz.SECURITY_ADMIN, authz.EXPERT)
        or bool(actor.organization_id and org.parent_organization_id == actor.organization_id)
    )


def listing_city(actor: Principal, requested: str) -> str:
    """The city a listing is limited to: city officials see their own city only, whatever they ask."""
    if authz.is_province_wide(actor) or actor.has(authz.SYSTEM_ADMIN, authz.SECURITY_ADMIN):
        return requested
    return actor.city_code


def _uscc_invalid(problems: list[uscc.UsccProblem]) -> InvalidArgument:
    return InvalidArgument(
        "uscc is not a valid unified social credit code: " + "; ".join(p.message for p in problems),
        "统一社会信用代码无效：" + "；".join(p.message_zh for p in problems),
        reason="USCC_INVALID",
        violations=[FieldViolation("uscc", p.message, p.message_zh) for p in problems],
    )


def _city_of_applicant(code: str, city_code: str) -> str:
    """An applicant's city: mapped from its USCC division code unless an official names another."""
    division = uscc.division_code(code)
    city = jurisdictions.city_for_division(division)
    if city is None and division.startswith("37") and city_code:
        city = jurisdictions.get(city_code)  # registered with the province: an official names the city
    if city is None:
        raise invalid_field(
            "uscc",
            f"division code {division} is not in Shandong (37xxxx); applicants must be registered in Shandong",
            f"行政区划码 {division} 不属于山东省（37开头），申报单位须在山东注册",
        )
    return city_code or city.code


def _known_jurisdiction(city_code: str) -> jurisdictions.Jurisdiction:
    try:
        return jurisdictions.get(city_code)
    except KeyError:
        raise invalid_field(
            "city_code", f"unknown jurisdiction {city_code!r}", f"未知行政区划 {city_code}"
        ) from None


async def create_organization(
    uow: UnitOfWork[IdentityRepository],
    *,
    uscc_code: str,
    name: str,
    kind: OrganizationKind,
    city_code: str,
    legal_person: bool,
    parent_organization_id: str,
    now: datetime,
) -> Organization:
    code = uscc_code.strip().upper()
    problems = uscc.check_uscc(code)
    if problems:
        raise _uscc_invalid(problems)
    if kind in APPLICANT_KINDS:
        city_code = _city_of_applicant(code, city_code)
    city_code = city_code or PROVINCE_CODE
    _known_jurisdiction(city_code)
    async with uow() as repo:
        if kind == OrganizationKind.OPERATOR_ORG:
            parent = await repo.organization(parent_organization_id) if parent_organization_id else None
            if parent is None or parent.kind != OrganizationKind.ENTERPRISE:
                raise invalid_field(
                    "parent_organization_id",
                    "an operating organisation must name the enterprise it runs the center for (Art. 5(3))",
                    "运营机构须关联其所属申报企业（第五条第三项）",
                )
        if await repo.organization_by_uscc(code):
            raise AlreadyExists(
                f"an organisation with USCC {code} exists",
                f"统一社会信用代码 {code} 已登记",
                reason="ORGANIZATION_EXISTS",
            )
        org = Organization(
            organization_id=new_id("org"),
            uscc=code,
            name=name.strip(),
            kind=kind,
            city_code=city_code,
            legal_person=legal_person,
            parent_organization_id=parent_organization_id or None,
            created_at=now,
        )
        await repo.add_organization(org)
    return org


async def get_organization(
    uow: UnitOfWork[IdentityRepository], *, actor: Principal, organization_id: str
) -> Organization:
    async with uow() as repo:
        org = await repo.organization(organization_id)
    if org is None or not may_read_organization(actor, org):
        raise organization_not_found(organization_id)
    return org


async def list_organizations(
    uow: UnitOfWork[IdentityRepository],
    *,
    actor: Principal,
    kind: OrganizationKind | None,
    city_code: str,
    uscc_code: str,
    page: PageRequest,
) -> Page[Organization]:
    city = listing_city(actor, city_code)
    async with uow() as repo:
        return await repo.organizations(kind=kind, city_code=city or None, uscc=uscc_code or None, page=page)


async def update_organization_city(
    uow: UnitOfWork[IdentityRepository],
    *,
    actor: Principal,
    organization_id: str,
    city_code: str,
    reason: str,
    now: datetime,
) -> Organization:
    async with uow() as repo:
        org = await repo.organization(organization_id)
        if org is None:
            raise organization_not_found(organization_id)
        if org.kind not in APPLICANT_KINDS:
            raise invalid_field(
                "organization_id",
                "only an applicant enterprise's (or its operating organisation's) city is corrected",
                "仅可更正申报企业（或其运营机构）的所属城市",
            )
        if _known_jurisdiction(city_code).level != "city":
            raise invalid_field("city_code", "must be a prefecture-level city", "须为设区的市")
        if org.city_code == city_code:
            raise invalid_field("city_code", "the organisation is already in this city", "该单位已属于该城市")
        await repo.add_city_correction(
            CityCorrection(
                organization_id=org.organization_id,
                from_city_code=org.city_code,
                to_city_code=city_code,
                reason=reason.strip(),
                corrected_by=actor.user_id,
                corrected_at=now,
            )
        )
        org.city_code = city_code
        await repo.save_organization(org)
    return org


def list_jurisdictions(page: PageRequest) -> Page[jurisdictions.Jurisdiction]:
    """The province and its cities (static data), paged like every list: in code order."""
    after = str(page.after[0]) if page.after else ""
    rest = [j for j in sorted(jurisdictions.load_jurisdictions(), key=lambda j: j.code) if j.code > after]
    items = rest[: page.size]
    return Page(items, [items[-1].code] if len(rest) > page.size else None)
