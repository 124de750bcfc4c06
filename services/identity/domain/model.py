"""Identity's entities: organisations, users, experts and their relations, login throttles, city
corrections, second-factor resets, and the Art. 5 registry records (credit, green threshold).

Plain dataclasses with the column names of the store's tables (the store copies them with
``to_entity`` / ``values_of``); mutable where a use case changes them. Also the views the use cases
answer with (a user with masked personal data, an expert with their relations) and the one wording
of a refused field used across identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from aicc.platform.errors import FieldViolation, InvalidArgument

# The Art. 5 registry records are the facts the eligibility rules read: one definition each.
from services.identity.domain.eligibility import CreditRecord, GreenThresholdStatus

__all__ = [
    "PROVINCE_CODE",
    "CityCorrection",
    "CreditRecord",
    "Enrolment",
    "Expert",
    "ExpertProfile",
    "ExpertRelation",
    "GreenThresholdStatus",
    "LoginThrottle",
    "Organization",
    "OrganizationKind",
    "RegistryKind",
    "RelationKind",
    "RoleChange",
    "SecondFactorReset",
    "User",
    "UserProfile",
    "invalid_field",
]

# Provincial bodies (and accounts of no city) carry the province's own code.
PROVINCE_CODE = "370000"


class OrganizationKind(StrEnum):
    ENTERPRISE = "enterprise"
    OPERATOR_ORG = "operator_org"  # 运营机构 of Art. 5(3), linked to its enterprise
    CITY_BUREAU = "city_bureau"
    PROVINCIAL_DEPARTMENT = "provincial_department"
    EXPERT_EMPLOYER = "expert_employer"


# Organisations that apply (or run a center for one that does): mapped to a city by their USCC.
APPLICANT_KINDS = (OrganizationKind.ENTERPRISE, OrganizationKind.OPERATOR_ORG)


class RelationKind(StrEnum):
    """What a conflict-of-interest check needs to know of an expert (Art. 9 回避)."""

    EMPLOYMENT = "employment"
    SHAREHOLDING = "shareholding"
    CONSULTING = "consulting"


class RegistryKind(StrEnum):
    CREDIT = "credit"
    GREEN = "green"


@dataclass
class Organization:
    organization_id: str
    uscc: str
    name: str
    kind: OrganizationKind
    city_code: str
    legal_person: bool
    parent_organization_id: str | None
    created_at: datetime

    def __post_init__(self) -> None:
        self.kind = OrganizationKind(self.kind)


@dataclass
class User:
    user_id: str
    username: str
    display_name: str
    password_hash: str
    roles: list[str]
    organization_id: str | None
    city_code: str
    created_at: datetime
    # Second factor (officials): TOTP secret, SM4-GCM encrypted; the last time step accepted (a code
    # of that step or an earlier one is a replay).
    totp_secret_enc: str | None = None
    totp_last_step: int | None = None
    # Personal data, SM4-GCM encrypted; never kept or shown in clear.
    phone_enc: str | None = None
    id_number_enc: str | None = None


@dataclass
class LoginThrottle:
    """Failed logins in a row of one account name from one source (known or not, so a lockout
    reveals nothing). ``throttle_key`` is a keyed hash of the pair: a password typed into the
    username field is never kept in clear. Attempts before ``next_attempt_at`` are refused unseen."""

    throttle_key: str
    failures: int = 0
    last_failure_at: datetime | None = None
    next_attempt_at: datetime | None = None
    locked_until: datetime | None = None


@dataclass
class CityCorrection:
    """An official's correction of an organisation's city (its USCC division maps elsewhere)."""

    organization_id: str
    from_city_code: str
    to_city_code: str
    reason: str
    corrected_by: str
    corrected_at: datetime
    correction_id: int | None = None  # assigned by the store


@dataclass
class SecondFactorReset:
    """The security administrator's re-enrolment of an official's second factor, with the reason."""

    user_id: str
    reason: str
    reset_by: str
    reset_at: datetime
    reset_id: int | None = None  # assigned by the store


@dataclass
class RoleChange:
    """A role granted (or revoked) by the security administrator, with the reason given."""

    user_id: str
    role: str
    granted: bool
    reason: str
    changed_by: str
    changed_at: datetime
    change_id: int | None = None  # assigned by the store


@dataclass
class Expert:
    user_id: str
    fields: list[str]
    employer_organization_id: str | None
    active: bool = True


@dataclass
class ExpertRelation:
    user_id: str
    kind: RelationKind
    organization_id: str
    start_date: date | None
    end_date: date | None
    relation_id: int | None = None  # assigned by the store

    def __post_init__(self) -> None:
        self.kind = RelationKind(self.kind)


# ---------------------------------------------------------------- what the use cases answer with


@dataclass(frozen=True)
class UserProfile:
    """A user as shown to anyone: personal data masked, never in clear."""

    user_id: str
    username: str
    display_name: str
    roles: list[str]
    organization_id: str
    city_code: str
    phone: str  # masked, e.g. "138****5678"
    id_number: str  # masked, e.g. "370102********1234"


@dataclass(frozen=True)
class Enrolment:
    """A second factor handed over once: the TOTP secret and its otpauth:// URI."""

    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class ExpertProfile:
    expert: Expert
    display_name: str
    relations: list[ExpertRelation] = field(default_factory=list)


def invalid_field(name: str, en: str, zh: str) -> InvalidArgument:
    """INVALID_ARGUMENT naming one field, in identity's wording (``<field>: <rule>``)."""
    return InvalidArgument(
        f"{name}: {en}",
        f"{name}：{zh}",
        reason="INVALID_ARGUMENT",
        violations=[FieldViolation(name, en, zh)],
    )
