"""Intake's own tables (SQLModel) and the repository the use cases work with. Nothing outside this
service reads these tables; the repository takes and returns domain entities, never rows."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from aicc.platform import integrity
from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.pagination import Page, PageRequest
from services.intake.domain.model import (
    AWARD_STATUSES,
    Application,
    ApplicationFilter,
    ApplicationStatus,
    BureauOpinion,
    Cycle,
    CycleDecision,
    DecisionKind,
    Declaration,
    EligibilityFailure,
    Material,
    Recommendation,
    RecommendationLine,
    Signoff,
    StatusChange,
)
from workflows.cycle.models import Phase

IN_CHUNK = 500  # ids per IN (…) list


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
    # "<policy_id>/v<n>" and the SHA-256 of policy_json (what GetCyclePolicy answers).
    policy_version: str = Field(default="", sa_type=String(100))
    policy_sha256: str = Field(default="", sa_type=String(64), index=True)
    # The fiscal year whose appropriation funds the cycle (0: recorded before it was kept).
    fiscal_year: int = Field(default=0, sa_type=Integer)


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
    # [{"rule", "article", "message", "message_zh", "flag_only"}, …] of the eligibility screen.
    eligibility_failures: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    submitted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    recommendation_document_no: str = Field(default="", sa_type=String(100))
    recommendation_opinion: str = Field(default="", sa_type=Text)
    created_by: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # The applicant's unified social credit code, from identity when the draft was created.
    uscc: str = Field(default="", sa_type=String(18))


class StatusChangeRow(Base, table=True):
    """An application's history, one row per status it moved to; rows are only ever added."""

    __tablename__ = "application_status_changes"
    application_id: str = Field(
        sa_type=String(64), foreign_key="applications.application_id", primary_key=True
    )
    seq: int = Field(sa_type=Integer, primary_key=True, sa_column_kwargs={"autoincrement": False})
    cycle_id: str = Field(sa_type=String(64), index=True)
    status: str = Field(sa_type=String(24))  # an ApplicationStatus
    at: datetime = Field(sa_type=UtcDateTime)
    note: str = Field(default="", sa_type=Text)


class CycleDecisionRow(Base, table=True):
    """A decision the cycle's workflow accepted (the official record), once per idempotency key."""

    __tablename__ = "cycle_decisions"
    __table_args__ = (UniqueConstraint("cycle_id", "idempotency_key"),)
    decision_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(64), foreign_key="cycles.cycle_id", index=True)
    idempotency_key: str = Field(sa_type=String(200))
    kind: str = Field(sa_type=String(32))  # a DecisionKind
    actor_user_id: str = Field(default="", sa_type=String(64))
    actor_name: str = Field(default="", sa_type=String(200))
    role: str = Field(default="", sa_type=String(32))
    proposal_version: int = Field(default=0, sa_type=Integer)
    approve: bool = Field(default=False, sa_type=Boolean)
    opinion: str = Field(default="", sa_type=Text)
    reference: str = Field(default="", sa_type=String(200))
    decided_at: datetime = Field(sa_type=UtcDateTime)
    details: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


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
    # [{"application_id", "recommended", "opinion", "opinions": [{"role", "opinion"}, …]}, …]
    items: list[dict[str, Any]] = Field(sa_type=JSON)
    # [{"role", "user_id", "display_name", "signed_at" (RFC 3339)}, …]
    signoffs: list[dict[str, str]] = Field(sa_type=JSON)
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


# Records a decision or a payment rests on: integrity codes (aicc/platform/integrity.py).
integrity.protect(CycleDecisionRow)
integrity.protect(RecommendationRow)


# Listing orders: creation time, then the unique id (stable pages).
CYCLE_ORDER = (sa_inspect(CycleRow).c.created_at, sa_inspect(CycleRow).c.cycle_id)
APPLICATION_ORDER = (sa_inspect(ApplicationRow).c.created_at, sa_inspect(ApplicationRow).c.application_id)
RECOMMENDATION_ORDER = (sa_inspect(RecommendationRow).c.city_code,)
DECISION_ORDER = (sa_inspect(CycleDecisionRow).c.decided_at, sa_inspect(CycleDecisionRow).c.decision_id)


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


def _application(row: ApplicationRow, timeline: list[StatusChange] | None = None) -> Application:
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
        uscc=row.uscc,
        timeline=list(timeline or []),
    )


def _application_values(app: Application) -> dict[str, Any]:
    values = values_of(app)
    del values["timeline"]  # rows of their own (StatusChangeRow)
    return {
        **values,
        "service_lines": list(app.service_lines),
        "status": app.status.value,
        "declaration": _declaration_doc(app.declaration),
        "eligibility_failures": [asdict(f) for f in app.eligibility_failures],
    }


def _status_change(row: StatusChangeRow) -> StatusChange:
    return StatusChange(row.application_id, row.seq, ApplicationStatus(row.status), row.at, row.note)


