"""Tamper-evident audit log: one append-only, HMAC-SM3-chained table in EVERY service's own database.

What is recorded: every RPC a service answers except ``grpc.health`` and reflection — one record
per call, written by the platform interceptor (``aicc/platform/server.py``) after the handler
finished, with the outcome: ``"OK"`` or the gRPC status code name (``UNAUTHENTICATED`` and
``PERMISSION_DENIED`` raised by the interceptor itself included). Reads are recorded too: an
authorisation decision is made for each. Fields: time (UTC), actor (verified user id; for
identity's ``Login`` the username attempted; ``""`` when no identity was established), roles,
city, action (the full RPC method), object (the main id in the request), outcome, trace id.
Never passwords, tokens or payloads.

The chain: ``mac_n = HMAC-SM3(key, mac_{n-1} || canonical(record_n))``, ``mac_0`` = 32 zero bytes,
where ``canonical`` is the record *including its sequence number* as JSON with sorted keys, no
whitespace, UTF-8 (``ensure_ascii=False``), the time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
Altering, removing, inserting or reordering a record breaks the chain at that record;
:func:`verify` names the first bad one. The key (``AICC_AUDIT_KEY_FILE``) never lives in the
database, so whoever can write the table still cannot forge a chain.

Appends are serialised: on PostgreSQL ``LOCK TABLE … IN EXCLUSIVE MODE`` for the transaction (a
``SELECT … FOR UPDATE`` of the last row does not serialise the very first append, and under READ
COMMITTED a waiter re-reads the *old* last row); on SQLite every transaction is already
``BEGIN IMMEDIATE`` (``aicc/platform/db.py``). The database itself refuses UPDATE, DELETE (and on
PostgreSQL TRUNCATE) of the table: triggers installed by each service's migration
(:func:`append_only_ddl`).
"""

from __future__ import annotations

import hmac as _pyhmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _chmac
from sqlalchemy import BigInteger, Column, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime
from aicc.platform.settings import ConfigError, Settings

TABLE = "audit_log"
GENESIS = bytes(32)
MIN_KEY_BYTES = 16


