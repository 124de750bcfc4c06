"""The audit chain cannot be shortened unnoticed: each service writes signed checkpoints of its chain's
head OUTSIDE its database (``aicc/platform/anchors.py``), and ``aicc audit verify`` checks the chain
against them. Each tampering the chain alone cannot see — the newest records deleted, every record
deleted, the database replaced by an older copy — is named with the checkpoint it contradicts, on
SQLite and on PostgreSQL (tampering as the database's owner would: around the append-only triggers);
a forged or altered checkpoint fails its signature."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sqlite3
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform import anchors
from aicc.platform.settings import Settings
from tests.support.pg import Databases, server_url
from tests.support.suite import InProcessSuite, suite_settings


def _verify(settings: Settings) -> tuple[int, str]:
    from aicc.cli import audit_cmd

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = audit_cmd.run(argparse.Namespace(service=["identity"]), settings=settings)
    return code, out.getvalue()


async def _calls(s: InProcessSuite, n: int) -> None:
    token = await s.admin_token("system_admin")
    for _ in range(n):
        await s.stub("identity", token).ListJurisdictions(ipb.ListJurisdictionsRequest())


def _sqlite(settings: Settings) -> Path:
    return Path(make_url(settings.database_url("identity")).database)


def _sqlite_tamper(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for st in statements:
            conn.execute(st)


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]


def _checkpoints(settings: Settings) -> list[dict]:
    text = anchors.anchor_file(settings, "identity").read_text()
    return [json.loads(line) for line in text.splitlines()]


async def test_checkpoints_are_written_every_n_records_and_at_shutdown(tmp_path):
    settings = suite_settings(tmp_path, audit_anchor_every_records=3, audit_anchor_every_seconds=3600)
    async with InProcessSuite(settings, services=["identity"]) as s:
        await _calls(s, 7)  # + the login: 8 records → checkpoints at 3 and 6
        assert [c["seq"] for c in _checkpoints(settings)] == [3, 6]
    cps = _checkpoints(settings)
    assert [c["seq"] for c in cps] == [3, 6, 8]  # the shutdown's
    assert [c["n"] for c in cps] == [1, 2, 3]
    assert {c["service"] for c in cps} == {"identity"}
    path = anchors.anchor_file(settings, "identity")
    assert path.parent == tmp_path / "audit-anchors"  # outside the database, under data_dir by default
    assert path.stat().st_mode & 0o777 == 0o600
    code, out = _verify(settings)
    assert code == 0, out
    assert "identity: OK 8 records" in out
    assert "identity: checkpoints OK (3 checkpoints, newest checkpoint #3 (record 8" in out


async def _anchored_suite(tmp_path: Path, db_urls: dict[str, str] | None = None) -> Settings:
    settings = suite_settings(
        tmp_path, db_urls=db_urls, audit_anchor_every_records=4, audit_anchor_every_seconds=3600
    )
    async with InProcessSuite(settings, services=["identity"]) as s:
        await _calls(s, 9)
    return settings


def _copy(settings: Settings, dest: Path) -> Settings:
    src, dst = sqlite3.connect(_sqlite(settings)), sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.close()
    return settings.model_copy(update={"identity_database_url": f"sqlite:///{dest}"})


async def test_sqlite_deleting_the_newest_or_all_records_is_named_by_its_checkpoint(tmp_path):
    settings = await _anchored_suite(tmp_path / "run")
    n = _count(_sqlite(settings))
    assert n == 10
    newest = _copy(settings, tmp_path / "newest.db")
    _sqlite_tamper(tmp_path / "newest.db", "DELETE FROM audit_log WHERE seq > 7")
    code, out = _verify(newest)
    assert code == 1
    assert "identity: OK 7 records" in out  # the chain alone does not see it …
    assert "identity: FAILED checkpoints: behind checkpoint #2 (record 8, " in out, (
        out
    )  # … the checkpoint does
    assert "the chain ends at record 7" in out

    everything = _copy(settings, tmp_path / "all.db")
    _sqlite_tamper(tmp_path / "all.db", "DELETE FROM audit_log")
    code, out = _verify(everything)
    assert code == 1
    assert "identity: OK 0 records" in out
    assert "FAILED checkpoints: behind checkpoint #1 (record 4, " in out
    assert "every record was removed" in out


async def test_sqlite_database_replaced_by_an_older_copy_is_caught(tmp_path):
    settings = suite_settings(tmp_path, audit_anchor_every_records=2, audit_anchor_every_seconds=3600)
    async with InProcessSuite(settings, services=["identity"]) as s:
        await _calls(s, 3)  # 4 records, checkpoints at 2 and 4
        older = _copy(settings, tmp_path / "older.db")
        await _calls(s, 4)  # 8 records, checkpoints at 6 and 8
    assert _count(tmp_path / "older.db") == 4
    code, out = _verify(older)  # the older copy is a perfectly valid chain …
    assert code == 1
    assert "identity: OK 4 records" in out
    assert "FAILED checkpoints: behind checkpoint #3 (record 6, " in out, out  # … behind a checkpoint


async def test_forged_or_altered_checkpoint_fails_its_signature(tmp_path):
    settings = await _anchored_suite(tmp_path)
    path = anchors.anchor_file(settings, "identity")
    original = path.read_text()
    assert _verify(settings)[0] == 0
    # A checkpoint "moved back" so that a shortened chain would pass: signature no longer matches.
    lines = original.splitlines()
    doc = json.loads(lines[-1])
    doc["seq"] = 1
    path.write_text("\n".join([*lines[:-1], json.dumps(doc)]) + "\n")
    code, out = _verify(settings)
    assert code == 1
    assert (
        f"FAILED checkpoints: checkpoint #{doc['n']} (line {len(lines)} of identity.anchors.jsonl): " in out
    )
    assert "signature fails (forged or altered)" in out
    # One forged with the chain key (which is not the checkpoint key).
    from aicc.platform import audit

    forged = {**doc, "n": doc["n"] + 1, "seq": 99}
    forged["sig"] = anchors.sign(audit.load_key(settings), forged)
    path.write_text(original + json.dumps(forged) + "\n")
    code, out = _verify(settings)
    assert code == 1
    assert (
        f"checkpoint #{forged['n']} (line {len(lines) + 1} of identity.anchors.jsonl): signature fails" in out
    )
    # A checkpoint line removed from the middle: the count shows the gap.
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    code, out = _verify(settings)
    assert code == 1
    assert "checkpoint #3 (line 2): out of order after #1" in out


async def test_postgresql_deleting_newest_all_or_restoring_an_older_copy_is_caught(tmp_path):
    dbs = Databases(server_url(), ["identity"])
    try:
        settings = await _anchored_suite(tmp_path, db_urls=dbs.urls)
        code, out = _verify(settings)
        assert code == 0, out
        assert "identity: OK 10 records" in out
        u = make_url(dbs.urls["identity"])
        with psycopg.connect(
            host=u.host,
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            dbname=u.database,
            autocommit=True,
        ) as conn:
            # As the table's owner would: the append-only triggers switched off for this session.
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            older = conn.execute("SELECT * FROM audit_log WHERE seq <= 3 ORDER BY seq").fetchall()
            conn.execute("DELETE FROM audit_log WHERE seq > 5")
            code, out = _verify(settings)
            assert code == 1
            assert "identity: OK 5 records" in out
            assert "FAILED checkpoints: behind checkpoint #2 (record 8, " in out, out

            conn.execute("DELETE FROM audit_log")
            code, out = _verify(settings)
            assert code == 1
            assert "identity: OK 0 records" in out
            assert "behind checkpoint #1 (record 4, " in out
            assert "every record was removed" in out

            # The older copy restored: its first three records, a valid chain of its own.
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO audit_log VALUES (" + ", ".join(["%s"] * len(older[0])) + ")", older
                )
            code, out = _verify(settings)
            assert code == 1
            assert "identity: OK 3 records" in out
            assert "behind checkpoint #1 (record 4, " in out
            assert "the chain ends at record 3" in out
    finally:
        dbs.close()