def _line(doc: dict[str, Any]) -> RecommendationLine:
    return RecommendationLine(
        application_id=str(doc["application_id"]),
        recommended=bool(doc["recommended"]),
        opinion=str(doc.get("opinion", "")),
        opinions=tuple(BureauOpinion(str(o["role"]), str(o["opinion"])) for o in doc.get("opinions") or []),
    )


def _line_doc(line: RecommendationLine) -> dict[str, Any]:
    return {
        "application_id": line.application_id,
        "recommended": line.recommended,
        "opinion": line.opinion,
        "opinions": [asdict(o) for o in line.opinions],
    }


def _recommendation(row: RecommendationRow) -> Recommendation:
    return Recommendation(
        cycle_id=row.cycle_id,
        city_code=row.city_code,
        document_no=row.document_no,
        items=[_line(i) for i in row.items],
        signoffs=[Signoff(**s) for s in row.signoffs],
        recorded_at=row.recorded_at,
    )


def _decision(row: CycleDecisionRow) -> CycleDecision:
    d = to_entity(CycleDecision, row)
    return replace(d, kind=DecisionKind(row.kind), details=dict(row.details or {}))


def _decision_values(d: CycleDecision) -> dict[str, Any]:
    return {**values_of(d), "kind": d.kind.value, "details": dict(d.details)}


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

    async def policy_snapshots(self, policy_id: str) -> list[str]:
        q = (
            select(col(CycleRow.policy_sha256))
            .where(col(CycleRow.policy_id) == policy_id, col(CycleRow.policy_sha256) != "")
            .order_by(*CYCLE_ORDER)
        )
        # A few cycles per policy id: the first use of each content, in creation order.
        return list(dict.fromkeys((await self.s.execute(q)).scalars()))

    async def _application_row(
        self, application_id: str, *, for_update: bool = False
    ) -> ApplicationRow | None:
        q = select(ApplicationRow).where(col(ApplicationRow.application_id) == application_id)
        if for_update:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def _timelines(self, application_ids: list[str]) -> dict[str, list[StatusChange]]:
        out: dict[str, list[StatusChange]] = {a: [] for a in application_ids}
        for i in range(0, len(application_ids), IN_CHUNK):
            q = (
                select(StatusChangeRow)
                .where(col(StatusChangeRow.application_id).in_(application_ids[i : i + IN_CHUNK]))
                .order_by(col(StatusChangeRow.application_id), col(StatusChangeRow.seq))
            )
            for row in (await self.s.execute(q)).scalars():
                out[row.application_id].append(_status_change(row))
        return out

    async def _with_timelines(self, rows: list[ApplicationRow]) -> list[Application]:
        timelines = await self._timelines([r.application_id for r in rows])
        return [_application(r, timelines[r.application_id]) for r in rows]

    async def application(self, application_id: str, *, for_update: bool = False) -> Application | None:
        row = await self._application_row(application_id, for_update=for_update)
        return (await self._with_timelines([row]))[0] if row else None

    async def application_of(self, cycle_id: str, organization_id: str) -> Application | None:
        q = select(ApplicationRow).where(
            col(ApplicationRow.cycle_id) == cycle_id, col(ApplicationRow.organization_id) == organization_id
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return (await self._with_timelines([row]))[0] if row else None

    async def add_application(self, application: Application, materials: list[Material]) -> None:
        self.s.add(ApplicationRow(**_application_values(application)))
        await self.s.flush()  # the application before its materials and history (foreign keys)
        self.s.add_all([MaterialRow(**values_of(m)) for m in materials])
        self.s.add_all([self._change_row(application.cycle_id, c) for c in application.timeline])
        await self.s.flush()

    async def applications_by_id(
        self, application_ids: list[str], *, for_update: bool = False
    ) -> dict[str, Application]:
        rows: list[ApplicationRow] = []
        for i in range(0, len(application_ids), IN_CHUNK):
            q = select(ApplicationRow).where(
                col(ApplicationRow.application_id).in_(application_ids[i : i + IN_CHUNK])
            )
            if for_update:
                q = q.with_for_update()
            rows.extend((await self.s.execute(q)).scalars())
        return {a.application_id: a for a in await self._with_timelines(rows)}

    async def save_application(self, application: Application) -> None:
        # The row is in this session's identity map when it was read in this unit of work; the
        # change is written with the unit of work (or before its next query): many at once.
        row = await self.s.get(ApplicationRow, application.application_id)
        if row is None:
            raise LookupError(f"application {application.application_id} is not stored")
        for name, value in _application_values(application).items():
            setattr(row, name, value)

    @staticmethod
    def _change_row(cycle_id: str, c: StatusChange) -> StatusChangeRow:
        return StatusChangeRow(
            application_id=c.application_id,
            seq=c.seq,
            cycle_id=cycle_id,
            status=c.status.value,
            at=c.at,
            note=c.note,
        )

    async def add_status_change(self, cycle_id: str, change: StatusChange) -> None:
        self.s.add(self._change_row(cycle_id, change))  # written with the unit of work, many at once

    async def add_status_changes(self, cycle_id: str, changes: list[StatusChange]) -> None:
        if not changes:
            return
        # Two statements for a whole batch (a year's applications move together at each stage).
        await self.s.execute(
            update(ApplicationRow),
            [{"application_id": c.application_id, "status": c.status.value} for c in changes],
        )
        await self.s.execute(
            insert(StatusChangeRow),
            [
                {
                    "application_id": c.application_id,
                    "seq": c.seq,
                    "cycle_id": cycle_id,
                    "status": c.status.value,
                    "at": c.at,
                    "note": c.note,
                }
                for c in changes
            ],
        )

    async def submitted_by_city(self, cycle_id: str) -> dict[str, int]:
        q = (
            select(col(ApplicationRow.city_code), func.count())
            .where(
                col(ApplicationRow.cycle_id) == cycle_id,
                col(ApplicationRow.status) == ApplicationStatus.SUBMITTED.value,
            )
            .group_by(col(ApplicationRow.city_code))
            .order_by(col(ApplicationRow.city_code))
        )
        return {city: int(n) for city, n in (await self.s.execute(q)).all()}

    async def awarded_elsewhere(self, organization_id: str, cycle_id: str) -> list[Application]:
        q = (
            select(ApplicationRow)
            .where(
                col(ApplicationRow.organization_id) == organization_id,
                col(ApplicationRow.cycle_id) != cycle_id,
                col(ApplicationRow.status).in_([s.value for s in AWARD_STATUSES]),
            )
            .order_by(*APPLICATION_ORDER)
        )
        return await self._with_timelines(list((await self.s.execute(q)).scalars()))

    async def applications(self, where: ApplicationFilter) -> list[Application]:
        q = select(ApplicationRow).where(*_where(where)).order_by(*APPLICATION_ORDER)
        return await self._with_timelines(list((await self.s.execute(q)).scalars()))

    async def applications_page(self, where: ApplicationFilter, page: PageRequest) -> Page[Application]:
        rows, cursor = await keyset_page(
            self.s,
            select(ApplicationRow).where(*_where(where)),
            APPLICATION_ORDER,
            after=page.after,
            size=page.size,
        )
        return Page(await self._with_timelines(rows), cursor)

    async def materials(self, application_id: str) -> list[Material]:
        q = (
            select(MaterialRow)
            .where(col(MaterialRow.application_id) == application_id)
            .order_by(col(MaterialRow.material_id))
        )
        return [to_entity(Material, m) for m in (await self.s.execute(q)).scalars()]

    async def materials_of(self, application_ids: list[str]) -> dict[str, list[Material]]:
        out: dict[str, list[Material]] = {a: [] for a in application_ids}
        for i in range(0, len(application_ids), IN_CHUNK):
            q = (
                select(MaterialRow)
                .where(col(MaterialRow.application_id).in_(application_ids[i : i + IN_CHUNK]))
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
                items=[_line_doc(i) for i in r.items],
                signoffs=[asdict(s) for s in r.signoffs],
                recorded_at=r.recorded_at,
            )
        )
        await self.s.flush()

    async def recommendations_page(
        self, cycle_id: str, city_code: str | None, page: PageRequest
    ) -> Page[Recommendation]:
        q = select(RecommendationRow).where(col(RecommendationRow.cycle_id) == cycle_id)
        if city_code is not None:
            q = q.where(col(RecommendationRow.city_code) == city_code)
        rows, cursor = await keyset_page(self.s, q, RECOMMENDATION_ORDER, after=page.after, size=page.size)
        return Page([_recommendation(r) for r in rows], cursor)

    async def decision_by_key(self, cycle_id: str, idempotency_key: str) -> CycleDecision | None:
        q = select(CycleDecisionRow).where(
            col(CycleDecisionRow.cycle_id) == cycle_id,
            col(CycleDecisionRow.idempotency_key) == idempotency_key,
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _decision(row) if row else None

    async def add_decision(self, decision: CycleDecision) -> None:
        self.s.add(CycleDecisionRow(**_decision_values(decision)))
        await self.s.flush()

    async def decisions_page(self, cycle_id: str, page: PageRequest) -> Page[CycleDecision]:
        q = select(CycleDecisionRow).where(col(CycleDecisionRow.cycle_id) == cycle_id)
        rows, cursor = await keyset_page(self.s, q, DECISION_ORDER, after=page.after, size=page.size)
        return Page([_decision(r) for r in rows], cursor)

    async def last_decision(self, cycle_id: str, kind: str) -> CycleDecision | None:
        q = (
            select(CycleDecisionRow)
            .where(col(CycleDecisionRow.cycle_id) == cycle_id, col(CycleDecisionRow.kind) == kind)
            .order_by(*[c.desc() for c in DECISION_ORDER])
            .limit(1)
        )
        row = (await self.s.execute(q)).scalars().first()
        return _decision(row) if row else None
