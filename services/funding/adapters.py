"""Adapters of funding's outbound port: the treasury (contract in ``domain/ports.py``).

Only the fake exists yet; the real adapter to the provincial treasury's payment system will sit
here beside it, selected by ``treasury_from_settings``."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from aicc.platform.clock import now_utc
from aicc.platform.files import private_dir, private_file
from aicc.platform.settings import Settings
from services.funding.domain.ports import (
    Treasury,
    TreasuryOrder,
    TreasuryOrderState,
    TreasuryReceipt,
    TreasuryRejected,
    TreasuryUnavailable,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    idempotency_key TEXT PRIMARY KEY,
    payee_organization_id TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    state TEXT NOT NULL,
    reference TEXT NOT NULL,
    paid_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    memo TEXT NOT NULL
)
"""
DEFAULT_FILE = "treasury-fake.sqlite3"


class FakeTreasury:
    """Stand-in for the treasury that keeps its contract: idempotent on the key (a reference derived
    from it), ``status`` by key, and — like a real treasury — it **remembers every key across
    restarts**: its orders (paid and refused) are kept in a SQLite file (``path``; each order is
    committed atomically before it is answered), or in memory for a test that wants none.

    ``unavailable_times`` / ``reject`` let tests rehearse an outage or a refusal (``reject_reason``
    is what the treasury says); ``calls`` counts ``pay`` calls, ``status_calls`` lookups."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        unavailable_times: int = 0,
        reject: bool = False,
        reject_reason: str = "payee account refused (simulated) / 收款账户无效（模拟）",
    ) -> None:
        self.path = path
        self.unavailable_times = unavailable_times
        self.reject = reject
        self.reject_reason = reject_reason
        self.calls = 0
        self.status_calls = 0
        self._memory: sqlite3.Connection | None = None
        if path is None:
            self._memory = sqlite3.connect(":memory:", isolation_level=None)
        else:
            private_dir(path.parent, tighten=False)
            private_file(path)  # payees and amounts: the service user's alone
        with self._db() as db:
            db.execute(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction (BEGIN IMMEDIATE: two processes sharing the file take turns)."""
        if self._memory is not None:
            db = self._memory
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return
        with closing(sqlite3.connect(str(self.path), timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def reference_for(idempotency_key: str) -> str:
        return "GK" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16].upper()

    @staticmethod
    def _order(row: tuple[str, int, str, str, str, str]) -> TreasuryOrder:
        payee, amount, state, reference, paid_at, reason = row
        if state == TreasuryOrderState.PAID:
            receipt = TreasuryReceipt(reference, datetime.fromisoformat(paid_at))
            return TreasuryOrder(TreasuryOrderState.PAID, receipt, payee, amount)
        return TreasuryOrder(TreasuryOrderState.REFUSED, None, payee, amount, reason)

    def _lookup(self, db: sqlite3.Connection, key: str) -> TreasuryOrder | None:
        row = db.execute(
            "SELECT payee_organization_id, amount_fen, state, reference, paid_at, reason FROM orders "
            "WHERE idempotency_key = ?",
            (key,),
        ).fetchone()
        return None if row is None else self._order(row)

    def _outage(self) -> None:
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise TreasuryUnavailable("treasury did not answer (simulated)")

    async def pay(
        self, *, idempotency_key: str, payee_organization_id: str, amount_fen: int, memo: str
    ) -> TreasuryReceipt:
        self.calls += 1
        self._outage()
        with self._db() as db:
            known = self._lookup(db, idempotency_key)
            if known is not None:  # the same request number again: the first order's outcome
                if known.receipt is None:
                    raise TreasuryRejected(known.reason)
                return known.receipt
            state, reference, paid_at, reason = TreasuryOrderState.PAID, "", now_utc(), ""
            if self.reject:
                state, reason = TreasuryOrderState.REFUSED, self.reject_reason
            else:
                reference = self.reference_for(idempotency_key)
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    idempotency_key,
                    payee_organization_id,
                    amount_fen,
                    state.value,
                    reference,
                    paid_at.isoformat(),
                    reason,
                    memo,
                ),
            )
        if state == TreasuryOrderState.REFUSED:
            raise TreasuryRejected(reason)
        return TreasuryReceipt(reference, paid_at)

    async def status(self, *, idempotency_key: str) -> TreasuryOrder:
        self.status_calls += 1
        self._outage()
        with self._db() as db:
            known = self._lookup(db, idempotency_key)
        return known or TreasuryOrder(TreasuryOrderState.UNKNOWN)

    @property
    def orders(self) -> dict[str, tuple[str, int, TreasuryReceipt]]:
        """Every key actually paid: payee, amount, receipt."""
        with self._db() as db:
            rows = db.execute(
                "SELECT idempotency_key, payee_organization_id, amount_fen, state, reference, paid_at, reason "
                "FROM orders WHERE state = ? ORDER BY rowid",
                (TreasuryOrderState.PAID.value,),
            ).fetchall()
        out: dict[str, tuple[str, int, TreasuryReceipt]] = {}
        for key, *rest in rows:
            order = self._order(tuple(rest))
            if order.receipt is not None:
                out[key] = (order.payee_organization_id, order.amount_fen, order.receipt)
        return out


def fake_treasury_file(settings: Settings) -> Path:
    return settings.treasury_fake_file or settings.data_dir / DEFAULT_FILE


def treasury_from_settings(settings: Settings) -> Treasury:
    """The adapter a process uses (``AICC_TREASURY_ADAPTER``; only ``fake`` exists yet, its orders
    kept in ``AICC_TREASURY_FAKE_FILE``, by default ``<data_dir>/treasury-fake.sqlite3``)."""
    if settings.treasury_adapter != "fake":
        raise RuntimeError(f"unknown treasury adapter {settings.treasury_adapter!r}")
    return FakeTreasury(fake_treasury_file(settings))
