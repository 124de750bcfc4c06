"""Users: accounts with argon2id passwords, second factors for officials (TOTP, re-enrolment),
roles granted and revoked by the security administrator (never two that may not meet, from
``authz.INCOMPATIBLE_ROLES``), personal data encrypted at rest and masked when shown, who may read
whose record, and the bootstrap accounts (the three administrators, the worker's service account)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.crypto import DecryptionError, mask_id_number, mask_phone
from aicc.platform.errors import AlreadyExists, FailedPrecondition, NotFound, not_found
from aicc.platform.ids import new_id
from aicc.platform.ports import UnitOfWork
from services.identity.domain import second_factor
from services.identity.domain.model import (
    PROVINCE_CODE,
    Enrolment,
    OrganizationKind,
    RoleChange,
    SecondFactorReset,
    User,
    UserProfile,
    invalid_field,
)
from services.identity.domain.organizations import organization_not_found
from services.identity.domain.ports import Cipher, IdentityRepository

_hasher = PasswordHasher()  # argon2id, memory-hard


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(hashed: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_second_factor(roles: Iterable[str]) -> bool:
    """Officials (every role but applicant) need TOTP; the workflow's service account does not."""
    roles = set(roles)
    return bool(roles & authz.OFFICIALS) and authz.SYSTEM not in roles


def user_not_found(user_id: str) -> NotFound:
    return not_found("user", user_id, "用户")


def aad(column: str, user_id: str) -> str:
    """Binds an encrypted value to its column and row: copied elsewhere, it does not decrypt."""
    return f"users.{column}:{user_id}"


def clear_totp_secret(user: User, cipher: Cipher) -> str | None:
    """The user's TOTP secret in clear, or None when none is enrolled (or it does not decrypt)."""
    if not user.totp_secret_enc:
        return None
    try:
        return cipher.decrypt(user.totp_secret_enc, aad("totp_secret", user.user_id))
    except DecryptionError:
        return None


def _enrol(user: User, cipher: Cipher, secret: str) -> None:
    user.totp_secret_enc = cipher.encrypt(secret, aad("totp_secret", user.user_id))
    user.totp_last_step = None


def masked_personal_data(user: User, cipher: Cipher) -> tuple[str, str]:
    """(phone, id_number) masked for display; the clear values never leave this function."""

    def clear(column: str, value: str | None) -> str:
        if not value:
            return ""
        try:
            return cipher.decrypt(value, aad(column, user.user_id))
        except DecryptionError:
            return "***"  # tampered or another key: show nothing of it

    return mask_phone(clear("phone", user.phone_enc)), mask_id_number(clear("id_number", user.id_number_enc))


def profile_of(user: User, cipher: Cipher) -> UserProfile:
    phone, id_number = masked_personal_data(user, cipher)
    return UserProfile(
        user_id=user.user_id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        organization_id=user.organization_id or "",
        city_code=user.city_code,
        phone=phone,
        id_number=id_number,
    )


def enrolment(secret: str, username: str) -> Enrolment:
    return Enrolment(secret, second_factor.provisioning_uri(secret, username))


def may_read_user(actor: Principal, user: User) -> bool:
    """Self; the security administrator (account administration); province-wide readers; a city
    official only for users of their own city. Not experts, not other cities (another's looks
    missing)."""
    return (
        actor.user_id == user.user_id
        or actor.has(authz.SECURITY_ADMIN)
        or authz.can_see_city(actor, user.city_code)
    )


def refuse_role_conflict(roles: list[str]) -> None:
    """FAILED_PRECONDITION naming both roles when two that may not meet are held together."""
    pair = authz.role_conflict(roles)
    if pair:
        a, b = pair
        raise FailedPrecondition(
            f"roles {a} and {b} may not be held by one account (separation of duties)",
            f"角色 {a} 与 {b} 不得由同一账户兼任（职责分离）",
            reason="ROLE_CONFLICT",
            metadata={"role": a, "conflicting_role": b},
        )


async def get_user(
    uow: UnitOfWork[IdentityRepository], cipher: Cipher, *, actor: Principal, user_id: str
) -> UserProfile:
    async with uow() as repo:
        user = await repo.user(user_id)
    if user is None or not may_read_user(actor, user):
        raise user_not_found(user_id)
    return profile_of(user, cipher)


