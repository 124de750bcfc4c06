"""Intake's entities: cycles, applications with their materials, cities' joint recommendations, and
what intake reads of the identity registry. Plain data; the phase of a cycle is the workflow's
:class:`~workflows.cycle.models.Phase`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.cycle.models import CycleStatus, Phase, RecommendationItem


class ApplicationStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    INELIGIBLE = "INELIGIBLE"
    RECOMMENDED = "RECOMMENDED"
    NOT_RECOMMENDED = "NOT_RECOMMENDED"


class OrganizationKind(StrEnum):
    UNSPECIFIED = "unspecified"
    ENTERPRISE = "enterprise"
    OPERATOR_ORG = "operator_org"
    CITY_BUREAU = "city_bureau"
    PROVINCIAL_DEPARTMENT = "provincial_department"
    EXPERT_EMPLOYER = "expert_employer"


@dataclass
class Cycle:
    cycle_id: str
    title: str
    policy_id: str
    policy_json: str  # the policy as it was when the cycle was created (snapshot)
    scope: str
    city_code: str
    legal_basis: list[str]
    phase: Phase  # the last phase the workflow recorded here (RecordCyclePhase)
    note: str
    proposal_version: int
    budget_fen: int
    applications_open_at: datetime
    applications_close_at: datetime
    city_review_due_at: datetime
    workflow_id: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class CycleView:
    """A cycle as stored here, with its workflow's state when the workflow answers."""

    cycle: Cycle
    status: CycleStatus | None = None


@dataclass(frozen=True)
class Instance:
    """Where this instance runs (Art. 18): the province, or one city."""

    scope: str
    city_code: str


@dataclass(frozen=True)
class Declaration:
    """The authenticity declaration (真实性承诺, Art. 8)."""

    signer_name: str
    signer_title: str
    accepted: bool
    signed_at: datetime | None = None


@dataclass(frozen=True)
class EligibilityFailure:
    rule: str
    article: str
    message: str
    message_zh: str


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    failures: list[EligibilityFailure] = field(default_factory=list)


@dataclass(frozen=True)
class Organization:
    """What intake needs of an organisation in the identity registry."""

    organization_id: str
    name: str
    kind: OrganizationKind
    city_code: str
    parent_organization_id: str = ""


@dataclass
class Material:
    material_id: str
    application_id: str
    kind: str
    filename: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class MaterialInput:
    kind: str
    filename: str
    sha256: str
    size_bytes: int


@dataclass
class Application:
    application_id: str
    cycle_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    title: str
    service_lines: list[str]
    status: ApplicationStatus
    created_by: str
    created_at: datetime
    declaration: Declaration | None = None
    eligibility_failures: list[EligibilityFailure] = field(default_factory=list)
    submitted_at: datetime | None = None
    recommendation_document_no: str = ""
    recommendation_opinion: str = ""


@dataclass(frozen=True)
class Dossier:
    """An application with its materials."""

    application: Application
    materials: list[Material]


@dataclass(frozen=True)
class ApplicationDraft:
    cycle_id: str
    organization_id: str
    operator_organization_id: str
    title: str
    service_lines: list[str]
    materials: list[MaterialInput]


@dataclass(frozen=True)
class ApplicationFilter:
    """Which applications a listing asks for (None: any)."""

    cycle_id: str | None = None
    city_code: str | None = None
    status: ApplicationStatus | None = None
    organization_id: str | None = None


@dataclass(frozen=True)
class Signoff:
    role: str
    user_id: str
    display_name: str
    signed_at: str  # RFC 3339, as the workflow recorded it


@dataclass
class Recommendation:
    """A city's joint recommendation document (联合行文), signed by both bureaus."""

    cycle_id: str
    city_code: str
    document_no: str
    items: list[RecommendationItem]
    signoffs: list[Signoff]
    recorded_at: datetime
