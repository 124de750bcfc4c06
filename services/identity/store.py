"""Identity's own tables and the queries its use cases need. Nothing outside this service reads them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
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


class OrganizationRow(Base):
    __tablename__ = "organizations"
    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    legal_person: Mapped[bool] = mapped_column(Boolean)
    parent_organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class UserRow(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.organization_id"), nullable=True
    )
    city_code: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    # Second factor (officials): TOTP secret, SM4-GCM encrypted; the last time step accepted
    # (a code of that step or an earlier one is a replay).
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Personal data, SM4-GCM encrypted (aicc/platform/crypto.py); never stored or shown in clear.
    phone_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    id_number_enc: Mapped[str | None] = mapped_column(String(255), nullable=True)


class LoginThrottleRow(Base):
    """Failed logins in a row per username (known or not, so a lockout reveals nothing)."""

    __tablename__ = "login_throttle"
    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CityCorrectionRow(Base):
    """An official's correction of an organisation's city (the USCC division maps elsewhere)."""

    __tablename__ = "organization_city_corrections"
    correction_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.organization_id"), index=True)
    from_city_code: Mapped[str] = mapped_column(String(6))
    to_city_code: Mapped[str] = mapped_column(String(6))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class SecondFactorResetRow(Base):
    """An operator's re-enrolment of an official's second factor, with the reason given."""

    __tablename__ = "second_factor_resets"
    reset_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    reset_by: Mapped[str] = mapped_column(String(64))
    reset_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class ExpertRow(Base):
    __tablename__ = "experts"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    fields: Mapped[list] = mapped_column(JSON)
    employer_organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ExpertRelationRow(Base):
    """Relations conflict checks need: employment, shareholding, consulting (with periods)."""

    __tablename__ = "expert_relations"
    __table_args__ = (UniqueConstraint("user_id", "kind", "organization_id", "start_date"),)
    relation_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("experts.user_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # employment | shareholding | consulting
    organization_id: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class CreditRecordRow(Base):
    __tablename__ = "credit_records"
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.organization_id"), index=True)
    severity: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(100))


class GreenThresholdRow(Base):
    __tablename__ = "green_thresholds"
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.organization_id"), index=True)
    meets: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(100))


class IdentityStore:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Base) -> None:
        self.s.add(row)
        await self.s.flush()

    async def organization(self, organization_id: str) -> OrganizationRow | None:
        return await self.s.get(OrganizationRow, organization_id)

    async def organization_by_uscc(self, uscc: str) -> OrganizationRow | None:
        return (
            await self.s.execute(select(OrganizationRow).where(OrganizationRow.uscc == uscc))
        ).scalar_one_or_none()

    async def organizations(
        self, *, kind: str | None, city_code: str | None, uscc: str | None
    ) -> list[OrganizationRow]:
        q = select(OrganizationRow).order_by(OrganizationRow.name)
        if kind:
            q = q.where(OrganizationRow.kind == kind)
        if city_code:
            q = q.where(OrganizationRow.city_code == city_code)
        if uscc:
            q = q.where(OrganizationRow.uscc == uscc)
        return list((await self.s.execute(q)).scalars())

    async def user(self, user_id: str) -> UserRow | None:
        return await self.s.get(UserRow, user_id)

    async def user_by_username(self, username: str) -> UserRow | None:
        return (
            await self.s.execute(select(UserRow).where(UserRow.username == username))
        ).scalar_one_or_none()

    async def throttle(self, username: str) -> LoginThrottleRow | None:
        return await self.s.get(LoginThrottleRow, username)

    async def expert(self, user_id: str) -> ExpertRow | None:
        return await self.s.get(ExpertRow, user_id)

    async def experts(self) -> list[tuple[ExpertRow, UserRow]]:
        q = (
            select(ExpertRow, UserRow)
            .join(UserRow, UserRow.user_id == ExpertRow.user_id)
            .order_by(UserRow.user_id)
        )
        return [(e, u) for e, u in (await self.s.execute(q)).all()]

    async def relations(self, user_id: str) -> list[ExpertRelationRow]:
        q = (
            select(ExpertRelationRow)
            .where(ExpertRelationRow.user_id == user_id)
            .order_by(ExpertRelationRow.relation_id)
        )
        return list((await self.s.execute(q)).scalars())

    async def credit_records(self, organization_id: str) -> list[CreditRecordRow]:
        q = select(CreditRecordRow).where(CreditRecordRow.organization_id == organization_id)
        return list((await self.s.execute(q)).scalars())

    async def latest_green(self, organization_id: str, as_of: date) -> GreenThresholdRow | None:
        q = (
            select(GreenThresholdRow)
            .where(GreenThresholdRow.organization_id == organization_id, GreenThresholdRow.as_of <= as_of)
            .order_by(GreenThresholdRow.as_of.desc())
            .limit(1)
        )
        return (await self.s.execute(q)).scalar_one_or_none()
