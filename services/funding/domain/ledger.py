"""The double-entry ledger of the programme's money — pure: it builds transactions, checks that they
balance, and derives balances from postings. Nothing here touches a database.

Amounts are signed integer fen: a debit is positive, a credit negative; the postings of every
transaction sum to zero, so the postings of the whole ledger (and of each cycle's book) do too.

Accounts (``<fy>`` a fiscal year, ``<app>`` one application):

=============================  ==========================================================
``budget_authority:<fy>``      the source: the budget authority of the year's appropriation
                               document (balance = −the appropriation's amount)
``appropriation:<fy>``         what is left of the year's appropriation (never negative)
``budget:available``           a cycle's envelope not yet promised to anybody
``budget:reserved:<app>``      reserved for an application by the current proposal
``treasury:paid:<app>``        paid out to the recipient through the treasury
``appropriation``              the source of a budget opened before appropriations existed
                               (legacy: balance = −that budget's total)
=============================  ==========================================================

Movements (the postings of a movement that concerns a cycle are in that cycle's book):

- appropriate: Dr ``appropriation:<fy>`` / Cr ``budget_authority:<fy>``   (province finance opens
  the year's appropriation; in no cycle's book)
- open (draw): Dr ``budget:available`` / Cr ``appropriation:<fy>``        (the cycle's envelope,
  never more than what is left of the appropriation)
- reserve:  Dr ``budget:reserved:<app>`` / Cr ``budget:available``       (per application, the
  difference between the new proposal's amount and what is reserved now; a decrease or a dropped
  application is the reverse — release back to available)
- disburse: Dr ``treasury:paid:<app>`` / Cr ``budget:reserved:<app>``    (the whole reservation)
- return:   Dr ``appropriation:<fy>`` / Cr ``budget:available`` and every ``budget:reserved:<app>``
  (at the cycle's close: what it did not spend goes back; paid money never moves again)

Hence, in a cycle's book, ``held = available + reserved + disbursed`` where ``held`` is what it
drew net of what it returned; and for a year, ``appropriated = left + Σ held`` over its cycles.
None of these may go negative: no movement creates or loses money.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

APPROPRIATION = "appropriation"  # legacy source (budgets opened before appropriations)
APPROPRIATION_PREFIX = "appropriation:"
AUTHORITY_PREFIX = "budget_authority:"
AVAILABLE = "budget:available"
RESERVED_PREFIX = "budget:reserved:"
PAID_PREFIX = "treasury:paid:"


def reserved_account(application_id: str) -> str:
    return RESERVED_PREFIX + application_id


def paid_account(application_id: str) -> str:
    return PAID_PREFIX + application_id


def appropriation_account(fiscal_year: int) -> str:
    return f"{APPROPRIATION_PREFIX}{fiscal_year}"


def authority_account(fiscal_year: int) -> str:
    return f"{AUTHORITY_PREFIX}{fiscal_year}"


def source_account(fiscal_year: int) -> str:
    """The account a cycle's envelope was drawn from (and returns to): its year's appropriation, or
    the legacy source of a budget opened before appropriations (fiscal year 0)."""
    return appropriation_account(fiscal_year) if fiscal_year else APPROPRIATION


def is_source(account: str) -> bool:
    return account == APPROPRIATION or account.startswith(APPROPRIATION_PREFIX)


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
class ExceedsAppropriation(LedgerError):
    requested_fen: int
    left_fen: int

    def __post_init__(self) -> None:
        super().__init__(
            f"requested {self.requested_fen} fen exceeds what is left of the appropriation ({self.left_fen} fen)"
        )


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

    kind: str  # appropriate | open | reserve | disburse | return
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
    """What a cycle's postings add up to. ``total_fen`` is what the cycle holds from its source:
    drawn, net of what it returned (after the close, what it paid)."""

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
            total_fen=-sum(v for a, v in accounts.items() if is_source(a)),
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


def _after(before: Mapping[str, int], txn: Transaction) -> dict[str, int]:
    after = dict(before)
    for p in txn.postings:
        after[p.account] = after.get(p.account, 0) + p.amount_fen
    return after


def apply(before: Mapping[str, int], txn: Transaction) -> dict[str, int]:
    """A cycle's account totals after ``txn``; refuses a result that breaks an invariant."""
    after = _after(before, txn)
    Balances.from_accounts(after).check()
    return after


