"""The double-entry ledger of one cycle's budget — pure: it builds transactions, checks that they
balance, and derives balances from postings. Nothing here touches a database.

Amounts are signed integer fen: a debit is positive, a credit negative; the postings of every
transaction sum to zero, so the postings of a whole cycle do too.

Accounts (``<application_id>`` names one award):

=============================  =======================================================
``appropriation``              the source: the cycle's appropriation (balance = −total)
``budget:available``           budget not yet promised to anybody
``budget:reserved:<app>``      reserved for an application by the current proposal
``treasury:paid:<app>``        paid out to the recipient through the treasury
=============================  =======================================================

Movements:

- open:     Dr ``budget:available`` / Cr ``appropriation``               (total)
- reserve:  Dr ``budget:reserved:<app>`` / Cr ``budget:available``       (per application, the
  difference between the new proposal's amount and what is reserved now; a decrease or a dropped
  application is the reverse — release back to available)
- disburse: Dr ``treasury:paid:<app>`` / Cr ``budget:reserved:<app>``    (the whole reservation)

Hence ``total = available + reserved + disbursed`` always, and none of them may go negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

APPROPRIATION = "appropriation"
AVAILABLE = "budget:available"
RESERVED_PREFIX = "budget:reserved:"
PAID_PREFIX = "treasury:paid:"


def reserved_account(application_id: str) -> str:
    return RESERVED_PREFIX + application_id


def paid_account(application_id: str) -> str:
    return PAID_PREFIX + application_id


class LedgerError(ValueError):
    """A movement the ledger refuses (a programming error or a broken business rule)."""


class UnbalancedTransaction(LedgerError):
    pass


@dataclass
class ExceedsAvailable(LedgerError):
    requested_fen: int
    available_fen: int

    def __post_init__(self) -> None:
        super().__init__(f"requested {self.requested_fen} fen exceeds available {self.available_fen} fen")


@dataclass
class ReservationMismatch(LedgerError):
    application_id: str
    requested_fen: int
    reserved_fen: int

    def __post_init__(self) -> None:
        super().__init__(
            f"{self.application_id}: amount {self.requested_fen} fen differs from the reservation "
            f"{self.reserved_fen} fen"
        )


@dataclass(frozen=True)
class Posting:
    account: str
    amount_fen: int


@dataclass(frozen=True)
class Transaction:
    """One movement: two or more non-zero postings that sum to zero."""

    kind: str  # open | reserve | disburse
    memo: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise UnbalancedTransaction("a transaction needs at least two postings")
        for p in self.postings:
            if not isinstance(p.amount_fen, int) or isinstance(p.amount_fen, bool):
                raise UnbalancedTransaction(f"{p.account}: amounts are integer fen")
            if p.amount_fen == 0:
                raise UnbalancedTransaction(f"{p.account}: a posting of zero")
        total = sum(p.amount_fen for p in self.postings)
        if total != 0:
            raise UnbalancedTransaction(f"postings sum to {total} fen, not zero")


@dataclass(frozen=True)
class Balances:
    """What a cycle's postings add up to."""

    total_fen: int = 0
    available_fen: int = 0
    reserved_fen: int = 0
    disbursed_fen: int = 0
    reserved_by_application: Mapping[str, int] = field(default_factory=dict)
    paid_by_application: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_accounts(cls, accounts: Mapping[str, int]) -> Balances:
        reserved = {
            a[len(RESERVED_PREFIX) :]: v for a, v in accounts.items() if a.startswith(RESERVED_PREFIX) and v
        }
        paid = {a[len(PAID_PREFIX) :]: v for a, v in accounts.items() if a.startswith(PAID_PREFIX) and v}
        return cls(
            total_fen=-accounts.get(APPROPRIATION, 0),
            available_fen=accounts.get(AVAILABLE, 0),
            reserved_fen=sum(reserved.values()),
            disbursed_fen=sum(paid.values()),
            reserved_by_application=reserved,
            paid_by_application=paid,
        )

    def check(self) -> None:
        """The invariants every committed state satisfies."""
        if self.available_fen < 0:
            raise LedgerError(f"available would be negative ({self.available_fen} fen)")
        for app, v in {**self.reserved_by_application, **self.paid_by_application}.items():
            if v < 0:
                raise LedgerError(f"{app}: a negative reservation or payment ({v} fen)")
        if self.total_fen != self.available_fen + self.reserved_fen + self.disbursed_fen:
            raise LedgerError("total differs from available + reserved + disbursed")


def account_totals(postings: Iterable[Posting]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in postings:
        out[p.account] = out.get(p.account, 0) + p.amount_fen
    return out


def balances(postings: Iterable[Posting]) -> Balances:
    return Balances.from_accounts(account_totals(postings))


def apply(before: Mapping[str, int], txn: Transaction) -> dict[str, int]:
    """Account totals after ``txn``; refuses a result that breaks an invariant."""
    after = dict(before)
    for p in txn.postings:
        after[p.account] = after.get(p.account, 0) + p.amount_fen
    Balances.from_accounts(after).check()
    return after


# ------------------------------------------------------------------ movements


def open_budget(total_fen: int, memo: str = "budget opened") -> Transaction:
    if total_fen <= 0:
        raise LedgerError("a budget's total must be greater than zero")
    return Transaction("open", memo, (Posting(AVAILABLE, total_fen), Posting(APPROPRIATION, -total_fen)))


def reserve(current: Balances, lines: Mapping[str, int], memo: str) -> Transaction | None:
    """Replace the current reservation with ``lines`` (application id → fen): postings for the
    difference only. None when nothing changes. Refuses a total beyond what is not yet paid out, and
    touching an application that has been paid (its reservation is settled)."""
    for app, amount in lines.items():
        if not isinstance(amount, int) or amount <= 0:
            raise LedgerError(f"{app}: a reservation must be a positive number of fen")
    for app in current.paid_by_application:
        if app in lines or current.reserved_by_application.get(app):
            raise LedgerError(f"{app}: already paid; its reservation cannot change")
    requested = sum(lines.values())
    can_hold = current.available_fen + current.reserved_fen
    if requested > can_hold:
        raise ExceedsAvailable(requested, can_hold)
    postings: list[Posting] = []
    net = 0
    for app in sorted(set(lines) | set(current.reserved_by_application)):
        delta = lines.get(app, 0) - current.reserved_by_application.get(app, 0)
        if delta:
            postings.append(Posting(reserved_account(app), delta))
            net += delta
    if not postings:
        return None
    if net:
        postings.append(Posting(AVAILABLE, -net))
    return Transaction("reserve", memo, tuple(postings))


def disburse(current: Balances, application_id: str, amount_fen: int, memo: str) -> Transaction:
    """Pay an application's whole reservation: reserved → paid."""
    reserved = current.reserved_by_application.get(application_id, 0)
    if amount_fen <= 0 or amount_fen != reserved:
        raise ReservationMismatch(application_id, amount_fen, reserved)
    return Transaction(
        "disburse",
        memo,
        (
            Posting(paid_account(application_id), amount_fen),
            Posting(reserved_account(application_id), -amount_fen),
        ),
    )
