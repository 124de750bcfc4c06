"""Data at rest and the listening address (issue 10, point 8): the data directory is the service
user's alone (0700), its database files too (0600); by default a process listens on loopback only."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aicc.platform.settings import Settings
from tests.support.suite import InProcessSuite, suite_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_directory_and_database_files_are_the_service_users_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an operator might have made it
    old = os.umask(0o022)  # a common umask: left alone, files come out world-readable
    try:
        async with InProcessSuite(suite_settings(data), services=["identity", "funding"]) as s:
            await s.admin_token("system_admin")  # writes: the login throttle, the audit chain
            files = sorted(p for p in data.iterdir() if p.name.endswith((".db", ".db-wal", ".db-shm")))
            assert {p.name for p in files} >= {"identity.db", "funding.db"}
            assert mode(data) == 0o700
            for f in files:
                assert mode(f) == 0o600, f"{f.name} is {oct(mode(f))}"
            treasury = data / "treasury-fake.sqlite3"
            assert mode(treasury) == 0o600
    finally:
        os.umask(old)


def _non_loopback_addresses() -> list[str]:
    found = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # sends nothing: picks a route
        try:
            probe.connect(("10.255.255.255", 1))
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        addr = str(info[4][0])
        found.add(addr)
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")  # noqa: S104


async def test_by_default_a_service_listens_on_loopback_only(tmp_path, monkeypatch):
    monkeypatch.delenv("AICC_LISTEN_HOST", raising=False)
    assert Settings(dev_mode=True).listen_host == "127.0.0.1"
    settings = suite_settings(tmp_path)
    settings = settings.model_copy(update={"listen_host": Settings(dev_mode=True).listen_host})
    async with InProcessSuite(settings, services=["identity"]):
        port = settings.port("identity")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            ok = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert ok.status == health_pb2.HealthCheckResponse.SERVING
        for addr in _non_loopback_addresses():
            with socket.socket() as sock:
                sock.settimeout(2)
                assert sock.connect_ex((addr, port)) != 0, f"reachable on {addr}:{port}"
