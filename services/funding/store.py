"""Funding's own tables and the queries its use cases need. Nothing outside this service reads them.

Ledger postings are append-only: the mapper refuses to update or delete one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Integer,
    String,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class BudgetRow(Base):
    """A cycle's budget. The amounts are a cache of the ledger, written in the same transaction as
    the postings they summarise."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("total_fen > 0", name="ck_budgets_total_positive"),
        CheckConstraint("available_fen >= 0", name="ck_budgets_available_non_negative"),
        CheckConstraint("reserved_fen >= 0", name="ck_budgets_reserved_non_negative"),
        CheckConstraint("disbursed_fen >= 0", name="ck_budgets_disbursed_non_negative"),
        CheckConstraint(
            "available_fen + reserved_fen + disbursed_fen = total_fen", name="ck_budgets_conserved"
        ),
    )
    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    available_fen: Mapped[int] = mapped_column(BigInteger)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reservation_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class LedgerEntryRow(Base):
    """One posting. Append-only."""

    __tablename__ = "ledger_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(64), unique=True)
    cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(500))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


@event.listens_for(LedgerEntryRow, "before_update")
@event.listens_for(LedgerEntryRow, "before_delete")
def _append_only(mapper, connection, target) -> None:  # noqa: ANN001
    raise RuntimeError("ledger entries are append-only")


class ReservationLineRow(Base):
    """One application's line of a reserved proposal version (history kept: append-only)."""

    __tablename__ = "reservation_lines"
    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(128))
    city_code: Mapped[str] = mapped_column(String(6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class DisbursementRow(Base):
    __tablename__ = "disbursements"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_disbursements_idempotency_key"),
        CheckConstraint("amount_fen > 0", name="ck_disbursements_amount_positive"),
    )
    disbursement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    organization_id: Mapped[str] = mapped_column(String(128))
    city_code: Mapped[str] = mapped_column(String(6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # requested | paid | failed
    idempotency_key: Mapped[str] = mapped_column(String(128))
    treasury_reference: Mapped[str] = mapped_column(String(64), default="")
    failure: Mapped[str] = mapped_column(String(500), default="")
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class FundingStore:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Base) -> None:
        self.s.add(row)
        await self.s.flush()

    async def add_all(self, rows: list[Base]) -> None:
        self.s.add_all(rows)
        await self.s.flush()

    async def budget(self, cycle_id: str, *, for_update: bool = False) -> BudgetRow | None:
        """With ``for_update`` the row is locked until the transaction ends (PostgreSQL
        ``SELECT ... FOR UPDATE``); SQLite serialises writers already (BEGIN IMMEDIATE)."""
        q = select(BudgetRow).where(BudgetRow.cycle_id == cycle_id)
        if for_update:
            q = q.with_for_update()
            q = q.execution_options(populate_existing=True)
        return (await self.s.execute(q)).scalar_one_or_none()

    async def account_totals(self, cycle_id: str) -> dict[str, int]:
        q = (
            select(LedgerEntryRow.account, func.sum(LedgerEntryRow.amount_fen))
            .where(LedgerEntryRow.cycle_id == cycle_id)
            .group_by(LedgerEntryRow.account)
        )
        return {a: int(v) for a, v in (await self.s.execute(q)).all()}

    async def ledger_entries(self, cycle_id: str) -> list[LedgerEntryRow]:
        q = select(LedgerEntryRow).where(LedgerEntryRow.cycle_id == cycle_id).order_by(LedgerEntryRow.seq)
        return list((await self.s.execute(q)).scalars())

    async def reservation_lines(self, cycle_id: str, version: int) -> list[ReservationLineRow]:
        q = (
            select(ReservationLineRow)
            .where(ReservationLineRow.cycle_id == cycle_id, ReservationLineRow.version == version)
            .order_by(ReservationLineRow.application_id)
        )
        return list((await self.s.execute(q)).scalars())

    async def reservation_line(
        self, cycle_id: str, version: int, application_id: str
    ) -> ReservationLineRow | None:
        return await self.s.get(ReservationLineRow, (cycle_id, version, application_id))

    async def disbursement_by_key(self, idempotency_key: str) -> DisbursementRow | None:
        q = select(DisbursementRow).where(DisbursementRow.idempotency_key == idempotency_key)
        return (await self.s.execute(q.execution_options(populate_existing=True))).scalar_one_or_none()

    async def disbursements(self, cycle_id: str, application_id: str | None = None) -> list[DisbursementRow]:
        q = select(DisbursementRow).where(DisbursementRow.cycle_id == cycle_id)
        if application_id:
            q = q.where(DisbursementRow.application_id == application_id)
        q = q.order_by(DisbursementRow.requested_at, DisbursementRow.disbursement_id)
        return list((await self.s.execute(q)).scalars())
