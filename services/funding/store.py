"""Funding's own tables and the repository its use cases are written against
(:class:`services.funding.domain.ports.FundingRepository`). Nothing outside this service reads them.

The repository takes and returns domain entities, never rows. Ledger postings and finance's
decisions are append-only: the mapper refuses to update or delete one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    or_,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col

from aicc.platform import integrity
from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.errors import Aborted
from aicc.platform.pagination import Page, PageRequest
from services.funding.domain.model import (
    Appropriation,
    Budget,
    Disbursement,
    DisbursementStatus,
    FinanceConcurrence,
    LedgerEntry,
    Line,
    ReservationLine,
    Visibility,
)


class Base(SQLModel, registry=registry()):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class AppropriationRow(Base, table=True):
    """A fiscal year's appropriation (one per year in this instance's database). The amounts drawn
    and left are a cache of the ledger's ``appropriation:<year>`` account, written in the same
    transaction as the postings."""

    __tablename__ = "appropriations"
    __table_args__ = (
        UniqueConstraint("fiscal_year", name="uq_appropriations_fiscal_year"),
        CheckConstraint("amount_fen > 0", name="ck_appropriations_amount_positive"),
        CheckConstraint("available_fen >= 0", name="ck_appropriations_available_non_negative"),
        CheckConstraint("drawn_fen >= 0", name="ck_appropriations_drawn_non_negative"),
        CheckConstraint("drawn_fen + available_fen = amount_fen", name="ck_appropriations_conserved"),
    )
    appropriation_id: str = Field(sa_type=String(64), primary_key=True)
    fiscal_year: int = Field(sa_type=Integer)
    budget_document_no: str = Field(sa_type=String(100))
    amount_fen: int = Field(sa_type=BigInteger)
    drawn_fen: int = Field(default=0, sa_type=BigInteger)
    available_fen: int = Field(sa_type=BigInteger)
    performance_targets: str = Field(sa_type=Text)
    opened_by: str = Field(sa_type=String(128))
    opened_by_name: str = Field(default="", sa_type=String(200))
    opened_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class BudgetRow(Base, table=True):
    """A cycle's budget. The amounts are a cache of the ledger, written in the same transaction as
    the postings they summarise. ``fiscal_year`` 0: opened before appropriations existed."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("total_fen > 0", name="ck_budgets_total_positive"),
        CheckConstraint("available_fen >= 0", name="ck_budgets_available_non_negative"),
        CheckConstraint("reserved_fen >= 0", name="ck_budgets_reserved_non_negative"),
        CheckConstraint("disbursed_fen >= 0", name="ck_budgets_disbursed_non_negative"),
        CheckConstraint("returned_fen >= 0", name="ck_budgets_returned_non_negative"),
        CheckConstraint(
            "available_fen + reserved_fen + disbursed_fen + returned_fen = total_fen",
            name="ck_budgets_conserved",
        ),
    )
    cycle_id: str = Field(sa_type=String(128), primary_key=True)
    total_fen: int = Field(sa_type=BigInteger)
    available_fen: int = Field(sa_type=BigInteger)
    reserved_fen: int = Field(default=0, sa_type=BigInteger)
    disbursed_fen: int = Field(default=0, sa_type=BigInteger)
    reservation_version: int = Field(default=0, sa_type=Integer)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    appropriation_id: str = Field(default="", sa_type=String(64))
    fiscal_year: int = Field(default=0, sa_type=Integer, index=True)
    returned_fen: int = Field(default=0, sa_type=BigInteger)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    # tier → the most one award of it may be (fen), from the cycle's policy (Art. 11)
    caps: dict[str, int] = Field(default_factory=dict, sa_type=JSON)


class LedgerEntryRow(Base, table=True):
    """One posting. Append-only."""

    __tablename__ = "ledger_entries"
    seq: int | None = Field(
        default=None, sa_type=Integer, primary_key=True, sa_column_kwargs={"autoincrement": True}
    )
    entry_id: str = Field(sa_type=String(64), unique=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    transaction_id: str = Field(sa_type=String(64), index=True)
    kind: str = Field(sa_type=String(16))
    account: str = Field(sa_type=String(200), index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    memo: str = Field(sa_type=String(500))
    posted_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))
    # The ledger chain: HMAC-SM3(key, previous entry's chain || integrity), in seq order.
    chain: str = Field(default="", sa_type=String(64))


