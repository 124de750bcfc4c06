"""Cycles: created from a policy (snapshotted with its version and SHA-256, readable back), within
its validity (Art. 19: created while it is in force, the application window closing before it
lapses) and the instance's jurisdiction (Art. 18); dates of the call fixed at creation (Art. 7).
The cycle's workflow is started in the same unit of work, so a cycle is recorded only if its
workflow runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aicc.platform.auth import Principal
from aicc.platform.clock import beijing_date
from aicc.platform.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from aicc.platform.errors import not_found as _not_found
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.policy import Duration, Policy, PolicyError, PolicyNotFound, find_policy, load_policy_text
from aicc.platform.ports import UnitOfWork
from aicc.platform.workdays import WorkdayCalendarError, deadline_after, refusal
from services.intake.domain.model import Cycle, CycleView, EligibilityRules, Instance
from services.intake.domain.ports import CycleWorkflows, IntakeRepository
from workflows.cycle.models import Actor, CycleInput, Phase, Span, TargetTemplate, TierCap, workflow_id


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


def check_window_within_validity(policy_id: str, valid_until: date, closes_at: datetime) -> None:
    """Art. 19: the call's application window must close while its policy is in force."""
    closing_day = beijing_date(closes_at)
    if closing_day > valid_until:
        raise FailedPrecondition(
            f"the application window would close on {closing_day}, after policy {policy_id} lapses on "
            f"{valid_until} (Art. 19); shorten the window or use a policy in force until then",
            f"申报截止日 {closing_day} 晚于实施细则 {policy_id} 的有效期止 {valid_until}（第十九条），"
            "请缩短申报期限或使用届时仍有效的实施细则",
            reason="WINDOW_AFTER_POLICY_VALIDITY",
            metadata={"valid_until": str(valid_until), "applications_close_on": str(closing_day)},
        )


def check_fiscal_year(policy: Policy, opens_at: datetime, requested: int) -> int:
    """The fiscal year whose appropriation funds the cycle (Art. 3-4). 0: the year (Beijing) the
    application window opens. Otherwise that year or the next — a province prepares next year's
    call in December — and a year in which the policy is in force (Art. 19)."""
    opening = beijing_date(opens_at).year
    year = requested or opening
    if year not in (opening, opening + 1):
        raise InvalidArgument(
            f"fiscal year {year} is neither the year the application window opens ({opening}) nor the next",
            f"预算年度 {year} 既不是申报开始年度（{opening}）也不是其下一年度",
            reason="FISCAL_YEAR_OUT_OF_RANGE",
            violations=[
                FieldViolation(
                    "fiscal_year",
                    f"must be 0 (the opening year), {opening} or {opening + 1}",
                    f"须为 0（申报开始年度）、{opening} 或 {opening + 1}",
                )
            ],
            metadata={"applications_open_year": str(opening)},
        )
    if not policy.valid_from.year <= year <= policy.valid_until.year:
        raise InvalidArgument(
            f"fiscal year {year} is outside the validity of policy {policy.policy_id} "
            f"({policy.valid_from} to {policy.valid_until}, Art. 19)",
            f"预算年度 {year} 不在实施细则 {policy.policy_id} 的有效期（{policy.valid_from} 至 "
            f"{policy.valid_until}，第十九条）内",
            reason="FISCAL_YEAR_OUTSIDE_POLICY_VALIDITY",
            violations=[
                FieldViolation(
                    "fiscal_year",
                    f"must be a year in which the policy is in force "
                    f"({policy.valid_from.year}-{policy.valid_until.year}, Art. 19)",
                    f"须为实施细则有效期内的年度（{policy.valid_from.year}—{policy.valid_until.year}，第十九条）",
                )
            ],
            metadata={"valid_from": str(policy.valid_from), "valid_until": str(policy.valid_until)},
        )
    return year


