"""Identity use cases: organisations, users, experts, login, eligibility. No gRPC or SQL here."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aicc.platform import authz, jurisdictions
from aicc.platform.auth import Principal, TokenSigner
from aicc.platform.clock import SHANGHAI
from aicc.platform.crypto import DecryptionError, FieldCipher, mask_id_number, mask_phone
from aicc.platform.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    Unauthenticated,
    not_found,
)
from aicc.platform.ids import new_id
from services.identity.domain import eligibility, imports, second_factor, uscc
from services.identity.store import (
    CityCorrectionRow,
    CreditRecordRow,
    ExpertRelationRow,
    ExpertRow,
    GreenThresholdRow,
    IdentityStore,
    LoginThrottleRow,
    OrganizationRow,
    SecondFactorResetRow,
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


def needs_second_factor(roles) -> bool:
    """Officials (every role but applicant) need TOTP; the workflow's service account does not."""
    roles = set(roles)
    return bool(roles & authz.OFFICIALS) and authz.SYSTEM not in roles


def _aad(column: str, user_id: str) -> str:
    return f"users.{column}:{user_id}"


def masked_personal_data(user: UserRow, cipher: FieldCipher) -> tuple[str, str]:
    """(phone, id_number) masked for display; the clear values never leave this function."""

    def clear(column: str, value: str | None) -> str:
        if not value:
            return ""
        try:
            return cipher.decrypt(value, _aad(column, user.user_id))
        except DecryptionError:
            return "***"  # tampered or another key: show nothing of it

    return mask_phone(clear("phone", user.phone_enc)), mask_id_number(clear("id_number", user.id_number_enc))


async def create_user(
    store: IdentityStore,
    cipher: FieldCipher,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    organization_id: str,
    city_code: str,
    phone: str = "",
    id_number: str = "",
) -> tuple[UserRow, str | None]:
    """Returns the user and, for an official, the TOTP secret to hand over once."""
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
    user_id = new_id("usr")
    totp = second_factor.new_secret() if needs_second_factor(roles) else None
    row = UserRow(
        user_id=user_id,
        username=username,
        display_name=display_name,
        password_hash=await hash_password(password),
        roles=sorted(set(roles)),
        organization_id=organization_id or None,
        city_code=city_code or (org.city_code if org else PROVINCE_CODE),
        totp_secret_enc=cipher.encrypt(totp, _aad("totp_secret", user_id)) if totp else None,
        phone_enc=cipher.encrypt(phone, _aad("phone", user_id)) if phone else None,
        id_number_enc=cipher.encrypt(id_number, _aad("id_number", user_id)) if id_number else None,
    )
    await store.add(row)
    return row, totp


def principal_of(user: UserRow) -> Principal:
    return Principal(
        user_id=user.user_id,
        username=user.username,
        roles=frozenset(user.roles),
        organization_id=user.organization_id or "",
        city_code=user.city_code,
        display_name=user.display_name,
    )


_dummy_hash: str | None = None


async def _verify_or_waste_time(user: UserRow | None, password: str) -> bool:
    """An unknown user costs the same hashing time as a wrong password (no timing oracle)."""
    global _dummy_hash
    if user is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_password(secrets.token_urlsafe(16))
        await verify_password(_dummy_hash, password)
        return False
    return await verify_password(user.password_hash, password)


def _locked(until: datetime) -> Unauthenticated:
    local = until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return Unauthenticated(
        f"account locked after repeated failed logins until {local} (Asia/Shanghai)",
        f"连续登录失败次数过多，账户已锁定至 {local}（北京时间）",
        reason="ACCOUNT_LOCKED",
        metadata={"locked_until": until.isoformat()},
    )


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=30)


