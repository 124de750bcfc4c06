"""Funding use cases of a cycle's budget: open it (drawing the envelope from the year's
appropriation), reserve the proposal finance concurred with, close it (returning what was not
spent), read it back. Disbursement is in :mod:`services.funding.domain.disbursement`, the
appropriations and finance's decisions in their own modules.

Every change of money is a balanced ledger transaction written in the same database transaction as
the cached amounts it changes, with the cycle's budget locked first and then, for a draw or a
return, the year's appropriation. No gRPC or SQL here."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.errors import Aborted, FailedPrecondition, Internal
from aicc.platform.pagination import Page, PageRequest
from services.funding.domain import ledger
from services.funding.domain.appropriations import no_appropriation
from services.funding.domain.books import (
    FundingUnitOfWork,
    appropriation_balance,
    budget_of,
    post,
    refuse_if_closed,
    yuan,
    yuan_zh,
)
from services.funding.domain.concurrence import check_caps, require_concurred
from services.funding.domain.disbursement import disburse_award
from services.funding.domain.model import (
    Budget,
    Disbursement,
    LedgerEntry,
    Line,
    ReservationLine,
    Visibility,
)
from services.funding.domain.ports import FundingRepository

__all__ = [
    "FundingUnitOfWork",
    "close_budget",
    "disburse_award",
    "get_budget",
    "list_disbursements",
    "list_ledger_entries",
    "open_budget",
    "reserve_funds",
]


# ------------------------------------------------------------------ open


def _already_open(budget: Budget, what: str, what_zh: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"the budget of cycle {budget.cycle_id} is open with total {yuan(budget.total_fen)} "
        f"(fiscal year {budget.fiscal_year or 'none'}); it cannot be reopened with {what}",
        f"年度 {budget.cycle_id} 的预算已按 {yuan_zh(budget.total_fen)} 下达"
        f"（预算年度 {budget.fiscal_year or '未指明'}），不能改为{what_zh}",
        reason="BUDGET_ALREADY_OPEN",
        metadata={"total_fen": str(budget.total_fen), "fiscal_year": str(budget.fiscal_year)},
    )


async def _repeat_opening(
    repo: FundingRepository, budget: Budget, total_fen: int, fiscal_year: int, caps: Mapping[str, int]
) -> Budget:
    """The budget as it is, when a request repeats its opening (fiscal year 0 names none, and a
    budget opened before appropriations — fiscal year 0 — answers any year: it was drawn already; a
    budget opened without caps takes those of the first repeat naming them)."""
    if total_fen != budget.total_fen:
        raise _already_open(budget, yuan(total_fen), yuan_zh(total_fen))
    if fiscal_year and budget.fiscal_year and fiscal_year != budget.fiscal_year:
        raise _already_open(budget, f"fiscal year {fiscal_year}", f"预算年度 {fiscal_year}")
    if caps and budget.caps and dict(caps) != budget.caps:
        shown = ", ".join(f"{t} {yuan(c)}" for t, c in sorted(caps.items()))
        shown_zh = "，".join(f"{t} {yuan_zh(c)}" for t, c in sorted(caps.items()))
        raise _already_open(budget, f"other tier caps ({shown})", f"其他档次上限（{shown_zh}）")
    if caps and not budget.caps and not budget.closed:
        budget.caps = dict(caps)
        await repo.save_budget(budget)
    return budget


def _fiscal_year_required(cycle_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"the budget of cycle {cycle_id} names no fiscal year: an envelope is drawn only from the "
        "appropriation of the cycle's fiscal year, and this request (from a workflow started before "
        "appropriations existed) names none; the cycle workflow must open it with its fiscal year",
        f"年度 {cycle_id} 开立预算未指明预算年度：资金只能从所属财政年度的预算指标中安排，"
        "须由年度流程按所属财政年度开立预算",
        reason="FISCAL_YEAR_REQUIRED",
    )


async def _open_budget(
    repo: FundingRepository,
    *,
    cycle_id: str,
    total_fen: int,
    fiscal_year: int,
    caps: Mapping[str, int],
    now: datetime,
) -> Budget:
    existing = await repo.budget(cycle_id, for_update=True)
    if existing is not None:
        return await _repeat_opening(repo, existing, total_fen, fiscal_year, caps)
    if not fiscal_year:
        raise _fiscal_year_required(cycle_id)
    appropriation = await repo.appropriation(fiscal_year, for_update=True)
    if appropriation is None:
        raise no_appropriation(fiscal_year, cycle_id)
    memo = f"budget of cycle {cycle_id} drawn from appropriation {fiscal_year} ({appropriation.budget_document_no})"
    try:
        txn = ledger.draw(await appropriation_balance(repo, fiscal_year), total_fen, memo)
    except ledger.ExceedsAppropriation as e:
        raise FailedPrecondition(
            f"the budget of cycle {cycle_id} ({yuan(e.requested_fen)}) exceeds what is left of the {fiscal_year} "
            f"appropriation ({yuan(e.left_fen)} of {yuan(appropriation.amount_fen)}, "
            f"{appropriation.budget_document_no}): province finance must raise the appropriation, or the cycle's "
            "budget be lowered",
            f"年度 {cycle_id} 预算 {yuan_zh(e.requested_fen)} 超出 {fiscal_year} 年度预算指标余额 "
            f"{yuan_zh(e.left_fen)}（指标 {yuan_zh(appropriation.amount_fen)}，{appropriation.budget_document_no}）："
            "须由省财政厅追加预算指标，或调减年度预算",
            reason="EXCEEDS_APPROPRIATION",
            metadata={"requested_fen": str(e.requested_fen), "available_fen": str(e.left_fen)},
        ) from None
    budget = Budget(
        cycle_id=cycle_id,
        total_fen=total_fen,
        available_fen=total_fen,
        reserved_fen=0,
        disbursed_fen=0,
        reservation_version=0,
        created_at=now,
        updated_at=now,
        appropriation_id=appropriation.appropriation_id,
        fiscal_year=fiscal_year,
        caps=dict(caps),
    )
    await repo.add_budget(budget)
    await post(repo, budget, txn, now=now, appropriation=appropriation)
    await repo.save_budget(budget)
    await repo.save_appropriation(appropriation)
    return budget


async def open_budget(
    *,
    uow: FundingUnitOfWork,
    cycle_id: str,
    total_fen: int,
    now: datetime,
    fiscal_year: int = 0,
    caps: Mapping[str, int] | None = None,
) -> Budget:
    """Open the cycle's budget, drawing ``total_fen`` from the ``fiscal_year`` appropriation and
    recording the policy's tier caps; the same request again answers the budget as it is (a
    concurrent first opening that lost the insert answers as a repeat). Refused when no
    appropriation of the year is open or less than ``total_fen`` is left of it, and when the request
    names no fiscal year (fiscal year 0, an older workflow) for a budget not yet open: no envelope
    comes from anywhere but an appropriation."""
    opening = functools.partial(
        _open_budget,
        cycle_id=cycle_id,
        total_fen=total_fen,
        fiscal_year=fiscal_year,
        caps=caps or {},
        now=now,
    )
    try:
        async with uow() as repo:
            return await opening(repo)
    except Aborted:  # a concurrent first opening won the insert: answer as a repeat
        pass
    async with uow() as repo:
        return await opening(repo)


# ------------------------------------------------------------------ close


async def close_budget(*, uow: FundingUnitOfWork, cycle_id: str, now: datetime) -> Budget:
    """At the cycle's close, return what it did not spend — available and reserved-but-unpaid — to
    the appropriation it was drawn from (a budget of fiscal year 0 to its legacy source). Paid money
    never moves. Idempotent: a closed budget is answered as it is. Refused while a payment is in
    flight (its outcome unknown): that disbursement is resumed first."""
    async with uow() as repo:
        budget = await budget_of(repo, cycle_id, lock=True)
        if budget.closed:
            return budget
        in_flight = await repo.requested_disbursements(cycle_id)
        if in_flight:
            keys = ", ".join(d.idempotency_key for d in in_flight[:5])
            raise FailedPrecondition(
                f"{len(in_flight)} disbursement(s) of cycle {cycle_id} await the treasury's answer "
                f"(idempotency keys {keys}); resume them before the budget is closed",
                f"年度 {cycle_id} 有 {len(in_flight)} 笔拨付尚待国库确认（幂等键 {keys}），须先完成后再关闭预算",
                reason="DISBURSEMENT_IN_PROGRESS",
                metadata={"idempotency_keys": ",".join(d.idempotency_key for d in in_flight[:50])},
            )
        appropriation = None
        if budget.fiscal_year:
            appropriation = await repo.appropriation(budget.fiscal_year, for_update=True)
            if appropriation is None:  # pragma: no cover - a budget is drawn from a stored appropriation
                raise Internal(
                    f"the appropriation of fiscal year {budget.fiscal_year} is missing",
                    f"{budget.fiscal_year} 年度预算指标缺失",
                    reason="APPROPRIATION_MISSING",
                )
        bal = ledger.Balances.from_accounts(await repo.account_totals(cycle_id))
        memo = f"cycle {cycle_id} closed: unspent budget returned"
        txn = ledger.return_unspent(bal, ledger.source_account(budget.fiscal_year), memo)
        if txn is not None:
            await post(repo, budget, txn, now=now, appropriation=appropriation)
        if appropriation is not None:
            await repo.save_appropriation(appropriation)
        budget.closed_at = now
        budget.updated_at = now
        await repo.save_budget(budget)
        return budget


# ------------------------------------------------------------------ reserve


def _stale(budget: Budget, version: int) -> None:
    current = budget.reservation_version
    if version < current:
        raise FailedPrecondition(
            f"proposal version {version} is older than the reserved version {current}",
            f"拟支持名单版本 {version} 早于已预留的版本 {current}",
            reason="STALE_PROPOSAL_VERSION",
            metadata={"reservation_version": str(current)},
        )


async def _is_repeat(repo: FundingRepository, budget: Budget, version: int, lines: Sequence[Line]) -> bool:
    """True when ``version`` is reserved with exactly ``lines``; refuses other lines for it. (A line
    reserved before tiers were recorded has none: its tier is not compared.)"""
    if version != budget.reservation_version:
        return False
    stored = await repo.reservation_lines(budget.cycle_id, version)
    untiered = {r.line().key[:4] for r in stored if not r.tier}
    asked = {x.key if (x.key[:4] not in untiered) else (*x.key[:4], "") for x in lines}
    if {r.line().key for r in stored} == asked:
        return True
    raise FailedPrecondition(
        f"proposal version {version} is reserved already with different lines",
        f"拟支持名单版本 {version} 已按不同内容预留",
        reason="RESERVATION_VERSION_CONFLICT",
    )


async def _refuse_after_payment(repo: FundingRepository, cycle_id: str) -> None:
    if await repo.disbursement_started(cycle_id):
        raise FailedPrecondition(
            "disbursement has begun; the reservation can no longer change",
            "资金已开始拨付，预留不能再变更",
            reason="DISBURSEMENT_STARTED",
        )


def _reservation(
    budget: Budget, current: ledger.Balances, version: int, lines: Sequence[Line]
) -> ledger.Transaction | None:
    try:
        return ledger.reserve(
            current, {x.application_id: x.amount_fen for x in lines}, f"reserve proposal version {version}"
        )
    except ledger.ExceedsAvailable as e:
        raise FailedPrecondition(
            f"reservation of {yuan(e.requested_fen)} exceeds available budget of {yuan(e.available_fen)} "
            f"(cycle total {yuan(budget.total_fen)})",
            f"预留金额 {yuan_zh(e.requested_fen)} 超出可用预算 {yuan_zh(e.available_fen)}"
            f"（年度总额 {yuan_zh(budget.total_fen)}）",
            reason="EXCEEDS_BUDGET",
            metadata={"requested_fen": str(e.requested_fen), "available_fen": str(e.available_fen)},
        ) from None


async def reserve_funds(
    *, uow: FundingUnitOfWork, cycle_id: str, version: int, lines: Sequence[Line], now: datetime
) -> Budget:
    """Replace the reservation with proposal ``version``'s lines (the same version again: no
    change). Only for a cycle whose budget is open, only a version province finance concurred
    with, only exactly the lines it concurred with, each within its tier's cap, in total within the
    budget, and not once paying has begun."""
    async with uow() as repo:
        budget = await budget_of(repo, cycle_id, lock=True)
        refuse_if_closed(budget)
        _stale(budget, version)
        if await _is_repeat(repo, budget, version, lines):
            return budget
        await require_concurred(repo, cycle_id, version, lines)
        check_caps(budget, lines)
        await _refuse_after_payment(repo, cycle_id)
        txn = _reservation(
            budget, ledger.Balances.from_accounts(await repo.account_totals(cycle_id)), version, lines
        )
        if txn is not None:
            await post(repo, budget, txn, now=now)
        await repo.add_reservation_lines(
            [
                ReservationLine(
                    cycle_id=cycle_id,
                    version=version,
                    application_id=x.application_id,
                    organization_id=x.organization_id,
                    city_code=x.city_code,
                    amount_fen=x.amount_fen,
                    created_at=now,
                    tier=x.tier,
                )
                for x in lines
            ]
        )
        budget.reservation_version = version
        budget.updated_at = now
        await repo.save_budget(budget)
        return budget


# ------------------------------------------------------------------ read


async def get_budget(*, uow: FundingUnitOfWork, cycle_id: str) -> Budget:
    async with uow() as repo:
        return await budget_of(repo, cycle_id)


async def list_disbursements(
    *, uow: FundingUnitOfWork, principal: Principal, cycle_id: str, page: PageRequest
) -> Page[Disbursement]:
    """Applicants see their own organisation's, city officials their city's, province readers all
    (:meth:`Visibility.of`, applied by the query so that every page is full)."""
    async with uow() as repo:
        await budget_of(repo, cycle_id)
        return await repo.disbursements(cycle_id, Visibility.of(principal), page)


async def list_ledger_entries(
    *, uow: FundingUnitOfWork, cycle_id: str, page: PageRequest
) -> Page[LedgerEntry]:
    async with uow() as repo:
        await budget_of(repo, cycle_id)
        return await repo.ledger_entries(cycle_id, page)