@event.listens_for(LedgerEntryRow, "before_update")
@event.listens_for(LedgerEntryRow, "before_delete")
def _append_only(mapper: Any, connection: Any, target: Any) -> None:
    raise RuntimeError("ledger entries are append-only")


class ReservationLineRow(Base, table=True):
    """One application's line of a reserved proposal version (history kept: append-only)."""

    __tablename__ = "reservation_lines"
    cycle_id: str = Field(sa_type=String(128), primary_key=True)
    version: int = Field(sa_type=Integer, primary_key=True)
    application_id: str = Field(sa_type=String(128), primary_key=True)
    organization_id: str = Field(sa_type=String(128))
    city_code: str = Field(sa_type=String(6))
    amount_fen: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    tier: str = Field(default="", sa_type=String(32))
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class FinanceConcurrenceRow(Base, table=True):
    """Province finance's decision on one proposal version (append-only)."""

    __tablename__ = "finance_concurrences"
    concurrence_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    proposal_version: int = Field(sa_type=Integer)
    agree: bool = Field(sa_type=Boolean)
    opinion: str = Field(sa_type=Text)
    decided_by: str = Field(sa_type=String(128))
    decided_by_name: str = Field(default="", sa_type=String(200))
    decided_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class FinanceConcurrenceLineRow(Base, table=True):
    """One line a decision names (append-only)."""

    __tablename__ = "finance_concurrence_lines"
    concurrence_id: str = Field(sa_type=String(64), primary_key=True)
    application_id: str = Field(sa_type=String(128), primary_key=True)
    organization_id: str = Field(sa_type=String(128))
    city_code: str = Field(sa_type=String(6))
    amount_fen: int = Field(sa_type=BigInteger)
    tier: str = Field(sa_type=String(32))
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


@event.listens_for(FinanceConcurrenceRow, "before_update")
@event.listens_for(FinanceConcurrenceRow, "before_delete")
@event.listens_for(FinanceConcurrenceLineRow, "before_update")
@event.listens_for(FinanceConcurrenceLineRow, "before_delete")
def _decisions_append_only(mapper: Any, connection: Any, target: Any) -> None:
    raise RuntimeError("finance's decisions are append-only")


class DisbursementRow(Base, table=True):
    __tablename__ = "disbursements"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_disbursements_idempotency_key"),
        CheckConstraint("amount_fen > 0", name="ck_disbursements_amount_positive"),
    )
    disbursement_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    application_id: str = Field(sa_type=String(128), index=True)
    organization_id: str = Field(sa_type=String(128))
    city_code: str = Field(sa_type=String(6))
    amount_fen: int = Field(sa_type=BigInteger)
    status: str = Field(sa_type=String(16))  # requested | paid | failed
    idempotency_key: str = Field(sa_type=String(128))
    treasury_reference: str = Field(default="", sa_type=String(64))
    failure: str = Field(default="", sa_type=String(500))
    transaction_id: str | None = Field(default=None, sa_type=String(64), nullable=True)
    requested_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


# Records a decision or a payment rests on: integrity codes (aicc/platform/integrity.py).
integrity.protect(LedgerEntryRow, chain_order="seq", exclude=("seq",))
integrity.protect(ReservationLineRow)
integrity.protect(FinanceConcurrenceRow)
integrity.protect(FinanceConcurrenceLineRow)
integrity.protect(DisbursementRow)


# Keyset orders of the lists (the last column unique), as the tables' columns.
LEDGER_ORDER = (sa_inspect(LedgerEntryRow).c.seq,)
DISBURSEMENT_ORDER = (
    sa_inspect(DisbursementRow).c.requested_at,
    sa_inspect(DisbursementRow).c.disbursement_id,
)
APPROPRIATION_ORDER = (sa_inspect(AppropriationRow).c.fiscal_year,)  # descending: newest first
CONCURRENCE_ORDER = (
    sa_inspect(FinanceConcurrenceRow).c.decided_at,
    sa_inspect(FinanceConcurrenceRow).c.concurrence_id,
)


