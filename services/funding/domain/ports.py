"""What funding's use cases need from outside the domain: its store and the treasury.

The treasury is the provincial treasury's payment system (省级国库集中支付系统). Its contract, which
every adapter (and the fake in ``services/funding/adapters.py``) keeps:

- ``pay`` submits one payment order; the **request number is the idempotency key**. Submitting the
  same key again must not pay twice: the treasury answers with the receipt of the first order.
- On success it returns a :class:`TreasuryReceipt` — the treasury's reference for the payment and
  when it was paid.
- A definitive refusal (unknown payee account, order rejected) raises :class:`TreasuryRejected`;
  the disbursement is then marked FAILED and may be retried under a new key.
- Anything transient (timeout, connection refused, treasury closed) raises
  :class:`TreasuryUnavailable` (or any other exception): the outcome is unknown, so the disbursement
  stays REQUESTED and a retry **with the same key** resumes it — safe because of the first rule.
- ``status`` looks an order up **by its key** (the treasury's order query, 支付申请查询): PAID with
  its receipt (and the payee and amount it was paid to), REFUSED with the treasury's reason, or
  UNKNOWN when no order of that key reached it; transient failures raise as for ``pay``. Before
  paying a REQUESTED disbursement again (a retry after a crash, a lost answer, an outage), funding
  asks ``status`` first and records what the treasury already did: a payment made just before a
  crash is recorded PAID, never under-reported, never asked for twice.
- The treasury remembers every key it was given, across its restarts (the fake too: its orders are
  kept in a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from aicc.platform.pagination import Page, PageRequest
from services.funding.domain.model import (
    Appropriation,
    Budget,
    Disbursement,
    FinanceConcurrence,
    LedgerEntry,
    ReservationLine,
    Visibility,
)


class FundingRepository(Protocol):
    """Funding's store, bound to one transaction (see :class:`aicc.platform.ports.UnitOfWork`).

    An insert that loses a race on a unique key (a budget opened, a disbursement key recorded by a
    concurrent transaction) raises :class:`aicc.platform.errors.Aborted`; the transaction is then
    rolled back and the use case may try again."""

    async def budget(self, cycle_id: str, *, for_update: bool = False) -> Budget | None:
        """With ``for_update`` the budget is locked until the transaction ends: every change of a
        cycle's money takes this lock first, so changes of one cycle never interleave."""
        ...

    async def add_budget(self, budget: Budget) -> None: ...

    async def save_budget(self, budget: Budget) -> None: ...

    async def account_totals(self, cycle_id: str) -> dict[str, int]:
        """The balance of every account of the cycle's ledger (the sum of its postings)."""
        ...

    async def account_balances(self, accounts: Sequence[str]) -> dict[str, int]:
        """The balance of each named account over the whole ledger (every cycle's book)."""
        ...

    async def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        """Appends postings; postings are never changed or removed."""
        ...

    async def ledger_entries(self, cycle_id: str, page: PageRequest) -> Page[LedgerEntry]:
        """In the order they were posted."""
        ...

    async def account_entries(self, accounts: Sequence[str], page: PageRequest) -> Page[LedgerEntry]:
        """The postings to the named accounts, in every book, in the order they were posted."""
        ...

    async def appropriation(self, fiscal_year: int, *, for_update: bool = False) -> Appropriation | None:
        """With ``for_update`` locked until the transaction ends: every draw from and return to
        the year's appropriation takes this lock (after the cycle's budget lock), so two cycles
        never draw the same money."""
        ...

    async def add_appropriation(self, appropriation: Appropriation) -> None: ...

    async def save_appropriation(self, appropriation: Appropriation) -> None: ...

    async def appropriations(self, page: PageRequest) -> Page[Appropriation]:
        """Newest fiscal year first."""
        ...

    async def add_concurrence(self, concurrence: FinanceConcurrence) -> None:
        """Appends a decision with its lines; decisions are never changed or removed."""
        ...

    async def concurrences_of_version(self, cycle_id: str, version: int) -> list[FinanceConcurrence]:
        """The decisions on one proposal version, oldest first, with their lines."""
        ...

    async def concurrences(self, cycle_id: str, page: PageRequest) -> Page[FinanceConcurrence]:
        """The cycle's decisions in the order they were taken, with their lines."""
        ...

    async def add_reservation_lines(self, lines: Sequence[ReservationLine]) -> None: ...

    async def reservation_lines(self, cycle_id: str, version: int) -> list[ReservationLine]: ...

    async def reservation_line(
        self, cycle_id: str, version: int, application_id: str
    ) -> ReservationLine | None: ...

    async def add_disbursement(self, disbursement: Disbursement) -> None: ...

    async def save_disbursement(self, disbursement: Disbursement) -> None: ...

    async def disbursement_by_key(self, idempotency_key: str) -> Disbursement | None: ...

    async def disbursement_started(self, cycle_id: str) -> bool:
        """Whether any of the cycle's disbursements is not FAILED (requested or paid)."""
        ...

    async def requested_disbursements(self, cycle_id: str) -> list[Disbursement]:
        """The cycle's disbursements awaiting the treasury's answer (REQUESTED), oldest first."""
        ...

    async def unfailed_disbursements(self, cycle_id: str, application_id: str) -> list[Disbursement]:
        """One application's disbursements that are not FAILED, oldest first."""
        ...

    async def disbursements(
        self, cycle_id: str, visible: Visibility, page: PageRequest
    ) -> Page[Disbursement]:
        """The cycle's disbursements ``visible`` admits, in the order they were requested."""
        ...


@dataclass(frozen=True)
class TreasuryReceipt:
    reference: str
    paid_at: datetime


class TreasuryRejected(Exception):
    """The treasury refused the order for good; paying again under the same key will not help.
    ``str()`` is the treasury's reason (recorded as the disbursement's failure)."""


class TreasuryUnavailable(Exception):
    """The outcome is unknown (transient failure): retry with the same idempotency key."""


class TreasuryOrderState(StrEnum):
    PAID = "paid"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # the treasury has no order of this key


@dataclass(frozen=True)
class TreasuryOrder:
    """What the treasury knows of one key: its state, and for PAID the receipt, the payee and the
    amount paid; for REFUSED the reason."""

    state: TreasuryOrderState
    receipt: TreasuryReceipt | None = None
    payee_organization_id: str = ""
    amount_fen: int = 0
    reason: str = ""


class Treasury(Protocol):
    async def pay(
        self, *, idempotency_key: str, payee_organization_id: str, amount_fen: int, memo: str
    ) -> TreasuryReceipt: ...

    async def status(self, *, idempotency_key: str) -> TreasuryOrder: ...
