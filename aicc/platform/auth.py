"""Access tokens: identity signs short-lived JWTs with Ed25519 keys (``kid`` in the header); every
other service verifies them locally with the public keys identity publishes (``GetPublicKeys``),
refetching when it meets an unknown ``kid`` — so keys rotate without downtime: add a new key
(it signs from then on), keep the old one until its last token has expired, then remove it.

Reload: identity re-reads its keys directory (cheaply: file names, sizes and mtimes) before each
``Login`` and ``GetPublicKeys``, so a key added to or removed from the directory (or the mounted
Secret) takes effect without a restart; a new key is published at once but signs only once its file
is ``TokenSigner.ACTIVATION_DELAY`` (10 s) old, so every verifier can already fetch it. Verifiers also refetch the published keys once their copy
is older than ``max_age`` (5 minutes), so a removed key stops verifying everywhere within that.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aicc.platform.errors import Unauthenticated
from aicc.platform.keydir import fingerprint as _fingerprint
from aicc.platform.keydir import key_files as _key_files
from aicc.platform.keydir import newest_ready

ALGORITHM = "EdDSA"
AUDIENCE = "aicc"


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    roles: frozenset[str]
    organization_id: str = ""
    city_code: str = ""
    display_name: str = ""
    token: str = field(default="", repr=False, compare=False)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "aicc_principal", default=None
)


def principal() -> Principal:
    p = current_principal.get()
    if p is None:
        raise Unauthenticated("authentication required", "需要登录认证", reason="UNAUTHENTICATED")
    return p


# ------------------------------------------------------------------ signing (identity only)


def _kid_of(path: Path) -> str:
    return path.name.removesuffix(".pem")


def _load_keys(files: list[Path]) -> dict[str, Ed25519PrivateKey]:
    keys = {}
    for f in files:
        k = serialization.load_pem_private_key(f.read_bytes(), password=None)
        if not isinstance(k, Ed25519PrivateKey):
            raise RuntimeError(f"{f.name}: not an Ed25519 private key")
        keys[_kid_of(f)] = k
    return keys


def _signing_kid(files: list[Path], activation_delay: float, current: str | None = None) -> str:
    """The newest key once its public key has been published for ``activation_delay`` seconds, so
    no verifier meets its kid before it can fetch it (``keydir.newest_ready``)."""
    return newest_ready(files, activation_delay, current, _kid_of)


class TokenSigner:
    # Longer than a verifier's refetch interval (TokenVerifier.refetch_interval).
    ACTIVATION_DELAY = 10.0

    def __init__(
        self,
        keys: dict[str, Ed25519PrivateKey],
        signing_kid: str,
        issuer: str,
        ttl: int,
        keys_dir: Path | None = None,
        activation_delay: float = ACTIVATION_DELAY,
    ) -> None:
        if signing_kid not in keys:
            raise ValueError("signing key not among keys")
        self.keys, self.signing_kid, self.issuer, self.ttl = keys, signing_kid, issuer, ttl
        self.keys_dir = keys_dir
        self.activation_delay = activation_delay
        self._fingerprint: tuple = _fingerprint(_key_files(keys_dir)) if keys_dir else ()

    def reload(self) -> bool:
        """Re-reads the keys directory when it changed and picks the signing key; True when the
        signing key or the key set changed. An empty directory keeps the current keys."""
        if self.keys_dir is None:
            return False
        files = _key_files(self.keys_dir)
        if not files:
            return False
        fp = _fingerprint(files)
        changed = fp != self._fingerprint
        if changed:
            self.keys, self._fingerprint = _load_keys(files), fp
        kid = _signing_kid(files, self.activation_delay, self.signing_kid)
        changed = changed or kid != self.signing_kid
        self.signing_kid = kid
        return changed

    @classmethod
    def from_dir(cls, keys_dir: Path, *, issuer: str, ttl: int, generate: bool = False) -> TokenSigner:
        keys_dir.mkdir(parents=True, exist_ok=True) if generate else None
        files = _key_files(keys_dir)
        if not files:
            if not generate:
                raise RuntimeError(f"no token signing keys in {keys_dir}")
            kid = "dev-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            key = Ed25519PrivateKey.generate()
            path = keys_dir / f"{kid}.pem"
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            path.chmod(0o600)
            files = [path]
        keys = _load_keys(files)
        # The lexically last file signs (name keys by date, e.g. 2026-11-27.pem).
        return cls(keys, _signing_kid(files, cls.ACTIVATION_DELAY), issuer, ttl, keys_dir)

    def public_keys(self) -> dict[str, str]:
        return {
            kid: k.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
            for kid, k in self.keys.items()
        }

    def issue(self, p: Principal, *, ttl: int | None = None) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        exp = now + timedelta(seconds=ttl or self.ttl)
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": p.user_id,
            "preferred_username": p.username,
            "name": p.display_name,
            "org": p.organization_id,
            "city": p.city_code,
            "roles": sorted(p.roles),
            "iat": int(now.timestamp()),
            "exp": int(exp.timestamp()),
        }
        token = jwt.encode(
            claims, self.keys[self.signing_kid], algorithm=ALGORITHM, headers={"kid": self.signing_kid}
        )
        return token, exp


# ------------------------------------------------------------------ verifying (every service)

KeyFetcher = Callable[[], Awaitable[dict[str, str]]]


class TokenVerifier:
    """Verifies tokens with cached public keys; refetches (at most every ``refetch_interval`` seconds)
    on an unknown kid, and when the cached keys are older than ``max_age`` (so a removed key stops
    verifying; if identity is unreachable then, the cached keys keep serving)."""

    def __init__(
        self, fetch: KeyFetcher, *, issuer: str, refetch_interval: float = 5.0, max_age: float = 300.0
    ) -> None:
        self._fetch = fetch
        self._issuer = issuer
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._last_fetch = 0.0
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._last_fetch < self.refetch_interval and self._keys:
                return
            pems = await self._fetch()
            keys = {}
            for kid, pem in pems.items():
                k = serialization.load_pem_public_key(pem.encode())
                if isinstance(k, Ed25519PublicKey):
                    keys[kid] = k
            self._keys = keys
            self._last_fetch = time.monotonic()

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise _bad_token("malformed token") from e
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not kid:
            raise _bad_token("token algorithm or key id not accepted")
        if self._keys and time.monotonic() - self._last_fetch > self.max_age:
            try:
                await self._refresh()
            except Exception:  # identity unreachable: keep the keys we have, try again shortly
                self._last_fetch = time.monotonic() - self.max_age + self.refetch_interval
        if kid not in self._keys:
            try:
                await self._refresh()
            except Exception as e:
                raise Unauthenticated(
                    "cannot verify token now: public keys unavailable",
                    "暂时无法验证令牌：公钥不可用",
                    reason="KEYS_UNAVAILABLE",
                ) from e
        key = self._keys.get(kid)
        if key is None:
            raise _bad_token("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthenticated("token expired", "令牌已过期，请重新登录", reason="TOKEN_EXPIRED") from e
        except jwt.PyJWTError as e:
            raise _bad_token("token rejected") from e
        return Principal(
            user_id=claims["sub"],
            username=claims.get("preferred_username", ""),
            roles=frozenset(claims.get("roles", [])),
            organization_id=claims.get("org", ""),
            city_code=claims.get("city", ""),
            display_name=claims.get("name", ""),
            token=token,
        )


def _bad_token(why: str) -> Unauthenticated:
    return Unauthenticated(f"invalid access token: {why}", "访问令牌无效", reason="TOKEN_INVALID")
