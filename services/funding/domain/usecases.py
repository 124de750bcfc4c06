"""Funding use cases: open a budget, reserve the proposal, disburse awards, read them back.

Every change of money is a balanced ledger transaction written in the same database transaction as
the budget it summarises, with that budget locked. Each use case opens its own unit of work (a
disbursement three of them, around the treasury call). No gRPC or SQL here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.errors import Aborted, FailedPrecondition, Internal, Unavailable, not_found
from aicc.platform.ids import new_id
from aicc.platform.money import format_yuan
from aicc.platform.pagination import Page, PageRequest
from aicc.platform.ports import Clock, UnitOfWork
from services.funding.domain import ledger
from services.funding.domain.model import (
    Budget,
    Disbursement,
    DisbursementStatus,
    LedgerEntry,
    Line,
    ReservationLine,
    Visibility,
)
from services.funding.domain.ports import FundingRepository, Treasury, TreasuryRejected

FundingUnitOfWork = UnitOfWork[FundingRepository]

REQUESTED, PAID, FAILED = DisbursementStatus.REQUESTED, DisbursementStatus.PAID, DisbursementStatus.FAILED


def _yuan(fen: int) -> str:
    return f"{format_yuan(fen)} yuan"


def _yuan_zh(fen: int) -> str:
    return f"{format_yuan(fen)}元"


async def _budget(repo: FundingRepository, cycle_id: str, *, lock: bool = False) -> Budget:
    budget = await repo.budget(cycle_id, for_update=lock)
    if budget is None:
        raise not_found("budget", cycle_id, "预算")
    return budget


async def _post(repo: FundingRepository, budget: Budget, txn: ledger.Transaction, *, now: datetime) -> str:
    """Append ``txn``'s postings and refresh the budget's cached amounts from the ledger (the caller
    saves the budget); returns the transaction id."""
    after = ledger.apply(await repo.account_totals(budget.cycle_id), txn)
    txn_id = new_id("txn")
    await repo.add_ledger_entries(
        [
            LedgerEntry(
                entry_id=new_id("led"),
                cycle_id=budget.cycle_id,
                transaction_id=txn_id,
                kind=txn.kind,
                account=p.account,
                amount_fen=p.amount_fen,
                memo=txn.memo,
                posted_at=now,
            )
            for p in txn.postings
        ]
    )
    bal = ledger.Balances.from_accounts(after)
    budget.total_fen = bal.total_fen
    budget.available_fen = bal.available_fen
    budget.reserved_fen = bal.reserved_fen
    budget.disbursed_fen = bal.disbursed_fen
    budget.updated_at = now
    return txn_id


# ------------------------------------------------------------------ open


async def open_budget(*, uow: FundingUnitOfWork, cycle_id: str, total_fen: int, now: datetime) -> Budget:
    """Open the cycle's budget; the same request again answers the budget as it is."""
    try:
        async with uow() as repo:
            return await _open_budget(repo, cycle_id=cycle_id, total_fen=total_fen, now=now)
    except Aborted:  # a concurrent first opening won the insert: answer as a repeat
        pass
    async with uow() as repo:
        return await _open_budget(repo, cycle_id=cycle_id, total_fen=total_fen, now=now)


async def _open_budget(repo: FundingRepository, *, cycle_id: str, total_fen: int, now: datetime) -> Budget:
    existing = await repo.budget(cycle_id, for_update=True)
    if existing is not None:
        if existing.total_fen == total_fen:
            return existing
        raise FailedPrecondition(
            f"the budget of cycle {cycle_id} is open with total {_yuan(existing.total_fen)}; "
            f"it cannot be reopened with {_yuan(total_fen)}",
            f"年度 {cycle_id} 的预算已按 {_yuan_zh(existing.total_fen)} 下达，不能改为 {_yuan_zh(total_fen)}",
            reason="BUDGET_ALREADY_OPEN",
            metadata={"total_fen": str(existing.total_fen)},
        )
    budget = Budget(
        cycle_id=cycle_id,
        total_fen=total_fen,
        available_fen=total_fen,
        reserved_fen=0,
        disbursed_fen=0,
        reservation_version=0,
        created_at=now,
        updated_at=now,
    )
    await repo.add_budget(budget)
    await _post(repo, budget, ledger.open_budget(total_fen, f"budget of cycle {cycle_id} opened"), now=now)
    await repo.save_budget(budget)
    return budget


# ------------------------------------------------------------------ reserve


