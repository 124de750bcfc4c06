"""Login: a password (and, for officials, a TOTP code) for a signed access token; failed attempts
in a row lock the name for a while, known or not (a lockout reveals nothing)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI
from aicc.platform.errors import DomainError, Unauthenticated, present
from aicc.platform.ports import UnitOfWork
from services.identity.domain import second_factor
from services.identity.domain.model import LoginThrottle, User, UserProfile
from services.identity.domain.ports import Cipher, IdentityRepository, TokenIssuer
from services.identity.domain.users import (
    clear_totp_secret,
    hash_password,
    needs_second_factor,
    profile_of,
    verify_password,
)


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Session:
    """What a successful login hands out."""

    access_token: str
    expires_at: datetime
    user: UserProfile


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.user_id,
        username=user.username,
        roles=frozenset(user.roles),
        organization_id=user.organization_id or "",
        city_code=user.city_code,
        display_name=user.display_name,
    )


_dummy_hash: str | None = None


async def _verify_or_waste_time(user: User | None, password: str) -> bool:
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


def public_keys(issuer: TokenIssuer) -> dict[str, str]:
    """The keys that verify tokens, as of the keys directory now (kid → PEM)."""
    issuer.reload()
    return issuer.public_keys()


async def login(
    uow: UnitOfWork[IdentityRepository],
    issuer: TokenIssuer,
    cipher: Cipher,
    *,
    username: str,
    password: str,
    totp_code: str,
    now: datetime,
    policy: LoginPolicy,
) -> Session:
    """A token, or the refusal — raised *after* the unit of work commits, so failures are counted."""
    issuer.reload()  # a key added to (or removed from) the keys directory takes effect now
    async with uow() as repo:
        outcome = await _attempt(
            repo,
            issuer,
            cipher,
            username=username,
            password=password,
            totp_code=totp_code,
            now=now,
            policy=policy,
        )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


@dataclass(frozen=True)
class Refusal:
    error: DomainError
    counts: bool  # counts as a failed attempt towards the lock


def _second_factor(user: User, cipher: Cipher, totp_code: str, now: datetime) -> Refusal | int:
    """The accepted TOTP time step, or why the second factor is refused."""
    secret = clear_totp_secret(user, cipher)
    if secret is None:
        return Refusal(
            Unauthenticated(
                "second factor required but none is enrolled for this account; ask the operator to enrol one",
                "需要第二重认证，但该账户尚未绑定动态口令，请联系运维人员",
                reason="SECOND_FACTOR_REQUIRED",
            ),
            counts=False,
        )
    if not totp_code:
        return Refusal(
            Unauthenticated(
                "second factor required: give the 6-digit code (totp_code) from your authenticator app",
                "需要第二重认证：请输入动态口令（6位数字）",
                reason="SECOND_FACTOR_REQUIRED",
            ),
            counts=False,
        )
    step = second_factor.matching_step(secret, totp_code, now)
    if step is None:
        return Refusal(
            Unauthenticated(
                "second factor code is wrong or expired",
                "动态口令错误或已过期",
                reason="SECOND_FACTOR_INVALID",
            ),
            counts=True,
        )
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return Refusal(
            Unauthenticated(
                "second factor code was already used; wait for the next code",
                "该动态口令已使用过，请等待下一个口令",
                reason="SECOND_FACTOR_INVALID",
            ),
            counts=True,
        )
    return step


async def _attempt(
    repo: IdentityRepository,
    issuer: TokenIssuer,
    cipher: Cipher,
    *,
    username: str,
    password: str,
    totp_code: str,
    now: datetime,
    policy: LoginPolicy,
) -> Session | DomainError:
    """Order: lock → password (unknown user and wrong password answer alike) → second factor, so the
    answer names the missing factor only to someone who knows the password."""
    throttle = await repo.throttle(username)
    if throttle and throttle.locked_until:
        if now < throttle.locked_until:
            return _locked(throttle.locked_until)
        throttle.failures, throttle.locked_until = 0, None  # the lock has expired
        await repo.save_throttle(throttle)

    async def fail(err: DomainError) -> DomainError:
        nonlocal throttle
        if throttle is None:
            throttle = LoginThrottle(username=username, failures=0)
        throttle.failures += 1
        throttle.last_failure_at = now
        refusal = err
        if throttle.failures >= policy.max_failures:
            throttle.locked_until = now + policy.lockout
            refusal = _locked(throttle.locked_until)
        await repo.save_throttle(throttle)
        return refusal

    user = await repo.user_by_username(username)
    if not await _verify_or_waste_time(user, password):
        return await fail(
            Unauthenticated("wrong username or password", "用户名或密码错误", reason="BAD_CREDENTIALS")
        )
    user = present(user, "user")
    if needs_second_factor(user.roles):
        checked = _second_factor(user, cipher, totp_code, now)
        if isinstance(checked, Refusal):
            return await fail(checked.error) if checked.counts else checked.error
        user.totp_last_step = checked
        await repo.save_user(user)
    if throttle is not None:
        throttle.failures, throttle.last_failure_at, throttle.locked_until = 0, None, None
        await repo.save_throttle(throttle)
    token, expires_at = issuer.issue(principal_of(user))
    return Session(token, expires_at, profile_of(user, cipher))
