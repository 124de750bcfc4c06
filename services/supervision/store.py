"""Supervision's own tables (SQLModel, on a registry of its own) and the repository its use cases
work with (:class:`services.supervision.domain.ports.SupervisionRepository`): it takes and returns
domain entities, never rows. Nothing outside this service reads these tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text, UniqueConstraint, distinct, func, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from aicc.platform import integrity
from aicc.platform.audit import audit_table
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.pagination import Page, PageRequest
from services.supervision.domain.model import (
    Award,
    Evaluation,
    Grade,
    MonitoringReport,
    PerformanceTarget,
    SupervisedCycle,
    SupervisionConclusion,
    SupervisionStatus,
)
from services.supervision.domain.ports import DuplicateKey


class Base(SQLModel, registry=registry()):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class SupervisedCycleRow(Base, table=True):
    """A cycle under supervision: known once its performance targets were created (even with no awards)."""

    __tablename__ = "supervised_cycles"
    cycle_id: str = Field(sa_type=String(128), primary_key=True)
    created_at: datetime = Field(sa_type=UtcDateTime)


class AwardRow(Base, table=True):
    """An award under supervision (from the announcement): whose it is, where, how much."""

    __tablename__ = "awards"
    cycle_id: str = Field(sa_type=String(128), primary_key=True)
    application_id: str = Field(sa_type=String(128), primary_key=True)
    organization_id: str = Field(sa_type=String(128), index=True)
    city_code: str = Field(sa_type=String(6), index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)


class TargetRow(Base, table=True):
    __tablename__ = "performance_targets"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", "code", name="uq_targets_award_code"),)
    target_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    application_id: str = Field(sa_type=String(128), index=True)
    organization_id: str = Field(sa_type=String(128))
    city_code: str = Field(sa_type=String(6))
    code: str = Field(sa_type=String(64))
    description: str = Field(sa_type=String(1000))
    unit: str = Field(sa_type=String(64))
    target_value: str = Field(sa_type=String(200))
    reported_value: str = Field(sa_type=String(200), default="")
    created_at: datetime = Field(sa_type=UtcDateTime)


class MonitoringReportRow(Base, table=True):
    __tablename__ = "monitoring_reports"
    report_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    application_id: str = Field(sa_type=String(128), index=True)
    # [{"target_id": ..., "value": ...}, ...]
    values: list[dict[str, str]] = Field(sa_type=JSON)
    narrative: str = Field(sa_type=Text)
    submitted_by: str = Field(sa_type=String(64))
    submitted_at: datetime = Field(sa_type=UtcDateTime)


class EvaluationRow(Base, table=True):
    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", name="uq_evaluations_award"),)
    evaluation_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(128), index=True)
    application_id: str = Field(sa_type=String(128))
    grade: str = Field(sa_type=String(16))  # a domain Grade's value: excellent | good | pass | fail
    comments: str = Field(sa_type=Text)
    evaluated_by: str = Field(sa_type=String(64))
    evaluated_at: datetime = Field(sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


# Records a decision or a payment rests on: integrity codes (aicc/platform/integrity.py).
integrity.protect(EvaluationRow)


class ConclusionRow(Base, table=True):
    """A cycle's supervision conclusion: one per cycle (the key), written once, never changed."""

    __tablename__ = "supervision_conclusions"
    cycle_id: str = Field(sa_type=String(128), primary_key=True)
    summary: str = Field(sa_type=Text)
    concluded_by: str = Field(sa_type=String(128))
    concluded_by_name: str = Field(sa_type=String(200))
    concluded_at: datetime = Field(sa_type=UtcDateTime)
    awards: int
    evaluated: int
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


integrity.protect(ConclusionRow)


# The order targets are listed (and paged) in; the last column is unique.
_targets = inspect(TargetRow).c
TARGET_ORDER = (_targets.application_id, _targets.code, _targets.target_id)


def _evaluation(row: EvaluationRow) -> Evaluation:
    return Evaluation(**{**values_of(to_entity(Evaluation, row)), "grade": Grade(row.grade)})


