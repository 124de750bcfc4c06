"""Province finance's concurrence with a proposal version (财政厅会签, Art. 10), recorded in funding
with the finance official's own token (intake forwards it; a service account cannot concur): the
record funding reserves against. ``ReserveFunds`` reserves only a version finance concurred with,
and only exactly the lines it concurred with; each line within its tier's cap.

A concurrence is final for its version: repeating it answers the first record, a return or other
lines for that version are refused (a change goes through a new version). A return is not final: a
proposal resubmitted unchanged keeps its version, and finance may then concur with it or return it
again with a new opinion — every decision is kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.clock import SHANGHAI, beijing_text
from aicc.platform.errors import FailedPrecondition
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.funding.domain.books import FundingUnitOfWork, budget_of, refuse_if_closed, yuan, yuan_zh
from services.funding.domain.model import Budget, FinanceConcurrence, Line
from services.funding.domain.ports import FundingRepository

SHOWN = 5  # lines named in a refusal (the rest are counted)
TIER_ZH = {"excellent": "卓越级", "advanced": "先进级"}  # Art. 11; another policy's tier by its key


def _tier_zh(tier: str) -> str:
    return TIER_ZH.get(tier, tier)


def _keys(lines: Sequence[Line]) -> set[tuple[str, str, int, str, str]]:
    return {x.key for x in lines}


def _named(lines: Sequence[Line]) -> str:
    shown = ", ".join(f"{x.application_id} ({x.tier}, {yuan(x.amount_fen)})" for x in lines[:SHOWN])
    return shown + (f" and {len(lines) - SHOWN} more" if len(lines) > SHOWN else "")


def _named_zh(lines: Sequence[Line]) -> str:
    shown = "、".join(
        f"{x.application_id}（{_tier_zh(x.tier)}，{yuan_zh(x.amount_fen)}）" for x in lines[:SHOWN]
    )
    return shown + (f"等 {len(lines)} 项" if len(lines) > SHOWN else "")


# ------------------------------------------------------------------ the lines against the budget


def check_caps(budget: Budget, lines: Sequence[Line]) -> None:
    """Each line at most its tier's cap as the budget recorded it from the policy (Art. 11)."""
    uncapped = [x for x in lines if x.tier not in budget.caps]
    if uncapped:
        raise FailedPrecondition(
            f"the budget of cycle {budget.cycle_id} records no cap for the tier of {_named(uncapped)} "
            f"(tiers with a cap: {', '.join(sorted(budget.caps)) or 'none'}); the cycle workflow must "
            "open the budget with the policy's tier caps",
            f"年度 {budget.cycle_id} 的预算未记录以下项目所属档次的奖补上限：{_named_zh(uncapped)}；"
            "须由年度流程按实施细则的档次上限开立预算",
            reason="NO_TIER_CAP",
            metadata={"tiers": ",".join(sorted({x.tier for x in uncapped}))},
        )
    over = [x for x in lines if x.amount_fen > budget.caps[x.tier]]
    if over:
        caps = ", ".join(f"{t} {yuan(c)}" for t, c in sorted(budget.caps.items()))
        caps_zh = "，".join(f"{_tier_zh(t)} {yuan_zh(c)}" for t, c in sorted(budget.caps.items()))
        raise FailedPrecondition(
            f"{_named(over)} exceed{'s' if len(over) == 1 else ''} the cap of {'its' if len(over) == 1 else 'their'} "
            f"tier (Art. 11: at most {caps})",
            f"{_named_zh(over)} 超过所属档次的奖补上限（第十一条：最高 {caps_zh}）",
            reason="EXCEEDS_CAP",
            metadata={"application_ids": ",".join(x.application_id for x in over[:50])},
        )


def check_envelope(budget: Budget, lines: Sequence[Line]) -> None:
    """The lines together within what the cycle can hold (its envelope less what is paid)."""
    requested = sum(x.amount_fen for x in lines)
    can_hold = budget.available_fen + budget.reserved_fen
    if requested > can_hold:
        raise FailedPrecondition(
            f"the lines total {yuan(requested)}, which exceeds available budget of {yuan(can_hold)} "
            f"(cycle {budget.cycle_id}, total {yuan(budget.total_fen)}, paid {yuan(budget.disbursed_fen)})",
            f"各项合计 {yuan_zh(requested)}，超出可用预算 {yuan_zh(can_hold)}"
            f"（年度 {budget.cycle_id}，总额 {yuan_zh(budget.total_fen)}，已拨付 {yuan_zh(budget.disbursed_fen)}）",
            reason="EXCEEDS_BUDGET",
            metadata={"requested_fen": str(requested), "available_fen": str(can_hold)},
        )


# ------------------------------------------------------------------ record


def _final(c: FinanceConcurrence) -> FailedPrecondition:
    at = c.decided_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    return FailedPrecondition(
        f"province finance concurred with proposal version {c.proposal_version} of cycle {c.cycle_id} "
        f"on {at} (Beijing time); a concurrence is final: a change needs a new proposal version",
        f"省财政厅已于 {beijing_text(c.decided_at)}会签同意年度 {c.cycle_id} 拟支持名单第 {c.proposal_version} 版，"
        "会签意见不能更改；如需调整，须形成新版本重新报送",
        reason="CONCURRENCE_FINAL",
        metadata={"concurrence_id": c.concurrence_id},
    )


