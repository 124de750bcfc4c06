"""Intake's own tables (SQLModel) and the repository the use cases work with. Nothing outside this
service reads these tables; the repository takes and returns domain entities, never rows."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, Integer, String, Text, UniqueConstraint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.pagination import Page, PageRequest
from services.intake.domain.model import (
    Application,
    ApplicationFilter,
    ApplicationStatus,
    Cycle,
    Declaration,
    EligibilityFailure,
    Material,
    Recommendation,
    Signoff,
)
from workflows.cycle.models import Phase, RecommendationItem


class Base(SQLModel, registry=registry()):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class CycleRow(Base, table=True):
    __tablename__ = "cycles"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    title: str = Field(sa_type=String(200))
    policy_id: str = Field(sa_type=String(64))
    # The policy as it was when the cycle was created (snapshot, JSON).
    policy_json: str = Field(sa_type=Text)
    scope: str = Field(sa_type=String(16))
    city_code: str = Field(sa_type=String(6))
    legal_basis: list[str] = Field(sa_type=JSON)
    phase: str = Field(sa_type=String(32))  # a workflows.cycle.models.Phase
    note: str = Field(default="", sa_type=Text)
    proposal_version: int = Field(default=0, sa_type=Integer)
    budget_fen: int = Field(sa_type=BigInteger)
    applications_open_at: datetime = Field(sa_type=UtcDateTime)
    applications_close_at: datetime = Field(sa_type=UtcDateTime)
    city_review_due_at: datetime = Field(sa_type=UtcDateTime)
    workflow_id: str = Field(sa_type=String(100))
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class ApplicationRow(Base, table=True):
    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("cycle_id", "organization_id"),)
    application_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(64), foreign_key="cycles.cycle_id", index=True)
    organization_id: str = Field(sa_type=String(64))
    operator_organization_id: str = Field(sa_type=String(64))
    enterprise_name: str = Field(sa_type=String(200))
    city_code: str = Field(sa_type=String(6), index=True)
    title: str = Field(sa_type=String(200))
    service_lines: list[str] = Field(sa_type=JSON)
    status: str = Field(sa_type=String(24))  # an ApplicationStatus
    # {"signer_name", "signer_title", "accepted", "signed_at" (ISO 8601)} once submitted.
    declaration: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # [{"rule", "article", "message", "message_zh"}, …] of the eligibility screen.
    eligibility_failures: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    recommendation_document_no: str = Field(default="", sa_type=String(100))
    recommendation_opinion: str = Field(default="", sa_type=Text)
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class MaterialRow(Base, table=True):
    __tablename__ = "materials"
    material_id: str = Field(sa_type=String(64), primary_key=True)
    application_id: str = Field(sa_type=String(64), foreign_key="applications.application_id", index=True)
    kind: str = Field(sa_type=String(64))
    filename: str = Field(sa_type=String(255))
    sha256: str = Field(sa_type=String(64))
    size_bytes: int = Field(sa_type=BigInteger)


class RecommendationRow(Base, table=True):
    """A city's joint recommendation document (联合行文), signed by both bureaus."""

    __tablename__ = "recommendations"
    cycle_id: str = Field(sa_type=String(64), foreign_key="cycles.cycle_id", primary_key=True)
    city_code: str = Field(sa_type=String(6), primary_key=True)
    document_no: str = Field(sa_type=String(100))
    # [{"application_id", "recommended", "opinion"}, …]
    items: list[dict[str, Any]] = Field(sa_type=JSON)
    # [{"role", "user_id", "display_name", "signed_at" (RFC 3339)}, …]
    signoffs: list[dict[str, str]] = Field(sa_type=JSON)
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


# Listing orders: creation time, then the unique id (stable pages).
CYCLE_ORDER = (sa_inspect(CycleRow).c.created_at, sa_inspect(CycleRow).c.cycle_id)
APPLICATION_ORDER = (sa_inspect(ApplicationRow).c.created_at, sa_inspect(ApplicationRow).c.application_id)


# ---------------------------------------------------------------- rows ⇄ entities


def _cycle(row: CycleRow) -> Cycle:
    cycle = to_entity(Cycle, row)
    cycle.phase = Phase(row.phase)
    cycle.legal_basis = list(row.legal_basis)
    return cycle


def _cycle_values(cycle: Cycle) -> dict[str, Any]:
    return {**values_of(cycle), "phase": cycle.phase.value, "legal_basis": list(cycle.legal_basis)}


def _declaration(doc: dict[str, Any] | None) -> Declaration | None:
    if not doc:
        return None
    signed_at = doc.get("signed_at")
    return Declaration(
        signer_name=str(doc.get("signer_name", "")),
        signer_title=str(doc.get("signer_title", "")),
        accepted=bool(doc.get("accepted")),
        signed_at=datetime.fromisoformat(signed_at) if signed_at else None,
    )


def _declaration_doc(d: Declaration | None) -> dict[str, Any] | None:
    if d is None:
        return None
    doc: dict[str, Any] = {
        "signer_name": d.signer_name,
        "signer_title": d.signer_title,
        "accepted": d.accepted,
    }
    if d.signed_at is not None:
        doc["signed_at"] = d.signed_at.isoformat()
    return doc


def _application(row: ApplicationRow) -> Application:
    return Application(
        application_id=row.application_id,
        cycle_id=row.cycle_id,
        organization_id=row.organization_id,
        operator_organization_id=row.operator_organization_id,
        enterprise_name=row.enterprise_name,
        city_code=row.city_code,
        title=row.title,
        service_lines=list(row.service_lines),
        status=ApplicationStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        declaration=_declaration(row.declaration),
        eligibility_failures=[EligibilityFailure(**f) for f in row.eligibility_failures or []],
        submitted_at=row.submitted_at,
        recommendation_document_no=row.recommendation_document_no,
        recommendation_opinion=row.recommendation_opinion,
    )


