"""Plain data passed between intake, the cycle workflow and its activities (Temporal payloads).

Deterministic and free of I/O so the workflow sandbox can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Phase(StrEnum):
    """The phases of a cycle, in order (DESIGN.md). Stored and sent as their names."""

    PUBLISHED = "PUBLISHED"
    APPLYING = "APPLYING"
    CITY_REVIEW = "CITY_REVIEW"
    COMPLIANCE_REVIEW = "COMPLIANCE_REVIEW"
    EXPERT_REVIEW = "EXPERT_REVIEW"
    PROPOSAL = "PROPOSAL"
    FINANCE_CONCURRENCE = "FINANCE_CONCURRENCE"
    PARTY_GROUP_APPROVAL = "PARTY_GROUP_APPROVAL"
    PUBLICITY = "PUBLICITY"
    ANNOUNCED = "ANNOUNCED"
    DISBURSING = "DISBURSING"
    SUPERVISING = "SUPERVISING"
    CLOSED = "CLOSED"


PHASES: tuple[Phase, ...] = tuple(Phase)

WORKFLOW_NAME = "CycleWorkflow"
CITY_ROLES = ("city_industry", "city_finance")


def workflow_id(cycle_id: str) -> str:
    """The business key: one workflow per cycle, so starting the same cycle twice is refused."""
    return f"cycle-{cycle_id}"


@dataclass
class Span:
    """A duration from the policy: seconds, or PRC working days (official holiday calendar)."""

    seconds: float = 0.0
    working_days: int = 0


@dataclass
class TargetTemplate:
    code: str
    description: str
    unit: str
    target_value: str


@dataclass
class TierCap:
    tier: str
    cap_fen: int


@dataclass
class CycleInput:
    cycle_id: str
    policy_id: str
    policy_json: str
    budget_fen: int
    # Absolute deadlines fixed when the cycle is created (ISO 8601, UTC).
    applications_open_at: str
    applications_close_at: str
    city_review_due_at: str
    expert_review: Span
    publicity: Span
    supervision: Span
    performance_targets: list[TargetTemplate] = field(default_factory=list)
    # Defaults keep inputs recorded before these fields existed replayable.
    # The fiscal year whose appropriation the cycle's envelope is drawn from.
    fiscal_year: int = 0
    tier_caps: list[TierCap] = field(default_factory=list)
    published_where: str = ""


@dataclass
class MaterialRef:
    """A file submitted with an application (intake's Material), passed on to review."""

    material_id: str
    kind: str
    filename: str
    sha256: str
    size_bytes: int = 0


@dataclass
class AppRef:
    application_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    submitted_at: str
    # Defaults keep histories recorded before these fields existed replayable.
    materials: list[MaterialRef] = field(default_factory=list)
    title: str = ""


@dataclass
class RecommendationItem:
    application_id: str
    recommended: bool
    opinion: str


@dataclass
class Actor:
    user_id: str
    display_name: str
    role: str
    # Unique per decision sent by intake: the workflow refuses one it has seen (a sealed payload
    # replayed from the history cannot take a decision twice).
    request_id: str = ""


@dataclass
class CitySignoff:
    """One bureau's sign-off. Intake checks the items against the city's submitted applications
    (it holds the list) before the update; the workflow checks the phase and that both bureaus
    agree on the document number and on which applications are recommended."""

    actor: Actor
    city_code: str
    document_no: str
    items: list[RecommendationItem]


@dataclass
class SignoffResult:
    city_code: str
    document_no: str
    signed_roles: list[str]
    complete: bool
    signed_at: dict[str, str] = field(default_factory=dict)


@dataclass
class ComplianceItem:
    application_id: str
    compliant: bool
    reasons: list[str]


@dataclass
class ComplianceDecisions:
    actor: Actor
    decisions: list[ComplianceItem]


@dataclass
class ComplianceResult:
    decided: int
    remaining: int


@dataclass
class ProposalDecision:
    actor: Actor
    proposal_version: int
    approve: bool
    opinion: str
    reference: str = ""


@dataclass
class ProposalChange:
    application_id: str
    amount_fen: int
    reason: str
    promote: bool = False


@dataclass
class ProposalRevision:
    """Province industry's revision of a returned proposal (intake validated the caller)."""

    actor: Actor
    proposal_version: int
    changes: list[ProposalChange]
    note: str = ""


@dataclass
class DeadlineExtension:
    actor: Actor
    phase: Phase
    # ISO 8601, UTC; later than the current deadline.
    new_deadline: str
    reason: str


@dataclass
class Resumption:
    actor: Actor
    note: str


@dataclass
class Attention:
    """Why a cycle needs attention: a refused or impossible step, kept until resumed."""

    step: str
    reason: str
    reason_zh: str
    since: str


@dataclass
class PublicityOutcome:
    actor: Actor
    announcement_document_no: str


@dataclass
class Conclusion:
    actor: Actor
    summary: str = ""


@dataclass
class AwardLine:
    application_id: str
    organization_id: str
    city_code: str
    enterprise_name: str
    tier: str
    amount_fen: int
    rank: int
    final_score: str


@dataclass
class ProposalSummary:
    """A proposal version as the workflow needs it: the funded lines (at most the quota) and
    counts. The full list stays in review."""

    version: int
    lines: list[AwardLine]
    # Reserve application ids (histories before payload-minimal summaries); now always empty.
    reserve: list[str]
    allocated_fen: int
    reserve_count: int = 0
    # True when ClosePublicity's upheld objections changed the list.
    changed: bool = False


@dataclass
class PhaseEntry:
    phase: Phase
    at: str
    note: str = ""


@dataclass
class Counts:
    compliance_decided: int = 0
    submitted: int = 0
    recommended: int = 0
    compliant: int = 0
    awarded: int = 0
    reserve: int = 0
    disbursed: int = 0
    evaluated: int = 0
    cities_recommended: int = 0
    cities_expected: int = 0


@dataclass
class CycleStatus:
    cycle_id: str
    phase: Phase
    counts: Counts
    history: list[PhaseEntry]
    proposal_version: int
    note: str
    publicity_ends_at: str = ""
    attention: Attention | None = None
    # The current phase's deadline (as extended), ISO 8601 UTC; "" when none.
    deadline: str = ""


@dataclass
class SupervisionStatus:
    awards: int
    reported: int
    evaluated: int


# ---- activity inputs


@dataclass
class PhaseChange:
    cycle_id: str
    phase: Phase
    note: str = ""
    proposal_version: int = 0


@dataclass
class BudgetOpening:
    cycle_id: str
    total_fen: int
    fiscal_year: int = 0
    caps: list[TierCap] = field(default_factory=list)


@dataclass
class RecommendationRecord:
    cycle_id: str
    city_code: str
    document_no: str
    items: list[RecommendationItem]
    signoffs: list[Actor]
    signed_at: dict[str, str]
    # Each bureau's opinion per application: role -> application id -> opinion.
    opinions: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class ReviewOpening:
    cycle_id: str
    policy_json: str
    candidates: list[AppRef]


@dataclass
class ComplianceRecord:
    cycle_id: str
    decided_by: str
    decided_at: str
    decisions: list[ComplianceItem]


@dataclass
class PanelDraw:
    cycle_id: str
    seed: int


@dataclass
class ProposalRequest:
    cycle_id: str
    budget_fen: int


@dataclass
class Reservation:
    cycle_id: str
    proposal_version: int
    lines: list[AwardLine]


@dataclass
class DeadlineRequest:
    start: str
    span: Span


@dataclass
class PublicityOpening:
    cycle_id: str
    proposal_version: int
    ends_at: str
    published_where: str = ""


@dataclass
class DisbursementResult:
    """What funding answered for one award: paid (with the treasury's reference) or refused (why)."""

    paid: bool
    treasury_reference: str = ""
    failure: str = ""


@dataclass
class DisbursementRequest:
    cycle_id: str
    award: AwardLine
    idempotency_key: str


@dataclass
class TargetsRequest:
    cycle_id: str
    awards: list[AwardLine]
    templates: list[TargetTemplate]


@dataclass
class Submissions:
    """What closing the window found: counts only (the list stays in intake)."""

    total: int
    by_city: dict[str, int] = field(default_factory=dict)


@dataclass
class RecommendationOutcome:
    """What recording a city's joint recommendation changed."""

    recommended: int


@dataclass
class ComplianceOutcome:
    """Review's counts after recording compliance decisions."""

    decided: int
    compliant: int
    remaining: int


@dataclass
class DecisionRecord:
    """A decision for intake's decision log (RecordCycleDecision); kind is the proto enum's name
    without its prefix, e.g. "FINANCE_CONCURRENCE"."""

    cycle_id: str
    kind: str
    idempotency_key: str
    actor: Actor | None = None
    proposal_version: int = 0
    approve: bool = False
    opinion: str = ""
    reference: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class OutcomesRequest:
    cycle_id: str
    # "COMPLIANCE", "PROPOSAL", "ANNOUNCED", "DISBURSED".
    stage: str
    proposal_version: int = 0


@dataclass
class RevisionRequest:
    cycle_id: str
    base_version: int
    changes: list[ProposalChange]
    note: str
    decided_by: str


@dataclass
class AnnouncementRecord:
    cycle_id: str
    proposal_version: int
    document_no: str
    announced_by: str


@dataclass
class ConclusionRecord:
    cycle_id: str
    summary: str
    actor: Actor
    awards: int
    evaluated: int