def _repeat(
    earlier: Sequence[FinanceConcurrence], agree: bool, opinion: str, lines: Sequence[Line]
) -> FinanceConcurrence | None:
    """The recorded decision this request repeats, if any; refuses what contradicts a concurrence."""
    concurred = next((c for c in earlier if c.agree), None)
    if concurred is not None:
        if agree and _keys(concurred.lines) == _keys(lines):
            return concurred
        raise _final(concurred)
    last = earlier[-1] if earlier else None
    if last is not None and not agree and (last.opinion, _keys(last.lines)) == (opinion, _keys(lines)):
        return last
    return None


def _stale(budget: Budget, version: int) -> None:
    if version < budget.reservation_version:
        raise FailedPrecondition(
            f"proposal version {version} is older than the version reserved ({budget.reservation_version})",
            f"拟支持名单第 {version} 版早于已预留的第 {budget.reservation_version} 版",
            reason="STALE_PROPOSAL_VERSION",
            metadata={"reservation_version": str(budget.reservation_version)},
        )


async def _record(
    repo: FundingRepository,
    *,
    principal: Principal,
    cycle_id: str,
    version: int,
    agree: bool,
    opinion: str,
    lines: Sequence[Line],
    now: datetime,
) -> FinanceConcurrence:
    budget = await budget_of(repo, cycle_id, lock=True)
    refuse_if_closed(budget)
    repeated = _repeat(await repo.concurrences_of_version(cycle_id, version), agree, opinion, lines)
    if repeated is not None:
        return repeated
    _stale(budget, version)
    if agree:  # finance is told now, not the workflow later, when a line cannot be reserved
        check_caps(budget, lines)
        check_envelope(budget, lines)
    c = FinanceConcurrence(
        concurrence_id=new_id("fcc"),
        cycle_id=cycle_id,
        proposal_version=version,
        agree=agree,
        opinion=opinion,
        decided_by=principal.user_id,
        decided_by_name=principal.display_name or principal.username,
        decided_at=now,
        lines=tuple(sorted(lines, key=lambda x: x.application_id)),
    )
    await repo.add_concurrence(c)
    return c


async def record_finance_concurrence(
    *,
    uow: FundingUnitOfWork,
    principal: Principal,
    cycle_id: str,
    version: int,
    agree: bool,
    opinion: str,
    lines: Sequence[Line],
    now: datetime,
) -> FinanceConcurrence:
    """Records finance's decision on a proposal version (idempotent: a repeat answers the record)."""
    async with uow() as repo:
        return await _record(
            repo,
            principal=principal,
            cycle_id=cycle_id,
            version=version,
            agree=agree,
            opinion=opinion,
            lines=lines,
            now=now,
        )


async def list_finance_concurrences(
    *, uow: FundingUnitOfWork, cycle_id: str, page: PageRequest
) -> Page[FinanceConcurrence]:
    async with uow() as repo:
        await budget_of(repo, cycle_id)
        return await repo.concurrences(cycle_id, page)


# ------------------------------------------------------------------ what ReserveFunds may reserve


def _differences(concurred: Sequence[Line], asked: Sequence[Line]) -> tuple[list[Line], list[Line]]:
    """Lines asked for that finance did not concur with, and concurred lines not asked for."""
    c, a = _keys(concurred), _keys(asked)
    return [x for x in asked if x.key not in c], [x for x in concurred if x.key not in a]


async def require_concurred(
    repo: FundingRepository, cycle_id: str, version: int, lines: Sequence[Line]
) -> None:
    """Refuses a reservation of a version finance did not concur with, or of other lines."""
    decisions = await repo.concurrences_of_version(cycle_id, version)
    concurred = next((c for c in decisions if c.agree), None)
    if concurred is None:
        returned = decisions[-1] if decisions else None
        why = f": it returned it ({returned.opinion})" if returned else ""
        why_zh = f"：已退回（{returned.opinion}）" if returned else ""
        raise FailedPrecondition(
            f"province finance has not concurred with proposal version {version} of cycle {cycle_id}{why}; "
            "only a version finance concurred with is reserved",
            f"省财政厅未会签同意年度 {cycle_id} 拟支持名单第 {version} 版{why_zh}，不能预留资金",
            reason="NOT_CONCURRED",
            metadata={"proposal_version": str(version)},
        )
    unexpected, missing = _differences(concurred.lines, lines)
    if unexpected or missing:
        parts = [f"not concurred: {_named(unexpected)}"] if unexpected else []
        parts += [f"concurred but missing: {_named(missing)}"] if missing else []
        parts_zh = [f"未经会签：{_named_zh(unexpected)}"] if unexpected else []
        parts_zh += [f"已会签但缺少：{_named_zh(missing)}"] if missing else []
        raise FailedPrecondition(
            f"the lines differ from those province finance concurred with for version {version} "
            f"({'; '.join(parts)}); only exactly the concurred lines are reserved",
            f"预留内容与省财政厅会签的第 {version} 版不一致（{'；'.join(parts_zh)}），只能按会签内容预留",
            reason="LINES_NOT_CONCURRED",
            metadata={
                "not_concurred": ",".join(x.application_id for x in unexpected[:50]),
                "missing": ",".join(x.application_id for x in missing[:50]),
            },
        )
