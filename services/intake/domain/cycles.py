"""Cycles: created from a policy (snapshotted), within its validity window (Art. 19) and the
instance's jurisdiction (Art. 18); dates of the call fixed at creation (Art. 7). The cycle's
workflow is started in the same unit of work, so a cycle is recorded only if its workflow runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aicc.platform.auth import Principal
from aicc.platform.clock import beijing_date
from aicc.platform.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from aicc.platform.errors import not_found as _not_found
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.policy import Duration, Policy, PolicyError, PolicyNotFound, find_policy, load_policy_text
from aicc.platform.ports import UnitOfWork
from aicc.platform.workdays import deadline_after
from services.intake.domain.model import Cycle, CycleView, Instance
from services.intake.domain.ports import CycleWorkflows, IntakeRepository
from workflows.cycle.models import Actor, CycleInput, Phase, Span, TargetTemplate, workflow_id


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


def read_policy(*, name: str | None, yaml_text: str | None, policy_dir: Path | None) -> Policy:
    """The policy a cycle is created from: a file of the policy directory by name, or YAML text.
    An unknown name lists the names that exist (never the server's paths); an invalid policy lists
    every error, each under the request field it came from."""
    try:
        if name is not None:
            return find_policy(name, policy_dir)
        return load_policy_text(yaml_text or "", source="policy_yaml")
    except PolicyNotFound as e:
        raise NotFound(
            f"policy {e.name!r} not found (available: {', '.join(e.available) or 'none'})",
            f"未找到实施细则 {e.name}（可用：{'、'.join(e.available) or '无'}）",
            reason="POLICY_NOT_FOUND",
        ) from None
    except PolicyError as e:
        field = "policy_name" if name is not None else "policy_yaml"
        raise InvalidArgument(
            f"the policy has {len(e.errors)} error(s); nothing was started",
            f"实施细则有 {len(e.errors)} 处错误，未创建年度申报",
            reason="POLICY_INVALID",
            violations=[FieldViolation(f"{field}.{path}" if path else field, msg) for path, msg in e.errors],
        ) from None


def check_may_create(policy: Policy, *, now: datetime, scope: str, city_code: str) -> None:
    today = beijing_date(now)
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


def actor(p: Principal, role: str) -> Actor:
    """The person behind a decision, as the workflow records it."""
    return Actor(user_id=p.user_id, display_name=p.display_name or p.username, role=role)


def not_found(cycle_id: str) -> NotFound:
    return _not_found("cycle", cycle_id, "年度申报")


async def cycle_of(repo: IntakeRepository, cycle_id: str, *, for_update: bool = False) -> Cycle:
    cycle = await repo.cycle(cycle_id, for_update=for_update)
    if cycle is None:
        raise not_found(cycle_id)
    return cycle


async def require_cycle(uow: UnitOfWork[IntakeRepository], cycle_id: str) -> Cycle:
    async with uow() as repo:
        return await cycle_of(repo, cycle_id)


# ---------------------------------------------------------------- use cases


async def create_cycle(
    *,
    uow: UnitOfWork[IntakeRepository],
    workflows: CycleWorkflows,
    principal: Principal,
    cycle_id: str,
    title: str,
    policy: Policy,
    instance: Instance,
    now: datetime,
) -> Cycle:
    """CreateCycle: the policy in force here and now, the call's dates fixed, the workflow started."""
    check_may_create(policy, now=now, scope=instance.scope, city_code=instance.city_code)
    dates = plan(policy, now)
    inp = workflow_input(cycle_id, policy, dates)
    async with uow() as repo:
        if await repo.cycle(cycle_id):
            raise AlreadyExists(
                f"cycle {cycle_id} already exists", f"年度申报 {cycle_id} 已存在", reason="CYCLE_EXISTS"
            )
        cycle = Cycle(
            cycle_id=cycle_id,
            title=title,
            policy_id=policy.policy_id,
            policy_json=inp.policy_json,
            scope=policy.scope,
            city_code=policy.jurisdiction,
            legal_basis=list(policy.legal_basis),
            phase=Phase.PUBLISHED,
            note="",
            proposal_version=0,
            budget_fen=policy.budget_fen,
            applications_open_at=dates.applications_open_at,
            applications_close_at=dates.applications_close_at,
            city_review_due_at=dates.city_review_due_at,
            workflow_id=workflow_id(cycle_id),
            created_by=principal.user_id,
            created_at=now,
        )
        await repo.add_cycle(cycle)
        # Inside the unit of work: if the workflow cannot start, the cycle is not recorded.
        await workflows.start(inp)
    return cycle


async def get_cycle(
    *, uow: UnitOfWork[IntakeRepository], workflows: CycleWorkflows, cycle_id: str
) -> CycleView:
    """GetCycle: the stored cycle with its workflow's state (phase, history, counts)."""
    cycle = await require_cycle(uow, cycle_id)
    return CycleView(cycle, await workflows.status(cycle_id))


async def list_cycles(*, uow: UnitOfWork[IntakeRepository], page: PageRequest) -> Page[Cycle]:
    """ListCycles: every reader sees every cycle, a page at a time."""
    async with uow() as repo:
        return await repo.cycles_page(page)
