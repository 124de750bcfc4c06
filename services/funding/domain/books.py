"""What every funding use case shares: amounts written for officials, the budget and appropriation
lookups with their locks, and posting a ledger transaction together with the cached amounts it
changes (in the caller's database transaction)."""

from __future__ import annotations

from datetime import datetime

from aicc.platform.errors import FailedPrecondition, Internal, not_found
from aicc.platform.ids import new_id
from aicc.platform.money import format_wan_yuan, format_yuan
from aicc.platform.ports import UnitOfWork
from services.funding.domain import ledger
from services.funding.domain.model import Appropriation, Budget, LedgerEntry
from services.funding.domain.ports import FundingRepository

FundingUnitOfWork = UnitOfWork[FundingRepository]

FEN_PER_CENT_OF_WAN = 10_000  # 0.01 万元


def yuan(fen: int) -> str:
    """An amount for an English message: ``2,000,000 yuan``."""
    return f"{format_yuan(fen)} yuan"


def yuan_zh(fen: int) -> str:
    """An amount for a Chinese message, in 万元 as officials write it (``200.00万元``), or in 元 when
    万元 to two places would round it (``3,000,000.01元``)."""
    if fen % FEN_PER_CENT_OF_WAN == 0:
        return f"{format_wan_yuan(fen)}万元"
    return f"{format_yuan(fen)}元"


async def budget_of(repo: FundingRepository, cycle_id: str, *, lock: bool = False) -> Budget:
    budget = await repo.budget(cycle_id, for_update=lock)
    if budget is None:
        raise not_found("budget", cycle_id, "预算")
    return budget


def refuse_if_closed(budget: Budget) -> None:
    if budget.closed:
        raise FailedPrecondition(
            f"the budget of cycle {budget.cycle_id} is closed; its unspent {yuan(budget.returned_fen)} "
            "went back to the appropriation",
            f"年度 {budget.cycle_id} 的预算已关闭，未使用的 {yuan_zh(budget.returned_fen)} 已退回预算指标",
            reason="BUDGET_CLOSED",
            metadata={"returned_fen": str(budget.returned_fen)},
        )


def _entries(cycle_id: str, txn: ledger.Transaction, now: datetime) -> tuple[str, list[LedgerEntry]]:
    txn_id = new_id("txn")
    return txn_id, [
        LedgerEntry(
            entry_id=new_id("led"),
            cycle_id=cycle_id,
            transaction_id=txn_id,
            kind=txn.kind,
            account=p.account,
            amount_fen=p.amount_fen,
            memo=txn.memo,
            posted_at=now,
        )
        for p in txn.postings
    ]


async def appropriation_balance(repo: FundingRepository, fiscal_year: int) -> ledger.AppropriationBalance:
    """The year's appropriation as the whole ledger has it."""
    accounts = [ledger.authority_account(fiscal_year), ledger.appropriation_account(fiscal_year)]
    return ledger.AppropriationBalance.from_accounts(fiscal_year, await repo.account_balances(accounts))


def _refresh_appropriation(a: Appropriation, bal: ledger.AppropriationBalance, now: datetime) -> None:
    if bal.amount_fen != a.amount_fen:  # pragma: no cover - the ledger and the record disagree
        raise Internal(
            f"appropriation {a.fiscal_year}: the ledger holds {bal.amount_fen} fen, the record {a.amount_fen}",
            f"{a.fiscal_year} 年度预算指标的账目与记录不符",
            reason="LEDGER_MISMATCH",
        )
    a.available_fen = bal.available_fen
    a.drawn_fen = bal.drawn_fen
    a.updated_at = now


async def post_appropriation(
    repo: FundingRepository, appropriation: Appropriation, txn: ledger.Transaction, *, now: datetime
) -> str:
    """Append an appropriation's opening (in no cycle's book) and refresh its cached amounts."""
    after = ledger.apply_to_appropriation(await appropriation_balance(repo, appropriation.fiscal_year), txn)
    txn_id, entries = _entries("", txn, now)
    await repo.add_ledger_entries(entries)
    _refresh_appropriation(appropriation, after, now)
    return txn_id


async def post(
    repo: FundingRepository,
    budget: Budget,
    txn: ledger.Transaction,
    *,
    now: datetime,
    appropriation: Appropriation | None = None,
) -> str:
    """Append ``txn``'s postings to the cycle's book and refresh the budget's cached amounts from
    the ledger (and the appropriation's, for a draw or a return: the caller holds its lock and
    saves both); returns the transaction id. A result that breaks an invariant is refused."""
    after = ledger.apply(await repo.account_totals(budget.cycle_id), txn)
    if appropriation is not None:
        fy_after = ledger.apply_to_appropriation(
            await appropriation_balance(repo, appropriation.fiscal_year), txn
        )
        _refresh_appropriation(appropriation, fy_after, now)
    txn_id, entries = _entries(budget.cycle_id, txn, now)
    await repo.add_ledger_entries(entries)
    bal = ledger.Balances.from_accounts(after)
    budget.available_fen = bal.available_fen
    budget.reserved_fen = bal.reserved_fen
    budget.disbursed_fen = bal.disbursed_fen
    budget.returned_fen = budget.total_fen - bal.total_fen
    budget.updated_at = now
    if budget.returned_fen < 0:  # pragma: no cover - a cycle holds more than its envelope
        raise ledger.LedgerError(f"cycle {budget.cycle_id} holds more than its envelope")
    return txn_id
