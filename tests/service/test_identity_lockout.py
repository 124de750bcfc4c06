"""Login throttling that an anonymous caller cannot turn against an official (issue 10, point 3):
failures count per account name and source together, with growing delays before a lock; a locked
or waiting pair answers exactly like a wrong password; the pair is stored hashed, and a failed
login's audit record keeps no name in clear."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import grpc
import pytest

from aicc.identity.v1 import identity_pb2 as pb
from aicc.platform.status import read_error
from tests.support.suite import InProcessSuite, suite_settings

PW = "a-long-password-for-tests"
WRONG = "wrong-password-xx"
ATTACKER = (("x-forwarded-for", "203.0.113.66"),)
OWNER = (("x-forwarded-for", "198.51.100.7"),)


async def _refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return read_error(e.value)


async def _suite_with_user(tmp_path, **settings):
    suite = InProcessSuite(
        suite_settings(tmp_path, trusted_proxies="127.0.0.1", **settings), services=["identity"]
    )
    await suite.__aenter__()
    await suite.create_user("sd.finance", PW, roles=["province_finance"])
    return suite


def login(suite, password: str, source, username: str = "sd.finance", code: str = ""):
    req = pb.LoginRequest(username=username, password=password, totp_code=code)
    return suite.stub("identity").Login(req, metadata=source)


async def test_an_attacker_locks_only_its_own_address_out(tmp_path):
    suite = await _suite_with_user(tmp_path, login_free_failures=2, login_max_failures=4)
    try:
        # Today's main locks the name for everyone after 5 failures from anywhere.
        for _ in range(2):
            assert (await _refused(login(suite, WRONG, ATTACKER))).reason == "BAD_CREDENTIALS"
        assert (await _refused(login(suite, WRONG, ATTACKER))).reason == "BAD_CREDENTIALS"  # 3rd: 1 s wait
        await asyncio.sleep(1.1)
        assert (await _refused(login(suite, WRONG, ATTACKER))).reason == "BAD_CREDENTIALS"  # 4th: locked
        # The attacker's address is locked out, even with the right password …
        locked = await _refused(login(suite, PW, ATTACKER, code=await suite.totp_code("sd.finance")))
        assert (locked.code, locked.reason) == (grpc.StatusCode.UNAUTHENTICATED, "BAD_CREDENTIALS")
        # … the owner, from another address, is not.
        ok = await login(suite, PW, OWNER, code=await suite.totp_code("sd.finance"))
        assert ok.access_token
    finally:
        await suite.__aexit__(None, None, None)


async def test_growing_delays_before_the_lock(tmp_path):
    suite = await _suite_with_user(tmp_path, login_free_failures=1, login_max_failures=10)
    try:
        await _refused(login(suite, WRONG, ATTACKER))  # 1: free
        await _refused(login(suite, WRONG, ATTACKER))  # 2: then wait 1 s
        code = await suite.totp_code("sd.finance")
        early = await _refused(login(suite, PW, ATTACKER, code=code))
        assert early.reason == "BAD_CREDENTIALS"  # the right password, too early: refused unseen
        await asyncio.sleep(1.1)
        await _refused(login(suite, WRONG, ATTACKER))  # 3: then wait 2 s
        await asyncio.sleep(1.1)
        assert (await _refused(login(suite, PW, ATTACKER, code=code))).reason == "BAD_CREDENTIALS"
        await asyncio.sleep(1.0)
        assert (await login(suite, PW, ATTACKER, code=await suite.totp_code("sd.finance"))).access_token
    finally:
        await suite.__aexit__(None, None, None)


async def test_a_forwarded_for_header_counts_only_from_a_trusted_proxy(tmp_path):
    settings = suite_settings(tmp_path, login_free_failures=0, login_max_failures=2)
    async with InProcessSuite(settings, services=["identity"]) as suite:
        await suite.create_user("sd.finance", PW, roles=["province_finance"])
        # Not trusted: each made-up address is ignored, the peer (127.0.0.1) is the source.
        await _refused(login(suite, WRONG, (("x-forwarded-for", "192.0.2.1"),)))
        await asyncio.sleep(1.1)
        await _refused(login(suite, WRONG, (("x-forwarded-for", "192.0.2.2"),)))
        code = await suite.totp_code("sd.finance")
        err = await _refused(login(suite, PW, (("x-forwarded-for", "192.0.2.3"),), code=code))
        assert err.reason == "BAD_CREDENTIALS"


async def test_a_locked_pair_answers_like_a_wrong_password_in_message_and_time(tmp_path):
    suite = await _suite_with_user(tmp_path, login_free_failures=0, login_max_failures=1)
    try:
        other = (("x-forwarded-for", "192.0.2.99"),)
        wrong = await _refused(login(suite, WRONG, other))  # locks 192.0.2.99 at once
        await _refused(login(suite, WRONG, ATTACKER))  # locks the attacker's pair
        locked = await _refused(login(suite, PW, ATTACKER))
        assert (locked.code, locked.reason, locked.message, locked.message_zh) == (
            wrong.code,
            wrong.reason,
            wrong.message,
            wrong.message_zh,
        )
        assert "locked" not in locked.message
        assert not locked.metadata.get("locked_until")

        locked_times = []
        for _ in range(5):  # refused while locked: the password hash still runs
            t = time.perf_counter()
            await _refused(login(suite, WRONG, ATTACKER))
            locked_times.append(time.perf_counter() - t)
        locked_t = sorted(locked_times)[2]
        wrong_t = []
        for i in range(5):  # first failures of fresh pairs (each locks its own pair)
            t = time.perf_counter()
            await _refused(login(suite, WRONG, (("x-forwarded-for", f"192.0.2.{10 + i}"),)))
            wrong_t.append(time.perf_counter() - t)
        wrong_median = sorted(wrong_t)[2]
        assert locked_t > 0.5 * wrong_median, (locked_t, wrong_median)
    finally:
        await suite.__aexit__(None, None, None)


async def test_a_password_typed_as_the_username_is_kept_nowhere_in_clear(tmp_path):
    settings = suite_settings(tmp_path)
    typed = "Secret-Typed-Into-Username-42"
    async with InProcessSuite(settings, services=["identity"]) as suite:
        await _refused(suite.stub("identity").Login(pb.LoginRequest(username=typed, password=WRONG)))
    with sqlite3.connect(settings.data_dir / "identity.db") as db:
        throttle = db.execute("SELECT * FROM login_throttle").fetchall()
        audit = db.execute("SELECT * FROM audit_log").fetchall()
    assert throttle, "the failure was counted"
    assert typed not in repr(throttle)
    assert any("Login" in repr(r) for r in audit)
    assert typed not in repr(audit)
    assert typed.lower() not in repr(audit).lower()