class SupervisionStore:
    """The repository of one unit of work (one session, one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _add(self, row: Base) -> None:
        self.s.add(row)
        try:
            await self.s.flush()
        except IntegrityError as e:  # a concurrent transaction took the key first
            raise DuplicateKey(str(e.orig)) from e

    async def cycle(self, cycle_id: str) -> SupervisedCycle | None:
        row = await self.s.get(SupervisedCycleRow, cycle_id)
        return None if row is None else to_entity(SupervisedCycle, row)

    async def add_cycle(self, cycle: SupervisedCycle) -> None:
        await self._add(SupervisedCycleRow(**values_of(cycle)))

    async def award(self, cycle_id: str, application_id: str) -> Award | None:
        row = await self.s.get(AwardRow, (cycle_id, application_id))
        return None if row is None else to_entity(Award, row)

    async def awards(self, cycle_id: str) -> list[Award]:
        q = select(AwardRow).where(AwardRow.cycle_id == cycle_id).order_by(col(AwardRow.application_id))
        return [to_entity(Award, r) for r in (await self.s.execute(q)).scalars()]

    async def add_award(self, award: Award) -> None:
        await self._add(AwardRow(**values_of(award)))

    async def targets_of(self, cycle_id: str, application_id: str) -> list[PerformanceTarget]:
        q = (
            select(TargetRow)
            .where(TargetRow.cycle_id == cycle_id, TargetRow.application_id == application_id)
            .order_by(*TARGET_ORDER)
        )
        return [to_entity(PerformanceTarget, r) for r in (await self.s.execute(q)).scalars()]

    async def page_targets(
        self, cycle_id: str, application_ids: Sequence[str], page: PageRequest
    ) -> Page[PerformanceTarget]:
        q = select(TargetRow).where(
            TargetRow.cycle_id == cycle_id, col(TargetRow.application_id).in_(application_ids)
        )
        rows, cursor = await keyset_page(self.s, q, TARGET_ORDER, after=page.after, size=page.size)
        return Page([to_entity(PerformanceTarget, r) for r in rows], cursor)

    async def add_target(self, target: PerformanceTarget) -> None:
        await self._add(TargetRow(**values_of(target)))

    async def update_targets(self, targets: Sequence[PerformanceTarget]) -> None:
        for t in targets:
            row = await self.s.get(TargetRow, t.target_id)
            if row is None:
                raise LookupError(f"performance target {t.target_id} is not stored")
            for name, value in values_of(t).items():
                setattr(row, name, value)
        await self.s.flush()

    async def add_report(self, report: MonitoringReport) -> None:
        values: dict[str, Any] = values_of(report)
        values["values"] = [{"target_id": v.target_id, "value": v.value} for v in report.values]
        await self._add(MonitoringReportRow(**values))

    async def report_count(self, cycle_id: str, application_id: str) -> int:
        q = (
            select(func.count())
            .select_from(MonitoringReportRow)
            .where(
                MonitoringReportRow.cycle_id == cycle_id, MonitoringReportRow.application_id == application_id
            )
        )
        return int((await self.s.execute(q)).scalar_one())

    async def evaluation(self, cycle_id: str, application_id: str) -> Evaluation | None:
        q = select(EvaluationRow).where(
            EvaluationRow.cycle_id == cycle_id, EvaluationRow.application_id == application_id
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return None if row is None else _evaluation(row)

    async def add_evaluation(self, evaluation: Evaluation) -> None:
        await self._add(EvaluationRow(**{**values_of(evaluation), "grade": evaluation.grade.value}))

    async def conclusion(self, cycle_id: str) -> SupervisionConclusion | None:
        row = await self.s.get(ConclusionRow, cycle_id)
        return None if row is None else to_entity(SupervisionConclusion, row)

    async def add_conclusion(self, conclusion: SupervisionConclusion) -> None:
        await self._add(ConclusionRow(**values_of(conclusion)))

    async def status(self, cycle_id: str) -> SupervisionStatus:
        awards = select(func.count()).select_from(AwardRow).where(AwardRow.cycle_id == cycle_id)
        reported = select(func.count(distinct(col(MonitoringReportRow.application_id)))).where(
            MonitoringReportRow.cycle_id == cycle_id
        )
        evaluated = select(func.count()).select_from(EvaluationRow).where(EvaluationRow.cycle_id == cycle_id)
        return SupervisionStatus(
            awards=int((await self.s.execute(awards)).scalar_one()),
            reported=int((await self.s.execute(reported)).scalar_one()),
            evaluated=int((await self.s.execute(evaluated)).scalar_one()),
        )
