"""Performance evaluations (Art. 14): province industry grades an award once, after its recipient
has reported at least once."""

from __future__ import annotations

from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.errors import AlreadyExists, FailedPrecondition
from aicc.platform.ids import new_id
from aicc.platform.ports import UnitOfWork
from services.supervision.domain.awards import require_award
from services.supervision.domain.model import Evaluation, Grade
from services.supervision.domain.ports import DuplicateKey, SupervisionRepository


def already_evaluated(application_id: str) -> AlreadyExists:
    return AlreadyExists(
        f"award {application_id} has been evaluated already",
        f"获奖项目 {application_id} 已完成绩效评价",
        reason="EVALUATION_EXISTS",
    )


async def record_evaluation(
    *,
    uow: UnitOfWork[SupervisionRepository],
    principal: Principal,
    cycle_id: str,
    application_id: str,
    grade: Grade,
    comments: str,
    now: datetime,
) -> Evaluation:
    try:
        async with uow() as repo:
            await require_award(repo, cycle_id, application_id)
            if await repo.evaluation(cycle_id, application_id) is not None:
                raise already_evaluated(application_id)
            if await repo.report_count(cycle_id, application_id) == 0:
                raise FailedPrecondition(
                    f"award {application_id} has no monitoring report yet; it cannot be evaluated",
                    f"获奖项目 {application_id} 尚无绩效监控报告，不能评价",
                    reason="NO_MONITORING_REPORT",
                )
            evaluation = Evaluation(
                evaluation_id=new_id("evl"),
                cycle_id=cycle_id,
                application_id=application_id,
                grade=grade,
                comments=comments,
                evaluated_by=principal.user_id,
                evaluated_at=now,
            )
            await repo.add_evaluation(evaluation)
            return evaluation
    except DuplicateKey:  # a concurrent evaluation of the same award won
        raise already_evaluated(application_id) from None
