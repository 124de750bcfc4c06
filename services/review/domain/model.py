"""Review's entities and statuses (Art. 9-11): the review of one cycle, its candidates, compliance
decisions, panel assignments and exclusions, score sheets, proposal versions, objections and on-site
reviews; and the views the use cases answer with. Plain dataclasses: no transport, no SQL.

The review of one cycle moves through its own phases::

    COMPLIANCE_REVIEW → EXPERT_REVIEW → PROPOSAL → PUBLICITY → PUBLICITY_CLOSED → ANNOUNCED
                                           ↑            │ (upheld objections changed the list)
                                           └────────────┘

(finance concurrence and party-group approval happen between PROPOSAL and PUBLICITY in the cycle
workflow; the review service keeps every version they see). A list changed during publicity goes
back to PROPOSAL: the new version needs finance concurrence, party-group approval and its own
publicity before it is announced. Every call the workflow makes is idempotent: repeating it returns
what the first call recorded.

Score sheets and proposals are append-only: a correction is a new sheet version; a revision by
officials or an upheld objection a new proposal version (``basis``, ``previous_version``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from aicc.platform.policy import Policy


class Phase(StrEnum):
    COMPLIANCE_REVIEW = "COMPLIANCE_REVIEW"
    EXPERT_REVIEW = "EXPERT_REVIEW"
    PROPOSAL = "PROPOSAL"
    PUBLICITY = "PUBLICITY"
    # Publicity closed without a change to the list: final, awaiting its announcement.
    PUBLICITY_CLOSED = "PUBLICITY_CLOSED"
    ANNOUNCED = "ANNOUNCED"


class ProposalBasis(StrEnum):
    """Why a proposal version exists."""

    COMPUTED = "computed"  # ranked and allocated from the score sheets (version 1)
    REVISED = "revised"  # province industry's revision of a returned proposal
    OBJECTION_UPHELD = "objection_upheld"  # an upheld objection removed an application


class AssignmentStatus(StrEnum):
    PENDING_DECLARATION = "PENDING_DECLARATION"  # drawn; the expert has not declared yet
    ACCEPTED = "ACCEPTED"  # declared no conflict: may read the materials and score
    RECUSED = "RECUSED"
    SCORED = "SCORED"


class ObjectionStatus(StrEnum):
    UNDER_INVESTIGATION = "UNDER_INVESTIGATION"
    UPHELD = "UPHELD"
    DISMISSED = "DISMISSED"


class OnSiteKind(StrEnum):
    DEFENCE = "DEFENCE"  # 现场答辩
    SITE_VISIT = "SITE_VISIT"  # 现场核查


# On-site reviews are held during compliance or expert review (Art. 9).
ON_SITE_PHASES = (Phase.COMPLIANCE_REVIEW, Phase.EXPERT_REVIEW)


@dataclass
class ReviewCycle:
    """One cycle's review: the policy snapshot, the phase, the recorded draw and publicity."""

    cycle_id: str
    policy_json: str
    phase: Phase
    opened_at: datetime
    # The draw (recorded so that auditors can reproduce it): seed, date, pool snapshot.
    seed: int | None = None
    drawn_at: datetime | None = None
    draw_date: str | None = None  # YYYY-MM-DD, Asia/Shanghai
    pool_json: list[dict[str, Any]] | None = None
    short_panels: dict[str, int] | None = None  # application -> panel size, when below the policy's
    recusals: int = 0
    publicity_ends_at: datetime | None = None
    publicity_proposal_version: int | None = None
    announced_at: datetime | None = None

    def __post_init__(self) -> None:
        self.phase = Phase(self.phase)

    def policy(self) -> Policy:
        return Policy.from_json(self.policy_json)


@dataclass(frozen=True)
class Material:
    """A file submitted with an application, as intake recorded it."""

    material_id: str
    kind: str
    filename: str
    sha256: str
    size_bytes: int


@dataclass
class Candidate:
    """An application under review and what the review needs of it."""

    cycle_id: str
    application_id: str
    organization_id: str
    operator_organization_id: str
    enterprise_name: str
    city_code: str
    submitted_at: datetime
    title: str = ""
    # Shown to an assigned expert only after they declare no conflict.
    materials: list[Material] = field(default_factory=list)
    # The applicant's unified social credit code (intake's Application.uscc), for official lists.
    uscc: str = ""


@dataclass
class ComplianceReview:
    cycle_id: str
    application_id: str
    compliant: bool
    reasons: list[str]
    decided_by: str
    decided_at: datetime
    recorded_at: datetime


@dataclass
class Assignment:
    assignment_id: str
    cycle_id: str
    application_id: str
    expert_user_id: str
    status: AssignmentStatus
    seq: int
    created_at: datetime
    replaces_assignment_id: str | None = None
    statement: str = ""
    declared_at: datetime | None = None

    def __post_init__(self) -> None:
        self.status = AssignmentStatus(self.status)