@dataclass(frozen=True)
class AppropriationBalance:
    """What a year's appropriation adds up to, over the whole ledger (every cycle's book and the
    opening): ``amount`` appropriated, ``available`` left, ``drawn`` by cycles net of returns."""

    fiscal_year: int
    amount_fen: int = 0
    available_fen: int = 0

    @property
    def drawn_fen(self) -> int:
        return self.amount_fen - self.available_fen

    @classmethod
    def from_accounts(cls, fiscal_year: int, accounts: Mapping[str, int]) -> AppropriationBalance:
        return cls(
            fiscal_year,
            amount_fen=-accounts.get(authority_account(fiscal_year), 0),
            available_fen=accounts.get(appropriation_account(fiscal_year), 0),
        )

    def check(self) -> None:
        if self.available_fen < 0:
            raise LedgerError(
                f"appropriation {self.fiscal_year} would be overdrawn ({self.available_fen} fen)"
            )
        if self.available_fen > self.amount_fen:
            raise LedgerError(f"appropriation {self.fiscal_year}: more returned than was drawn")


def apply_to_appropriation(before: AppropriationBalance, txn: Transaction) -> AppropriationBalance:
    """The year's appropriation after ``txn`` (given its balance before); refuses an overdraft."""
    fy = before.fiscal_year
    totals = _after(
        {authority_account(fy): -before.amount_fen, appropriation_account(fy): before.available_fen}, txn
    )
    after = AppropriationBalance.from_accounts(fy, totals)
    after.check()
    return after


# ------------------------------------------------------------------ movements


def appropriate(fiscal_year: int, amount_fen: int, memo: str) -> Transaction:
    """Province finance opens the year's appropriation: authority → appropriation."""
    if amount_fen <= 0:
        raise LedgerError("an appropriation must be greater than zero")
    return Transaction(
        "appropriate",
        memo,
        (
            Posting(appropriation_account(fiscal_year), amount_fen),
            Posting(authority_account(fiscal_year), -amount_fen),
        ),
    )


def open_budget(total_fen: int, memo: str = "budget opened", *, source: str = APPROPRIATION) -> Transaction:
    """The movement of a cycle's envelope from ``source`` to available (unchecked: see :func:`draw`)."""
    if total_fen <= 0:
        raise LedgerError("a budget's total must be greater than zero")
    return Transaction("open", memo, (Posting(AVAILABLE, total_fen), Posting(source, -total_fen)))


def draw(appropriation: AppropriationBalance, total_fen: int, memo: str) -> Transaction:
    """A cycle's envelope drawn from its year's appropriation; refuses more than is left."""
    if total_fen > appropriation.available_fen:
        raise ExceedsAppropriation(total_fen, appropriation.available_fen)
    return open_budget(total_fen, memo, source=appropriation_account(appropriation.fiscal_year))


def return_unspent(current: Balances, source: str, memo: str) -> Transaction | None:
    """What a closing cycle did not spend — available and reserved-but-unpaid — back to ``source``;
    paid money never moves. None when nothing is left."""
    postings = [Posting(AVAILABLE, -current.available_fen)] if current.available_fen else []
    postings += [
        Posting(reserved_account(app), -v) for app, v in sorted(current.reserved_by_application.items()) if v
    ]
    unspent = current.available_fen + current.reserved_fen
    if not unspent:
        return None
    return Transaction("return", memo, (Posting(source, unspent), *postings))


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
