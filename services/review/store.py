"""Review's own tables (SQLModel) and the repository its use cases work with
(:class:`services.review.domain.ports.ReviewRepository`): it takes and returns domain entities,
never rows. Nothing outside this service reads these tables.

Score sheets, proposals and announcements are append-only: a correction is a new sheet version, a
revision or an upheld objection a new proposal version; earlier rows are never updated. A publicity
notice is updated once, when its publicity closes."""

from __future__ import annotations

import copy
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Boolean, ColumnElement, Integer, String, Text, UniqueConstraint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select

from aicc.platform import integrity
from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.pagination import Page, PageRequest
from services.review.domain.model import (
    Announcement,
    Assignment,
    Candidate,
    ComplianceReview,
    Exclusion,
    Material,
    Objection,
    OnSiteReview,
    Proposal,
    PublicityNotice,
    ReviewCycle,
    ScoreSheet,
)


class Base(SQLModel, registry=registry()):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class ReviewCycleRow(Base, table=True):
    """One cycle's review: the policy snapshot, the phase, the recorded draw and publicity."""

    __tablename__ = "review_cycles"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    policy_json: str = Field(sa_type=Text)
    phase: str = Field(sa_type=String(32))  # a model.Phase
    opened_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # The draw (recorded so that auditors can reproduce it): seed, date, pool snapshot.
    seed: int | None = Field(default=None, sa_type=BigInteger)
    drawn_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    draw_date: str | None = Field(default=None, sa_type=String(10))
    pool_json: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    short_panels: dict[str, int] | None = Field(default=None, sa_type=JSON)
    recusals: int = Field(default=0, sa_type=Integer)
    publicity_ends_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    publicity_proposal_version: int | None = Field(default=None, sa_type=Integer)
    announced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CandidateRow(Base, table=True):
    __tablename__ = "candidates"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    application_id: str = Field(sa_type=String(128), primary_key=True)
    organization_id: str = Field(sa_type=String(64))
    operator_organization_id: str = Field(default="", sa_type=String(64))
    enterprise_name: str = Field(sa_type=String(200))
    city_code: str = Field(sa_type=String(6))
    submitted_at: datetime = Field(sa_type=UtcDateTime)
    title: str = Field(default="", sa_type=String(200), sa_column_kwargs={"server_default": ""})
    # [{"material_id", "kind", "filename", "sha256", "size_bytes"}], as intake recorded them; shown to
    # an assigned expert only after they declare no conflict.
    materials: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"}
    )
    # The applicant's unified social credit code (intake's), for official lists.
    uscc: str = Field(default="", sa_type=String(18), sa_column_kwargs={"server_default": ""})