@dataclass(frozen=True)
class Exclusion:
    """An expert kept off an application's panel, and why (a conflict, the load cap, a recusal)."""

    cycle_id: str
    application_id: str
    expert_user_id: str
    reason: str
    recorded_at: datetime


@dataclass(frozen=True)
class ScoreSheet:
    """Immutable: a correction is a new sheet with the next version."""

    sheet_id: str
    assignment_id: str
    cycle_id: str
    application_id: str
    expert_user_id: str
    version: int
    # [{"indicator_id", "points" (decimal string), "justification"}], in the policy's indicator order.
    scores: list[dict[str, str]]
    total: str
    correction_reason: str
    submitted_at: datetime


@dataclass(frozen=True)
class Proposal:
    """Immutable: a revision or an upheld objection appends a new version.

    Each line is a dict: :func:`scoring.proposal_to_json_rows` (decimals as strings) plus
    "organization_id", "uscc", "cap_fen" (the tier's cap, Art. 11 "at most"),
    "flagged_expert_names" (display names, never ids), and, on a changed line, "revision_reason"
    and "promoted" ("revision" or "objection")."""

    cycle_id: str
    version: int
    lines: list[dict[str, Any]]
    budget_fen: int
    allocated_fen: int
    reason: str
    # Applications removed by upheld objections up to this version.
    removed_application_ids: list[str]
    created_at: datetime
    basis: str = ProposalBasis.COMPUTED  # a ProposalBasis
    previous_version: int = 0
    # A revision: who decided it, their note, and the changes as asked (what a retry is compared with).
    decided_by: str = ""
    note: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)

    def funded(self) -> list[dict[str, Any]]:
        """The lines with an award, in rank order."""
        return [x for x in self.lines if is_funded(x)]

    def reserve_count(self) -> int:
        return sum(1 for x in self.lines if x.get("reserve"))


def is_funded(line: Mapping[str, Any]) -> bool:
    return not line.get("reserve") and int(line.get("amount_fen") or 0) > 0


@dataclass
class Objection:
    objection_id: str
    cycle_id: str
    application_id: str
    objector_name: str
    # SM4-GCM ciphertext, bound to the objection id (publicity.objector_contact_for reads it).
    objector_contact: str
    content: str
    filed_by: str
    status: ObjectionStatus
    filed_at: datetime
    findings: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None  # when the investigation was concluded (recorded)
    resulting_proposal_version: int | None = None
    # The investigation (调查核实): who, the evidence examined, the replies sent, and when.
    investigator: str = ""
    evidence: list[str] = field(default_factory=list)
    reply_to_objector: str = ""
    reply_to_applicant: str = ""
    investigated_on: str = ""  # YYYY-MM-DD, Asia/Shanghai
    # The proposal version publicised when it was filed (its notice).
    publicised_version: int | None = None

    def __post_init__(self) -> None:
        self.status = ObjectionStatus(self.status)


@dataclass
class PublicityNotice:
    """One publicity (公示) of a proposal version: its period, where it was published, and how it
    ended. A list changed by upheld objections is publicised again as a new notice."""

    cycle_id: str
    proposal_version: int
    starts_at: datetime | None  # None only for notices recorded before notices were kept
    ends_at: datetime
    published_where: str
    closed_at: datetime | None = None
    changed: bool = False
    # The version the notice closed with (the publicised one, or the one objections produced).
    result_version: int | None = None


@dataclass(frozen=True)
class Announcement:
    """The announcement (发文公布) of the final list: its document number (文号), date and the
    announced (funded) lines as they were announced."""

    cycle_id: str
    proposal_version: int
    document_no: str
    announced_at: datetime
    announced_by: str
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class OnSiteReview:
    """An on-site defence or site verification (Art. 9). Append-only: a later visit is a new one."""

    on_site_review_id: str
    cycle_id: str
    application_id: str
    kind: OnSiteKind
    held_on: str  # YYYY-MM-DD, Asia/Shanghai
    participants: list[str]
    findings: str
    recorded_by: str
    recorded_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OnSiteKind(self.kind))


# ------------------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class AssignmentView:
    assignment: Assignment
    enterprise_name: str


@dataclass(frozen=True)
class MaterialsView:
    application_id: str
    enterprise_name: str
    title: str
    materials: list[Material]


@dataclass(frozen=True)
class DrawView:
    assignments: list[AssignmentView]
    exclusions: list[Exclusion]
    seed: int


def few(items: list[str], limit: int = 10) -> str:
    """Ids for a message: the first ``limit`` and how many more."""
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
