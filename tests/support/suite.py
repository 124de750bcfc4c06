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
    values["bootstrap_operator_password"] = "operator-password-for-tests"
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
        """Logs in; for an official computes the TOTP code (operator: from the bootstrap settings;
        others: from identity's database, in process), never reusing a time step."""
        if totp_code is None:
            totp_code = await self.totp_code(username)
        resp = await self.stub("identity").Login(
            identity_pb2.LoginRequest(username=username, password=password, totp_code=totp_code)
        )
        return resp.access_token

    async def totp_secret(self, username: str) -> str | None:
        from services.identity.domain import second_factor

        if username == self.settings.bootstrap_operator_username:
            return second_factor.operator_secret(self.settings)
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
        """An account created by the administrator, ready for its owner to log in with ``password``."""
        ident = self.stub("identity", await self.operator_token())
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

    async def operator_token(self) -> str:
        return await self.login(
            self.settings.bootstrap_operator_username, self.settings.bootstrap_operator_password
        )

    async def worker_token(self) -> str:
        return await self.login(self.settings.worker_username, self.settings.worker_password)