class ComplianceReviewRow(Base, table=True):
    __tablename__ = "compliance_reviews"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    application_id: str = Field(sa_type=String(128), primary_key=True)
    compliant: bool = Field(sa_type=Boolean)
    reasons: list[str] = Field(sa_type=JSON)
    decided_by: str = Field(sa_type=String(128))
    decided_at: datetime = Field(sa_type=UtcDateTime)
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class AssignmentRow(Base, table=True):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", "expert_user_id"),)
    assignment_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(64), index=True)
    application_id: str = Field(sa_type=String(128))
    expert_user_id: str = Field(sa_type=String(64), index=True)
    status: str = Field(sa_type=String(32))  # a model.AssignmentStatus
    seq: int = Field(sa_type=Integer)
    replaces_assignment_id: str | None = Field(default=None, sa_type=String(64))
    statement: str = Field(default="", sa_type=Text)
    declared_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class ExclusionRow(Base, table=True):
    __tablename__ = "exclusions"
    exclusion_id: int | None = Field(default=None, primary_key=True)
    cycle_id: str = Field(sa_type=String(64), index=True)
    application_id: str = Field(sa_type=String(128))
    expert_user_id: str = Field(sa_type=String(64))
    reason: str = Field(sa_type=String(255))
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class ScoreSheetRow(Base, table=True):
    """Immutable: a correction is a new row with the next version."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("assignment_id", "version"),)
    sheet_id: str = Field(sa_type=String(64), primary_key=True)
    assignment_id: str = Field(sa_type=String(64), index=True)
    cycle_id: str = Field(sa_type=String(64), index=True)
    application_id: str = Field(sa_type=String(128))
    expert_user_id: str = Field(sa_type=String(64))
    version: int = Field(sa_type=Integer)
    # [{"indicator_id", "points" (decimal string), "justification"}]
    scores: list[dict[str, str]] = Field(sa_type=JSON)
    total: str = Field(sa_type=String(16))
    correction_reason: str = Field(default="", sa_type=Text)
    submitted_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class ProposalRow(Base, table=True):
    """Immutable: a revision or an upheld objection appends a new version."""

    __tablename__ = "proposals"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    version: int = Field(sa_type=Integer, primary_key=True)
    # ProposalLine data (decimals as strings), each with the applicant's "organization_id" (model.Proposal).
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    budget_fen: int = Field(sa_type=BigInteger)
    allocated_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(sa_type=Text)
    # Applications removed by upheld objections up to this version.
    removed_application_ids: list[str] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    basis: str = Field(
        default="computed", sa_type=String(32), sa_column_kwargs={"server_default": "computed"}
    )
    previous_version: int = Field(default=0, sa_type=Integer, sa_column_kwargs={"server_default": "0"})
    decided_by: str = Field(default="", sa_type=String(128), sa_column_kwargs={"server_default": ""})
    note: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    # A revision's changes as asked: [{"application_id", "amount_fen", "reason", "promote"}].
    changes: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"}
    )
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class ObjectionRow(Base, table=True):
    __tablename__ = "objections"
    objection_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(64), index=True)
    application_id: str = Field(sa_type=String(128))
    objector_name: str = Field(sa_type=String(100))
    # SM4-GCM ciphertext (aicc/platform/crypto.py), bound to this column and objection id; never
    # stored, logged or shown in clear except to province industry (services/review/domain).
    objector_contact: str = Field(sa_type=String(1200))
    content: str = Field(sa_type=Text)
    filed_by: str = Field(sa_type=String(64))
    status: str = Field(sa_type=String(32))  # a model.ObjectionStatus
    findings: str = Field(default="", sa_type=Text)
    decided_by: str | None = Field(default=None, sa_type=String(64))
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resulting_proposal_version: int | None = Field(default=None, sa_type=Integer)
    filed_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # The investigation (调查核实).
    investigator: str = Field(default="", sa_type=String(200), sa_column_kwargs={"server_default": ""})
    evidence: list[str] = Field(default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"})
    reply_to_objector: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    reply_to_applicant: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    investigated_on: str = Field(default="", sa_type=String(10), sa_column_kwargs={"server_default": ""})
    publicised_version: int | None = Field(default=None, sa_type=Integer)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class PublicityNoticeRow(Base, table=True):
    """One publicity (公示) of a proposal version; closed once, when its publicity ends."""

    __tablename__ = "publicity_notices"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    proposal_version: int = Field(sa_type=Integer, primary_key=True)
    starts_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ends_at: datetime = Field(sa_type=UtcDateTime)
    published_where: str = Field(sa_type=String(200))
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    changed: bool = Field(default=False, sa_type=Boolean)
    result_version: int | None = Field(default=None, sa_type=Integer)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class AnnouncementRow(Base, table=True):
    """The announcement (发文公布) of a cycle's final list. Immutable."""

    __tablename__ = "announcements"
    cycle_id: str = Field(sa_type=String(64), primary_key=True)
    proposal_version: int = Field(sa_type=Integer)
    document_no: str = Field(sa_type=String(100))
    announced_at: datetime = Field(sa_type=UtcDateTime)
    announced_by: str = Field(sa_type=String(128))
    # The announced (funded) lines as they were announced (model.Proposal's line dicts).
    lines: list[dict[str, Any]] = Field(sa_type=JSON)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


class OnSiteReviewRow(Base, table=True):
    """An on-site defence or site verification (Art. 9). Append-only: a later visit is a new row."""

    __tablename__ = "on_site_reviews"
    on_site_review_id: str = Field(sa_type=String(64), primary_key=True)
    cycle_id: str = Field(sa_type=String(64), index=True)
    application_id: str = Field(sa_type=String(128))
    kind: str = Field(sa_type=String(16))  # a model.OnSiteKind
    held_on: str = Field(sa_type=String(10))  # YYYY-MM-DD, Asia/Shanghai
    participants: list[str] = Field(sa_type=JSON)
    findings: str = Field(sa_type=Text)
    recorded_by: str = Field(sa_type=String(64))
    recorded_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # HMAC-SM3 integrity code of the row (aicc/platform/integrity.py), written on every flush.
    integrity: str = Field(default="", sa_type=String(64))


