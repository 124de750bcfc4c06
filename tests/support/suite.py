"""Services started in this process on free ports, each with its own migrated database —
the harness of the service tests."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc

from aicc.cli.registry import migrate, spec
from aicc.identity.v1 import identity_pb2
from aicc.platform.clients import Clients, open_channel, static_token, stub_for
from aicc.platform.server import ServiceHost
from aicc.platform.settings import SERVICES, Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def suite_settings(data_dir: Path, *, db_urls: dict[str, str] | None = None, **extra) -> Settings:
    values: dict = {"dev_mode": True, "data_dir": data_dir, "listen_host": "127.0.0.1", "grace_seconds": 0.5}
    for svc in SERVICES:
        port = free_port()
        values[f"{svc}_port"] = port
        values[f"{svc}_address"] = f"127.0.0.1:{port}"
        if db_urls and svc in db_urls:
            values[f"{svc}_database_url"] = db_urls[svc]
    values["worker_password"] = "worker-password-for-tests"
    values.update(extra)
    return Settings(**values)


class InProcessSuite:
    def __init__(
        self, settings: Settings, services=SERVICES, clients: dict[str, Clients] | None = None
    ) -> None:
        self.settings = settings
        self.services = list(services)
        self.hosts: dict[str, ServiceHost] = {}
        self._channels: list[grpc.aio.Channel] = []
        self._clients = clients or {}

    async def __aenter__(self) -> InProcessSuite:
        for svc in self.services:
            migrate(svc, self.settings.database_url(svc))
        for svc in self.services:
            host = ServiceHost(spec(svc), self.settings, clients=self._clients.get(svc))
            await host.start()
            self.hosts[svc] = host
        return self

    async def __aexit__(self, *exc) -> None:
        for ch in self._channels:
            await ch.close()
        for host in reversed(list(self.hosts.values())):
            await host.stop(0.1)

    def stub(self, service: str, token: str | None = None):
        ch = open_channel(self.settings.address(service), static_token(token))
        self._channels.append(ch)
        return stub_for(service, ch)

    async def login(self, username: str, password: str, totp_code: str | None = None) -> str:
        """Logs in; for an official computes the TOTP code (administrators: from their bootstrap
        files; others: from identity's database, in process), never reusing a time step."""
        if totp_code is None:
            totp_code = await self.totp_code(username)
        resp = await self.stub("identity").Login(
            identity_pb2.LoginRequest(username=username, password=password, totp_code=totp_code)
        )
        return resp.access_token

    async def totp_secret(self, username: str) -> str | None:
        from services.identity.domain import second_factor

        for role, admin in self.settings.admin_usernames().items():
            if username == admin:
                return second_factor.admin_totp_secret(self.settings, role)
        host = self.hosts.get("identity")
        if host is None:
            return None
        from services.identity.service import IdentityApp
        from services.identity.store import IdentityStore

        async with host.runtime.db.transaction() as s:
            user = await IdentityStore(s).user_by_username(username)
        if user is None or not user.totp_secret_enc:
            return None
        app = host.app
        assert isinstance(app, IdentityApp)
        return app.cipher.decrypt(user.totp_secret_enc, f"users.totp_secret:{user.user_id}")

    async def totp_code(self, username: str) -> str:
        """A code of a time step not used before by this suite (the next step's code is valid too)."""
        import asyncio
        from datetime import UTC, datetime

        from services.identity.domain import second_factor

        secret = await self.totp_secret(username)
        if not secret:
            return ""
        used = getattr(self, "_totp_steps", {})
        self._totp_steps = used
        while True:
            now = second_factor.step_at(datetime.now(UTC))
            step = max(now, used.get(username, now - 1) + 1)
            if step <= now + 1:
                used[username] = step
                return second_factor.code_at_step(secret, step)
            await asyncio.sleep(0.5)

    def admin_password(self, role: str) -> str:
        return (self.settings.data_dir / "secrets" / f"{role}-password").read_text().strip()

    async def admin_token(self, role: str) -> str:
        """A token of a bootstrap administrator: system_admin, security_admin or audit_admin."""
        return await self.login(self.settings.admin_usernames()[role], self.admin_password(role))

    async def admin(self) -> AdminIdentity:
        """Identity as the administrators together set a test up (what the single operator did):
        organisations by the system administrator, accounts by the security administrator, the
        expert pool by a province industry official."""
        return AdminIdentity(self)

    async def create_user(
        self,
        username: str,
        password: str,
        *,
        roles: list[str],
        organization_id: str = "",
        city_code: str = "",
        display_name: str = "",
    ) -> identity_pb2.User:
        """An account created by the security administrator, ready for its owner to log in with
        ``password``."""
        ident = self.stub("identity", await self.admin_token("security_admin"))
        resp = await ident.CreateUser(
            identity_pb2.CreateUserRequest(
                username=username,
                display_name=display_name or username,
                password=password,
                roles=roles,
                organization_id=organization_id,
                city_code=city_code,
            )
        )
        return resp.user

    async def worker_token(self) -> str:
        return await self.login(self.settings.worker_username, self.settings.worker_password)


class AdminIdentity:
    """An identity stub that sends each set-up call with the token of whoever may make it."""

    ROUTES = {
        "CreateOrganization": "system_admin",
        "ListOrganizations": "system_admin",
        "GetOrganization": "system_admin",
        "ListJurisdictions": "system_admin",
        "CreateUser": "security_admin",
        "GrantRole": "security_admin",
        "RevokeRole": "security_admin",
        "ResetSecondFactor": "security_admin",
        "GetUser": "security_admin",
        "RegisterExpert": "pool-keeper",
    }
    POOL_KEEPER = "suite.pool-keeper"
    POOL_KEEPER_PASSWORD = "pool-keeper-password-for-tests"  # noqa: S105 - a test account

    def __init__(self, suite: InProcessSuite) -> None:
        self._suite = suite
        self._stubs: dict[str, object] = {}

    async def _stub(self, who: str):
        if who not in self._stubs:
            if who == "pool-keeper":
                try:
                    await self._suite.create_user(
                        self.POOL_KEEPER, self.POOL_KEEPER_PASSWORD, roles=["province_industry"]
                    )
                except grpc.aio.AioRpcError as e:
                    if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                        raise
                token = await self._suite.login(self.POOL_KEEPER, self.POOL_KEEPER_PASSWORD)
            else:
                token = await self._suite.admin_token(who)
            self._stubs[who] = self._suite.stub("identity", token)
        return self._stubs[who]

    def __getattr__(self, method: str):
        who = self.ROUTES.get(method)
        if who is None:
            raise AttributeError(f"no administrator makes {method}; use a stub with the right token")

        async def call(request, **kw):
            return await getattr(await self._stub(who), method)(request, **kw)

        return call