def plan(policy: Policy, now: datetime) -> CyclePlan:
    """The call's dates; a deadline in a year without an official calendar is refused, naming the
    calendar file to add (nothing is created)."""
    s = policy.schedule
    try:
        opens = after(now, s.applications_open_after)
        closes = after(opens, s.application_window)
        return CyclePlan(opens, closes, after(closes, s.city_review))
    except WorkdayCalendarError as e:
        raise refusal(e) from None


def snapshot_sha256(policy_json: str) -> str:
    """SHA-256 (hex) of a policy snapshot: its canonical JSON (sorted keys), UTF-8."""
    return hashlib.sha256(policy_json.encode("utf-8")).hexdigest()


def snapshot_version(policy_id: str, sha256: str, known: list[str]) -> str:
    """``<policy_id>/v<n>``: n counts the distinct contents of that policy id this instance has
    used, in the order first used (the same file gives the same version)."""
    n = known.index(sha256) + 1 if sha256 in known else len(known) + 1
    return f"{policy_id}/v{n}"


def _snapshot(cycle: Cycle) -> dict[str, Any]:
    try:
        data = json.loads(cycle.policy_json)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def eligibility_rules(cycle: Cycle) -> EligibilityRules | None:
    """The eligibility section of the cycle's policy snapshot; None when it has none."""
    e = _snapshot(cycle).get("eligibility")
    if not isinstance(e, dict):
        return None
    return EligibilityRules(
        require_legal_person=bool(e.get("require_legal_person", True)),
        require_green_threshold=bool(e.get("require_green_threshold", True)),
        serious_dishonesty_lookback_years=int(e.get("serious_dishonesty_lookback_years", 3)),
        division_prefix=str(e.get("division_prefix", "37")),
        earlier_award=str(e.get("earlier_award", "refuse")),
    )


def valid_until(cycle: Cycle) -> date | None:
    """The last day the cycle's policy is in force, from its snapshot."""
    try:
        return date.fromisoformat(str(_snapshot(cycle)["valid_until"]))
    except (KeyError, ValueError):
        return None


def workflow_input(cycle_id: str, policy: Policy, p: CyclePlan, fiscal_year: int = 0) -> CycleInput:
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
        # The year whose appropriation the envelope is drawn from (check_fiscal_year).
        fiscal_year=fiscal_year or beijing_date(p.applications_open_at).year,
        # Art. 11 "at most": a tier's amount is the cap of every line in it.
        tier_caps=[TierCap(t.key, t.amount_fen) for t in policy.tiers],
        published_where=policy.publication.published_where,
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
    fiscal_year: int = 0,
) -> Cycle:
    """CreateCycle: the policy in force here and now, the call's dates fixed (the window closing
    inside the policy's validity), the fiscal year that funds it (the opening year or the next,
    inside the policy's validity), the snapshot's version and hash kept, the workflow started."""
    check_may_create(policy, now=now, scope=instance.scope, city_code=instance.city_code)
    dates = plan(policy, now)
    check_window_within_validity(policy.policy_id, policy.valid_until, dates.applications_close_at)
    year = check_fiscal_year(policy, dates.applications_open_at, fiscal_year)
    inp = workflow_input(cycle_id, policy, dates, year)
    sha256 = snapshot_sha256(inp.policy_json)
    async with uow() as repo:
        if await repo.cycle(cycle_id):
            raise AlreadyExists(
                f"cycle {cycle_id} already exists", f"年度申报 {cycle_id} 已存在", reason="CYCLE_EXISTS"
            )
        version = snapshot_version(policy.policy_id, sha256, await repo.policy_snapshots(policy.policy_id))
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
            policy_version=version,
            policy_sha256=sha256,
            fiscal_year=year,
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


async def get_cycle_policy(*, uow: UnitOfWork[IntakeRepository], cycle_id: str) -> Cycle:
    """GetCyclePolicy: the cycle with the policy snapshot it was created from (every reader)."""
    return await require_cycle(uow, cycle_id)
