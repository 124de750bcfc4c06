"""Disbursement (资金拨付): paying a reserved award through the treasury, once.

Three steps, each in its own database transaction: (1) find the disbursement of this idempotency
key or record it REQUESTED — only of a reserved line, to the organisation and amount reserved;
(2) ask the treasury; (3) record what it answered: PAID with the postings reserved → paid, or
FAILED with the treasury's reason. A crash between (2) and (3) leaves the disbursement REQUESTED;
a retry with the same key first **asks the treasury what became of that key** (``status``) and
records a payment already made rather than asking for it again, so the ledger never under-reports
what the treasury paid and nothing is paid twice."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TypeVar

from aicc.platform.errors import FailedPrecondition, Internal, Unavailable
from aicc.platform.ids import new_id
from aicc.platform.ports import Clock
from services.funding.domain import ledger
from services.funding.domain.books import FundingUnitOfWork, budget_of, post, refuse_if_closed, yuan, yuan_zh
from services.funding.domain.model import Budget, Disbursement, DisbursementStatus
from services.funding.domain.ports import (
    FundingRepository,
    Treasury,
    TreasuryOrder,
    TreasuryOrderState,
    TreasuryReceipt,
    TreasuryRejected,
)

REQUESTED, PAID, FAILED = DisbursementStatus.REQUESTED, DisbursementStatus.PAID, DisbursementStatus.FAILED
FAILURE_LENGTH = 500

T = TypeVar("T")


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


async def _refuse_second_payment(repo: FundingRepository, cycle_id: str, application_id: str) -> None:
    """An application is paid once: refused when it is paid, or a payment of it is in flight."""
    for d in await repo.unfailed_disbursements(cycle_id, application_id):
        if d.status == PAID:
            raise FailedPrecondition(
                f"application {application_id} has been paid already ({yuan(d.amount_fen)}, "
                f"treasury reference {d.treasury_reference})",
                f"申报 {application_id} 已拨付（{yuan_zh(d.amount_fen)}，国库凭证号 {d.treasury_reference}）",
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


async def _refuse_unreserved(
    repo: FundingRepository,
    budget: Budget,
    application_id: str,
    organization_id: str,
    amount_fen: int,
    city_code: str,
) -> str:
    """Only a reserved line, to the organisation and for the amount reserved; returns its city."""
    cycle_id = budget.cycle_id
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
    totals = ledger.Balances.from_accounts(await repo.account_totals(cycle_id))
    reserved = totals.reserved_by_application.get(application_id, 0)
    if amount_fen != reserved:
        raise FailedPrecondition(
            f"amount {yuan(amount_fen)} differs from the reservation of {yuan(reserved)} "
            f"for application {application_id}",
            f"拨付金额 {yuan_zh(amount_fen)} 与申报 {application_id} 的预留金额 {yuan_zh(reserved)} 不符",
            reason="AMOUNT_MISMATCH",
            metadata={"reserved_fen": str(reserved)},
        )
    return line.city_code


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
) -> tuple[Disbursement, bool]:
    """Step 1 (own transaction): the disbursement of this key, or a new one recorded REQUESTED;
    and whether it is new."""
    budget = await budget_of(repo, cycle_id, lock=True)
    existing = await repo.disbursement_by_key(idempotency_key)
    if existing is not None:
        if not _same_request(existing, cycle_id, application_id, organization_id, amount_fen):
            raise FailedPrecondition(
                f"idempotency key {idempotency_key!r} was used for a different disbursement",
                f"幂等键 {idempotency_key} 已用于另一笔拨付",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        return existing, False
    refuse_if_closed(budget)
    await _refuse_second_payment(repo, cycle_id, application_id)
    line_city = await _refuse_unreserved(repo, budget, application_id, organization_id, amount_fen, city_code)
    d = Disbursement(
        disbursement_id=new_id("dsb"),
        cycle_id=cycle_id,
        application_id=application_id,
        organization_id=organization_id,
        city_code=line_city,
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
    return d, True


# ------------------------------------------------------------------ the treasury's answer


async def _treasury(call: Awaitable[T], idempotency_key: str) -> T:
    """A treasury call whose failure leaves the outcome unknown: UNAVAILABLE, the same key resumes."""
    try:
        return await call
    except TreasuryRejected:
        raise
    except Exception as e:  # noqa: BLE001 - outcome unknown: stays REQUESTED
        raise Unavailable(
            "the treasury did not confirm the payment; retry with the same idempotency key",
            "国库未确认支付结果，请使用相同幂等键重试",
            reason="TREASURY_UNAVAILABLE",
            metadata={"idempotency_key": idempotency_key},
        ) from e


async def _record_failed(uow: FundingUnitOfWork, d: Disbursement, reason: str) -> Disbursement:
    async with uow() as repo:
        await budget_of(repo, d.cycle_id, lock=True)
        d = await _recorded(repo, d.idempotency_key)
        if d.status == REQUESTED:
            d.status = FAILED
            d.failure = (reason or "refused by the treasury / 国库拒绝支付")[:FAILURE_LENGTH]
            await repo.save_disbursement(d)
        return d


async def _record_paid(
    uow: FundingUnitOfWork, d: Disbursement, receipt: TreasuryReceipt, clock: Clock
) -> Disbursement:
    async with uow() as repo:
        budget = await budget_of(repo, d.cycle_id, lock=True)
        d = await _recorded(repo, d.idempotency_key)
        if d.status == PAID:
            return d  # a concurrent retry finished first
        txn_id = await post(
            repo,
            budget,
            ledger.disburse(
                ledger.Balances.from_accounts(await repo.account_totals(d.cycle_id)),
                d.application_id,
                d.amount_fen,
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


def _paid_as_requested(d: Disbursement, order: TreasuryOrder) -> TreasuryReceipt:
    """The receipt of a paid order, when it paid what funding requested under the key."""
    if order.receipt is None or (order.payee_organization_id, order.amount_fen) != (
        d.organization_id,
        d.amount_fen,
    ):
        raise FailedPrecondition(
            f"the treasury reports order {d.idempotency_key!r} paid {yuan(order.amount_fen)} to "
            f"{order.payee_organization_id}, but funding requested {yuan(d.amount_fen)} to {d.organization_id}: "
            "province finance must reconcile this order with the treasury",
            f"国库显示支付申请 {d.idempotency_key} 已向 {order.payee_organization_id} 支付 {yuan_zh(order.amount_fen)}，"
            f"与申请（向 {d.organization_id} 支付 {yuan_zh(d.amount_fen)}）不符：须由省财政厅与国库核对",
            reason="TREASURY_ORDER_MISMATCH",
            metadata={"idempotency_key": d.idempotency_key},
        )
    return order.receipt


async def _reconciled(
    uow: FundingUnitOfWork, treasury: Treasury, d: Disbursement, clock: Clock
) -> Disbursement | None:
    """A REQUESTED disbursement asked for before: what the treasury did with its key, recorded;
    None when the treasury has no order of the key (it is then paid)."""
    order = await _treasury(treasury.status(idempotency_key=d.idempotency_key), d.idempotency_key)
    if order.state == TreasuryOrderState.PAID:
        return await _record_paid(uow, d, _paid_as_requested(d, order), clock)
    if order.state == TreasuryOrderState.REFUSED:
        return await _record_failed(uow, d, order.reason)
    return None


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
    """Pay an award once (see the module's description). A clock, not one instant: the steps happen
    at different times."""
    async with uow() as repo:
        d, new = await _request_disbursement(
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
    if not new:  # asked for before (a crash, a lost answer, an outage): what did the treasury do?
        settled = await _reconciled(uow, treasury, d, clock)
        if settled is not None:
            return settled
    try:
        receipt = await _treasury(
            treasury.pay(
                idempotency_key=idempotency_key,
                payee_organization_id=organization_id,
                amount_fen=amount_fen,
                memo=f"Industrial AI Capability Center award, cycle {cycle_id}, application {application_id}",
            ),
            idempotency_key,
        )
    except TreasuryRejected as e:
        return await _record_failed(uow, d, str(e))
    return await _record_paid(uow, d, receipt, clock)
