"""The Art. 5 registry: credit records (严重失信) and green-threshold statuses, recorded one by one or
imported from CSV (all rows or none), and the eligibility check that reads them."""

from __future__ import annotations

from datetime import date

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import FieldViolation, InvalidArgument, not_found
from aicc.platform.ports import UnitOfWork
from services.identity.domain import eligibility, imports
from services.identity.domain.model import CreditRecord, GreenThresholdStatus, Organization, RegistryKind
from services.identity.domain.organizations import organization_not_found
from services.identity.domain.ports import IdentityRepository


async def _org_by_uscc(repo: IdentityRepository, code: str) -> Organization:
    org = await repo.organization_by_uscc(code.strip().upper())
    if org is None:
        raise not_found("organization with USCC", code, "统一社会信用代码对应单位")
    return org


async def record_credit(
    uow: UnitOfWork[IdentityRepository],
    *,
    uscc_code: str,
    severity: str,
    start: date,
    end: date | None,
    source: str,
    reference: str,
) -> None:
    async with uow() as repo:
        org = await _org_by_uscc(repo, uscc_code)
        await repo.add_credit_record(
            CreditRecord(
                organization_id=org.organization_id,
                severity=severity,
                start_date=start,
                end_date=end,
                source=source,
                reference=reference,
            )
        )


async def record_green(
    uow: UnitOfWork[IdentityRepository], *, uscc_code: str, meets: bool, as_of: date, source: str
) -> None:
    async with uow() as repo:
        org = await _org_by_uscc(repo, uscc_code)
        await repo.add_green(
            GreenThresholdStatus(organization_id=org.organization_id, meets=meets, as_of=as_of, source=source)
        )


def _rows_invalid(e: imports.ImportRowError) -> InvalidArgument:
    return InvalidArgument(
        str(e).splitlines()[0],
        "导入文件有误，未导入任何记录",
        reason="IMPORT_ROWS_INVALID",
        violations=[
            FieldViolation(f"csv_text.line[{x.line}]" + (f".{x.column}" if x.column else ""), x.message)
            for x in e.errors
        ],
    )


async def _organizations_of(
    repo: IdentityRepository, rows: list[imports.CreditRow] | list[imports.GreenRow]
) -> dict[int, str]:
    """line → organization_id of each row; every unknown USCC refused with its line."""
    found: dict[int, str] = {}
    unknown = []
    for r in rows:
        org = await repo.organization_by_uscc(r.uscc)
        if org is None:
            unknown.append(
                FieldViolation(
                    f"csv_text.line[{r.line}].uscc",
                    f"no registered organisation has USCC {r.uscc}",
                    "未登记该统一社会信用代码",
                )
            )
        else:
            found[r.line] = org.organization_id
    if unknown:
        raise InvalidArgument(
            f"{len(unknown)} row(s) name an unknown organisation; nothing imported",
            "存在未登记单位，未导入任何记录",
            reason="IMPORT_ROWS_INVALID",
            violations=unknown,
        )
    return found


async def import_registry(uow: UnitOfWork[IdentityRepository], *, kind: RegistryKind, csv_text: str) -> int:
    """All rows or none: every bad row (and every unknown USCC) is reported with its line."""
    credit: list[imports.CreditRow] = []
    green: list[imports.GreenRow] = []
    try:
        if kind == RegistryKind.CREDIT:
            credit = imports.parse_credit_csv(csv_text)
        else:
            green = imports.parse_green_csv(csv_text)
    except imports.ImportRowError as e:
        raise _rows_invalid(e) from None
    async with uow() as repo:
        orgs = await _organizations_of(repo, credit or green)
        for c in credit:
            await repo.add_credit_record(
                CreditRecord(
                    organization_id=orgs[c.line],
                    severity=c.severity,
                    start_date=c.start_date,
                    end_date=c.end_date,
                    source=c.source,
                    reference=c.reference,
                )
            )
        for g in green:
            await repo.add_green(
                GreenThresholdStatus(
                    organization_id=orgs[g.line], meets=g.meets, as_of=g.as_of, source=g.source
                )
            )
    return len(credit) + len(green)


async def check_eligibility(
    uow: UnitOfWork[IdentityRepository],
    *,
    actor: Principal,
    organization_id: str,
    as_of: date,
    rules: eligibility.EligibilityRules = eligibility.PROVINCE_DEFAULTS,
) -> list[eligibility.Failure]:
    """Every failed Art. 5 hard rule of an organisation the actor may see (others look missing), under
    the cycle's policy's ``rules`` (the province's defaults when the caller names none)."""
    async with uow() as repo:
        org = await repo.organization(organization_id)
        if org is None or not authz.can_see_organization(actor, org.organization_id, org.city_code):
            raise organization_not_found(organization_id)
        records = await repo.credit_records(organization_id)
        green = await repo.latest_green(organization_id, as_of)
    facts = eligibility.OrgFacts(
        organization_id=org.organization_id, kind=org.kind.value, legal_person=org.legal_person, uscc=org.uscc
    )
    return eligibility.evaluate_under(facts, rules, as_of=as_of, credit_records=records, green=green)
