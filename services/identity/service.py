"""How identity is served: its servicer, its token signer (it verifies tokens with its own keys),
and bootstrap accounts (the three administrators; the worker's service account)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import grpc

from aicc.identity.v1 import identity_pb2, identity_pb2_grpc
from aicc.platform import authz
from aicc.platform.auth import TokenSigner, TokenVerifier
from aicc.platform.clock import now_utc
from aicc.platform.crypto import FieldCipher, cipher_from_settings
from aicc.platform.db import unit_of_work
from aicc.platform.pagination import PageTokens
from aicc.platform.peer import parse_proxies
from aicc.platform.ports import UnitOfWork
from aicc.platform.secrets import dev_secret
from aicc.platform.server import BaseApp, Runtime, ServiceSpec
from services.identity.api import IdentityDeps, IdentityServicer
from services.identity.domain import second_factor, users
from services.identity.domain.login import LoginPolicy
from services.identity.domain.ports import IdentityRepository
from services.identity.store import Base, IdentityStore


class IdentityApp(BaseApp):
    """Identity's dependencies: the token signer (it verifies tokens with its own keys) and the
    SM4-GCM cipher for personal data and TOTP secrets (AICC_SM4_KEY_FILE; dev mode generates one)."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        s = rt.settings
        keys_dir = s.token_signing_keys_dir or (s.data_dir / "keys")
        self.signer = TokenSigner.from_dir(
            keys_dir,
            issuer=s.token_issuer,
            ttl=s.token_ttl_seconds,
            generate=s.dev_mode and not s.token_signing_keys_dir,
        )
        self.cipher: FieldCipher = cipher_from_settings(s)
        self.uow: UnitOfWork[IdentityRepository] = unit_of_work(rt.db, IdentityStore)

    def register(self, server: grpc.aio.Server) -> None:
        s = self.rt.settings
        deps = IdentityDeps(
            uow=self.uow,
            issuer=self.signer,
            cipher=self.cipher,
            page_tokens=PageTokens(self.rt.audit_key),
            login_policy=LoginPolicy(
                max_failures=s.login_max_failures,
                lockout=timedelta(minutes=s.login_lockout_minutes),
                free_failures=s.login_free_failures,
                # The throttle table keeps (name, source) pairs under this service's own secret.
                key=hashlib.sha256(b"aicc-login-throttle\x00" + self.rt.audit_key).digest(),
            ),
            trusted_proxies=parse_proxies(s.trusted_proxies),
            clock=now_utc,
        )
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(deps), server)

    def make_verifier(self) -> TokenVerifier:
        signer = self.signer

        async def local_keys() -> dict[str, str]:
            signer.reload()
            return signer.public_keys()

        # The keys are local: always current (a removed key stops verifying at once).
        return TokenVerifier(local_keys, issuer=self.rt.settings.token_issuer, refetch_interval=0, max_age=0)

    async def start(self) -> None:
        await _bootstrap(self.rt, self.uow, self.cipher)


async def _bootstrap(rt: Runtime, uow: UnitOfWork[IdentityRepository], cipher: FieldCipher) -> None:
    """The three administrators (三员分立) and the worker's service account. Each administrator's
    password and TOTP secret come from AICC_BOOTSTRAP_ADMINS_DIR (``<role>-password``,
    ``<role>-totp``; production: a mounted Secret, the secret enrolled in the officer's authenticator
    app) or, in dev mode, are generated into data_dir/secrets for tools (aicc demo) to use. Nobody
    else is bootstrapped: every other account is created by the security administrator."""
    s = rt.settings
    log = logging.getLogger(__name__)
    folder = second_factor.admin_secrets_dir(s)
    for role, username in s.admin_usernames().items():
        if folder is None:
            break
        pw_file = folder / f"{role}-password"
        if s.dev_mode and not s.bootstrap_admins_dir:
            password: str | None = dev_secret(s.data_dir, f"{role}-password")
        else:
            password = pw_file.read_text().strip() if pw_file.exists() else None
        totp = second_factor.admin_totp_secret(s, role, create=True)
        if not password or not totp:
            log.warning(
                "bootstrap administrator %s not created: %s-password or %s-totp missing", role, role, role
            )
            continue
        await users.ensure_account(
            uow,
            username=username,
            password=password,
            roles=[role],
            display_name=ADMIN_NAMES[role],
            now=now_utc(),
            cipher=cipher,
            totp_secret=totp,
        )
    worker_pw = s.resolved_worker_password() or (
        dev_secret(s.data_dir, "worker-password") if s.dev_mode else None
    )
    if worker_pw:
        await users.ensure_account(
            uow,
            username=s.worker_username,
            password=worker_pw,
            roles=[authz.SYSTEM],
            display_name="Cycle workflow worker",
            now=now_utc(),
        )


ADMIN_NAMES = {
    authz.SYSTEM_ADMIN: "系统管理员 System administrator",
    authz.SECURITY_ADMIN: "安全管理员 Security administrator",
    authz.AUDIT_ADMIN: "审计管理员 Audit administrator",
}


SPEC = ServiceSpec(
    name="identity",
    service_names=(identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,),
    build=IdentityApp,
    metadata=Base.metadata,
)
