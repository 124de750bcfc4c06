"""The supervision conclusion (Art. 14-16): when province industry concludes supervision of a cycle,
the cycle workflow records it here once, and province readers and auditors read it back.

Supervision checks what it is asked to record against its own records: the cycle must be under
supervision, every award evaluated, and the counts the concluder saw must be the counts it holds.
A conclusion is never changed. Recording the same conclusion again (a retried activity) answers the
stored record; a different one for the same cycle is ALREADY_EXISTS, like a second evaluation of an
award: the record is created once, and a caller that means something else must be told it is not
what was recorded (not told "OK" with the other record)."""

from __future__ import annotations

from datetime import datetime

from aicc.platform.errors import AlreadyExists, FailedPrecondition, not_found
from aicc.platform.ports import UnitOfWork
from services.supervision.domain.awards import require_cycle
from services.supervision.domain.model import SupervisionConclusion
from services.supervision.domain.ports import DuplicateKey, SupervisionRepository

MAX_SUMMARY = 20000


def conclusion_exists(recorded: SupervisionConclusion) -> AlreadyExists:
    return AlreadyExists(
        f"supervision of cycle {recorded.cycle_id} was concluded already "
        f"(by {recorded.concluded_by} at {recorded.concluded_at.isoformat()}); a conclusion is not changed",
        f"年度 {recorded.cycle_id} 的绩效监管已作出结论，结论不得更改",
        reason="CONCLUSION_EXISTS",
        metadata={"cycle_id": recorded.cycle_id, "concluded_by": recorded.concluded_by},
    )


async def record_conclusion(
    *,
    uow: UnitOfWork[SupervisionRepository],
    cycle_id: str,
    summary: str,
    concluded_by: str,
    concluded_by_name: str,
    awards: int,
    evaluated: int,
    now: datetime,
) -> SupervisionConclusion:
    """Records the cycle's conclusion, dated ``now``; a repeat answers the stored one."""
    asked = SupervisionConclusion(
        cycle_id=cycle_id,
        summary=summary,
        concluded_by=concluded_by,
        concluded_by_name=concluded_by_name,
        concluded_at=now,
        awards=awards,
        evaluated=evaluated,
    )
    try:
        async with uow() as repo:
            return await _record(repo, asked)
    except DuplicateKey:  # a concurrent call recorded it first: answer as a repeat
        pass
    async with uow() as repo:
        return await _record(repo, asked)


async def _record(repo: SupervisionRepository, asked: SupervisionConclusion) -> SupervisionConclusion:
    await require_cycle(repo, asked.cycle_id)
    recorded = await repo.conclusion(asked.cycle_id)
    if recorded is not None:
        if recorded.same_content(asked):
            return recorded
        raise conclusion_exists(recorded)
    status = await repo.status(asked.cycle_id)
    if status.evaluated < status.awards:
        raise FailedPrecondition(
            f"{status.awards - status.evaluated} of {status.awards} awards are not yet evaluated; "
            "supervision cannot be concluded",
            f"尚有 {status.awards - status.evaluated} 个获奖项目未完成绩效评价，不能结束绩效监管",
            reason="NOT_ALL_EVALUATED",
            metadata={"awards": str(status.awards), "evaluated": str(status.evaluated)},
        )
    if (asked.awards, asked.evaluated) != (status.awards, status.evaluated):
        raise FailedPrecondition(
            f"the conclusion states {asked.awards} awards and {asked.evaluated} evaluated; "
            f"supervision's records hold {status.awards} and {status.evaluated}",
            f"结论所述获奖项目 {asked.awards} 个、已评价 {asked.evaluated} 个，"
            f"与监管记录（{status.awards} 个、{status.evaluated} 个）不符",
            reason="COUNTS_DIFFER",
            metadata={"awards": str(status.awards), "evaluated": str(status.evaluated)},
        )
    await repo.add_conclusion(asked)
    return asked


async def get_conclusion(*, uow: UnitOfWork[SupervisionRepository], cycle_id: str) -> SupervisionConclusion:
    """The cycle's conclusion; NOT_FOUND for a cycle not under supervision or not yet concluded."""
    async with uow() as repo:
        await require_cycle(repo, cycle_id)
        found = await repo.conclusion(cycle_id)
        if found is None:
            raise not_found("supervision conclusion", cycle_id, "绩效监管结论")
        return found
