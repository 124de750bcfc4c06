"""Readiness that sees failing writes: a service whose database no longer takes writes (read-only,
disk full, file-size limit) goes NOT_SERVING, so a readiness probe takes the pod out of rotation,
and SERVING again once a write succeeds.

The probe writes, in its own short transaction, the one row every service's database has by
construction: ``UPDATE alembic_version SET version_num = version_num`` (the schema version Alembic
keeps; the value is unchanged, so nothing reads anything different). It is a real write through the
service's own engine and pool: PostgreSQL creates a new row version and WAL for it and refuses it in
a read-only transaction; SQLite takes the write lock (``BEGIN IMMEDIATE``) and appends a page to its
WAL. No migration is needed in any service, nothing accumulates, and no data is touched. A temporary
table would not do: PostgreSQL writes temporary tables even in read-only transactions, and neither
database would put it on the disk that fills up. An update matching no row (a database that was not
migrated) counts as a failure too. A probe that does not finish within its timeout counts as failed.

A handler that failed with a database ``OperationalError`` (the platform interceptor maps it to
INTERNAL) wakes the probe at once, rather than waiting for the next interval; the probe, not the
handler, decides (a single deadlock or serialisation failure is not an outage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from aicc.platform.db import Database

log = logging.getLogger("aicc.readiness")

PROBE_SQL = text("UPDATE alembic_version SET version_num = version_num")


class NotMigrated(Exception):
    """The probe's update matched no row: the database has no schema version."""


class WriteProbe:
    """Probes ``db`` every ``interval`` seconds; calls ``on_change(ok)`` on each transition."""

    def __init__(
        self,
        db: Database,
        *,
        service: str,
        interval: float,
        timeout: float,
        on_change: Callable[[bool], Awaitable[None]],
    ) -> None:
        self.db = db
        self.service = service
        self.interval = interval
        self.timeout = timeout
        self.on_change = on_change
        self.ok: bool | None = None  # unknown until the first probe
        self._wake = asyncio.Event()

    async def _write(self) -> None:
        async with self.db.transaction() as session:
            result = await session.execute(PROBE_SQL)
            if getattr(result, "rowcount", 0) < 1:
                raise NotMigrated("alembic_version has no row (database not migrated)")

    async def check(self) -> bool:
        """One probe; records and announces a change of state (with a log line)."""
        error = ""
        try:
            await asyncio.wait_for(self._write(), self.timeout)
        except TimeoutError:
            error = f"no answer within {self.timeout:g}s"
        except Exception as e:  # noqa: BLE001 - any failure to write is what the probe reports
            detail = str(getattr(e, "orig", None) or e).strip().splitlines()
            error = f"{type(e).__name__}: {detail[0][:200] if detail else ''}"
        ok = not error
        if ok != self.ok:
            if ok and self.ok is None:
                log.info("%s: database writes succeed; health SERVING", self.service)
            elif ok:
                log.warning("%s: database writes succeed again; health SERVING", self.service)
            else:
                log.error("%s: database writes fail (%s); health NOT_SERVING", self.service, error)
            self.ok = ok
            await self.on_change(ok)
        return ok

    def suspect(self) -> None:
        """A handler met a database error: probe now instead of at the next interval."""
        self._wake.set()

    async def run(self) -> None:
        """Probes until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.check()
