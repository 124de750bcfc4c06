"""Intake's own tables. Nothing outside this service reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class CycleRow(Base):
    __tablename__ = "cycles"
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    policy_id: Mapped[str] = mapped_column(String(64))
    # The policy as it was when the cycle was created (snapshot, JSON).
    policy_json: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16))
    city_code: Mapped[str] = mapped_column(String(6))
    legal_basis: Mapped[list] = mapped_column(JSON)
    phase: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    proposal_version: Mapped[int] = mapped_column(Integer, default=0)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    applications_open_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applications_close_at: Mapped[datetime] = mapped_column(UtcDateTime)
    city_review_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    workflow_id: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ApplicationRow(Base):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("cycle_id", "organization_id"),)
    application_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"), index=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    operator_organization_id: Mapped[str] = mapped_column(String(64))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    title: Mapped[str] = mapped_column(String(200))
    service_lines: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    declaration: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    eligibility_failures: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recommendation_document_no: Mapped[str] = mapped_column(String(100), default="")
    recommendation_opinion: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class MaterialRow(Base):
    __tablename__ = "materials"
    material_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.application_id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class RecommendationRow(Base):
    """A city's joint recommendation document (联合行文), signed by both bureaus."""

    __tablename__ = "recommendations"
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.cycle_id"), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    document_no: Mapped[str] = mapped_column(String(100))
    items: Mapped[list] = mapped_column(JSON)
    signoffs: Mapped[list] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class IntakeStore:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Base) -> None:
        self.s.add(row)
        await self.s.flush()

    async def cycle(self, cycle_id: str, *, for_update: bool = False) -> CycleRow | None:
        q = select(CycleRow).where(CycleRow.cycle_id == cycle_id)
        if for_update:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def cycles(self) -> list[CycleRow]:
        return list((await self.s.execute(select(CycleRow).order_by(CycleRow.created_at.desc()))).scalars())

    async def application(self, application_id: str, *, for_update: bool = False) -> ApplicationRow | None:
        q = select(ApplicationRow).where(ApplicationRow.application_id == application_id)
        if for_update:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def application_of(self, cycle_id: str, organization_id: str) -> ApplicationRow | None:
        q = select(ApplicationRow).where(
            ApplicationRow.cycle_id == cycle_id, ApplicationRow.organization_id == organization_id
        )
        return (await self.s.execute(q)).scalar_one_or_none()

    async def applications(
        self,
        *,
        cycle_id: str | None = None,
        city_code: str | None = None,
        status: str | None = None,
        organization_id: str | None = None,
    ) -> list[ApplicationRow]:
        q = select(ApplicationRow).order_by(ApplicationRow.created_at, ApplicationRow.application_id)
        if cycle_id:
            q = q.where(ApplicationRow.cycle_id == cycle_id)
        if city_code:
            q = q.where(ApplicationRow.city_code == city_code)
        if status:
            q = q.where(ApplicationRow.status == status)
        if organization_id:
            q = q.where(ApplicationRow.organization_id == organization_id)
        return list((await self.s.execute(q)).scalars())

    async def materials(self, application_id: str) -> list[MaterialRow]:
        q = (
            select(MaterialRow)
            .where(MaterialRow.application_id == application_id)
            .order_by(MaterialRow.material_id)
        )
        return list((await self.s.execute(q)).scalars())

    async def materials_of(self, application_ids: list[str]) -> dict[str, list[MaterialRow]]:
        """Materials of several applications at once: {application_id: [material, …]}."""
        out: dict[str, list[MaterialRow]] = {a: [] for a in application_ids}
        if not application_ids:
            return out
        q = (
            select(MaterialRow)
            .where(MaterialRow.application_id.in_(application_ids))
            .order_by(MaterialRow.application_id, MaterialRow.material_id)
        )
        for m in (await self.s.execute(q)).scalars():
            out[m.application_id].append(m)
        return out

    async def recommendation(self, cycle_id: str, city_code: str) -> RecommendationRow | None:
        return await self.s.get(RecommendationRow, (cycle_id, city_code))