async def reset_second_factor(
    store: IdentityStore, cipher: FieldCipher, *, user_id: str, reason: str, reset_by: str
) -> tuple[UserRow, str]:
    """A new TOTP secret for an official; the old one stops working at once (no code replay across)."""
    user = await store.user(user_id)
    if user is None:
        raise not_found("user", user_id, "用户")
    if not needs_second_factor(user.roles):
        raise FailedPrecondition(
            f"user {user_id} has no role that needs a second factor",
            "该用户的角色无需第二因素认证",
            reason="NO_SECOND_FACTOR_NEEDED",
        )
    secret = second_factor.new_secret()
    user.totp_secret_enc = cipher.encrypt(secret, _aad("totp_secret", user.user_id))
    user.totp_last_step = None
    await store.add(SecondFactorResetRow(user_id=user.user_id, reason=reason.strip(), reset_by=reset_by))
    return user, secret


async def login(
    store: IdentityStore,
    signer: TokenSigner,
    cipher: FieldCipher,
    *,
    username: str,
    password: str,
    totp_code: str,
    now: datetime,
    policy: LoginPolicy,
) -> tuple[str, datetime, UserRow] | DomainError:
    """A token, or the refusal to raise *after* the unit of work commits (so failures are counted).

    Order: lock → password (unknown user and wrong password answer alike) → second factor, so the
    answer names the missing factor only to someone who knows the password."""
    throttle = await store.throttle(username)
    if throttle and throttle.locked_until:
        if now < throttle.locked_until:
            return _locked(throttle.locked_until)
        throttle.failures, throttle.locked_until = 0, None  # the lock has expired

    async def fail(err: DomainError) -> DomainError:
        nonlocal throttle
        if throttle is None:
            throttle = LoginThrottleRow(username=username, failures=0)
            await store.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= policy.max_failures:
            throttle.locked_until = now + policy.lockout
            return _locked(throttle.locked_until)
        return err

    user = await store.user_by_username(username)
    if not await _verify_or_waste_time(user, password):
        return await fail(
            Unauthenticated("wrong username or password", "用户名或密码错误", reason="BAD_CREDENTIALS")
        )
    assert user is not None
    if needs_second_factor(user.roles):
        secret = None
        if user.totp_secret_enc:
            try:
                secret = cipher.decrypt(user.totp_secret_enc, _aad("totp_secret", user.user_id))
            except DecryptionError:
                secret = None
        if secret is None:
            return Unauthenticated(
                "second factor required but none is enrolled for this account; ask the operator to enrol one",
                "需要第二重认证，但该账户尚未绑定动态口令，请联系运维人员",
                reason="SECOND_FACTOR_REQUIRED",
            )
        if not totp_code:
            return Unauthenticated(
                "second factor required: give the 6-digit code (totp_code) from your authenticator app",
                "需要第二重认证：请输入动态口令（6位数字）",
                reason="SECOND_FACTOR_REQUIRED",
            )
        step = second_factor.matching_step(secret, totp_code, now)
        if step is None:
            return await fail(
                Unauthenticated(
                    "second factor code is wrong or expired",
                    "动态口令错误或已过期",
                    reason="SECOND_FACTOR_INVALID",
                )
            )
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return await fail(
                Unauthenticated(
                    "second factor code was already used; wait for the next code",
                    "该动态口令已使用过，请等待下一个口令",
                    reason="SECOND_FACTOR_INVALID",
                )
            )
        user.totp_last_step = step
    if throttle is not None:
        throttle.failures, throttle.last_failure_at, throttle.locked_until = 0, None, None
    token, exp = signer.issue(principal_of(user))
    return token, exp, user


