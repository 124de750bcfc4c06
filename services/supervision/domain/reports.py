"""Monitoring reports (Art. 14): the recipient reports values against its award's targets; each
target keeps the latest reported value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.errors import FieldViolation, invalid
from aicc.platform.ids import new_id
from aicc.platform.ports import UnitOfWork
from services.supervision.domain.awards import award_not_found, require_cycle
from services.supervision.domain.model import Award, MonitoringReport, ReportedValue
from services.supervision.domain.ports import SupervisionRepository


def is_recipient(p: Principal, award: Award) -> bool:
    """Only the award's own organisation reports on it."""
    return p.has(authz.APPLICANT) and p.organization_id == award.organization_id


async def submit_report(
    *,
    uow: UnitOfWork[SupervisionRepository],
    principal: Principal,
    cycle_id: str,
    application_id: str,
    values: Sequence[ReportedValue],
    narrative: str,
    now: datetime,
) -> MonitoringReport:
    async with uow() as repo:
        await require_cycle(repo, cycle_id)
        award = await repo.award(cycle_id, application_id)
        # Anybody but the recipient is told there is no such award.
        if award is None or not is_recipient(principal, award):
            raise award_not_found(cycle_id, application_id)
        targets = {t.target_id: t for t in await repo.targets_of(cycle_id, application_id)}
        violations = [
            FieldViolation(
                f"values[{i}].target_id",
                f"{v.target_id!r} is not a performance target of award {application_id}",
                f"{v.target_id} 不是获奖项目 {application_id} 的绩效目标",
            )
            for i, v in enumerate(values)
            if v.target_id not in targets
        ]
        if violations:
            raise invalid(violations)
        report = MonitoringReport(
            report_id=new_id("rpt"),
            cycle_id=cycle_id,
            application_id=application_id,
            values=list(values),
            narrative=narrative,
            submitted_by=principal.user_id,
            submitted_at=now,
        )
        await repo.add_report(report)
        for v in values:
            targets[v.target_id].reported_value = v.value
        await repo.update_targets([targets[v.target_id] for v in values])
        return report
