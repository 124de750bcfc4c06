"""Funding use cases: open a budget, reserve the proposal, disburse awards, read them back.

Every change of money is a balanced ledger transaction written in the same database transaction as
the budget row it summarises, with that row locked. No gRPC or SQL here."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clock import now_utc
from aicc.platform.errors import FailedPrecondition, Unavailable, not_found
from aicc.platform.ids import new_id
from aicc.platform.money import format_yuan
from services.funding.domain import ledger
from services.funding.domain.treasury import Treasury, TreasuryRejected
from services.funding.store import (
    BudgetRow,
    DisbursementRow,
    FundingStore,
    LedgerEntryRow,
    ReservationLineRow,
)

REQUESTED, PAID, FAILED = "requested", "paid", "failed"

# Opens one database transaction and hands out the store bound to it.
UnitOfWork = Callable[[], AbstractAsyncContextManager[FundingStore]]


@dataclass(frozen=True)
class Line:
    application_id: str
    organization_id: str
    amount_fen: int
    city_code: str


def _yuan(fen: int) -> str:
    return f"{format_yuan(fen)} yuan"


def _yuan_zh(fen: int) -> str:
    return f"{format_yuan(fen)}元"


async def _budget(store: FundingStore, cycle_id: str, *, lock: bool = False) -> BudgetRow:
    row = await store.budget(cycle_id, for_update=lock)
    if row is None:
        raise not_found("budget", cycle_id, "预算")
    return row


async def _post(store: FundingStore, budget: BudgetRow, txn: ledger.Transaction) -> str:
    """Append ``txn``'s postings and refresh the budget's cached amounts from the ledger; returns
    the transaction id."""
    after = ledger.apply(await store.account_totals(budget.cycle_id), txn)
    txn_id = new_id("txn")
    at = now_utc()
    await store.add_all(
        [
            LedgerEntryRow(
                entry_id=new_id("led"),
                cycle_id=budget.cycle_id,
                transaction_id=txn_id,
                kind=txn.kind,
                account=p.account,
                amount_fen=p.amount_fen,
                memo=txn.memo,
                posted_at=at,
            )
            for p in txn.postings
        ]
    )
    bal = ledger.Balances.from_accounts(after)
    budget.total_fen = bal.total_fen
    budget.available_fen = bal.available_fen
    budget.reserved_fen = bal.reserved_fen
    budget.disbursed_fen = bal.disbursed_fen
    budget.updated_at = at
    return txn_id


async def open_budget(store: FundingStore, *, cycle_id: str, total_fen: int) -> BudgetRow:
    existing = await store.budget(cycle_id, for_update=True)
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
    row = BudgetRow(
        cycle_id=cycle_id,
        total_fen=total_fen,
        available_fen=total_fen,
        reserved_fen=0,
        disbursed_fen=0,
        reservation_version=0,
    )
    await store.add(row)
    await _post(store, row, ledger.open_budget(total_fen, f"budget of cycle {cycle_id} opened"))
    return row


async def reserve_funds(store: FundingStore, *, cycle_id: str, version: int, lines: list[Line]) -> BudgetRow:
    budget = await _budget(store, cycle_id, lock=True)
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
            for r in await store.reservation_lines(cycle_id, version)
        }
        asked = {(x.application_id, x.organization_id, x.amount_fen, x.city_code) for x in lines}
        if stored == asked:
            return budget  # the same request again
        raise FailedPrecondition(
            f"proposal version {version} is reserved already with different lines",
            f"拟支持名单版本 {version} 已按不同内容预留",
            reason="RESERVATION_VERSION_CONFLICT",
        )
    if any(d.status != FAILED for d in await store.disbursements(cycle_id)):
        raise FailedPrecondition(
            "disbursement has begun; the reservation can no longer change",
            "资金已开始拨付，预留不能再变更",
            reason="DISBURSEMENT_STARTED",
        )
    bal = ledger.Balances.from_accounts(await store.account_totals(cycle_id))
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
        await _post(store, budget, txn)
    await store.add_all(
        [
            ReservationLineRow(
                cycle_id=cycle_id,
                version=version,
                application_id=x.application_id,
                organization_id=x.organization_id,
                city_code=x.city_code,
                amount_fen=x.amount_fen,
            )
            for x in lines
        ]
    )
    budget.reservation_version = version
    budget.updated_at = now_utc()
    return budget


def _same_request(
    d: DisbursementRow, cycle_id: str, application_id: str, organization_id: str, amount_fen: int
) -> bool:
    return (d.cycle_id, d.application_id, d.organization_id, d.amount_fen) == (
        cycle_id,
        application_id,
        organization_id,
        amount_fen,
    )


async def _request_disbursement(
    store: FundingStore,
    *,
    cycle_id: str,
    application_id: str,
    organization_id: str,
    amount_fen: int,
    idempotency_key: str,
    city_code: str,
) -> DisbursementRow:
    """Step 1 (own transaction): find the disbursement of this key or record it as REQUESTED."""
    budget = await _budget(store, cycle_id, lock=True)
    existing = await store.disbursement_by_key(idempotency_key)
    if existing is not None:
        if not _same_request(existing, cycle_id, application_id, organization_id, amount_fen):
            raise FailedPrecondition(
                f"idempotency key {idempotency_key!r} was used for a different disbursement",
                f"幂等键 {idempotency_key} 已用于另一笔拨付",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        return existing
    for d in await store.disbursements(cycle_id, application_id):
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
    line = await store.reservation_line(cycle_id, budget.reservation_version, application_id)
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
    reserved = ledger.Balances.from_accounts(
        await store.account_totals(cycle_id)
    ).reserved_by_application.get(application_id, 0)
    if amount_fen != reserved:
        raise FailedPrecondition(
            f"amount {_yuan(amount_fen)} differs from the reservation of {_yuan(reserved)} "
            f"for application {application_id}",
            f"拨付金额 {_yuan_zh(amount_fen)} 与申报 {application_id} 的预留金额 {_yuan_zh(reserved)} 不符",
            reason="AMOUNT_MISMATCH",
            metadata={"reserved_fen": str(reserved)},
        )
    row = DisbursementRow(
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
        requested_at=now_utc(),
    )
    await store.add(row)
    return row


async def disburse_award(
    uow: UnitOfWork,
    treasury: Treasury,
    *,
    cycle_id: str,
    application_id: str,
    organization_id: str,
    amount_fen: int,
    idempotency_key: str,
    city_code: str,
) -> DisbursementRow:
    """Pay an award once. REQUESTED is committed before the treasury is called and PAID (with the
    postings reserved → paid) after, so a crash in between leaves a REQUESTED row that a retry
    with the same key resumes; the treasury is idempotent on the key, so it never pays twice."""
    async with uow() as store:
        row = await _request_disbursement(
            store,
            cycle_id=cycle_id,
            application_id=application_id,
            organization_id=organization_id,
            amount_fen=amount_fen,
            idempotency_key=idempotency_key,
            city_code=city_code,
        )
    if row.status != REQUESTED:
        return row  # settled before: the first result

    try:
        receipt = await treasury.pay(
            idempotency_key=idempotency_key,
            payee_organization_id=organization_id,
            amount_fen=amount_fen,
            memo=f"Industrial AI Capability Center award, cycle {cycle_id}, application {application_id}",
        )
    except TreasuryRejected as e:
        async with uow() as store:
            await _budget(store, cycle_id, lock=True)
            row = await store.disbursement_by_key(idempotency_key)
            if row.status == REQUESTED:
                row.status = FAILED
                row.failure = str(e)[:500]
        return row
    except Exception as e:  # outcome unknown: stays REQUESTED; the same key resumes
        raise Unavailable(
            "the treasury did not confirm the payment; retry with the same idempotency key",
            "国库未确认支付结果，请使用相同幂等键重试",
            reason="TREASURY_UNAVAILABLE",
            metadata={"idempotency_key": idempotency_key},
        ) from e

    async with uow() as store:
        budget = await _budget(store, cycle_id, lock=True)
        row = await store.disbursement_by_key(idempotency_key)
        if row.status == PAID:
            return row  # a concurrent retry finished first
        txn_id = await _post(
            store,
            budget,
            ledger.disburse(
                ledger.Balances.from_accounts(await store.account_totals(cycle_id)),
                application_id,
                amount_fen,
                f"disbursement {row.disbursement_id}, treasury reference {receipt.reference}",
            ),
        )
        row.status = PAID
        row.treasury_reference = receipt.reference
        row.paid_at = receipt.paid_at
        row.transaction_id = txn_id
    return row


async def get_budget(store: FundingStore, *, cycle_id: str) -> BudgetRow:
    return await _budget(store, cycle_id)


async def list_disbursements(store: FundingStore, p: Principal, *, cycle_id: str) -> list[DisbursementRow]:
    """Applicants see their own organisation's, city officials their city's, province readers all."""
    await _budget(store, cycle_id)
    return [
        d
        for d in await store.disbursements(cycle_id)
        if authz.can_see_organization(p, d.organization_id, d.city_code)
    ]


async def list_ledger_entries(store: FundingStore, *, cycle_id: str) -> list[LedgerEntryRow]:
    await _budget(store, cycle_id)
    return await store.ledger_entries(cycle_id)
