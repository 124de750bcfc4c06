"""The audit chain (HMAC-SM3 over the previous MAC and the canonical record): tampering of any kind
is found, and verify names the FIRST bad record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, hmac

from aicc.platform.audit import GENESIS, canonical_bytes, chain_mac, verify

KEY = b"k" * 32
T0 = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)


def record(seq: int, **over) -> dict:
    r = {
        "seq": seq,
        "at": T0 + timedelta(seconds=seq, microseconds=seq),
        "actor": f"usr_{seq}",
        "roles": "city_industry",
        "city": "370100",
        "action": "/aicc.intake.v1.IntakeService/SignCityRecommendation",
        "object_id": f"cyc_{seq % 3}",
        "outcome": "OK" if seq % 4 else "PERMISSION_DENIED",
        "trace_id": f"{seq:032x}",
    }
    r.update(over)
    return r


def chain(n: int, key: bytes = KEY) -> list[dict]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        r = record(i)
        r["mac"] = chain_mac(key, prev, r).hex()
        prev = bytes.fromhex(r["mac"])
        rows.append(r)
    return rows


def test_intact_chain_verifies():
    res = verify(chain(20), KEY)
    assert res.ok
    assert res.count == 20
    assert str(res) == "OK 20 records"
    assert verify([], KEY).ok


def test_mac_is_hmac_sm3_over_previous_mac_and_canonical_record():
    rows = chain(2)
    h = hmac.HMAC(KEY, hashes.SM3())
    h.update(bytes.fromhex(rows[0]["mac"]) + canonical_bytes(rows[1]))
    assert h.finalize().hex() == rows[1]["mac"]
    first = hmac.HMAC(KEY, hashes.SM3())
    first.update(bytes(32) + canonical_bytes(rows[0]))
    assert first.finalize().hex() == rows[0]["mac"]


def test_canonical_encoding_is_stable_sorted_json_with_the_sequence():
    r = record(7, actor="张三")
    b = canonical_bytes(r)
    assert b.startswith(b'{"action":')
    assert b'"seq":7' in b
    assert "张三".encode() in b  # UTF-8, not \\u escapes
    assert b" " not in b.replace(b"SignCity", b"")  # no whitespace separators
    assert b'"at":"2026-11-27T02:30:07.000007Z"' in b
    assert canonical_bytes(dict(reversed(list(r.items())))) == b  # key order irrelevant


def test_wrong_key_fails_at_the_first_record():
    res = verify(chain(5), b"x" * 32)
    assert not res.ok
    assert res.seq == 1
    assert "wrong key" in res.detail


def test_altered_field_is_named():
    for field, value in [("outcome", "OK"), ("actor", "usr_other"), ("at", T0), ("object_id", "cyc_x")]:
        rows = chain(10)
        rows[5][field] = value if rows[5][field] != value else "PERMISSION_DENIED"
        res = verify(rows, KEY)
        assert (res.ok, res.seq, res.kind) == (False, 6, "altered"), field
        assert res.count == 5


def test_altered_last_record_is_named():
    rows = chain(10)
    rows[-1]["actor"] = "someone"
    res = verify(rows, KEY)
    assert (res.seq, res.kind) == (10, "altered")


def test_deleted_record_is_named_removed():
    rows = chain(10)
    del rows[3]  # seq 4
    res = verify(rows, KEY)
    assert (res.ok, res.seq, res.kind) == (False, 4, "removed")


def test_deleted_first_record_is_named_removed():
    res = verify(chain(5)[1:], KEY)
    assert (res.seq, res.kind) == (1, "removed")


def test_forged_record_with_a_duplicate_sequence_is_named_inserted():
    rows = chain(10)
    forged = record(4, actor="usr_forger")
    forged["mac"] = "00" * 32
    rows.insert(4, forged)  # after the genuine seq 4
    res = verify(rows, KEY)
    assert (res.ok, res.seq, res.kind) == (False, 4, "inserted")


def test_forged_record_spliced_in_with_renumbering_is_named_inserted():
    rows = chain(10)
    forged = record(5, actor="usr_forger")
    forged["mac"] = chain_mac(b"guessed-key-guessed-key", bytes.fromhex(rows[3]["mac"]), forged).hex()
    tail = rows[4:]
    for r in tail:
        r["seq"] += 1
    rows = rows[:4] + [forged] + tail
    res = verify(rows, KEY)
    assert (res.ok, res.seq, res.kind) == (False, 5, "inserted")


def test_valid_record_replayed_at_the_end_is_found():
    rows = chain(6)
    replay = dict(rows[2], seq=7)
    res = verify([*rows, replay], KEY)
    assert not res.ok
    assert res.seq == 7


def test_reordered_rows_are_named():
    rows = chain(10)
    rows[4], rows[5] = rows[5], rows[4]  # storage order 1,2,3,4,6,5,...
    res = verify(rows, KEY)
    assert (res.ok, res.seq, res.kind) == (False, 6, "reordered")


def test_swapped_sequence_numbers_are_found_at_the_first():
    rows = chain(10)
    rows[4]["seq"], rows[5]["seq"] = 6, 5  # contents swapped between positions 5 and 6
    rows.sort(key=lambda r: r["seq"])  # as ORDER BY seq reads them
    res = verify(rows, KEY)
    assert not res.ok
    assert res.seq == 5


def test_garbage_mac_is_altered_not_a_crash():
    rows = chain(3)
    rows[1]["mac"] = "not hex"
    res = verify(rows, KEY)
    assert (res.seq, res.kind) == (2, "altered")
