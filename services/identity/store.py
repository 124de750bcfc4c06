"""Identity's own tables (SQLModel, on identity's own registry) and the repository its use cases
work through (``domain/ports.IdentityRepository``): entities in, entities out, never rows. Nothing
outside this service reads these tables."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Date,
    String,
    Text,
    UniqueConstraint,
    exists,
    func,
    inspect,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col

from aicc.platform.audit import audit_table
from aicc.platform.clock import now_utc
from aicc.platform.db import UtcDateTime, keyset_page, to_entity, values_of
from aicc.platform.pagination import Page, PageRequest
from services.identity.domain.model import (
    CityCorrection,
    CreditRecord,
    Expert,
    ExpertProfile,
    ExpertRelation,
    GreenThresholdStatus,
    LoginThrottle,
    Organization,
    OrganizationKind,
    RoleChange,
    SecondFactorReset,
    User,
)


class Base(SQLModel, registry=registry()):
    pass


audit_log = audit_table(Base.metadata)  # the tamper-evident audit chain (aicc/platform/audit.py)


class OrganizationRow(Base, table=True):
    __tablename__ = "organizations"
    organization_id: str = Field(sa_type=String(64), primary_key=True)
    uscc: str = Field(sa_type=String(18), unique=True)
    name: str = Field(sa_type=String(200))
    kind: str = Field(sa_type=String(32))
    city_code: str = Field(sa_type=String(6), index=True)
    legal_person: bool
    parent_organization_id: str | None = Field(default=None, sa_type=String(64))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class UserRow(Base, table=True):
    __tablename__ = "users"
    user_id: str = Field(sa_type=String(64), primary_key=True)
    username: str = Field(sa_type=String(64), unique=True)
    display_name: str = Field(sa_type=String(100))
    password_hash: str = Field(sa_type=String(255))
    roles: list[str] = Field(sa_type=JSON)
    organization_id: str | None = Field(
        default=None, sa_type=String(64), foreign_key="organizations.organization_id"
    )
    city_code: str = Field(sa_type=String(6))
    created_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)
    # Second factor (officials): TOTP secret, SM4-GCM encrypted; the last time step accepted.
    totp_secret_enc: str | None = Field(default=None, sa_type=String(255))
    totp_last_step: int | None = Field(default=None, sa_type=BigInteger)
    # Personal data, SM4-GCM encrypted (aicc/platform/crypto.py); never stored or shown in clear.
    phone_enc: str | None = Field(default=None, sa_type=String(255))
    id_number_enc: str | None = Field(default=None, sa_type=String(255))


class LoginThrottleRow(Base, table=True):
    """Failed logins in a row per (account name, source), under a keyed hash of the pair."""

    __tablename__ = "login_throttle"
    throttle_key: str = Field(sa_type=String(64), primary_key=True)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CityCorrectionRow(Base, table=True):
    """An official's correction of an organisation's city (the USCC division maps elsewhere)."""

    __tablename__ = "organization_city_corrections"
    correction_id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(sa_type=String(64), foreign_key="organizations.organization_id", index=True)
    from_city_code: str = Field(sa_type=String(6))
    to_city_code: str = Field(sa_type=String(6))
    reason: str = Field(sa_type=Text)
    corrected_by: str = Field(sa_type=String(64))
    corrected_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class SecondFactorResetRow(Base, table=True):
    """The security administrator's re-enrolment of an official's second factor, with the reason."""

    __tablename__ = "second_factor_resets"
    reset_id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(sa_type=String(64), foreign_key="users.user_id", index=True)
    reason: str = Field(sa_type=Text)
    reset_by: str = Field(sa_type=String(64))
    reset_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class RoleChangeRow(Base, table=True):
    """A role granted or revoked by the security administrator, with the reason given."""

    __tablename__ = "role_changes"
    change_id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(sa_type=String(64), foreign_key="users.user_id", index=True)
    role: str = Field(sa_type=String(32))
    granted: bool
    reason: str = Field(sa_type=Text)
    changed_by: str = Field(sa_type=String(64))
    changed_at: datetime = Field(default_factory=now_utc, sa_type=UtcDateTime)


class ExpertRow(Base, table=True):
    __tablename__ = "experts"
    user_id: str = Field(sa_type=String(64), foreign_key="users.user_id", primary_key=True)
    fields: list[str] = Field(sa_type=JSON)
    employer_organization_id: str | None = Field(default=None, sa_type=String(64))
    active: bool = True


class ExpertRelationRow(Base, table=True):
    """Relations conflict checks need: employment, shareholding, consulting (with periods)."""

    __tablename__ = "expert_relations"
    __table_args__ = (UniqueConstraint("user_id", "kind", "organization_id", "start_date"),)
    relation_id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(sa_type=String(64), foreign_key="experts.user_id", index=True)
    kind: str = Field(sa_type=String(16))  # employment | shareholding | consulting
    organization_id: str = Field(sa_type=String(64))
    start_date: date | None = Field(default=None, sa_type=Date)
    end_date: date | None = Field(default=None, sa_type=Date)


class CreditRecordRow(Base, table=True):
    __tablename__ = "credit_records"
    record_id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(sa_type=String(64), foreign_key="organizations.organization_id", index=True)
    severity: str = Field(sa_type=String(32))
    start_date: date = Field(sa_type=Date)
    end_date: date | None = Field(default=None, sa_type=Date)
    source: str = Field(sa_type=String(100))
    reference: str = Field(sa_type=String(100))


class GreenThresholdRow(Base, table=True):
    __tablename__ = "green_thresholds"
    record_id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(sa_type=String(64), foreign_key="organizations.organization_id", index=True)
    meets: bool
    as_of: date = Field(sa_type=Date)
    source: str = Field(sa_type=String(100))


Row = TypeVar("Row", bound=Base)


def _column(row: type[Base], name: str) -> Column[Any]:
    """A table column as a typed SQL expression (for keyset order and comparisons)."""
    column: Column[Any] = inspect(row, raiseerr=True).columns[name]
    return column


ORGANIZATION_ORDER = [_column(OrganizationRow, "name"), _column(OrganizationRow, "organization_id")]
EXPERT_ORDER = [_column(ExpertRow, "user_id")]


def _columns_of(entity: object) -> dict[str, Any]:
    """An entity's column values; enum members as their plain values (as the columns hold them)."""
    return {k: v.value if isinstance(v, StrEnum) else v for k, v in values_of(entity).items()}


