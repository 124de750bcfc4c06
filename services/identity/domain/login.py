"""Login: a password (and, for officials, a TOTP code) for a signed access token.

Failed attempts are counted per account name **and source** together (the caller's address), so an
anonymous caller hammering ``sd.finance`` from one address locks only that address out of that
account; its owner, coming from another, is not affected. After ``free_failures`` failures in a row
each further attempt must wait a growing delay (1, 2, 4, 8 … seconds); ``max_failures`` lock the
pair for ``lockout``. A refused-while-waiting or locked attempt answers exactly like a wrong
password, in message and in time (the password hash is always computed), so the lock is no oracle.
The pair is stored as a keyed hash: a password typed into the username field is never kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aicc.platform.auth import Principal
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
    max_failures: int = 10
    lockout: timedelta = timedelta(minutes=30)
    # Failures in a row answered at once; then 1, 2, 4 … seconds between attempts.
    free_failures: int = 3
    first_delay: timedelta = timedelta(seconds=1)
    # Keys the hash of (account name, source) in the throttle table.
    key: bytes = b""

    def delay_after(self, failures: int) -> timedelta:
        """How long the pair must wait after ``failures`` failures in a row (before the lock)."""
        if failures <= self.free_failures:
            return timedelta(0)
        return min(self.first_delay * 2 ** (failures - self.free_failures - 1), self.lockout)

    def throttle_key(self, username: str, source: str) -> str:
        msg = f"login-throttle\x00{username}\x00{source}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()


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


def _bad_credentials() -> Unauthenticated:
    """The one answer to a wrong name or password, to a pair made to wait, and to a locked pair."""
    return Unauthenticated(
        "wrong username or password (after repeated failures, attempts are refused for a while)",
        "用户名或密码错误（多次失败后，一段时间内的登录尝试将被拒绝）",
        reason="BAD_CREDENTIALS",
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
    source: str = "",
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
            source=source,
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
    source: str,
) -> Session | DomainError:
    """Order: the pair's lock or delay → password (unknown user and wrong password answer alike) →
    second factor, so the answer names the missing factor only to someone who knows the password."""
    key = policy.throttle_key(username, source)
    throttle = await repo.throttle(key)
    user = await repo.user_by_username(username)
    if throttle and throttle.locked_until and now >= throttle.locked_until:
        throttle.failures, throttle.locked_until, throttle.next_attempt_at = 0, None, None
        await repo.save_throttle(throttle)  # the lock has expired
    if throttle and (
        (throttle.locked_until and now < throttle.locked_until)
        or (throttle.next_attempt_at and now < throttle.next_attempt_at)
    ):
        await _verify_or_waste_time(user, password)  # the same time as a wrong password
        return _bad_credentials()

    async def fail(err: DomainError) -> DomainError:
        nonlocal throttle
        if throttle is None:
            throttle = LoginThrottle(throttle_key=key, failures=0)
        throttle.failures += 1
        throttle.last_failure_at = now
        throttle.next_attempt_at = now + policy.delay_after(throttle.failures)
        if throttle.failures >= policy.max_failures:
            throttle.locked_until = now + policy.lockout
        await repo.save_throttle(throttle)
        return err

    if not await _verify_or_waste_time(user, password):
        return await fail(_bad_credentials())
    user = present(user, "user")
    if needs_second_factor(user.roles):
        checked = _second_factor(user, cipher, totp_code, now)
        if isinstance(checked, Refusal):
            return await fail(checked.error) if checked.counts else checked.error
        user.totp_last_step = checked
        await repo.save_user(user)
    if throttle is not None:
        throttle.failures, throttle.last_failure_at = 0, None
        throttle.next_attempt_at, throttle.locked_until = None, None
        await repo.save_throttle(throttle)
    token, expires_at = issuer.issue(principal_of(user))
    return Session(token, expires_at, profile_of(user, cipher))
