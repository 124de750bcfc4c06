"""Cycles: created from a policy (snapshotted), within its validity window (Art. 19) and the
instance's jurisdiction (Art. 18); dates of the call fixed at creation (Art. 7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI
from aicc.platform.errors import FailedPrecondition
from aicc.platform.policy import Duration, Policy
from aicc.platform.workdays import deadline_after
from workflows.cycle.models import CycleInput, Span, TargetTemplate, workflow_id


def after(start: datetime, d: Duration) -> datetime:
    """start + a policy duration; working days count the official PRC calendar (Asia/Shanghai days)."""
    if d.timedelta is not None:
        return deadline_after(start, seconds=d.timedelta.total_seconds())
    return deadline_after(start, working_days=d.working_days or 0)


def span(d: Duration) -> Span:
    if d.timedelta is not None:
        return Span(seconds=d.timedelta.total_seconds())
    return Span(working_days=d.working_days or 0)


@dataclass(frozen=True)
class CyclePlan:
    applications_open_at: datetime
    applications_close_at: datetime
    city_review_due_at: datetime


def check_may_create(policy: Policy, *, now: datetime, scope: str, city_code: str) -> None:
    today = now.astimezone(SHANGHAI).date()
    if not policy.is_valid_on(today):
        raise FailedPrecondition(
            f"policy {policy.policy_id} is valid from {policy.valid_from} until {policy.valid_until} (Art. 19); "
            f"a cycle cannot be created on {today}",
            f"实施细则 {policy.policy_id} 有效期为 {policy.valid_from} 至 {policy.valid_until}（第十九条），{today} 不能创建年度申报",
            reason="POLICY_NOT_IN_FORCE",
        )
    if policy.scope != scope or (scope == "city" and policy.jurisdiction != city_code):
        raise FailedPrecondition(
            f"policy {policy.policy_id} is for {policy.scope} {policy.jurisdiction}; this instance runs {scope} {city_code} (Art. 18)",
            f"实施细则 {policy.policy_id} 适用于 {policy.jurisdiction}，与本实例（{city_code}）不符（第十八条）",
            reason="POLICY_SCOPE_MISMATCH",
        )


def plan(policy: Policy, now: datetime) -> CyclePlan:
    s = policy.schedule
    opens = after(now, s.applications_open_after)
    closes = after(opens, s.application_window)
    return CyclePlan(opens, closes, after(closes, s.city_review))


def workflow_input(cycle_id: str, policy: Policy, p: CyclePlan) -> CycleInput:
    s = policy.schedule
    return CycleInput(
        cycle_id=cycle_id,
        policy_id=policy.policy_id,
        policy_json=policy.to_json(),
        budget_fen=policy.budget_fen,
        applications_open_at=p.applications_open_at.isoformat(),
        applications_close_at=p.applications_close_at.isoformat(),
        city_review_due_at=p.city_review_due_at.isoformat(),
        expert_review=span(s.expert_review),
        publicity=span(s.publicity),
        supervision=span(s.supervision),
        performance_targets=[
            TargetTemplate(t.code, t.description, t.unit, str(t.target_value))
            for t in policy.performance_targets
        ],
    )


__all__ = ["CyclePlan", "check_may_create", "plan", "workflow_input", "workflow_id", "Principal"]
