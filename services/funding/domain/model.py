"""Funding's entities: what the use cases read and change, free of any table or message.

A :class:`Budget`'s and an :class:`Appropriation`'s amounts are a cache of the ledger, rewritten in
the same transaction as the postings they summarise; :class:`LedgerEntry`, :class:`ReservationLine`
and :class:`FinanceConcurrence` are append-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aicc.platform import authz
from aicc.platform.auth import Principal


class DisbursementStatus(StrEnum):
    REQUESTED = "requested"  # recorded; the treasury has not confirmed (yet)
    PAID = "paid"
    FAILED = "failed"  # refused by the treasury for good; a new key may retry


@dataclass
class Appropriation:
    """The programme's appropriation of one fiscal year (预算指标, Art. 3-4), opened by province
    finance; cycles draw their envelopes from it (mutable: the amounts are refreshed from the
    ledger)."""

    appropriation_id: str
    fiscal_year: int
    budget_document_no: str
    amount_fen: int
    drawn_fen: int
    available_fen: int
    performance_targets: str
    opened_by: str
    opened_by_name: str
    opened_at: datetime
    updated_at: datetime


@dataclass
class Budget:
    """A cycle's budget (mutable: the use cases refresh its amounts from the ledger).

    ``total_fen`` is the envelope drawn when it was opened; at the close what was not spent goes
    back to the appropriation (``returned_fen``), so ``total = available + reserved + disbursed +
    returned`` always. A budget of ``fiscal_year`` 0 was opened before appropriations existed
    (``appropriation_id`` empty). ``caps`` maps a tier to the most one award of it may be."""

    cycle_id: str
    total_fen: int
    available_fen: int
    reserved_fen: int
    disbursed_fen: int
    reservation_version: int
    created_at: datetime
    updated_at: datetime
    appropriation_id: str = ""
    fiscal_year: int = 0
    returned_fen: int = 0
    closed_at: datetime | None = None
    caps: dict[str, int] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class LedgerEntry:
    """One posting of a balanced transaction (signed fen: debit positive, credit negative)."""

    entry_id: str
    cycle_id: str  # empty for a movement of no cycle (an appropriation's opening)
    transaction_id: str
    kind: str  # appropriate | open | reserve | disburse | return
    account: str
    amount_fen: int
    memo: str
    posted_at: datetime


@dataclass(frozen=True)
class Line:
    """One application's line of a proposal (a use-case input; what finance concurs with and what
    is reserved): the payee, the amount and the tier whose cap bounds it."""

    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str
    tier: str = ""

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (self.application_id, self.organization_id, self.amount_fen, self.city_code, self.tier)


@dataclass(frozen=True)
class ReservationLine:
    """One application's line of a reserved proposal version (history kept)."""

    cycle_id: str
    version: int
    application_id: str
    organization_id: str
    city_code: str
    amount_fen: int
    created_at: datetime
    tier: str = ""

    def line(self) -> Line:
        return Line(self.application_id, self.organization_id, self.amount_fen, self.city_code, self.tier)


@dataclass(frozen=True)
class FinanceConcurrence:
    """Province finance's decision on one proposal version (Art. 10), recorded with the finance
    official's own token: agree (the lines it concurs with, which are all that may be reserved) or
    return (with its opinion). A concurrence is final for its version; a return is not (a proposal
    resubmitted unchanged keeps its version and may be concurred with afterwards)."""

    concurrence_id: str
    cycle_id: str
    proposal_version: int
    agree: bool
    opinion: str
    decided_by: str
    decided_by_name: str
    decided_at: datetime
    lines: tuple[Line, ...] = ()


@dataclass
class Disbursement:
    """One payment request to the treasury (mutable: REQUESTED → PAID or FAILED)."""

    disbursement_id: str
    cycle_id: str
    application_id: str
    organization_id: str
    city_code: str
    amount_fen: int
    status: DisbursementStatus
    idempotency_key: str
    treasury_reference: str
    failure: str
    transaction_id: str | None
    requested_at: datetime
    paid_at: datetime | None


@dataclass(frozen=True)
class Visibility:
    """Which disbursements a reader may see, as a filter a repository can apply in its query:
    everything, or those of one city and/or of one organisation (the union)."""

    everything: bool = False
    city_code: str | None = None
    organization_id: str | None = None

    @classmethod
    def of(cls, p: Principal) -> Visibility:
        """Exactly :func:`aicc.platform.authz.can_see_organization`, as a filter."""
        if authz.is_province_wide(p):
            return cls(everything=True)
        return cls(
            city_code=p.city_code if p.has(*authz.CITY_ROLES) else None,
            organization_id=p.organization_id if p.has(authz.APPLICANT) else None,
        )

    def admits(self, organization_id: str, city_code: str) -> bool:
        return (
            self.everything
            or (self.city_code is not None and city_code == self.city_code)
            or (self.organization_id is not None and organization_id == self.organization_id)
        )