def audit_table(metadata: MetaData) -> Table:
    """The audit table in a service's metadata — every ``store.py`` calls this once, so the table is
    part of each service's schema (and its migrations) by construction."""
    return Table(
        TABLE,
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("at", UtcDateTime, nullable=False),
        Column("actor", String(128), nullable=False),
        Column("roles", String(255), nullable=False),
        Column("city", String(16), nullable=False),
        Column("action", String(200), nullable=False),
        Column("object_id", String(128), nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("trace_id", String(32), nullable=False),
        Column("mac", String(64), nullable=False),
    )


# The platform's own handle on the (identical) table, for appending and reading.
audit_log = audit_table(MetaData())

FIELDS = ("seq", "at", "actor", "roles", "city", "action", "object_id", "outcome", "trace_id")


@dataclass(frozen=True)
class AuditRecord:
    actor: str
    roles: str  # sorted, comma-separated
    city: str
    action: str
    object_id: str
    outcome: str
    trace_id: str
    at: datetime | None = None  # set at append time when None
    seq: int = 0
    mac: str = ""


# ------------------------------------------------------------------ canonical encoding and chain


def utc_text(at: datetime | str) -> str:
    """A time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC): the one time encoding of every MAC'd record."""
    if isinstance(at, str):  # read with a raw driver (SQLite keeps the UTC time as text, no offset)
        at = datetime.fromisoformat(at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if at.tzinfo is None:
        raise ValueError("naive datetime in audit record")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(doc: object) -> bytes:
    """The canonical encoding MAC'd by the audit chain and the integrity codes
    (``aicc/platform/integrity.py``): JSON, sorted keys, no whitespace, UTF-8 (not ``\\u`` escapes)."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def hmac_sm3(key: bytes, *parts: bytes) -> bytes:
    h = _chmac.HMAC(key, hashes.SM3())
    for part in parts:
        h.update(part)
    return h.finalize()


def _get(row, name: str):
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def canonical_bytes(row) -> bytes:
    """Stable encoding of a record (mapping or object with the :data:`FIELDS`), sequence included."""
    doc = {}
    for f in FIELDS:
        v = _get(row, f)
        doc[f] = utc_text(v) if f == "at" else (int(v) if f == "seq" else str(v))
    return canonical_json(doc)


def chain_mac(key: bytes, prev_mac: bytes, row) -> bytes:
    return hmac_sm3(key, prev_mac, canonical_bytes(row))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int  # records checked (all of them when ok)
    seq: int | None = None  # the first bad record's sequence number (for "removed": the missing one)
    kind: str = ""  # altered | removed | inserted | reordered
    detail: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK {self.count} records"
        return f"record {self.seq}: {self.kind} ({self.detail})"


def _unhex(s: str) -> bytes | None:
    try:
        return bytes.fromhex(s)
    except (ValueError, TypeError):
        return None


def verify(rows: Iterable, key: bytes) -> VerifyResult:
    """Checks a chain given in storage order (read ``ORDER BY seq``); names the FIRST bad record.

    - removed: a sequence gap — ``seq`` is the first missing number;
    - inserted: a duplicate sequence number, or a record whose MAC fails and the next record does
      not chain from it either (a foreign record spliced in);
    - altered: a record whose MAC fails while the next record still chains from its stored MAC (its
      content was changed in place), or the last record's MAC fails;
    - reordered: sequence numbers out of order in the input.
    """
    rows = list(rows)
    seqs = [int(_get(r, "seq")) for r in rows]
    seen: set[int] = set()
    prev = GENESIS
    expected = 1
    for i, row in enumerate(rows):
        seq = seqs[i]
        if seq in seen:
            return VerifyResult(False, i, seq, "inserted", "duplicate sequence number")
        if seq < expected:
            return VerifyResult(False, i, seq, "reordered", f"sequence {seq} after {expected - 1}")
        if seq > expected:
            if expected in seqs[i + 1 :]:
                return VerifyResult(False, i, seq, "reordered", f"sequence {seq} before {expected}")
            return VerifyResult(
                False, i, expected, "removed", f"sequence gap: {expected} missing before {seq}"
            )
        stored = _unhex(_get(row, "mac"))
        if stored is None or not _pyhmac.compare_digest(chain_mac(key, prev, row), stored):
            nxt = rows[i + 1] if i + 1 < len(rows) else None
            if nxt is not None and stored is not None:
                nxt_stored = _unhex(_get(nxt, "mac")) or b""
                if not _pyhmac.compare_digest(chain_mac(key, stored, nxt), nxt_stored):
                    why = "MAC mismatch and the chain breaks after it"
                    return VerifyResult(
                        False, i, seq, "inserted", why + (" (or the wrong key)" if i == 0 else "")
                    )
            return VerifyResult(False, i, seq, "altered", "MAC mismatch")
        seen.add(seq)
        prev = stored
        expected += 1
    return VerifyResult(True, len(rows))


# ------------------------------------------------------------------ appending and reading


def _row_values(rec: AuditRecord, seq: int, at: datetime) -> dict:
    return {
        "seq": seq,
        "at": at,
        "actor": rec.actor[:128],
        "roles": rec.roles[:255],
        "city": rec.city[:16],
        "action": rec.action[:200],
        "object_id": rec.object_id[:128],
        "outcome": rec.outcome[:32],
        "trace_id": rec.trace_id[:32],
    }


async def append(session: AsyncSession, rec: AuditRecord, key: bytes) -> tuple[int, str]:
    """Appends one record inside the caller's transaction (keep it short); returns its sequence
    number and MAC (the chain's new head)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE"))
    last = (
        await session.execute(
            select(audit_log.c.seq, audit_log.c.mac).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).first()
    seq, prev = (1, GENESIS) if last is None else (int(last.seq) + 1, bytes.fromhex(last.mac))
    at = rec.at or now_utc()
    # The stored time round-trips at microsecond precision on both SQLite and PostgreSQL.
    at = at.astimezone(UTC)
    values = _row_values(rec, seq, at)
    values["mac"] = chain_mac(key, prev, values).hex()
    await session.execute(audit_log.insert().values(**values))
    return seq, values["mac"]


async def head(session: AsyncSession) -> tuple[int, str] | None:
    """The chain's newest record: its sequence number and MAC (None when empty)."""
    last = (
        await session.execute(
            select(audit_log.c.seq, audit_log.c.mac).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).first()
    return None if last is None else (int(last.seq), str(last.mac))


async def read_all(session: AsyncSession) -> list:
    return list((await session.execute(select(audit_log).order_by(audit_log.c.seq))).mappings())


def read_all_sync(connection) -> list:
    return list(connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings())


# ------------------------------------------------------------------ key


def load_key(settings: Settings) -> bytes:
    """The chain key: ``AICC_AUDIT_KEY_FILE`` (its bytes, surrounding whitespace stripped); in dev
    mode a generated one under ``data_dir/secrets/audit-key``; otherwise refuse."""
    if settings.audit_key_file:
        path = Path(settings.audit_key_file)
        if not path.is_file():
            raise ConfigError(f"audit key file {path} (AICC_AUDIT_KEY_FILE) does not exist")
        key = path.read_bytes().strip()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"audit key in {path} is too short ({len(key)} bytes; at least {MIN_KEY_BYTES})"
            )
        return key
    if settings.dev_mode:
        from aicc.platform.secrets import dev_secret

        return dev_secret(settings.data_dir, "audit-key", nbytes=32).encode()
    raise ConfigError(
        "no audit key: set AICC_AUDIT_KEY_FILE to a file holding the HMAC-SM3 key of the audit chain "
        "(at least 16 bytes; AICC_DEV_MODE=true generates one for a laptop)"
    )


# ------------------------------------------------------------------ append-only enforcement (migrations)


def append_only_ddl(dialect: str) -> list[str]:
    """Statements making the table refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL): triggers,
    because the application role owns the table and REVOKE would not bind it."""
    if dialect == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$""",
            f"CREATE TRIGGER {TABLE}_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse_change()",
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse_change()",
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END",
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END",
        ]
    return []


def drop_append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
            f"DROP TRIGGER IF EXISTS {TABLE}_no_update_delete ON {TABLE}",
            f"DROP FUNCTION IF EXISTS {TABLE}_refuse_change()",
        ]
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"]
    return []