async def reserve_funds(
    *, uow: FundingUnitOfWork, cycle_id: str, version: int, lines: Sequence[Line], now: datetime
) -> Budget:
    """Replace the reservation with proposal ``version``'s lines (the same version again: no change)."""
    async with uow() as repo:
        budget = await _budget(repo, cycle_id, lock=True)
        current = budget.reservation_version
        if version < current:
            raise FailedPrecondition(
                f"proposal version {version} is older than the reserved version {current}",
                f"拟支持名单版本 {version} 早于已预留的版本 {current}",
                reason="STALE_PROPOSAL_VERSION",
                metadata={"reservation_version": str(current)},
            )
        if version == current:
            stored = {
                (r.application_id, r.organization_id, r.amount_fen, r.city_code)
                for r in await repo.reservation_lines(cycle_id, version)
            }
            asked = {(x.application_id, x.organization_id, x.amount_fen, x.city_code) for x in lines}
            if stored == asked:
                return budget  # the same request again
            raise FailedPrecondition(
                f"proposal version {version} is reserved already with different lines",
                f"拟支持名单版本 {version} 已按不同内容预留",
                reason="RESERVATION_VERSION_CONFLICT",
            )
        if await repo.disbursement_started(cycle_id):
            raise FailedPrecondition(
                "disbursement has begun; the reservation can no longer change",
                "资金已开始拨付，预留不能再变更",
                reason="DISBURSEMENT_STARTED",
            )
        bal = ledger.Balances.from_accounts(await repo.account_totals(cycle_id))
        try:
            txn = ledger.reserve(
                bal, {x.application_id: x.amount_fen for x in lines}, f"reserve proposal version {version}"
            )
        except ledger.ExceedsAvailable as e:
            raise FailedPrecondition(
                f"reservation of {_yuan(e.requested_fen)} exceeds available budget of {_yuan(e.available_fen)} "
                f"(cycle total {_yuan(budget.total_fen)})",
                f"预留金额 {_yuan_zh(e.requested_fen)} 超出可用预算 {_yuan_zh(e.available_fen)}"
                f"（年度总额 {_yuan_zh(budget.total_fen)}）",
                reason="EXCEEDS_BUDGET",
                metadata={"requested_fen": str(e.requested_fen), "available_fen": str(e.available_fen)},
            ) from None
        if txn is not None:
            await _post(repo, budget, txn, now=now)
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
                )
                for x in lines
            ]
        )
        budget.reservation_version = version
        budget.updated_at = now
        await repo.save_budget(budget)
        return budget


# ------------------------------------------------------------------ disburse


def _same_request(
    d: Disbursement, cycle_id: str, application_id: str, organization_id: str, amount_fen: int
) -> bool:
    return (d.cycle_id, d.application_id, d.organization_id, d.amount_fen) == (
        cycle_id,
        application_id,
        organization_id,
        amount_fen,
    )


async def _recorded(repo: FundingRepository, idempotency_key: str) -> Disbursement:
    """The disbursement step 1 committed (it is never removed)."""
    d = await repo.disbursement_by_key(idempotency_key)
    if d is None:
        raise Internal(
            f"the disbursement of idempotency key {idempotency_key!r} is missing",
            f"幂等键 {idempotency_key} 的拨付记录缺失",
            reason="DISBURSEMENT_MISSING",
        )
    return d