def _application_values(app: Application) -> dict[str, Any]:
    return {
        **values_of(app),
        "service_lines": list(app.service_lines),
        "status": app.status.value,
        "declaration": _declaration_doc(app.declaration),
        "eligibility_failures": [asdict(f) for f in app.eligibility_failures],
    }


def _recommendation(row: RecommendationRow) -> Recommendation:
    return Recommendation(
        cycle_id=row.cycle_id,
        city_code=row.city_code,
        document_no=row.document_no,
        items=[RecommendationItem(**i) for i in row.items],
        signoffs=[Signoff(**s) for s in row.signoffs],
        recorded_at=row.recorded_at,
    )


def _where(where: ApplicationFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if where.cycle_id:
        conditions.append(col(ApplicationRow.cycle_id) == where.cycle_id)
    if where.city_code:
        conditions.append(col(ApplicationRow.city_code) == where.city_code)
    if where.status:
        conditions.append(col(ApplicationRow.status) == where.status.value)
    if where.organization_id:
        conditions.append(col(ApplicationRow.organization_id) == where.organization_id)
    return conditions


# ---------------------------------------------------------------- the repository


class IntakeStore:
    """Implements ``services.intake.domain.ports.IntakeRepository`` on one session (transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def cycle(self, cycle_id: str, *, for_update: bool = False) -> Cycle | None:
        row = await self._cycle_row(cycle_id, for_update=for_update)
        return _cycle(row) if row else None

    async def _cycle_row(self, cycle_id: str, *, for_update: bool = False) -> CycleRow | None:
        q = select(CycleRow).where(col(CycleRow.cycle_id) == cycle_id)
        if for_update:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def add_cycle(self, cycle: Cycle) -> None:
        self.s.add(CycleRow(**_cycle_values(cycle)))
        await self.s.flush()

    async def save_cycle(self, cycle: Cycle) -> None:
        row = await self._cycle_row(cycle.cycle_id)
        if row is None:
            raise LookupError(f"cycle {cycle.cycle_id} is not stored")
        for name, value in _cycle_values(cycle).items():
            setattr(row, name, value)
        await self.s.flush()

    async def cycles_page(self, page: PageRequest) -> Page[Cycle]:
        rows, cursor = await keyset_page(
            self.s,
            select(CycleRow),
            CYCLE_ORDER,
            after=page.after,
            size=page.size,
            descending=True,  # the newest call first, as officials expect
        )
        return Page([_cycle(r) for r in rows], cursor)

    async def _application_row(
        self, application_id: str, *, for_update: bool = False
    ) -> ApplicationRow | None:
        q = select(ApplicationRow).where(col(ApplicationRow.application_id) == application_id)
        if for_update:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def application(self, application_id: str, *, for_update: bool = False) -> Application | None:
        row = await self._application_row(application_id, for_update=for_update)
        return _application(row) if row else None

    async def application_of(self, cycle_id: str, organization_id: str) -> Application | None:
        q = select(ApplicationRow).where(
            col(ApplicationRow.cycle_id) == cycle_id, col(ApplicationRow.organization_id) == organization_id
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _application(row) if row else None

    async def add_application(self, application: Application, materials: list[Material]) -> None:
        self.s.add(ApplicationRow(**_application_values(application)))
        await self.s.flush()  # the application before its materials (foreign key)
        self.s.add_all([MaterialRow(**values_of(m)) for m in materials])
        await self.s.flush()

    async def save_application(self, application: Application) -> None:
        row = await self._application_row(application.application_id)
        if row is None:
            raise LookupError(f"application {application.application_id} is not stored")
        for name, value in _application_values(application).items():
            setattr(row, name, value)
        await self.s.flush()

    async def applications(self, where: ApplicationFilter) -> list[Application]:
        q = select(ApplicationRow).where(*_where(where)).order_by(*APPLICATION_ORDER)
        return [_application(r) for r in (await self.s.execute(q)).scalars()]

    async def applications_page(self, where: ApplicationFilter, page: PageRequest) -> Page[Application]:
        rows, cursor = await keyset_page(
            self.s,
            select(ApplicationRow).where(*_where(where)),
            APPLICATION_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page([_application(r) for r in rows], cursor)

    async def materials(self, application_id: str) -> list[Material]:
        q = (
            select(MaterialRow)
            .where(col(MaterialRow.application_id) == application_id)
            .order_by(col(MaterialRow.material_id))
        )
        return [to_entity(Material, m) for m in (await self.s.execute(q)).scalars()]

    async def materials_of(self, application_ids: list[str]) -> dict[str, list[Material]]:
        out: dict[str, list[Material]] = {a: [] for a in application_ids}
        if not application_ids:
            return out
        q = (
            select(MaterialRow)
            .where(col(MaterialRow.application_id).in_(application_ids))
            .order_by(col(MaterialRow.application_id), col(MaterialRow.material_id))
        )
        for m in (await self.s.execute(q)).scalars():
            out[m.application_id].append(to_entity(Material, m))
        return out

    async def recommendation(self, cycle_id: str, city_code: str) -> Recommendation | None:
        row = await self.s.get(RecommendationRow, (cycle_id, city_code))
        return _recommendation(row) if row else None

    async def add_recommendation(self, recommendation: Recommendation) -> None:
        r = recommendation
        self.s.add(
            RecommendationRow(
                cycle_id=r.cycle_id,
                city_code=r.city_code,
                document_no=r.document_no,
                items=[asdict(i) for i in r.items],
                signoffs=[asdict(s) for s in r.signoffs],
                recorded_at=r.recorded_at,
            )
        )
        await self.s.flush()
