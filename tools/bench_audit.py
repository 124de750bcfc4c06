"""How long ``aicc audit verify`` takes on a long chain: builds N chained audit records (default
100,000) in a temporary SQLite database, then times reading them and :func:`aicc.platform.audit.verify`,
against a baseline measured in the same run — one plain SHA-256 (hashlib) over the same canonical
bytes of every record, and one unkeyed SM3 pass (``cryptography``).

    .venv/bin/python tools/bench_audit.py [N]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from sqlalchemy import create_engine, insert

from aicc.platform import audit


def build(n: int, key: bytes) -> list[dict]:
    t0 = datetime(2026, 11, 27, tzinfo=UTC)
    rows, prev = [], audit.GENESIS
    for i in range(1, n + 1):
        r = {
            "seq": i,
            "at": t0 + timedelta(milliseconds=i),
            "actor": f"usr_{i % 977:05d}",
            "roles": "city_industry",
            "city": "370100",
            "action": "/aicc.intake.v1.IntakeService/SignCityRecommendation",
            "object_id": f"cyc_{i % 13}",
            "outcome": "OK" if i % 11 else "PERMISSION_DENIED",
            "trace_id": f"{i:032x}",
        }
        r["mac"] = audit.chain_mac(key, prev, r).hex()
        prev = bytes.fromhex(str(r["mac"]))
        rows.append(r)
    return rows


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    key = b"bench-key-0123456789abcdef-bench"
    t = time.perf_counter()
    rows = build(n, key)
    t_build = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        engine = create_engine(f"sqlite:///{Path(d) / 'audit.db'}")
        audit.audit_log.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(audit.audit_log), rows)
        t = time.perf_counter()
        with engine.connect() as conn:
            stored = audit.read_all_sync(conn)
        t_read = time.perf_counter() - t
        engine.dispose()
    if len(stored) != n:
        raise SystemExit(f"read back {len(stored)} records, wrote {n}")

    t = time.perf_counter()
    result = audit.verify(stored, key)
    t_verify = time.perf_counter() - t
    if not result.ok:
        raise SystemExit(f"verification failed: {result}")

    t = time.perf_counter()
    prev = bytes(32)
    for r in stored:
        prev = hashlib.sha256(prev + audit.canonical_bytes(r)).digest()
    t_sha = time.perf_counter() - t

    t = time.perf_counter()
    prev = bytes(32)
    for r in stored:
        h = hashes.Hash(hashes.SM3())
        h.update(prev + audit.canonical_bytes(r))
        prev = h.finalize()
    t_sm3 = time.perf_counter() - t

    print(f"records                      {n:>10,}")
    print(f"build chain (in memory)      {t_build:10.3f} s")
    print(f"read from SQLite             {t_read:10.3f} s")
    print(f"verify (HMAC-SM3 chain)      {t_verify:10.3f} s   {n / t_verify:,.0f} records/s")
    print(f"baseline SHA-256 chain       {t_sha:10.3f} s   verify/baseline = {t_verify / t_sha:.2f}x")
    print(f"baseline SM3 (unkeyed) chain {t_sm3:10.3f} s   verify/baseline = {t_verify / t_sm3:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
