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


@dataclass
class CitySignoff:
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
    version: int
    lines: list[AwardLine]
    reserve: list[str]
    allocated_fen: int


@dataclass
class PhaseEntry:
    phase: Phase
    at: str
    note: str = ""


@dataclass
class Counts:
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


@dataclass
class RecommendationRecord:
    cycle_id: str
    city_code: str
    document_no: str
    items: list[RecommendationItem]
    signoffs: list[Actor]
    signed_at: dict[str, str]


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
