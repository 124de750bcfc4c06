"""Funding's entities: what the use cases read and change, free of any table or message.

A :class:`Budget`'s amounts are a cache of its cycle's ledger, rewritten in the same transaction as
the postings they summarise; :class:`LedgerEntry` and :class:`ReservationLine` are append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aicc.platform import authz
from aicc.platform.auth import Principal


class DisbursementStatus(StrEnum):
    REQUESTED = "requested"  # recorded; the treasury has not confirmed (yet)
    PAID = "paid"
    FAILED = "failed"  # refused by the treasury for good; a new key may retry


@dataclass
class Budget:
    """A cycle's budget (mutable: the use cases refresh its amounts from the ledger)."""

    cycle_id: str
    total_fen: int
    available_fen: int
    reserved_fen: int
    disbursed_fen: int
    reservation_version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    """One posting of a balanced transaction (signed fen: debit positive, credit negative)."""

    entry_id: str
    cycle_id: str
    transaction_id: str
    kind: str  # open | reserve | disburse
    account: str
    amount_fen: int
    memo: str
    posted_at: datetime


@dataclass(frozen=True)
class Line:
    """One application's line of a proposal to reserve for (a use-case input)."""

    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str


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