async def update_organization_city(
    store: IdentityStore, *, organization_id: str, city_code: str, reason: str, corrected_by: str
) -> OrganizationRow:
    org = await store.organization(organization_id)
    if org is None:
        raise not_found("organization", organization_id, "单位")
    if org.kind not in ("enterprise", "operator_org"):
        raise _invalid(
            "organization_id",
            "only an applicant enterprise's (or its operating organisation's) city is corrected",
            "仅可更正申报企业（或其运营机构）的所属城市",
        )
    try:
        target = jurisdictions.get(city_code)
    except KeyError:
        raise _invalid(
            "city_code", f"unknown jurisdiction {city_code!r}", f"未知行政区划 {city_code}"
        ) from None
    if target.level != "city":
        raise _invalid("city_code", "must be a prefecture-level city", "须为设区的市")
    if org.city_code == city_code:
        raise _invalid("city_code", "the organisation is already in this city", "该单位已属于该城市")
    await store.add(
        CityCorrectionRow(
            organization_id=org.organization_id,
            from_city_code=org.city_code,
            to_city_code=city_code,
            reason=reason.strip(),
            corrected_by=corrected_by,
        )
    )
    org.city_code = city_code
    return org


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
    store: IdentityStore,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str,
    cipher: FieldCipher | None = None,
    totp_secret: str | None = None,
) -> UserRow:
    """Bootstrap accounts (operator, the worker's service account): create, or reset the password
    (and the operator's TOTP secret) to the configured secret so that rotating it takes effect on
    restart."""
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
    if totp_secret and cipher is not None:
        aad = _aad("totp_secret", user.user_id)
        try:
            current = cipher.decrypt(user.totp_secret_enc, aad) if user.totp_secret_enc else None
        except DecryptionError:
            current = None
        if current != totp_secret:
            user.totp_secret_enc = cipher.encrypt(totp_secret, aad)
            user.totp_last_step = None
    return user


async def _org_by_uscc(store: IdentityStore, code: str, field: str = "uscc") -> OrganizationRow:
    org = await store.organization_by_uscc(code.strip().upper())
    if org is None:
        raise not_found("organization with USCC", code, "统一社会信用代码对应单位")
    return org


async def record_credit(
    store: IdentityStore,
    *,
    uscc_code: str,
    severity: str,
    start: date,
    end: date | None,
    source: str,
    reference: str,
) -> None:
    org = await _org_by_uscc(store, uscc_code)
    await store.add(
        CreditRecordRow(
            organization_id=org.organization_id,
            severity=severity,
            start_date=start,
            end_date=end,
            source=source,
            reference=reference,
        )
    )


async def record_green(
    store: IdentityStore, *, uscc_code: str, meets: bool, as_of: date, source: str
) -> None:
    org = await _org_by_uscc(store, uscc_code)
    await store.add(
        GreenThresholdRow(organization_id=org.organization_id, meets=meets, as_of=as_of, source=source)
    )


async def import_registry(store: IdentityStore, *, kind: str, csv_text: str) -> int:
    """All rows or none: every bad row (and every unknown USCC) is reported with its line."""
    try:
        rows = imports.parse_credit_csv(csv_text) if kind == "credit" else imports.parse_green_csv(csv_text)
    except imports.ImportRowError as e:
        raise InvalidArgument(
            str(e).splitlines()[0],
            "导入文件有误，未导入任何记录",
            reason="IMPORT_ROWS_INVALID",
            violations=[
                FieldViolation(f"csv_text.line[{x.line}]" + (f".{x.column}" if x.column else ""), x.message)
                for x in e.errors
            ],
        ) from None
    orgs = {}
    unknown = []
    for r in rows:
        org = await store.organization_by_uscc(r.uscc)
        if org is None:
            unknown.append(
                FieldViolation(
                    f"csv_text.line[{r.line}].uscc",
                    f"no registered organisation has USCC {r.uscc}",
                    "未登记该统一社会信用代码",
                )
            )
        orgs[r.line] = org
    if unknown:
        raise InvalidArgument(
            f"{len(unknown)} row(s) name an unknown organisation; nothing imported",
            "存在未登记单位，未导入任何记录",
            reason="IMPORT_ROWS_INVALID",
            violations=unknown,
        )
    for r in rows:
        org_id = orgs[r.line].organization_id
        if kind == "credit":
            await store.add(
                CreditRecordRow(
                    organization_id=org_id,
                    severity=r.severity,
                    start_date=r.start_date,
                    end_date=r.end_date,
                    source=r.source,
                    reference=r.reference,
                )
            )
        else:
            await store.add(
                GreenThresholdRow(organization_id=org_id, meets=r.meets, as_of=r.as_of, source=r.source)
            )
    return len(rows)
