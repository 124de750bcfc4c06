"""Intake's entities: cycles, applications with their materials and status history, cities' joint
recommendations, the decision log of a cycle, and what intake reads of the other services (the
identity registry; review's compliance results and proposals; funding's disbursements). Plain data;
the phase of a cycle is the workflow's :class:`~workflows.cycle.models.Phase`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aicc.platform.clock import beijing_date
from workflows.cycle.models import CycleStatus, Phase


class ApplicationStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    INELIGIBLE = "INELIGIBLE"
    RECOMMENDED = "RECOMMENDED"
    NOT_RECOMMENDED = "NOT_RECOMMENDED"
    COMPLIANT = "COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"
    PROPOSED = "PROPOSED"  # on the proposal with an amount (拟支持)
    RESERVE = "RESERVE"  # qualifying, unfunded, in rank order (备选)
    NOT_FUNDED = "NOT_FUNDED"  # scored, not on the list
    AWARDED = "AWARDED"  # announced (发文公布)
    PAID = "PAID"
    PAYMENT_REFUSED = "PAYMENT_REFUSED"


# An organisation holding one of these in an earlier cycle was awarded under the programme (Art. 11).
AWARD_STATUSES = (ApplicationStatus.AWARDED, ApplicationStatus.PAID)


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
    # The snapshot's version ("<policy_id>/v<n>": the n-th distinct content of that policy id this
    # instance has used) and the SHA-256 of policy_json (canonical JSON: sorted keys, UTF-8).
    policy_version: str = ""
    policy_sha256: str = ""
    # The fiscal year whose appropriation funds the cycle; 0 for a cycle recorded before it was
    # kept (then the year its window opened, as it was derived: see funded_year).
    fiscal_year: int = 0

    @property
    def funded_year(self) -> int:
        """The fiscal year the cycle's envelope is drawn from."""
        return self.fiscal_year or beijing_date(self.applications_open_at).year


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
    # Shown to the reviewers, not a reason of ineligibility (e.g. an earlier award, policy "flag").
    flag_only: bool = False


@dataclass(frozen=True)
class EligibilityRules:
    """The eligibility section of a cycle's policy (Art. 5(1); a city's policy may differ, Art. 18),
    as identity's screen takes it, and intake's own earlier-award rule (Art. 11)."""

    require_legal_person: bool
    require_green_threshold: bool
    serious_dishonesty_lookback_years: int
    division_prefix: str
    earlier_award: str = "refuse"  # "refuse" | "flag"


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
    uscc: str = ""


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


@dataclass(frozen=True)
class StatusChange:
    """One step of an application's history (kept, never overwritten): the status it moved to,
    when, and a note in Chinese for the applicant (reasons, amounts in 万元)."""

    application_id: str
    seq: int  # 1, 2, … per application
    status: ApplicationStatus
    at: datetime
    note: str


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
    uscc: str = ""
    # Every status the application has had, oldest first (loaded with it; appended by ``timeline.move``).
    timeline: list[StatusChange] = field(default_factory=list)


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


@dataclass(frozen=True)
class BureauOpinion:
    role: str  # "city_industry" | "city_finance"
    opinion: str


@dataclass(frozen=True)
class RecommendationLine:
    """One application in a city's joint recommendation, with each bureau's opinion."""

    application_id: str
    recommended: bool
    opinion: str  # the first bureau's (as the request carried it)
    opinions: tuple[BureauOpinion, ...] = ()


@dataclass
class Recommendation:
    """A city's joint recommendation document (联合行文), signed by both bureaus."""

    cycle_id: str
    city_code: str
    document_no: str
    items: list[RecommendationLine]
    signoffs: list[Signoff]
    recorded_at: datetime

    @property
    def recommended(self) -> int:
        return sum(1 for i in self.items if i.recommended)


class DecisionKind(StrEnum):
    """What a recorded decision of a cycle is (intake's CycleDecisionKind without its prefix)."""

    COMPLIANCE = "COMPLIANCE"
    EXPERT_REVIEW_CONCLUDED = "EXPERT_REVIEW_CONCLUDED"
    FINANCE_CONCURRENCE = "FINANCE_CONCURRENCE"
    PROPOSAL_REVISED = "PROPOSAL_REVISED"
    PROPOSAL_RESUBMITTED = "PROPOSAL_RESUBMITTED"
    PARTY_GROUP = "PARTY_GROUP"
    PUBLICITY_OUTCOME = "PUBLICITY_OUTCOME"
    DEADLINE_EXTENDED = "DEADLINE_EXTENDED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    RESUMED = "RESUMED"
    SUPERVISION_CONCLUDED = "SUPERVISION_CONCLUDED"


@dataclass(frozen=True)
class CycleDecision:
    """A decision the cycle's workflow accepted, as the official record keeps it (once per key)."""

    decision_id: str
    cycle_id: str
    kind: DecisionKind
    idempotency_key: str
    actor_user_id: str
    actor_name: str
    role: str
    proposal_version: int
    approve: bool
    opinion: str
    reference: str
    decided_at: datetime
    details: dict[str, str]
    recorded_at: datetime


# ---------------------------------------------------------------- what other services own


class OutcomeStage(StrEnum):
    """A stage whose outcome intake copies onto its applications (RecordApplicationOutcomes)."""

    COMPLIANCE = "COMPLIANCE"
    PROPOSAL = "PROPOSAL"
    ANNOUNCED = "ANNOUNCED"
    DISBURSED = "DISBURSED"


@dataclass(frozen=True)
class ComplianceOutcome:
    """Review's compliance result for one application (Art. 9)."""

    application_id: str
    compliant: bool
    reasons: tuple[str, ...] = ()
    decided_at: datetime | None = None


@dataclass(frozen=True)
class ProposalLine:
    """One line of a proposal version as review holds it."""

    application_id: str
    organization_id: str
    city_code: str
    tier: str  # "excellent" | "advanced" | "none"
    amount_fen: int
    reserve: bool
    rank: int

    @property
    def funded(self) -> bool:
        return self.amount_fen > 0 and not self.reserve


@dataclass(frozen=True)
class Proposal:
    cycle_id: str
    version: int
    lines: list[ProposalLine]


class PaymentStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PAID = "PAID"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Disbursement:
    """Funding's record of one payment request for an award."""

    application_id: str
    amount_fen: int
    status: PaymentStatus
    treasury_reference: str = ""
    failure: str = ""


@dataclass(frozen=True)
class FinanceConcurrence:
    """Province finance's concurrence (or return) as funding recorded it (Art. 10)."""

    cycle_id: str
    proposal_version: int
    agree: bool
    opinion: str
    lines: int
