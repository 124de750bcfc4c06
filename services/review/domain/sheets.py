"""Score sheets (Art. 9): an assigned expert who declared no conflict scores every indicator of the
policy; a correction is a new version with its reason (earlier versions are kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from aicc.platform.auth import Principal
from aicc.platform.errors import FailedPrecondition, FieldViolation, invalid, wrong_phase
from aicc.platform.ids import new_id
from services.review.domain import scoring
from services.review.domain.assignments import own_assignment
from services.review.domain.compliance import review_cycle
from services.review.domain.model import AssignmentStatus, Phase, ScoreSheet
from services.review.domain.ports import ReviewUnitOfWork

TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ScoreIn:
    indicator_id: str
    points: Decimal
    justification: str


def _sheet_violation(key: str, problem: str, index: dict[str, int]) -> FieldViolation:
    """Maps a scoring-engine problem (named by indicator id) onto the request's fields:
    ``scores[i].points`` / ``scores[i].justification`` / ``scores[i].indicator_id``, or ``scores``
    for an indicator the sheet lacks."""
    en, _, zh = problem.partition(" / ")
    if key.startswith("justifications."):
        key, kind = key.split(".", 1)[1], "justification"
    elif "justification" in problem:
        kind = "justification"
    elif "unknown indicator" in problem:
        kind = "indicator_id"
    else:
        kind = "points"
    if key in index:
        return FieldViolation(
            f"scores[{index[key]}].{kind}", f"indicator {key}: {en}", f"指标 {key}：{zh or en}"
        )
    return FieldViolation("scores", f"indicator {key}: {en}", f"指标 {key}：{zh or en}")


async def submit_score_sheet(
    uow: ReviewUnitOfWork,
    p: Principal,
    *,
    assignment_id: str,
    scores: list[ScoreIn],
    correction_reason: str,
    now: datetime,
) -> ScoreSheet:
    """The expert's sheet for their own assignment, checked against the policy (every indicator,
    within its range and precision, a justification for extreme points)."""
    async with uow() as repo:
        a = await own_assignment(repo, p, assignment_id)
        cycle = await review_cycle(repo, a.cycle_id, lock=True)
        if cycle.phase != Phase.EXPERT_REVIEW:
            raise wrong_phase("SubmitScoreSheet", cycle.phase, Phase.EXPERT_REVIEW, "提交评分表")
        if a.status == AssignmentStatus.PENDING_DECLARATION:
            raise FailedPrecondition(
                "declare no conflict first: the assignment has no conflict declaration yet",
                "请先声明无利益冲突后再评分",
                reason="DECLARATION_REQUIRED",
                metadata={"status": a.status},
            )
        if a.status == AssignmentStatus.RECUSED:
            raise FailedPrecondition(
                "the expert recused from this application and may not score it",
                "专家已回避该申报，不得评分",
                reason="RECUSED",
                metadata={"status": a.status},
            )
        policy = cycle.policy()
        index = {s.indicator_id: i for i, s in enumerate(scores)}
        problems = scoring.validate_sheet(
            policy,
            {s.indicator_id: s.points for s in scores},
            {s.indicator_id: s.justification for s in scores if s.justification},
        )
        if problems:
            raise invalid(
                [_sheet_violation(f, m, index) for f, m in problems], "score sheet is invalid", "评分表不合规"
            )
        previous = await repo.sheets_of_assignment(a.assignment_id)
        version = len(previous) + 1
        if version > 1 and not correction_reason.strip():
            raise invalid(
                [
                    FieldViolation(
                        "correction_reason",
                        "is required to correct a submitted sheet",
                        "修改已提交的评分表须说明理由",
                    )
                ]
            )
        total = sum((s.points for s in scores), Decimal(0))
        order = policy.indicator_ids()
        sheet = ScoreSheet(
            sheet_id=new_id("sht"),
            assignment_id=a.assignment_id,
            cycle_id=a.cycle_id,
            application_id=a.application_id,
            expert_user_id=a.expert_user_id,
            version=version,
            scores=[
                {"indicator_id": s.indicator_id, "points": str(s.points), "justification": s.justification}
                for s in sorted(scores, key=lambda s: order.index(s.indicator_id))
            ],
            total=str(total.quantize(TWO_PLACES)),
            correction_reason=correction_reason if version > 1 else "",
            submitted_at=now,
        )
        await repo.add_sheet(sheet)
        a.status = AssignmentStatus.SCORED
        await repo.save_assignment(a)
        return sheet