# Records a decision or a payment rests on: integrity codes (aicc/platform/integrity.py).
integrity.protect(ComplianceReviewRow)
integrity.protect(ScoreSheetRow)
integrity.protect(ProposalRow)
integrity.protect(ObjectionRow)
integrity.protect(PublicityNoticeRow)
integrity.protect(AnnouncementRow)
integrity.protect(OnSiteReviewRow)


def _c(row: type[Base], name: str) -> ColumnElement[Any]:
    mapper = sa_inspect(row)
    if mapper is None:
        raise TypeError(f"{row.__name__} is not a mapped table")
    column: ColumnElement[Any] = mapper.c[name]
    return column


# Listing orders (keyset pages): the last column is unique within what each list filters.
ASSIGNMENT_ORDER = (
    _c(AssignmentRow, "cycle_id"),
    _c(AssignmentRow, "seq"),
    _c(AssignmentRow, "assignment_id"),
)
COMPLIANCE_ORDER = (_c(ComplianceReviewRow, "application_id"),)  # within one cycle
OBJECTION_ORDER = (_c(ObjectionRow, "filed_at"), _c(ObjectionRow, "objection_id"))
NOTICE_ORDER = (_c(PublicityNoticeRow, "proposal_version"),)  # within one cycle
ON_SITE_ORDER = (
    _c(OnSiteReviewRow, "held_on"),
    _c(OnSiteReviewRow, "recorded_at"),
    _c(OnSiteReviewRow, "on_site_review_id"),
)

E = TypeVar("E")


# ---------------------------------------------------------------- rows ⇄ entities


def _entity(cls: type[E], row: object) -> E:
    """The entity of a row, with its own copies of the JSON values (changing one never changes the
    row behind the repository's back; saving it does)."""
    return copy.deepcopy(to_entity(cls, row))


def _candidate(row: CandidateRow) -> Candidate:
    c = to_entity(Candidate, row)
    c.materials = [Material(**m) for m in row.materials or []]
    return c


def _values(entity: object) -> dict[str, Any]:
    """An entity's column values: statuses as plain strings, JSON values copied."""
    return {k: v.value if isinstance(v, Enum) else copy.deepcopy(v) for k, v in values_of(entity).items()}


