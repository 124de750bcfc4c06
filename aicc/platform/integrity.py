"""Integrity codes on business records (GB/T 39786 integrity of important data): the rows a decision
or a payment rests on carry ``integrity`` = HMAC-SM3(service key, canonical content), and the ledger's
rows are also chained like the audit log, so an amount, a score or an opinion edited behind the
service's back — or a ledger entry removed — is named by ``aicc audit verify`` (table, key, check).

- **Which tables**: a store marks a table model with :func:`protect` (the model declares the
  ``integrity`` column — and ``chain`` when chained — so migrations carry them).
- **Canonical content**: every column but ``integrity``/``chain`` and the ones excluded (an
  autoincrement key the database assigns), as :func:`aicc.platform.audit.canonical_json` of
  ``{"table": name, "row": {column: value}}`` — times as UTC ``…ffffffZ``, dates ISO, enums by value,
  JSON columns as their JSON.
- **Written by the store**: a ``before_flush`` hook on every ORM session computes the code of each
  new or changed row of a protected table (so a legitimate update re-seals the row), and for a
  chained table ``chain_n = HMAC-SM3(key, chain_{n-1} || integrity_n)`` in insertion order (32 zero
  bytes before the first; on PostgreSQL the table is locked for the transaction, SQLite already
  serialises writers). Core ``UPDATE``/``INSERT`` statements bypass the hook: protected tables are
  written through the ORM only.
- **The key** is per service, derived from the audit chain key (``AICC_AUDIT_KEY_FILE``):
  ``HMAC-SM3(audit key, "aicc integrity v1 " || service)`` (:func:`service_key`); it never lives in
  the database. A :class:`aicc.platform.db.Database` built with it hands it to its sessions.
- **Rows from before the codes existed** get ``""`` from the migration and are sealed by the service
  at its first start after it (:func:`seal_unsealed`: only a table none of whose rows is sealed yet,
  so an erased code on a sealed table is never re-sealed but reported; a table ALL of whose codes
  were erased would be sealed again — each sealing is logged at WARNING).
"""

from __future__ import annotations

import dataclasses
import hmac as _pyhmac
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import MetaData, Table, event, select, text
from sqlalchemy.orm import Session

from aicc.platform.audit import GENESIS, canonical_json, hmac_sm3, utc_text
from aicc.platform.db import INTEGRITY_SESSION_KEY as SESSION_KEY

COLUMN = "integrity"
CHAIN_COLUMN = "chain"
INFO = "integrity"  # Table.info entry marking a protected table


def service_key(audit_key: bytes, service: str) -> bytes:
    """The integrity key of one service, derived from the audit chain key."""
    return hmac_sm3(audit_key, b"aicc integrity v1 " + service.encode())


def protect(model: Any, *, chain_order: str | None = None, exclude: tuple[str, ...] = ()) -> None:
    """Marks a table model as protected; ``chain_order``: chain its rows in this column's order
    (the column the database assigns in insertion order)."""
    table: Table = model.__table__
    if COLUMN not in table.c or (chain_order and CHAIN_COLUMN not in table.c):
        raise TypeError(f"{table.name}: a protected table declares '{COLUMN}' (and '{CHAIN_COLUMN}')")
    table.info[INFO] = {"chain_order": chain_order, "exclude": tuple(exclude)}


def protected_tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if INFO in t.info]