async def create_user(
    uow: UnitOfWork[IdentityRepository],
    cipher: Cipher,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    organization_id: str,
    city_code: str,
    phone: str = "",
    id_number: str = "",
    now: datetime,
) -> tuple[UserProfile, Enrolment | None]:
    """The new user and, for an official, the second factor to hand over once."""
    refuse_role_conflict(roles)
    async with uow() as repo:
        org = None
        if organization_id:
            org = await repo.organization(organization_id)
            if org is None:
                raise organization_not_found(organization_id)
        if authz.APPLICANT in roles and (org is None or org.kind != OrganizationKind.ENTERPRISE):
            raise invalid_field(
                "organization_id", "an applicant user belongs to an enterprise", "申报用户须属于申报企业"
            )
        if set(roles) & authz.CITY_ROLES and (not city_code or city_code == PROVINCE_CODE):
            raise invalid_field("city_code", "city officials need their city code", "市级用户须指定所属城市")
        if await repo.user_by_username(username):
            raise AlreadyExists(
                f"username {username!r} is taken", f"用户名 {username} 已被使用", reason="USERNAME_TAKEN"
            )
        user_id = new_id("usr")
        user = User(
            user_id=user_id,
            username=username,
            display_name=display_name,
            password_hash=await hash_password(password),
            roles=sorted(set(roles)),
            organization_id=organization_id or None,
            city_code=city_code or (org.city_code if org else PROVINCE_CODE),
            created_at=now,
            phone_enc=cipher.encrypt(phone, aad("phone", user_id)) if phone else None,
            id_number_enc=cipher.encrypt(id_number, aad("id_number", user_id)) if id_number else None,
        )
        secret = second_factor.new_secret() if needs_second_factor(roles) else None
        if secret:
            _enrol(user, cipher, secret)
        await repo.add_user(user)
    return profile_of(user, cipher), enrolment(secret, username) if secret else None


async def reset_second_factor(
    uow: UnitOfWork[IdentityRepository],
    cipher: Cipher,
    *,
    actor: Principal,
    user_id: str,
    reason: str,
    now: datetime,
) -> Enrolment:
    """A new TOTP secret for an official; the old one stops working at once (no code replay across)."""
    async with uow() as repo:
        user = await repo.user(user_id)
        if user is None:
            raise user_not_found(user_id)
        if not needs_second_factor(user.roles):
            raise FailedPrecondition(
                f"user {user_id} has no role that needs a second factor",
                "该用户的角色无需第二因素认证",
                reason="NO_SECOND_FACTOR_NEEDED",
            )
        secret = second_factor.new_secret()
        _enrol(user, cipher, secret)
        await repo.save_user(user)
        await repo.add_second_factor_reset(
            SecondFactorReset(
                user_id=user.user_id, reason=reason.strip(), reset_by=actor.user_id, reset_at=now
            )
        )
    return enrolment(secret, user.username)


async def change_role(
    uow: UnitOfWork[IdentityRepository],
    cipher: Cipher,
    *,
    actor: Principal,
    user_id: str,
    role: str,
    grant: bool,
    reason: str,
    now: datetime,
) -> UserProfile:
    """Grants (or revokes) one role, with the reason kept. A grant that would make two roles meet
    that may not is refused naming both; an official who gains a second factor requirement gets it
    at their next re-enrolment (ResetSecondFactor)."""
    async with uow() as repo:
        user = await repo.user(user_id)
        if user is None:
            raise user_not_found(user_id)
        held = set(user.roles)
        if grant:
            if role in held:
                raise AlreadyExists(
                    f"user {user_id} already holds role {role}", f"该用户已有角色 {role}", reason="ROLE_HELD"
                )
            refuse_role_conflict([*held, role])
            held.add(role)
        else:
            if role not in held:
                raise FailedPrecondition(
                    f"user {user_id} does not hold role {role}",
                    f"该用户没有角色 {role}",
                    reason="ROLE_NOT_HELD",
                )
            held.discard(role)
        user.roles = sorted(held)
        await repo.save_user(user)
        await repo.add_role_change(
            RoleChange(
                user_id=user_id,
                role=role,
                granted=grant,
                reason=reason.strip(),
                changed_by=actor.user_id,
                changed_at=now,
            )
        )
    return profile_of(user, cipher)


async def ensure_account(
    uow: UnitOfWork[IdentityRepository],
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str,
    now: datetime,
    cipher: Cipher | None = None,
    totp_secret: str | None = None,
) -> User:
    """Bootstrap accounts (the administrators, the worker's service account): create, or reset the password
    (and the operator's TOTP secret) to the configured secret so that rotating it takes effect on
    restart."""
    async with uow() as repo:
        user = await repo.user_by_username(username)
        new = user is None
        if user is None:
            user = User(
                user_id=new_id("usr"),
                username=username,
                display_name=display_name,
                password_hash=await hash_password(password),
                roles=roles,
                organization_id=None,
                city_code=PROVINCE_CODE,
                created_at=now,
            )
        elif not await verify_password(user.password_hash, password):
            user.password_hash = await hash_password(password)
        if totp_secret and cipher is not None and clear_totp_secret(user, cipher) != totp_secret:
            _enrol(user, cipher, totp_secret)
        await (repo.add_user(user) if new else repo.save_user(user))
    return user
