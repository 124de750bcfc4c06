"""Supervision's own tables and the queries its use cases need. Nothing outside this service reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String, Text, UniqueConstraint, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class SupervisedCycleRow(Base):
    """A cycle under supervision: known once its performance targets were created (even with no awards)."""

    __tablename__ = "supervised_cycles"
    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class AwardRow(Base):
    """An award under supervision (from the announcement): whose it is, where, how much."""

    __tablename__ = "awards"
    cycle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(128), index=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class TargetRow(Base):
    __tablename__ = "performance_targets"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", "code", name="uq_targets_award_code"),)
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    organization_id: Mapped[str] = mapped_column(String(128))
    city_code: Mapped[str] = mapped_column(String(6))
    code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000))
    unit: Mapped[str] = mapped_column(String(64))
    target_value: Mapped[str] = mapped_column(String(200))
    reported_value: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class MonitoringReportRow(Base):
    __tablename__ = "monitoring_reports"
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    application_id: Mapped[str] = mapped_column(String(128), index=True)
    # [{"target_id": ..., "value": ...}, ...]
    values: Mapped[list] = mapped_column(JSON)
    narrative: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", name="uq_evaluations_award"),)
    evaluation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(128), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    grade: Mapped[str] = mapped_column(String(16))  # excellent | good | pass | fail
    comments: Mapped[str] = mapped_column(Text)
    evaluated_by: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class SupervisionStore:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Base) -> None:
        self.s.add(row)
        await self.s.flush()

    async def cycle(self, cycle_id: str) -> SupervisedCycleRow | None:
        return await self.s.get(SupervisedCycleRow, cycle_id)

    async def award(self, cycle_id: str, application_id: str) -> AwardRow | None:
        return await self.s.get(AwardRow, (cycle_id, application_id))

    async def awards(self, cycle_id: str) -> list[AwardRow]:
        q = select(AwardRow).where(AwardRow.cycle_id == cycle_id).order_by(AwardRow.application_id)
        return list((await self.s.execute(q)).scalars())

    async def targets(self, cycle_id: str, application_id: str | None = None) -> list[TargetRow]:
        q = select(TargetRow).where(TargetRow.cycle_id == cycle_id)
        if application_id:
            q = q.where(TargetRow.application_id == application_id)
        q = q.order_by(TargetRow.application_id, TargetRow.code)
        return list((await self.s.execute(q)).scalars())

    async def report_count(self, cycle_id: str, application_id: str) -> int:
        q = (
            select(func.count())
            .select_from(MonitoringReportRow)
            .where(
                MonitoringReportRow.cycle_id == cycle_id, MonitoringReportRow.application_id == application_id
            )
        )
        return int((await self.s.execute(q)).scalar_one())

    async def evaluation(self, cycle_id: str, application_id: str) -> EvaluationRow | None:
        q = select(EvaluationRow).where(
            EvaluationRow.cycle_id == cycle_id, EvaluationRow.application_id == application_id
        )
        return (await self.s.execute(q)).scalar_one_or_none()

    async def status_counts(self, cycle_id: str) -> tuple[int, int, int]:
        awards = select(func.count()).select_from(AwardRow).where(AwardRow.cycle_id == cycle_id)
        reported = select(func.count(distinct(MonitoringReportRow.application_id))).where(
            MonitoringReportRow.cycle_id == cycle_id
        )
        evaluated = select(func.count()).select_from(EvaluationRow).where(EvaluationRow.cycle_id == cycle_id)
        return tuple([int((await self.s.execute(q)).scalar_one()) for q in (awards, reported, evaluated)])  # type: ignore[return-value]