class ReviewStore:
    """The repository of :class:`services.review.domain.ports.ReviewRepository` on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _add(self, rows: list[Base]) -> None:
        self.s.add_all(rows)
        await self.s.flush()

    async def _save(self, row_type: type[Base], key: object, entity: object) -> None:
        row = await self.s.get(row_type, key)
        if row is None:  # pragma: no cover - entities are saved after they were read
            raise LookupError(f"{row_type.__tablename__} {key!r} is not stored")
        for name, value in _values(entity).items():
            setattr(row, name, value)
        await self.s.flush()

    # -- cycles and candidates

    async def cycle(self, cycle_id: str, *, lock: bool = False) -> ReviewCycle | None:
        q = select(ReviewCycleRow).where(col(ReviewCycleRow.cycle_id) == cycle_id)
        if lock:
            q = q.with_for_update().execution_options(populate_existing=True)
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _entity(ReviewCycle, row) if row else None

    async def add_cycle(self, cycle: ReviewCycle) -> None:
        await self._add([ReviewCycleRow(**_values(cycle))])

    async def save_cycle(self, cycle: ReviewCycle) -> None:
        await self._save(ReviewCycleRow, cycle.cycle_id, cycle)

    async def add_candidates(self, candidates: list[Candidate]) -> None:
        await self._add(
            [
                CandidateRow(**{**_values(c), "materials": [asdict(m) for m in c.materials]})
                for c in candidates
            ]
        )

    async def candidates(self, cycle_id: str) -> list[Candidate]:
        q = (
            select(CandidateRow)
            .where(col(CandidateRow.cycle_id) == cycle_id)
            .order_by(col(CandidateRow.application_id))
        )
        return [_candidate(r) for r in (await self.s.execute(q)).scalars()]

    async def candidate(self, cycle_id: str, application_id: str) -> Candidate | None:
        row = await self.s.get(CandidateRow, (cycle_id, application_id))
        return _candidate(row) if row else None

    # -- compliance

    async def add_compliance_reviews(self, reviews: list[ComplianceReview]) -> None:
        await self._add([ComplianceReviewRow(**_values(r)) for r in reviews])

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceReview]:
        q = (
            select(ComplianceReviewRow)
            .where(col(ComplianceReviewRow.cycle_id) == cycle_id)
            .order_by(*COMPLIANCE_ORDER)
        )
        return [_entity(ComplianceReview, r) for r in (await self.s.execute(q)).scalars()]

    async def compliance_reviews_page(self, cycle_id: str, page: PageRequest) -> Page[ComplianceReview]:
        q = select(ComplianceReviewRow).where(col(ComplianceReviewRow.cycle_id) == cycle_id)
        rows, cursor = await keyset_page(self.s, q, COMPLIANCE_ORDER, after=page.after, size=page.size)
        return Page([_entity(ComplianceReview, r) for r in rows], cursor)

    # -- panels

    async def assignment(self, assignment_id: str) -> Assignment | None:
        row = await self.s.get(AssignmentRow, assignment_id)
        return _entity(Assignment, row) if row else None

    async def assignments(self, cycle_id: str) -> list[Assignment]:
        q = select(AssignmentRow).where(col(AssignmentRow.cycle_id) == cycle_id).order_by(*ASSIGNMENT_ORDER)
        return [_entity(Assignment, r) for r in (await self.s.execute(q)).scalars()]

    async def assignments_page(
        self, *, cycle_id: str | None, expert_user_id: str | None, page: PageRequest
    ) -> Page[Assignment]:
        q = select(AssignmentRow)
        if cycle_id:
            q = q.where(col(AssignmentRow.cycle_id) == cycle_id)
        if expert_user_id:
            q = q.where(col(AssignmentRow.expert_user_id) == expert_user_id)
        rows, cursor = await keyset_page(self.s, q, ASSIGNMENT_ORDER, after=page.after, size=page.size)
        return Page([_entity(Assignment, r) for r in rows], cursor)

    async def add_assignments(self, assignments: list[Assignment]) -> None:
        await self._add([AssignmentRow(**_values(a)) for a in assignments])

    async def save_assignment(self, assignment: Assignment) -> None:
        await self._save(AssignmentRow, assignment.assignment_id, assignment)

    async def add_exclusions(self, exclusions: list[Exclusion]) -> None:
        await self._add([ExclusionRow(**_values(x)) for x in exclusions])

    async def exclusions(self, cycle_id: str) -> list[Exclusion]:
        q = (
            select(ExclusionRow)
            .where(col(ExclusionRow.cycle_id) == cycle_id)
            .order_by(col(ExclusionRow.exclusion_id))
        )
        return [_entity(Exclusion, r) for r in (await self.s.execute(q)).scalars()]

    # -- score sheets

    async def add_sheet(self, sheet: ScoreSheet) -> None:
        await self._add([ScoreSheetRow(**_values(sheet))])

    async def sheets_of_assignment(self, assignment_id: str) -> list[ScoreSheet]:
        q = (
            select(ScoreSheetRow)
            .where(col(ScoreSheetRow.assignment_id) == assignment_id)
            .order_by(col(ScoreSheetRow.version))
        )
        return [_entity(ScoreSheet, r) for r in (await self.s.execute(q)).scalars()]

    async def sheets(self, cycle_id: str) -> list[ScoreSheet]:
        q = (
            select(ScoreSheetRow)
            .where(col(ScoreSheetRow.cycle_id) == cycle_id)
            .order_by(
                col(ScoreSheetRow.application_id),
                col(ScoreSheetRow.expert_user_id),
                col(ScoreSheetRow.version),
            )
        )
        return [_entity(ScoreSheet, r) for r in (await self.s.execute(q)).scalars()]

    # -- proposals

    async def add_proposal(self, proposal: Proposal) -> None:
        await self._add([ProposalRow(**_values(proposal))])

    async def proposal(self, cycle_id: str, version: int) -> Proposal | None:
        row = await self.s.get(ProposalRow, (cycle_id, version))
        return _entity(Proposal, row) if row else None

    async def latest_proposal(self, cycle_id: str) -> Proposal | None:
        q = (
            select(ProposalRow)
            .where(col(ProposalRow.cycle_id) == cycle_id)
            .order_by(col(ProposalRow.version).desc())
            .limit(1)
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _entity(Proposal, row) if row else None

    # -- publicity notices and the announcement

    async def add_notice(self, notice: PublicityNotice) -> None:
        await self._add([PublicityNoticeRow(**_values(notice))])

    async def save_notice(self, notice: PublicityNotice) -> None:
        await self._save(PublicityNoticeRow, (notice.cycle_id, notice.proposal_version), notice)

    async def notice(self, cycle_id: str, proposal_version: int) -> PublicityNotice | None:
        row = await self.s.get(PublicityNoticeRow, (cycle_id, proposal_version))
        return _entity(PublicityNotice, row) if row else None

    async def latest_notice(self, cycle_id: str) -> PublicityNotice | None:
        q = (
            select(PublicityNoticeRow)
            .where(col(PublicityNoticeRow.cycle_id) == cycle_id)
            .order_by(col(PublicityNoticeRow.proposal_version).desc())
            .limit(1)
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _entity(PublicityNotice, row) if row else None

    async def notices_page(self, cycle_id: str, page: PageRequest) -> Page[PublicityNotice]:
        q = select(PublicityNoticeRow).where(col(PublicityNoticeRow.cycle_id) == cycle_id)
        rows, cursor = await keyset_page(self.s, q, NOTICE_ORDER, after=page.after, size=page.size)
        return Page([_entity(PublicityNotice, r) for r in rows], cursor)

    async def add_announcement(self, announcement: Announcement) -> None:
        await self._add([AnnouncementRow(**_values(announcement))])

    async def announcement(self, cycle_id: str) -> Announcement | None:
        row = await self.s.get(AnnouncementRow, cycle_id)
        return _entity(Announcement, row) if row else None

    # -- objections

    async def add_objection(self, objection: Objection) -> None:
        await self._add([ObjectionRow(**_values(objection))])

    async def save_objection(self, objection: Objection) -> None:
        await self._save(ObjectionRow, objection.objection_id, objection)

    async def objection(self, objection_id: str, *, lock: bool = False) -> Objection | None:
        q = select(ObjectionRow).where(col(ObjectionRow.objection_id) == objection_id)
        if lock:
            q = q.with_for_update().execution_options(populate_existing=True)
        row = (await self.s.execute(q)).scalar_one_or_none()
        return _entity(Objection, row) if row else None

    async def objections(self, cycle_id: str) -> list[Objection]:
        q = select(ObjectionRow).where(col(ObjectionRow.cycle_id) == cycle_id).order_by(*OBJECTION_ORDER)
        return [_entity(Objection, r) for r in (await self.s.execute(q)).scalars()]

    async def objections_page(self, cycle_id: str, page: PageRequest) -> Page[Objection]:
        q = select(ObjectionRow).where(col(ObjectionRow.cycle_id) == cycle_id)
        rows, cursor = await keyset_page(self.s, q, OBJECTION_ORDER, after=page.after, size=page.size)
        return Page([_entity(Objection, r) for r in rows], cursor)

    async def objections_without_prefix(self, prefix: str) -> list[Objection]:
        q = (
            select(ObjectionRow)
            .where(~col(ObjectionRow.objector_contact).startswith(prefix, autoescape=True))
            .order_by(col(ObjectionRow.objection_id))
        )
        return [_entity(Objection, r) for r in (await self.s.execute(q)).scalars()]

    # -- on-site reviews

    async def add_on_site_review(self, review: OnSiteReview) -> None:
        await self._add([OnSiteReviewRow(**_values(review))])

    async def on_site_reviews_page(
        self, cycle_id: str, application_id: str | None, page: PageRequest
    ) -> Page[OnSiteReview]:
        q = select(OnSiteReviewRow).where(col(OnSiteReviewRow.cycle_id) == cycle_id)
        if application_id:
            q = q.where(col(OnSiteReviewRow.application_id) == application_id)
        rows, cursor = await keyset_page(self.s, q, ON_SITE_ORDER, after=page.after, size=page.size)
        return Page([_entity(OnSiteReview, r) for r in rows], cursor)
