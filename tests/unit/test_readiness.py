"""The write probe's own rules (aicc/platform/readiness.py) on a real SQLite file: a database without
a schema version is not ready; a handler's database error makes it probe at once, not at the next
interval; each change of state is announced once."""

from __future__ import annotations

import asyncio
import sqlite3

from aicc.platform.db import Database
from aicc.platform.readiness import WriteProbe


async def test_an_unmigrated_database_is_not_ready_and_a_suspected_failure_is_probed_at_once(tmp_path):
    path = tmp_path / "svc.db"
    db = Database(f"sqlite:///{path}")
    changes: list[bool] = []

    async def follow(ok: bool) -> None:
        changes.append(ok)

    probe = WriteProbe(db, service="svc", interval=60, timeout=5, on_change=follow)
    try:
        assert await probe.check() is False  # no alembic_version table
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        assert await probe.check() is False  # a table with no row: nothing was written
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO alembic_version VALUES ('head')")
        task = asyncio.create_task(probe.run())
        await asyncio.sleep(0.2)
        assert changes == [False]  # the next interval is a minute away
        probe.suspect()
        for _ in range(50):
            if probe.ok:
                break
            await asyncio.sleep(0.02)
        assert changes == [False, True]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        with sqlite3.connect(path) as conn:  # the probe changed no data
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("head",)]
    finally:
        await db.dispose()
