"""Review's own tables and the queries its use cases need. Nothing outside this service reads them.

Score sheets and proposals are append-only: a correction is a new sheet version, an upheld
objection a new proposal version; earlier rows are never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class ReviewCycleRow(Base):
    """One cycle's review: the policy snapshot, the phase, the recorded draw and publicity."""

    __tablename__ = "review_cycles"
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_json: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    # The draw (recorded so that auditors can reproduce it): seed, date, pool snapshot.
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    draw_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    pool_json: Mapped[list | None] = mapped_column(JSON, nullable=True)
    short_panels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    recusals: Mapped[int] = mapped_column(Integer, default=0)
    publicity_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    publicity_proposal_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CandidateRow(Base):
    __tablename__ = "candidates"
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    operator_organization_id: Mapped[str] = mapped_column(String(64), default="")
    enterprise_name: Mapped[str] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(6))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # [{"material_id", "kind", "filename", "sha256", "size_bytes"}], as intake recorded them; shown to
    # an assigned expert only after they declare no conflict.
    materials: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")


class ComplianceReviewRow(Base):
    __tablename__ = "compliance_reviews"
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    compliant: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list] = mapped_column(JSON)
    decided_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class AssignmentRow(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("cycle_id", "application_id", "expert_user_id"),)
    assignment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    expert_user_id: Mapped[str] = mapped_column(String(64), index=True)
    # PENDING_DECLARATION | ACCEPTED | RECUSED | SCORED
    status: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    replaces_assignment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    statement: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ExclusionRow(Base):
    __tablename__ = "exclusions"
    exclusion_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    expert_user_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ScoreSheetRow(Base):
    """Immutable: a correction is a new row with the next version."""

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("assignment_id", "version"),)
    sheet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(String(64), index=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    expert_user_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    # [{"indicator_id", "points" (decimal string), "justification"}]
    scores: Mapped[list] = mapped_column(JSON)
    total: Mapped[str] = mapped_column(String(16))
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ProposalRow(Base):
    """Immutable: an upheld objection appends a new version."""

    __tablename__ = "proposals"
    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    # ProposalLine data (decimals as strings).
    lines: Mapped[list] = mapped_column(JSON)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    allocated_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    # Applications removed by upheld objections up to this version.
    removed_application_ids: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ObjectionRow(Base):
    __tablename__ = "objections"
    objection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    objector_name: Mapped[str] = mapped_column(String(100))
    # SM4-GCM ciphertext (aicc/platform/crypto.py), bound to this column and objection id; never
    # stored, logged or shown in clear except to province industry (services/review/domain).
    objector_contact: Mapped[str] = mapped_column(String(1200))
    content: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    # UNDER_INVESTIGATION | UPHELD | DISMISSED
    status: Mapped[str] = mapped_column(String(32))
    findings: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resulting_proposal_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class OnSiteReviewRow(Base):
    """An on-site defence or site verification (Art. 9). Append-only: a later visit is a new row."""

    __tablename__ = "on_site_reviews"
    on_site_review_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[str] = mapped_column(String(128))
    # DEFENCE | SITE_VISIT
    kind: Mapped[str] = mapped_column(String(16))
    held_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Asia/Shanghai
    participants: Mapped[list] = mapped_column(JSON)
    findings: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ReviewStore:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Base) -> None:
        self.s.add(row)
        await self.s.flush()

    async def add_all(self, rows: list[Base]) -> None:
        self.s.add_all(rows)
        await self.s.flush()

    # -- cycles and candidates

    async def cycle(self, cycle_id: str, *, lock: bool = False) -> ReviewCycleRow | None:
        q = select(ReviewCycleRow).where(ReviewCycleRow.cycle_id == cycle_id)
        if lock:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def candidates(self, cycle_id: str) -> list[CandidateRow]:
        q = (
            select(CandidateRow)
            .where(CandidateRow.cycle_id == cycle_id)
            .order_by(CandidateRow.application_id)
        )
        return list((await self.s.execute(q)).scalars())

    async def candidate(self, cycle_id: str, application_id: str) -> CandidateRow | None:
        return await self.s.get(CandidateRow, (cycle_id, application_id))

    # -- compliance

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceReviewRow]:
        q = (
            select(ComplianceReviewRow)
            .where(ComplianceReviewRow.cycle_id == cycle_id)
            .order_by(ComplianceReviewRow.application_id)
        )
        return list((await self.s.execute(q)).scalars())

    # -- panels

    async def assignment(self, assignment_id: str) -> AssignmentRow | None:
        return await self.s.get(AssignmentRow, assignment_id)

    async def assignments(
        self, cycle_id: str | None = None, expert_user_id: str | None = None
    ) -> list[AssignmentRow]:
        q = select(AssignmentRow).order_by(AssignmentRow.cycle_id, AssignmentRow.seq)
        if cycle_id:
            q = q.where(AssignmentRow.cycle_id == cycle_id)
        if expert_user_id:
            q = q.where(AssignmentRow.expert_user_id == expert_user_id)
        return list((await self.s.execute(q)).scalars())

    async def exclusions(self, cycle_id: str) -> list[ExclusionRow]:
        q = select(ExclusionRow).where(ExclusionRow.cycle_id == cycle_id).order_by(ExclusionRow.exclusion_id)
        return list((await self.s.execute(q)).scalars())

    # -- score sheets

    async def sheets_of_assignment(self, assignment_id: str) -> list[ScoreSheetRow]:
        q = (
            select(ScoreSheetRow)
            .where(ScoreSheetRow.assignment_id == assignment_id)
            .order_by(ScoreSheetRow.version)
        )
        return list((await self.s.execute(q)).scalars())

    async def sheets(self, cycle_id: str) -> list[ScoreSheetRow]:
        q = (
            select(ScoreSheetRow)
            .where(ScoreSheetRow.cycle_id == cycle_id)
            .order_by(ScoreSheetRow.application_id, ScoreSheetRow.expert_user_id, ScoreSheetRow.version)
        )
        return list((await self.s.execute(q)).scalars())

    # -- proposals

    async def proposal(self, cycle_id: str, version: int) -> ProposalRow | None:
        return await self.s.get(ProposalRow, (cycle_id, version))

    async def latest_proposal(self, cycle_id: str) -> ProposalRow | None:
        q = (
            select(ProposalRow)
            .where(ProposalRow.cycle_id == cycle_id)
            .order_by(ProposalRow.version.desc())
            .limit(1)
        )
        return (await self.s.execute(q)).scalar_one_or_none()

    # -- objections

    async def objection(self, objection_id: str, *, lock: bool = False) -> ObjectionRow | None:
        q = select(ObjectionRow).where(ObjectionRow.objection_id == objection_id)
        if lock:
            q = q.with_for_update()
        return (await self.s.execute(q)).scalar_one_or_none()

    async def objections(self, cycle_id: str) -> list[ObjectionRow]:
        q = (
            select(ObjectionRow)
            .where(ObjectionRow.cycle_id == cycle_id)
            .order_by(ObjectionRow.filed_at, ObjectionRow.objection_id)
        )
        return list((await self.s.execute(q)).scalars())

    async def objections_without_prefix(self, prefix: str) -> list[ObjectionRow]:
        """Objections whose contact does not start with ``prefix`` (i.e. is not yet encrypted)."""
        q = (
            select(ObjectionRow)
            .where(~ObjectionRow.objector_contact.startswith(prefix, autoescape=True))
            .order_by(ObjectionRow.objection_id)
        )
        return list((await self.s.execute(q)).scalars())

    # -- on-site reviews

    async def on_site_reviews(
        self, cycle_id: str, application_id: str | None = None
    ) -> list[OnSiteReviewRow]:
        q = select(OnSiteReviewRow).where(OnSiteReviewRow.cycle_id == cycle_id)
        if application_id:
            q = q.where(OnSiteReviewRow.application_id == application_id)
        q = q.order_by(
            OnSiteReviewRow.held_on, OnSiteReviewRow.recorded_at, OnSiteReviewRow.on_site_review_id
        )
        return list((await self.s.execute(q)).scalars())

    async def count_assignments(self, cycle_id: str) -> int:
        q = select(func.count()).select_from(AssignmentRow).where(AssignmentRow.cycle_id == cycle_id)
        return int((await self.s.execute(q)).scalar_one())
