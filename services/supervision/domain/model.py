"""Supervision's entities (Art. 14): the cycles and awards under supervision, each award's
performance targets, the recipient's monitoring reports against them, the province's evaluation
and the cycle's supervision conclusion.
Plain dataclasses: no transport, no SQL (the store copies them to and from its rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Grade(StrEnum):
    """An evaluation's grade (stored by its value)."""

    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"  # noqa: S105 - the grade 中 (pass), not a password
    FAIL = "fail"


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AwardRef:
    """An announced award, as the cycle workflow hands it over for supervision."""

    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str


@dataclass(frozen=True)
class TargetTemplate:
    """A performance target every award of the cycle gets (from the policy's templates)."""

    code: str
    description: str
    unit: str
    target_value: str


@dataclass(frozen=True)
class ReportedValue:
    target_id: str
    value: str


# ---------------------------------------------------------------- entities


@dataclass(frozen=True)
class SupervisedCycle:
    """A cycle under supervision: known once its targets were created (even with no awards)."""

    cycle_id: str
    created_at: datetime


@dataclass(frozen=True)
class Award:
    """An award under supervision: whose it is, where, how much."""

    cycle_id: str
    application_id: str
    organization_id: str
    city_code: str
    amount_fen: int
    created_at: datetime

    def same_award(self, ref: AwardRef) -> bool:
        """Whether ``ref`` names this award with the same recipient, city and amount."""
        return (self.organization_id, self.city_code, self.amount_fen) == (
            ref.organization_id,
            ref.city_code,
            ref.amount_fen,
        )


@dataclass
class PerformanceTarget:
    """One target of one award; ``reported_value`` is the latest monitoring report's value."""

    target_id: str
    cycle_id: str
    application_id: str
    organization_id: str
    city_code: str
    code: str
    description: str
    unit: str
    target_value: str
    reported_value: str
    created_at: datetime


@dataclass(frozen=True)
class MonitoringReport:
    report_id: str
    cycle_id: str
    application_id: str
    values: list[ReportedValue]
    narrative: str
    submitted_by: str
    submitted_at: datetime


@dataclass(frozen=True)
class Evaluation:
    evaluation_id: str
    cycle_id: str
    application_id: str
    grade: Grade
    comments: str
    evaluated_by: str
    evaluated_at: datetime


@dataclass(frozen=True)
class SupervisionStatus:
    """A cycle's progress: awards under supervision, how many reported, how many evaluated."""

    awards: int
    reported: int
    evaluated: int


@dataclass(frozen=True)
class SupervisionConclusion:
    """The record that supervision of a cycle ended (province industry's conclusion, Art. 14-16):
    its summary, who concluded, when (the service's clock), and the awards supervised and evaluated
    by supervision's own records at that moment. One per cycle, never changed."""

    cycle_id: str
    summary: str
    concluded_by: str
    concluded_by_name: str
    concluded_at: datetime
    awards: int
    evaluated: int

    def same_content(self, other: SupervisionConclusion) -> bool:
        """Whether ``other`` states the same conclusion (its time aside): a repeat of this one."""
        return (self.summary, self.concluded_by, self.concluded_by_name, self.awards, self.evaluated) == (
            other.summary,
            other.concluded_by,
            other.concluded_by_name,
            other.awards,
            other.evaluated,
        )