def _is_unique_violation(e: IntegrityError) -> bool:
    """A duplicate key (PostgreSQL SQLSTATE 23505; SQLite "UNIQUE constraint failed"), as opposed to
    a broken check constraint, which is a defect and stays one."""
    return getattr(e.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(e.orig)


@contextmanager
def _lost_race(what: str, what_zh: str) -> Iterator[None]:
    """A concurrent transaction inserted the same key first: ABORTED, so the caller tries again."""
    try:
        yield
    except IntegrityError as e:
        if not _is_unique_violation(e):
            raise
        raise Aborted(
            f"{what} was written by a concurrent request; try again",
            f"{what_zh}已被并发请求写入，请重试",
            reason="CONCURRENT_WRITE",
        ) from e


def _disbursement(row: DisbursementRow) -> Disbursement:
    d = to_entity(Disbursement, row)
    d.status = DisbursementStatus(row.status)
    return d


class FundingStore:
    """:class:`services.funding.domain.ports.FundingRepository` on one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _update(self, table: type[Base], key: object, entity: object) -> None:
        """Writes a changed entity back onto its stored row (loaded in this transaction already)."""
        row = await self.s.get(table, key)
        if row is None:
            raise LookupError(f"{table.__name__} {key!r} is not stored")
        for name, value in values_of(entity).items():
            setattr(row, name, value)
        await self.s.flush()

    # ------------------------------------------------------------ budgets

    async def budget(self, cycle_id: str, *, for_update: bool = False) -> Budget | None:
        """With ``for_update`` the row is locked until the transaction ends (PostgreSQL
        ``SELECT ... FOR UPDATE``); SQLite serialises writers already (BEGIN IMMEDIATE)."""
        q = select(BudgetRow).where(col(BudgetRow.cycle_id) == cycle_id)
        if for_update:
            q = q.with_for_update().execution_options(populate_existing=True)
        row = (await self.s.execute(q)).scalar_one_or_none()
        return None if row is None else to_entity(Budget, row)

    async def add_budget(self, budget: Budget) -> None:
        with _lost_race(f"the budget of cycle {budget.cycle_id}", f"年度 {budget.cycle_id} 的预算"):
            self.s.add(BudgetRow(**values_of(budget)))
            await self.s.flush()

    async def save_budget(self, budget: Budget) -> None:
        await self._update(BudgetRow, budget.cycle_id, budget)

    # ------------------------------------------------------------ ledger

    async def account_totals(self, cycle_id: str) -> dict[str, int]:
        q = (
            select(col(LedgerEntryRow.account), func.sum(col(LedgerEntryRow.amount_fen)))
            .where(col(LedgerEntryRow.cycle_id) == cycle_id)
            .group_by(col(LedgerEntryRow.account))
        )
        return {a: int(v) for a, v in (await self.s.execute(q)).all()}

    async def account_balances(self, accounts: Sequence[str]) -> dict[str, int]:
        q = (
            select(col(LedgerEntryRow.account), func.sum(col(LedgerEntryRow.amount_fen)))
            .where(col(LedgerEntryRow.account).in_(list(accounts)))
            .group_by(col(LedgerEntryRow.account))
        )
        return {a: int(v) for a, v in (await self.s.execute(q)).all()}

    async def add_ledger_entries(self, entries: Sequence[LedgerEntry]) -> None:
        self.s.add_all([LedgerEntryRow(**values_of(e)) for e in entries])
        await self.s.flush()

    async def ledger_entries(self, cycle_id: str, page: PageRequest) -> Page[LedgerEntry]:
        rows, cursor = await keyset_page(
            self.s,
            select(LedgerEntryRow).where(col(LedgerEntryRow.cycle_id) == cycle_id),
            LEDGER_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page([to_entity(LedgerEntry, r) for r in rows], cursor)

    async def account_entries(self, accounts: Sequence[str], page: PageRequest) -> Page[LedgerEntry]:
        rows, cursor = await keyset_page(
            self.s,
            select(LedgerEntryRow).where(col(LedgerEntryRow.account).in_(list(accounts))),
            LEDGER_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page([to_entity(LedgerEntry, r) for r in rows], cursor)

    # ------------------------------------------------------------ appropriations

    async def appropriation(self, fiscal_year: int, *, for_update: bool = False) -> Appropriation | None:
        q = select(AppropriationRow).where(col(AppropriationRow.fiscal_year) == fiscal_year)
        if for_update:
            q = q.with_for_update().execution_options(populate_existing=True)
        row = (await self.s.execute(q)).scalar_one_or_none()
        return None if row is None else to_entity(Appropriation, row)

    async def add_appropriation(self, appropriation: Appropriation) -> None:
        fy = appropriation.fiscal_year
        with _lost_race(f"the appropriation of fiscal year {fy}", f"{fy} 年度预算指标"):
            self.s.add(AppropriationRow(**values_of(appropriation)))
            await self.s.flush()

    async def save_appropriation(self, appropriation: Appropriation) -> None:
        await self._update(AppropriationRow, appropriation.appropriation_id, appropriation)

    async def appropriations(self, page: PageRequest) -> Page[Appropriation]:
        rows, cursor = await keyset_page(
            self.s,
            select(AppropriationRow),
            APPROPRIATION_ORDER,
            after=page.after,
            size=page.size,
            descending=True,
        )
        return Page([to_entity(Appropriation, r) for r in rows], cursor)

    # ------------------------------------------------------------ finance's decisions

    async def add_concurrence(self, concurrence: FinanceConcurrence) -> None:
        c = concurrence
        self.s.add(
            FinanceConcurrenceRow(
                **{k: v for k, v in values_of(c).items() if k != "lines"},
            )
        )
        self.s.add_all(
            [
                FinanceConcurrenceLineRow(
                    concurrence_id=c.concurrence_id,
                    application_id=x.application_id,
                    organization_id=x.organization_id,
                    city_code=x.city_code,
                    amount_fen=x.amount_fen,
                    tier=x.tier,
                )
                for x in c.lines
            ]
        )
        await self.s.flush()

    async def _with_lines(self, rows: Sequence[FinanceConcurrenceRow]) -> list[FinanceConcurrence]:
        ids = [r.concurrence_id for r in rows]
        if not ids:
            return []
        q = (
            select(FinanceConcurrenceLineRow)
            .where(col(FinanceConcurrenceLineRow.concurrence_id).in_(ids))
            .order_by(col(FinanceConcurrenceLineRow.application_id))
        )
        lines: dict[str, list[Line]] = {i: [] for i in ids}
        for x in (await self.s.execute(q)).scalars():
            lines[x.concurrence_id].append(
                Line(x.application_id, x.organization_id, x.amount_fen, x.city_code, x.tier)
            )
        return [
            FinanceConcurrence(
                concurrence_id=r.concurrence_id,
                cycle_id=r.cycle_id,
                proposal_version=r.proposal_version,
                agree=r.agree,
                opinion=r.opinion,
                decided_by=r.decided_by,
                decided_by_name=r.decided_by_name,
                decided_at=r.decided_at,
                lines=tuple(lines[r.concurrence_id]),
            )
            for r in rows
        ]

    async def concurrences_of_version(self, cycle_id: str, version: int) -> list[FinanceConcurrence]:
        q = (
            select(FinanceConcurrenceRow)
            .where(
                col(FinanceConcurrenceRow.cycle_id) == cycle_id,
                col(FinanceConcurrenceRow.proposal_version) == version,
            )
            .order_by(*CONCURRENCE_ORDER)
        )
        return await self._with_lines(list((await self.s.execute(q)).scalars()))

    async def concurrences(self, cycle_id: str, page: PageRequest) -> Page[FinanceConcurrence]:
        rows, cursor = await keyset_page(
            self.s,
            select(FinanceConcurrenceRow).where(col(FinanceConcurrenceRow.cycle_id) == cycle_id),
            CONCURRENCE_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page(await self._with_lines(rows), cursor)

    # ------------------------------------------------------------ reservations

    async def add_reservation_lines(self, lines: Sequence[ReservationLine]) -> None:
        self.s.add_all([ReservationLineRow(**values_of(x)) for x in lines])
        await self.s.flush()

    async def reservation_lines(self, cycle_id: str, version: int) -> list[ReservationLine]:
        q = (
            select(ReservationLineRow)
            .where(col(ReservationLineRow.cycle_id) == cycle_id, col(ReservationLineRow.version) == version)
            .order_by(col(ReservationLineRow.application_id))
        )
        return [to_entity(ReservationLine, r) for r in (await self.s.execute(q)).scalars()]

    async def reservation_line(
        self, cycle_id: str, version: int, application_id: str
    ) -> ReservationLine | None:
        row = await self.s.get(ReservationLineRow, (cycle_id, version, application_id))
        return None if row is None else to_entity(ReservationLine, row)

    # ------------------------------------------------------------ disbursements

    async def add_disbursement(self, disbursement: Disbursement) -> None:
        key = disbursement.idempotency_key
        with _lost_race(f"the disbursement of idempotency key {key!r}", f"幂等键 {key} 的拨付"):
            self.s.add(DisbursementRow(**values_of(disbursement)))
            await self.s.flush()

    async def save_disbursement(self, disbursement: Disbursement) -> None:
        await self._update(DisbursementRow, disbursement.disbursement_id, disbursement)

    async def disbursement_by_key(self, idempotency_key: str) -> Disbursement | None:
        q = select(DisbursementRow).where(col(DisbursementRow.idempotency_key) == idempotency_key)
        row = (await self.s.execute(q.execution_options(populate_existing=True))).scalar_one_or_none()
        return None if row is None else _disbursement(row)

    async def disbursement_started(self, cycle_id: str) -> bool:
        q = (
            select(col(DisbursementRow.disbursement_id))
            .where(
                col(DisbursementRow.cycle_id) == cycle_id,
                col(DisbursementRow.status) != DisbursementStatus.FAILED.value,
            )
            .limit(1)
        )
        return (await self.s.execute(q)).first() is not None

    async def requested_disbursements(self, cycle_id: str) -> list[Disbursement]:
        q = (
            select(DisbursementRow)
            .where(
                col(DisbursementRow.cycle_id) == cycle_id,
                col(DisbursementRow.status) == DisbursementStatus.REQUESTED.value,
            )
            .order_by(*DISBURSEMENT_ORDER)
        )
        return [_disbursement(r) for r in (await self.s.execute(q)).scalars()]

    async def unfailed_disbursements(self, cycle_id: str, application_id: str) -> list[Disbursement]:
        q = (
            select(DisbursementRow)
            .where(
                col(DisbursementRow.cycle_id) == cycle_id,
                col(DisbursementRow.application_id) == application_id,
                col(DisbursementRow.status) != DisbursementStatus.FAILED.value,
            )
            .order_by(col(DisbursementRow.requested_at), col(DisbursementRow.disbursement_id))
        )
        return [_disbursement(r) for r in (await self.s.execute(q)).scalars()]

    async def disbursements(
        self, cycle_id: str, visible: Visibility, page: PageRequest
    ) -> Page[Disbursement]:
        q = select(DisbursementRow).where(col(DisbursementRow.cycle_id) == cycle_id)
        if not visible.everything:
            admitted = []
            if visible.city_code is not None:
                admitted.append(col(DisbursementRow.city_code) == visible.city_code)
            if visible.organization_id is not None:
                admitted.append(col(DisbursementRow.organization_id) == visible.organization_id)
            if not admitted:
                return Page([])
            q = q.where(or_(*admitted))
        rows, cursor = await keyset_page(
            self.s,
            q,
            DISBURSEMENT_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page([_disbursement(r) for r in rows], cursor)
