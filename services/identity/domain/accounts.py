"""Identity use cases: organisations, users, experts, login, eligibility. No gRPC or SQL here."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aicc.platform import authz
from aicc.platform.auth import Principal, TokenSigner
from aicc.platform.db import new_id
from aicc.platform.errors import AlreadyExists, FieldViolation, InvalidArgument, Unauthenticated, not_found
from services.identity.domain import eligibility, imports, jurisdictions, uscc
from services.identity.store import (
    CreditRecordRow,
    ExpertRelationRow,
    ExpertRow,
    GreenThresholdRow,
    IdentityStore,
    OrganizationRow,
    UserRow,
)

KINDS = ("enterprise", "operator_org", "city_bureau", "provincial_department", "expert_employer")
PROVINCE_CODE = "370000"
_hasher = PasswordHasher()  # argon2id, memory-hard


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(hashed: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _invalid(field: str, en: str, zh: str) -> InvalidArgument:
    return InvalidArgument(
        f"{field}: {en}",
        f"{field}：{zh}",
        reason="INVALID_ARGUMENT",
        violations=[FieldViolation(field, en, zh)],
    )


async def create_organization(
    store: IdentityStore,
    *,
    uscc_code: str,
    name: str,
    kind: str,
    city_code: str,
    legal_person: bool,
    parent_organization_id: str,
) -> OrganizationRow:
    code = uscc_code.strip().upper()
    problems = uscc.check_uscc(code)
    if problems:
        raise InvalidArgument(
            "uscc is not a valid unified social credit code: " + "; ".join(p.message for p in problems),
            "统一社会信用代码无效：" + "；".join(p.message_zh for p in problems),
            reason="USCC_INVALID",
            violations=[FieldViolation("uscc", p.message, p.message_zh) for p in problems],
        )
    if kind in ("enterprise", "operator_org"):
        division = uscc.division_code(code)
        city = jurisdictions.city_for_division(division)
        if city is None and division.startswith("37") and city_code:
            city = jurisdictions.get(city_code)  # registered with the province: an official names the city
        if city is None:
            raise _invalid(
                "uscc",
                f"division code {uscc.division_code(code)} is not in Shandong (37xxxx); applicants must be registered in Shandong",
                f"行政区划码 {uscc.division_code(code)} 不属于山东省（37开头），申报单位须在山东注册",
            )
        # Mapped to its city by the division code unless an official gives another.
        city_code = city_code or city.code
    city_code = city_code or PROVINCE_CODE
    try:
        jurisdictions.get(city_code)
    except KeyError:
        raise _invalid(
            "city_code", f"unknown jurisdiction {city_code!r}", f"未知行政区划 {city_code}"
        ) from None
    if kind == "operator_org":
        parent = await store.organization(parent_organization_id) if parent_organization_id else None
        if parent is None or parent.kind != "enterprise":
            raise _invalid(
                "parent_organization_id",
                "an operating organisation must name the enterprise it runs the center for (Art. 5(3))",
                "运营机构须关联其所属申报企业（第五条第三项）",
            )
    if await store.organization_by_uscc(code):
        raise AlreadyExists(
            f"an organisation with USCC {code} exists",
            f"统一社会信用代码 {code} 已登记",
            reason="ORGANIZATION_EXISTS",
        )
    row = OrganizationRow(
        organization_id=new_id("org"),
        uscc=code,
        name=name.strip(),
        kind=kind,
        city_code=city_code,
        legal_person=legal_person,
        parent_organization_id=parent_organization_id or None,
    )
    await store.add(row)
    return row


async def create_user(
    store: IdentityStore,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    organization_id: str,
    city_code: str,
) -> UserRow:
    org = None
    if organization_id:
        org = await store.organization(organization_id)
        if org is None:
            raise not_found("organization", organization_id, "单位")
    if authz.APPLICANT in roles and (org is None or org.kind != "enterprise"):
        raise _invalid(
            "organization_id", "an applicant user belongs to an enterprise", "申报用户须属于申报企业"
        )
    if set(roles) & authz.CITY_ROLES and (not city_code or city_code == PROVINCE_CODE):
        raise _invalid("city_code", "city officials need their city code", "市级用户须指定所属城市")
    if await store.user_by_username(username):
        raise AlreadyExists(
            f"username {username!r} is taken", f"用户名 {username} 已被使用", reason="USERNAME_TAKEN"
        )
    row = UserRow(
        user_id=new_id("usr"),
        username=username,
        display_name=display_name,
        password_hash=await hash_password(password),
        roles=sorted(set(roles)),
        organization_id=organization_id or None,
        city_code=city_code or (org.city_code if org else PROVINCE_CODE),
    )
    await store.add(row)
    return row


def principal_of(user: UserRow) -> Principal:
    return Principal(
        user_id=user.user_id,
        username=user.username,
        roles=frozenset(user.roles),
        organization_id=user.organization_id or "",
        city_code=user.city_code,
        display_name=user.display_name,
    )


async def login(store: IdentityStore, signer: TokenSigner, *, username: str, password: str):
    user = await store.user_by_username(username)
    # Same answer for an unknown user and a wrong password.
    if user is None or not await verify_password(user.password_hash, password):
        raise Unauthenticated("wrong username or password", "用户名或密码错误", reason="BAD_CREDENTIALS")
    token, exp = signer.issue(principal_of(user))
    return token, exp, user


@dataclass(frozen=True)
class RelationIn:
    kind: str
    organization_id: str
    start: date | None
    end: date | None


async def register_expert(
    store: IdentityStore,
    *,
    user_id: str,
    fields: list[str],
    employer_organization_id: str,
    relations: list[RelationIn],
) -> tuple[ExpertRow, UserRow, list[ExpertRelationRow]]:
    user = await store.user(user_id)
    if user is None:
        raise not_found("user", user_id, "用户")
    if authz.EXPERT not in user.roles:
        raise _invalid("user_id", "the user does not have the expert role", "该用户不具有专家角色")
    if await store.expert(user_id):
        raise AlreadyExists(
            f"expert {user_id} is registered", f"专家 {user_id} 已登记", reason="EXPERT_EXISTS"
        )
    for r in relations:
        if await store.organization(r.organization_id) is None:
            raise not_found("organization", r.organization_id, "单位")
    expert = ExpertRow(
        user_id=user_id, fields=fields, employer_organization_id=employer_organization_id or None, active=True
    )
    await store.add(expert)
    rows = []
    for r in relations:
        row = ExpertRelationRow(
            user_id=user_id,
            kind=r.kind,
            organization_id=r.organization_id,
            start_date=r.start,
            end_date=r.end,
        )
        await store.add(row)
        rows.append(row)
    return expert, user, rows


async def check_eligibility(
    store: IdentityStore, *, organization_id: str, as_of: date, lookback_years: int = 3
):
    org = await store.organization(organization_id)
    if org is None:
        raise not_found("organization", organization_id, "单位")
    records = [
        eligibility.CreditRecord(
            organization_id=r.organization_id,
            severity=r.severity,
            start_date=r.start_date,
            end_date=r.end_date,
            source=r.source,
            reference=r.reference,
        )
        for r in await store.credit_records(organization_id)
    ]
    g = await store.latest_green(organization_id, as_of)
    green = (
        eligibility.GreenThresholdStatus(
            organization_id=organization_id, meets=g.meets, as_of=g.as_of, source=g.source
        )
        if g
        else None
    )
    facts = eligibility.OrgFacts(
        organization_id=org.organization_id, kind=org.kind, legal_person=org.legal_person, uscc=org.uscc
    )
    return eligibility.evaluate_eligibility(
        facts, as_of=as_of, credit_records=records, green=green, lookback_years=lookback_years
    )


async def ensure_account(
    store: IdentityStore, *, username: str, password: str, roles: list[str], display_name: str
) -> UserRow:
    """Bootstrap accounts (operator, the worker's service account): create, or reset the password to
    the configured secret so that rotating the secret takes effect on restart."""
    user = await store.user_by_username(username)
    if user is None:
        user = UserRow(
            user_id=new_id("usr"),
            username=username,
            display_name=display_name,
            password_hash=await hash_password(password),
            roles=roles,
            organization_id=None,
            city_code=PROVINCE_CODE,
        )
        await store.add(user)
    elif not await verify_password(user.password_hash, password):
        user.password_hash = await hash_password(password)
    return user


def dev_secret(data_dir: Path, name: str) -> str:
    """Embedded dev mode only: a generated secret kept in the data directory (0600)."""
    path = data_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    path.write_text(value)
    path.chmod(0o600)
    return value


async def _org_by_uscc(store: IdentityStore, code: str, field: str = "uscc") -> OrganizationRow:
    org = await store.organization_by_uscc(code.strip().upper())
    if org is None:
        raise not_found("organization with USCC", code, "统一社会信用代码对应单位")
    return org


async def record_credit(store: IdentityStore, *, uscc_code: str, severity: str, start: date, end: date | None, source: str, reference: str) -> None:
    org = await _org_by_uscc(store, uscc_code)
    await store.add(CreditRecordRow(organization_id=org.organization_id, severity=severity, start_date=start, end_date=end, source=source, reference=reference))


async def record_green(store: IdentityStore, *, uscc_code: str, meets: bool, as_of: date, source: str) -> None:
    org = await _org_by_uscc(store, uscc_code)
    await store.add(GreenThresholdRow(organization_id=org.organization_id, meets=meets, as_of=as_of, source=source))


async def import_registry(store: IdentityStore, *, kind: str, csv_text: str) -> int:
    """All rows or none: every bad row (and every unknown USCC) is reported with its line."""
    try:
        rows = imports.parse_credit_csv(csv_text) if kind == "credit" else imports.parse_green_csv(csv_text)
    except imports.ImportRowError as e:
        raise InvalidArgument(
            str(e).splitlines()[0],
            "导入文件有误，未导入任何记录",
            reason="IMPORT_ROWS_INVALID",
            violations=[FieldViolation(f"csv_text.line[{x.line}]" + (f".{x.column}" if x.column else ""), x.message) for x in e.errors],
        ) from None
    orgs = {}
    unknown = []
    for r in rows:
        org = await store.organization_by_uscc(r.uscc)
        if org is None:
            unknown.append(FieldViolation(f"csv_text.line[{r.line}].uscc", f"no registered organisation has USCC {r.uscc}", "未登记该统一社会信用代码"))
        orgs[r.line] = org
    if unknown:
        raise InvalidArgument(f"{len(unknown)} row(s) name an unknown organisation; nothing imported", "存在未登记单位，未导入任何记录", reason="IMPORT_ROWS_INVALID", violations=unknown)
    for r in rows:
        org_id = orgs[r.line].organization_id
        if kind == "credit":
            await store.add(CreditRecordRow(organization_id=org_id, severity=r.severity, start_date=r.start_date, end_date=r.end_date, source=r.source, reference=r.reference))
        else:
            await store.add(GreenThresholdRow(organization_id=org_id, meets=r.meets, as_of=r.as_of, source=r.source))
    return len(rows)
