"""Health sees failing database writes (aicc/platform/readiness.py): NOT_SERVING within the probe
interval while the database refuses writes, SERVING again once it takes them — with real faults:

- PostgreSQL: the service's own database made read-only (``ALTER DATABASE … SET
  default_transaction_read_only = on``, its sessions restarted as a failover or a restart would);
- SQLite: the service process may no longer write a byte to any file (``RLIMIT_FSIZE`` 0 set on the
  running ``aicc serve`` process with ``prlimit``): what a full disk looks like to SQLite, and one
  that binds root too, unlike ``chmod``. The service runs in its own process so that only it is
  limited; its log is read from a pipe (writing a log file would fail as well).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from aicc.cli.registry import migrate
from aicc.platform.clients import open_channel
from tests.support.pg import Databases, server_url
from tests.support.suite import InProcessSuite, free_port, suite_settings

SUPERVISION = "aicc.supervision.v1.SupervisionService"
HC = health_pb2.HealthCheckResponse
PROBE = 0.2  # seconds between write probes in these tests


async def _status(address: str, service: str = SUPERVISION) -> int:
    ch = open_channel(address)
    try:
        resp = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )
        return resp.status
    finally:
        await ch.close()


async def _becomes(address: str, status: int, within: float) -> float:
    """Seconds until health reports ``status`` (for the service and the server as a whole)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        now = [await _status(address), await _status(address, "")]
        if now == [status, status]:
            return loop.time() - start
        assert loop.time() - start < within, f"health stayed {now}, expected {status} within {within}s"
        await asyncio.sleep(0.05)


def _pg(url: str, dbname: str = "postgres") -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        dbname=dbname,
        autocommit=True,
    )


def _set_read_only(base: str, dbname: str, on: bool) -> None:
    """The database refuses writes (or takes them again) in every session from now on."""
    with _pg(base) as conn:
        value = "on" if on else "off"
        conn.execute(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = {value}')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )


@pytest.mark.postgres
async def test_a_read_only_postgresql_database_takes_the_service_out_and_back(tmp_path):
    base = server_url()
    dbs = Databases(base, ["supervision"])
    dbname = make_url(dbs.urls["supervision"]).database
    try:
        settings = suite_settings(tmp_path, db_urls=dbs.urls, write_probe_seconds=PROBE)
        async with InProcessSuite(settings, services=["supervision"]) as suite:
            address = settings.address("supervision")
            assert await _status(address) == HC.SERVING
            _set_read_only(base, dbname, True)
            # the fault is real: a write in that database is refused
            with _pg(base, dbname) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("UPDATE alembic_version SET version_num = version_num")
            took = await _becomes(address, HC.NOT_SERVING, within=PROBE + 3)
            assert took < PROBE + 3
            # it stays out while the fault lasts
            await asyncio.sleep(3 * PROBE)
            assert await _status(address) == HC.NOT_SERVING
            _set_read_only(base, dbname, False)
            await _becomes(address, HC.SERVING, within=PROBE + 3)
            assert suite.hosts["supervision"].runtime.write_probe is not None
    finally:
        _set_read_only(base, dbname, False)
        dbs.close()


async def test_a_sqlite_database_that_cannot_be_written_takes_the_service_out_and_back(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICC_")}
    env.update(
        AICC_DEV_MODE="true",
        AICC_DATA_DIR=str(data),
        AICC_LISTEN_HOST="127.0.0.1",
        AICC_SUPERVISION_PORT=str(port),
        AICC_WRITE_PROBE_SECONDS=str(PROBE),
        PYTHONUNBUFFERED="1",
    )
    url = f"sqlite:///{data / 'supervision.db'}"
    migrate("supervision", url)
    env["AICC_SUPERVISION_DATABASE_URL"] = url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aicc.cli.main",
        "serve",
        "supervision",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    log: list[str] = []

    async def drain() -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            log.append(line.decode(errors="replace"))

    reader = asyncio.create_task(drain())
    address = f"127.0.0.1:{port}"
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            with contextlib.suppress(grpc.aio.AioRpcError):  # not listening yet
                if await _status(address) == HC.SERVING:
                    break
            assert proc.returncode is None, "".join(log)
            assert loop.time() < deadline, "".join(log)
            await asyncio.sleep(0.1)

        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (0, hard))  # not a byte more to any file
        await _becomes(address, HC.NOT_SERVING, within=PROBE + 3)
        # the fault is real: the service's own write failed, and it said so once
        failing = [line for line in log if "database writes fail" in line]
        assert len(failing) == 1, "".join(log)
        assert "disk I/O error" in failing[0] or "full" in failing[0], failing[0]
        await asyncio.sleep(3 * PROBE)
        assert await _status(address) == HC.NOT_SERVING
        assert proc.returncode is None  # degraded, not dead: it recovers in place
        assert await _status(address, "aicc.liveness") == HC.SERVING  # no restart by the liveness probe

        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
        await _becomes(address, HC.SERVING, within=PROBE + 3)
        assert len([line for line in log if "database writes succeed again" in line]) == 1, "".join(log)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await asyncio.gather(reader, return_exceptions=True)