# ------------------------------------------------------------------ canonical content and codes


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v.value if isinstance(v, Enum) else v
    if isinstance(v, Enum):
        return _plain(v.value)
    if isinstance(v, datetime):
        return utc_text(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _plain(dataclasses.asdict(v))
    raise TypeError(f"no canonical form for {type(v).__name__}")


def content_bytes(table: Table, values: Mapping[str, Any]) -> bytes:
    spec = table.info[INFO]
    skip = {COLUMN, CHAIN_COLUMN, *spec["exclude"]}
    row = {c.name: _plain(values.get(c.name)) for c in table.columns if c.name not in skip}
    return canonical_json({"table": table.name, "row": row})


def code(key: bytes, table: Table, values: Mapping[str, Any]) -> str:
    return hmac_sm3(key, content_bytes(table, values)).hex()


def link(key: bytes, prev_chain: bytes, integrity: str) -> str:
    return hmac_sm3(key, prev_chain, bytes.fromhex(integrity)).hex()


# ------------------------------------------------------------------ writing (every ORM flush)


def _table_of(obj: object) -> Table | None:
    table = getattr(type(obj), "__table__", None)
    return table if isinstance(table, Table) and INFO in table.info else None


def _values(obj: object, table: Table) -> dict[str, Any]:
    return {c.name: getattr(obj, c.name, None) for c in table.columns}


@event.listens_for(Session, "before_flush")
def _seal(session: Session, _flush_context: Any, _instances: Any) -> None:
    key = session.info.get(SESSION_KEY)
    if not key:
        return
    new_chained: dict[str, tuple[Table, list[Any]]] = {}
    for obj in (*session.new, *session.dirty):
        table = _table_of(obj)
        if table is None or obj in session.deleted:
            continue
        setattr(obj, COLUMN, code(key, table, _values(obj, table)))
        if table.info[INFO]["chain_order"] and obj in session.new:
            new_chained.setdefault(table.name, (table, []))[1].append(obj)
    if not new_chained:
        return
    from sqlalchemy import inspect

    conn = session.connection()
    for table, objs in new_chained.values():
        order = table.c[table.info[INFO]["chain_order"]]
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"))
        last = conn.execute(select(table.c[CHAIN_COLUMN]).order_by(order.desc()).limit(1)).scalar()
        prev = bytes.fromhex(last) if last else GENESIS
        for obj in sorted(objs, key=lambda o: inspect(o).insert_order):
            chain = link(key, prev, getattr(obj, COLUMN))
            setattr(obj, CHAIN_COLUMN, chain)
            prev = bytes.fromhex(chain)


def seal_unsealed(connection: Any, metadata: MetaData, key: bytes) -> dict[str, int]:
    """Seals the rows of every protected table none of whose rows is sealed yet (rows written before
    the integrity codes existed); returns table → rows sealed. Runs in the caller's transaction."""
    sealed: dict[str, int] = {}
    for table in protected_tables(metadata):
        if connection.execute(select(table.c[COLUMN]).where(table.c[COLUMN] != "").limit(1)).first():
            continue
        spec = table.info[INFO]
        order = [table.c[spec["chain_order"]]] if spec["chain_order"] else list(table.primary_key)
        rows = list(connection.execute(select(table).order_by(*order)).mappings())
        if not rows:
            continue
        prev = GENESIS
        pk = list(table.primary_key)
        for r in rows:
            values = {COLUMN: code(key, table, r)}
            if spec["chain_order"]:
                values[CHAIN_COLUMN] = link(key, prev, values[COLUMN])
                prev = bytes.fromhex(values[CHAIN_COLUMN])
            cond = [c == r[c.name] for c in pk]
            connection.execute(table.update().where(*cond).values(**values))
        sealed[table.name] = len(rows)
    return sealed


# ------------------------------------------------------------------ verifying


@dataclasses.dataclass(frozen=True)
class Finding:
    table: str
    key: str  # the row's primary key, "col=value, …"
    check: str  # "integrity" | "chain"
    detail: str

    def __str__(self) -> str:
        return f"{self.table} [{self.key}]: {self.check} check failed ({self.detail})"


@dataclasses.dataclass(frozen=True)
class TablesResult:
    rows: dict[str, int]  # table → rows checked
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


def _key_text(table: Table, row: Mapping[str, Any]) -> str:
    return ", ".join(f"{c.name}={row[c.name]}" for c in table.primary_key)


def verify_rows(table: Table, rows: Iterable[Mapping[str, Any]], key: bytes) -> list[Finding]:
    """Every row's code, and for a chained table the chain (rows in the chain order)."""
    findings: list[Finding] = []
    chained = bool(table.info[INFO]["chain_order"])
    prev = GENESIS
    for r in rows:
        stored = str(r[COLUMN] or "")
        if not stored:
            findings.append(Finding(table.name, _key_text(table, r), "integrity", "no integrity code"))
        elif not _pyhmac.compare_digest(code(key, table, r), stored):
            findings.append(
                Finding(table.name, _key_text(table, r), "integrity", "content altered: code does not match")
            )
        if chained:
            chain = str(r[CHAIN_COLUMN] or "")
            try:
                expected = link(key, prev, stored)
            except ValueError:
                expected = ""
            if not _pyhmac.compare_digest(expected, chain):
                findings.append(
                    Finding(
                        table.name,
                        _key_text(table, r),
                        "chain",
                        "does not follow the entry before it: an entry was removed, inserted or "
                        "reordered before this one",
                    )
                )
            try:
                prev = bytes.fromhex(chain)
            except ValueError:
                prev = GENESIS
    return findings


def verify_tables(connection: Any, metadata: MetaData, key: bytes) -> TablesResult:
    counts: dict[str, int] = {}
    findings: list[Finding] = []
    for table in protected_tables(metadata):
        spec = table.info[INFO]
        order = [table.c[spec["chain_order"]]] if spec["chain_order"] else list(table.primary_key)
        rows = list(connection.execute(select(table).order_by(*order)).mappings())
        counts[table.name] = len(rows)
        findings.extend(verify_rows(table, rows, key))
    return TablesResult(counts, findings)