async def _request_disbursement(
    repo: FundingRepository,
    *,
    cycle_id: str,
    application_id: str,
    organization_id: str,
    amount_fen: int,
    idempotency_key: str,
    city_code: str,
    now: datetime,
) -> Disbursement:
    """Step 1 (own transaction): find the disbursement of this key or record it as REQUESTED."""
    budget = await _budget(repo, cycle_id, lock=True)
    existing = await repo.disbursement_by_key(idempotency_key)
    if existing is not None:
        if not _same_request(existing, cycle_id, application_id, organization_id, amount_fen):
            raise FailedPrecondition(
                f"idempotency key {idempotency_key!r} was used for a different disbursement",
                f"幂等键 {idempotency_key} 已用于另一笔拨付",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        return existing
    for d in await repo.unfailed_disbursements(cycle_id, application_id):
        if d.status == PAID:
            raise FailedPrecondition(
                f"application {application_id} has been paid already ({_yuan(d.amount_fen)}, "
                f"treasury reference {d.treasury_reference})",
                f"申报 {application_id} 已拨付（{_yuan_zh(d.amount_fen)}，国库凭证号 {d.treasury_reference}）",
                reason="ALREADY_DISBURSED",
                metadata={"disbursement_id": d.disbursement_id},
            )
        if d.status == REQUESTED:
            raise FailedPrecondition(
                f"a disbursement for application {application_id} is in progress; "
                f"retry it with idempotency key {d.idempotency_key!r}",
                f"申报 {application_id} 的拨付正在处理中，请以幂等键 {d.idempotency_key} 重试",
                reason="DISBURSEMENT_IN_PROGRESS",
                metadata={"idempotency_key": d.idempotency_key},
            )
    line = await repo.reservation_line(cycle_id, budget.reservation_version, application_id)
    if line is None:
        raise FailedPrecondition(
            f"no funds are reserved for application {application_id} in cycle {cycle_id}",
            f"年度 {cycle_id} 未为申报 {application_id} 预留资金",
            reason="NO_RESERVATION",
        )
    if line.organization_id != organization_id or (city_code and city_code != line.city_code):
        raise FailedPrecondition(
            f"the payee does not match the reservation of application {application_id}",
            f"收款单位与申报 {application_id} 的预留不符",
            reason="PAYEE_MISMATCH",
        )
    reserved = ledger.Balances.from_accounts(await repo.account_totals(cycle_id)).reserved_by_application.get(
        application_id, 0
    )
    if amount_fen != reserved:
        raise FailedPrecondition(
            f"amount {_yuan(amount_fen)} differs from the reservation of {_yuan(reserved)} "
            f"for application {application_id}",
            f"拨付金额 {_yuan_zh(amount_fen)} 与申报 {application_id} 的预留金额 {_yuan_zh(reserved)} 不符",
            reason="AMOUNT_MISMATCH",
            metadata={"reserved_fen": str(reserved)},
        )
    d = Disbursement(
        disbursement_id=new_id("dsb"),
        cycle_id=cycle_id,
        application_id=application_id,
        organization_id=organization_id,
        city_code=line.city_code,
        amount_fen=amount_fen,
        status=REQUESTED,
        idempotency_key=idempotency_key,
        treasury_reference="",
        failure="",
        transaction_id=None,
        requested_at=now,
        paid_at=None,
    )
    await repo.add_disbursement(d)
    return d


async def disburse_award(
    *,
    uow: FundingUnitOfWork,
    treasury: Treasury,
    cycle_id: str,
    application_id: str,
    organization_id: str,
    amount_fen: int,
    idempotency_key: str,
    city_code: str,
    clock: Clock,
) -> Disbursement:
    """Pay an award once. REQUESTED is committed before the treasury is called and PAID (with the
    postings reserved → paid) after, so a crash in between leaves a REQUESTED disbursement that a
    retry with the same key resumes; the treasury is idempotent on the key, so it never pays twice.
    (A clock, not one instant: the three steps happen at different times.)"""
    async with uow() as repo:
        d = await _request_disbursement(
            repo,
            cycle_id=cycle_id,
            application_id=application_id,
            organization_id=organization_id,
            amount_fen=amount_fen,
            idempotency_key=idempotency_key,
            city_code=city_code,
            now=clock(),
        )
    if d.status != REQUESTED:
        return d  # settled before: the first result

    try:
        receipt = await treasury.pay(
            idempotency_key=idempotency_key,
            payee_organization_id=organization_id,
            amount_fen=amount_fen,
            memo=f"Industrial AI Capability Center award, cycle {cycle_id}, application {application_id}",
        )
    except TreasuryRejected as e:
        async with uow() as repo:
            await _budget(repo, cycle_id, lock=True)
            d = await _recorded(repo, idempotency_key)
            if d.status == REQUESTED:
                d.status = FAILED
                d.failure = str(e)[:500]
                await repo.save_disbursement(d)
        return d
    except Exception as e:  # outcome unknown: stays REQUESTED; the same key resumes
        raise Unavailable(
            "the treasury did not confirm the payment; retry with the same idempotency key",
            "国库未确认支付结果，请使用相同幂等键重试",
            reason="TREASURY_UNAVAILABLE",
            metadata={"idempotency_key": idempotency_key},
        ) from e

    async with uow() as repo:
        budget = await _budget(repo, cycle_id, lock=True)
        d = await _recorded(repo, idempotency_key)
        if d.status == PAID:
            return d  # a concurrent retry finished first
        txn_id = await _post(
            repo,
            budget,
            ledger.disburse(
                ledger.Balances.from_accounts(await repo.account_totals(cycle_id)),
                application_id,
                amount_fen,
                f"disbursement {d.disbursement_id}, treasury reference {receipt.reference}",
            ),
            now=clock(),
        )
        await repo.save_budget(budget)
        d.status = PAID
        d.treasury_reference = receipt.reference
        d.paid_at = receipt.paid_at
        d.transaction_id = txn_id
        await repo.save_disbursement(d)
    return d


# ------------------------------------------------------------------ read


async def get_budget(*, uow: FundingUnitOfWork, cycle_id: str) -> Budget:
    async with uow() as repo:
        return await _budget(repo, cycle_id)


async def list_disbursements(
    *, uow: FundingUnitOfWork, principal: Principal, cycle_id: str, page: PageRequest
) -> Page[Disbursement]:
    """Applicants see their own organisation's, city officials their city's, province readers all
    (:meth:`Visibility.of`, applied by the query so that every page is full)."""
    async with uow() as repo:
        await _budget(repo, cycle_id)
        return await repo.disbursements(cycle_id, Visibility.of(principal), page)


async def list_ledger_entries(
    *, uow: FundingUnitOfWork, cycle_id: str, page: PageRequest
) -> Page[LedgerEntry]:
    async with uow() as repo:
        await _budget(repo, cycle_id)
        return await repo.ledger_entries(cycle_id, page)
