"""The tamper-evident audit log over real gRPC: every RPC leaves one record in the database of the
service that decided it (actor, roles, action, object, outcome, trace id), the chain verifies, and
``aicc audit verify`` finds an UPDATE, a DELETE and an INSERT made behind the service's back. The
database itself refuses UPDATE and DELETE on the table (SQLite and PostgreSQL triggers)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import grpc
import psycopg
import pytest
from sqlalchemy.engine import make_url

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform import audit
from aicc.platform.server import login_actor
from aicc.platform.settings import Settings
from aicc.platform.status import read_error
from services.identity.domain.uscc import make_uscc
from tests.support.pg import Databases, server_url
from tests.support.suite import InProcessSuite, suite_settings

ID = "/aicc.identity.v1.IdentityService/"
FU = "/aicc.funding.v1.FundingService/"


def _sqlite_path(settings: Settings, service: str) -> Path:
    return Path(make_url(settings.database_url(service)).database)


def _rows(settings: Settings, service: str) -> list[dict]:
    with sqlite3.connect(_sqlite_path(settings, service)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]


async def _traffic(s: InProcessSuite) -> dict:
    """A failed login, a permission-denied call, a successful create, an unauthenticated call."""
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await s.stub("identity").Login(ipb.LoginRequest(username="mallory", password="not-the-password-1"))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    op_token = await s.admin_token("system_admin")
    op = s.stub("identity", op_token)
    org = (
        await op.CreateOrganization(
            ipb.CreateOrganizationRequest(
                uscc=make_uscc("370212", 7),
                name="青岛审计测试有限公司",
                kind=ipb.ORGANIZATION_KIND_ENTERPRISE,
                legal_person=True,
            )
        )
    ).organization
    await op.GetOrganization(ipb.GetOrganizationRequest(organization_id=org.organization_id))
    with pytest.raises(grpc.aio.AioRpcError) as e:  # an administrator may not read budgets
        await s.stub("funding", op_token).GetBudget(fpb.GetBudgetRequest(cycle_id="cyc_audit"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await s.stub("funding").GetBudget(fpb.GetBudgetRequest(cycle_id="cyc_anon"))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    return {"org": org.organization_id}


@pytest.fixture
async def audited(tmp_path):
    settings = suite_settings(tmp_path)
    async with InProcessSuite(settings, services=["identity", "funding"]) as s:
        ids = await _traffic(s)
        key = s.hosts["identity"].runtime.audit_key
    return settings, ids, key


def test_dev_mode_key_is_generated_and_kept(tmp_path):
    s = Settings(dev_mode=True, data_dir=tmp_path)
    k1 = audit.load_key(s)
    assert len(k1) >= 32
    assert audit.load_key(s) == k1
    assert (tmp_path / "secrets" / "audit-key").stat().st_mode & 0o777 == 0o600


async def test_every_decision_is_recorded_where_it_was_made(audited):
    settings, ids, key = audited
    rows = _rows(settings, "identity")
    by_action = {}
    for r in rows:
        by_action.setdefault(r["action"], []).append(r)

    # A failed login's name is kept only as a keyed hash (a password typed there stays out).
    mallory = login_actor("mallory", "UNAUTHENTICATED", key)
    assert mallory.startswith("name-hmac:")
    assert not [r for r in rows if "mallory" in str(r)]
    failed = [r for r in by_action[ID + "Login"] if r["actor"] == mallory]
    assert len(failed) == 1
    assert failed[0]["outcome"] == "UNAUTHENTICATED"
    ok_login = [r for r in by_action[ID + "Login"] if r["actor"] == settings.bootstrap_system_admin_username]
    assert ok_login
    assert ok_login[0]["outcome"] == "OK"

    (create,) = by_action[ID + "CreateOrganization"]
    assert create["outcome"] == "OK"
    assert create["roles"] == "system_admin"
    assert create["actor"].startswith("usr_")
    (get,) = by_action[ID + "GetOrganization"]
    assert get["object_id"] == ids["org"]
    assert get["actor"] == create["actor"]
    for r in rows:
        assert len(r["trace_id"]) == 32
        assert int(r["trace_id"], 16) != 0
        assert "password" not in str(r).lower().replace("not-the-password", "")
        assert "not-the-password" not in str(r)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))

    # The funding decisions are in funding's own database, not identity's.
    fu = _rows(settings, "funding")
    assert [(r["action"], r["outcome"], r["object_id"]) for r in fu] == [
        (FU + "GetBudget", "PERMISSION_DENIED", "cyc_audit"),
        (FU + "GetBudget", "UNAUTHENTICATED", "cyc_anon"),
    ]
    assert fu[0]["actor"] == create["actor"]
    assert fu[1]["actor"] == ""
    assert not any(r["action"].startswith(FU) for r in rows)

    assert audit.verify(rows, key).ok
    assert audit.verify(fu, key).ok


def _verify(settings: Settings, *services: str) -> tuple[int, str]:
    import contextlib
    import io

    from aicc.cli import audit_cmd

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = audit_cmd.run(argparse.Namespace(service=list(services) or None), settings=settings)
    return code, out.getvalue()


def _copy_db(settings: Settings, service: str, dest: Path) -> Settings:
    src = sqlite3.connect(_sqlite_path(settings, service))
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.close()
    return settings.model_copy(update={f"{service}_database_url": f"sqlite:///{dest}"})


def _tamper(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:  # an attacker owning the file: drops the guards first
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for st in statements:
            conn.execute(st)


async def test_sqlite_refuses_update_and_delete_of_audit_records(audited):
    settings, _, _ = audited
    with sqlite3.connect(_sqlite_path(settings, "identity")) as conn:
        for st in (
            "UPDATE audit_log SET outcome = 'OK' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 2",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(st)


async def test_verify_finds_update_delete_and_insert(audited, tmp_path):
    settings, _, _ = audited
    code, out = _verify(settings, "identity", "funding")
    assert code == 0, out
    n = len(_rows(settings, "identity"))
    assert f"identity: OK {n} records" in out
    assert "funding: OK 2 records" in out
    code, out = _verify(settings)  # the others have no database in this suite: not "OK"
    assert code == 1
    assert "intake: ERROR" in out
    assert f"identity: OK {n} records" in out
    assert not _sqlite_path(settings, "intake").exists()  # verifying created nothing

    updated = _copy_db(settings, "identity", tmp_path / "updated.db")
    _tamper(tmp_path / "updated.db", "UPDATE audit_log SET outcome = 'OK' WHERE actor LIKE 'name-hmac:%'")
    code, out = _verify(updated, "identity", "funding")
    assert code == 1
    assert "identity: FAILED at record 1: altered" in out
    assert "funding: OK" in out

    deleted = _copy_db(settings, "identity", tmp_path / "deleted.db")
    _tamper(tmp_path / "deleted.db", "DELETE FROM audit_log WHERE seq = 3")
    code, out = _verify(deleted, "identity")
    assert code == 1
    assert "identity: FAILED at record 3: removed" in out

    inserted = _copy_db(settings, "identity", tmp_path / "inserted.db")
    # A forged record spliced in after seq 2 (later records renumbered), MAC made up.
    _tamper(
        tmp_path / "inserted.db",
        "UPDATE audit_log SET seq = -seq WHERE seq >= 3",
        "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0",
        "INSERT INTO audit_log (seq, at, actor, roles, city, action, object_id, outcome, trace_id, mac) "
        "SELECT 3, at, 'usr_forged', 'operator', '', action, '', 'OK', trace_id, mac FROM audit_log WHERE seq = 2",
    )
    code, out = _verify(inserted, "identity")
    assert code == 1
    assert "identity: FAILED at record 3: inserted" in out

    appended = _copy_db(settings, "identity", tmp_path / "appended.db")
    _tamper(
        tmp_path / "appended.db",
        f"INSERT INTO audit_log SELECT {n + 1}, at, actor, roles, city, action, object_id, outcome, trace_id, mac "
        "FROM audit_log WHERE seq = 1",
    )
    code, out = _verify(appended, "identity")
    assert code == 1
    assert f"identity: FAILED at record {n + 1}" in out


def test_cli_exit_code(audited, tmp_path):
    settings, _, _ = audited
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICC_")}
    env.update(
        AICC_DEV_MODE="true",
        AICC_DATA_DIR=str(settings.data_dir),
        AICC_IDENTITY_DATABASE_URL=settings.database_url("identity"),
    )
    argv = [sys.executable, "-m", "aicc.cli.main", "audit", "verify", "--service", "identity"]
    ok = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "identity: OK" in ok.stdout, ok.stdout + ok.stderr
    bad = _copy_db(settings, "identity", tmp_path / "bad.db")
    _tamper(tmp_path / "bad.db", "DELETE FROM audit_log WHERE seq = 2")
    env["AICC_IDENTITY_DATABASE_URL"] = bad.database_url("identity")
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "record 2: removed" in res.stdout, res.stdout + res.stderr
    env.pop("AICC_DEV_MODE")
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "AICC_AUDIT_KEY_FILE" in res.stdout


async def test_state_change_fails_when_its_audit_record_cannot_be_written(tmp_path):
    """A failed audit write is the service's storage failing, not the request: UNAVAILABLE (which
    the workflow's activities and gRPC clients retry), never INTERNAL; once the log takes records
    again, the repeated request is answered without being applied twice, and is recorded."""
    settings = suite_settings(tmp_path)
    async with InProcessSuite(settings, services=["identity"]) as s:
        op = s.stub("identity", await s.admin_token("system_admin"))
        create = ipb.CreateOrganizationRequest(
            uscc=make_uscc("370212", 8),
            name="某公司",
            kind=ipb.ORGANIZATION_KIND_ENTERPRISE,
            legal_person=True,
        )
        with sqlite3.connect(_sqlite_path(settings, "identity")) as conn:
            conn.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await op.CreateOrganization(create)
        err = read_error(e.value)
        assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "AUDIT_UNAVAILABLE")
        assert "audit log" in err.message
        assert "审计日志" in err.message_zh
        # A read keeps its outcome (the failure is logged at CRITICAL).
        assert (await op.ListJurisdictions(ipb.ListJurisdictionsRequest())).jurisdictions

        with sqlite3.connect(_sqlite_path(settings, "identity")) as conn:
            conn.execute("ALTER TABLE audit_log_gone RENAME TO audit_log")
        # The organisation was created once (the record is written after the handler's commit);
        # the repeat is refused as a duplicate, not applied again, and this time it is audited.
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await op.CreateOrganization(create)
        assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
        found = await op.ListOrganizations(ipb.ListOrganizationsRequest(uscc=create.uscc))
        assert [o.name for o in found.organizations] == ["某公司"]
    rows = _rows(settings, "identity")
    assert [r["outcome"] for r in rows if r["action"] == ID + "CreateOrganization"] == ["ALREADY_EXISTS"]


async def test_postgresql_refuses_update_delete_and_truncate(tmp_path):
    dbs = Databases(server_url(), ["identity"])
    try:
        settings = suite_settings(tmp_path, db_urls=dbs.urls)
        async with InProcessSuite(settings, services=["identity"]) as s:
            with pytest.raises(grpc.aio.AioRpcError):
                await s.stub("identity").Login(
                    ipb.LoginRequest(username="mallory", password="not-the-password-1")
                )
            await s.admin_token("system_admin")
            key = s.hosts["identity"].runtime.audit_key
        code, out = _verify(settings, "identity")
        assert code == 0, out
        assert "identity: OK 2 records" in out, out
        u = make_url(dbs.urls["identity"])
        with psycopg.connect(
            host=u.host,
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            dbname=u.database,
            autocommit=True,
        ) as conn:
            for st in (
                "UPDATE audit_log SET outcome = 'OK' WHERE seq = 1",
                "DELETE FROM audit_log WHERE seq = 2",
                "TRUNCATE audit_log",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                    conn.execute(st)
            rows = conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
            cols = [d.name for d in conn.execute("SELECT * FROM audit_log LIMIT 0").description]
        records = [dict(zip(cols, r, strict=True)) for r in rows]
        assert [r["outcome"] for r in records] == ["UNAUTHENTICATED", "OK"]
        assert audit.verify(records, key).ok
    finally:
        dbs.close()