class IdentityStore:
    """Implements ``services.identity.domain.ports.IdentityRepository`` on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # ---------------------------------------------------------------- entity ⇄ row

    async def _insert(self, row_type: type[Row], entity: object) -> None:
        row = row_type(**_columns_of(entity))
        self.s.add(row)
        await self.s.flush()
        for name, value in values_of(entity).items():  # keys assigned by the database
            if value is None and getattr(row, name) is not None:
                setattr(entity, name, getattr(row, name))

    async def _save(self, row_type: type[Row], entity: object) -> None:
        await self.s.merge(row_type(**_columns_of(entity)))
        await self.s.flush()

    async def _one(self, row_type: type[Row], where: ColumnElement[bool]) -> Row | None:
        row: Row | None = (await self.s.execute(select(row_type).where(where))).scalar_one_or_none()
        return row

    # ---------------------------------------------------------------- organisations

    async def organization(self, organization_id: str) -> Organization | None:
        row = await self.s.get(OrganizationRow, organization_id)
        return to_entity(Organization, row) if row else None

    async def organization_by_uscc(self, uscc: str) -> Organization | None:
        row = await self._one(OrganizationRow, col(OrganizationRow.uscc) == uscc)
        return to_entity(Organization, row) if row else None

    async def organizations(
        self,
        *,
        kind: OrganizationKind | None,
        city_code: str | None,
        uscc: str | None,
        page: PageRequest,
    ) -> Page[Organization]:
        q = select(OrganizationRow)
        if kind:
            q = q.where(col(OrganizationRow.kind) == kind.value)
        if city_code:
            q = q.where(col(OrganizationRow.city_code) == city_code)
        if uscc:
            q = q.where(col(OrganizationRow.uscc) == uscc)
        rows, cursor = await keyset_page(self.s, q, ORGANIZATION_ORDER, after=page.after, size=page.size)
        return Page([to_entity(Organization, r) for r in rows], cursor)

    async def add_organization(self, org: Organization) -> None:
        await self._insert(OrganizationRow, org)

    async def save_organization(self, org: Organization) -> None:
        await self._save(OrganizationRow, org)

    async def add_city_correction(self, correction: CityCorrection) -> None:
        await self._insert(CityCorrectionRow, correction)

    # ---------------------------------------------------------------- users, login

    async def user(self, user_id: str) -> User | None:
        row = await self.s.get(UserRow, user_id)
        return to_entity(User, row) if row else None

    async def user_by_username(self, username: str) -> User | None:
        row = await self._one(UserRow, col(UserRow.username) == username)
        return to_entity(User, row) if row else None

    async def add_user(self, user: User) -> None:
        await self._insert(UserRow, user)

    async def save_user(self, user: User) -> None:
        await self._save(UserRow, user)

    async def throttle(self, throttle_key: str) -> LoginThrottle | None:
        row = await self.s.get(LoginThrottleRow, throttle_key)
        return to_entity(LoginThrottle, row) if row else None

    async def save_throttle(self, throttle: LoginThrottle) -> None:
        await self._save(LoginThrottleRow, throttle)

    async def add_second_factor_reset(self, reset: SecondFactorReset) -> None:
        await self._insert(SecondFactorResetRow, reset)

    async def add_role_change(self, change: RoleChange) -> None:
        await self._insert(RoleChangeRow, change)

    # ---------------------------------------------------------------- experts

    async def expert(self, user_id: str) -> Expert | None:
        row = await self.s.get(ExpertRow, user_id)
        return to_entity(Expert, row) if row else None

    async def add_expert(self, expert: Expert) -> None:
        await self._insert(ExpertRow, expert)

    async def add_relation(self, relation: ExpertRelation) -> None:
        await self._insert(ExpertRelationRow, relation)

    def _has_field(self, field: str) -> ColumnElement[bool]:
        """The expert's fields (a JSON array) include ``field``."""
        fields = _column(ExpertRow, "fields")
        if self.s.get_bind().dialect.name == "postgresql":
            return sql_cast(fields, JSONB).contains([field])
        each = func.json_each(fields).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == field))

    async def experts(self, *, field: str | None, page: PageRequest) -> Page[ExpertProfile]:
        q = select(ExpertRow)
        if field:
            q = q.where(self._has_field(field))
        rows, cursor = await keyset_page(self.s, q, EXPERT_ORDER, after=page.after, size=page.size)
        ids = [r.user_id for r in rows]
        q_names = select(col(UserRow.user_id), col(UserRow.display_name)).where(col(UserRow.user_id).in_(ids))
        names = dict((await self.s.execute(q_names)).tuples().all())
        relations: dict[str, list[ExpertRelation]] = {i: [] for i in ids}
        q_rel = (
            select(ExpertRelationRow)
            .where(col(ExpertRelationRow.user_id).in_(ids))
            .order_by(col(ExpertRelationRow.relation_id))
        )
        for r in (await self.s.execute(q_rel)).scalars():
            relations[r.user_id].append(to_entity(ExpertRelation, r))
        return Page(
            [ExpertProfile(to_entity(Expert, r), names[r.user_id], relations[r.user_id]) for r in rows],
            cursor,
        )

    # ---------------------------------------------------------------- Art. 5 registry

    async def credit_records(self, organization_id: str) -> list[CreditRecord]:
        q = select(CreditRecordRow).where(col(CreditRecordRow.organization_id) == organization_id)
        return [to_entity(CreditRecord, r) for r in (await self.s.execute(q)).scalars()]

    async def add_credit_record(self, record: CreditRecord) -> None:
        await self._insert(CreditRecordRow, record)

    async def latest_green(self, organization_id: str, as_of: date) -> GreenThresholdStatus | None:
        q = (
            select(GreenThresholdRow)
            .where(
                col(GreenThresholdRow.organization_id) == organization_id,
                col(GreenThresholdRow.as_of) <= as_of,
            )
            .order_by(col(GreenThresholdRow.as_of).desc())
            .limit(1)
        )
        row = (await self.s.execute(q)).scalar_one_or_none()
        return to_entity(GreenThresholdStatus, row) if row else None

    async def add_green(self, status: GreenThresholdStatus) -> None:
        await self._insert(GreenThresholdRow, status)
