"""Services started in this process on free ports, each with its own migrated database —
the harness of the service tests."""

from __future__ import annotations

import socket
from pathlib import Path

import grpc

from aicc.identity.v1 import identity_pb2
from aicc.platform.clients import Clients, open_channel
from aicc.platform.db import migrate
from aicc.platform.server import ServiceHost
from aicc.platform.services import spec
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
    def __init__(self, settings: Settings, services=SERVICES, clients: dict[str, Clients] | None = None) -> None:
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
        async def source():
            return token

        ch = open_channel(self.settings.address(service), source)
        self._channels.append(ch)
        return Clients.__dict__[service].fget(_Single(service, ch))

    async def login(self, username: str, password: str) -> str:
        resp = await self.stub("identity").Login(identity_pb2.LoginRequest(username=username, password=password))
        return resp.access_token

    async def operator_token(self) -> str:
        return await self.login(self.settings.bootstrap_operator_username, self.settings.bootstrap_operator_password)

    async def worker_token(self) -> str:
        return await self.login(self.settings.worker_username, self.settings.worker_password)


class _Single:
    """Adapts one channel to the Clients.<service> property (stub construction in one place)."""

    def __init__(self, service: str, channel) -> None:
        self._service, self._channel = service, channel

    def stub(self, service: str):
        import importlib

        from aicc.platform.clients import _STUBS

        mod, cls = _STUBS[service]
        return getattr(importlib.import_module(mod), cls)(self._channel)
