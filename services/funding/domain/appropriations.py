"""The programme's annual appropriations (预算指标, Art. 3-4): province finance opens one per fiscal
year with its budget document number, amount and programme-level performance targets; cycles draw
their envelopes from it (``OpenBudget``) and return what they did not spend (``CloseBudget``).

An appropriation is an account of the ledger (``appropriation:<year>``, opened from the year's
budget authority): what is drawn and left is what its postings add up to. Raising an appropriation
(a supplementary budget document) is not offered yet: a second opening of the same year with
different content is refused."""

from __future__ import annotations

import functools
from datetime import datetime

from aicc.platform.auth import Principal
from aicc.platform.errors import Aborted, AlreadyExists, FailedPrecondition, NotFound
from aicc.platform.ids import new_id
from aicc.platform.pagination import Page, PageRequest
from services.funding.domain import ledger
from services.funding.domain.books import FundingUnitOfWork, post_appropriation, yuan, yuan_zh
from services.funding.domain.model import Appropriation, LedgerEntry
from services.funding.domain.ports import FundingRepository


def no_appropriation(fiscal_year: int, cycle_id: str = "") -> FailedPrecondition:
    """The refusal of a draw from a year province finance has not opened: what it must do."""
    for_cycle = f" for cycle {cycle_id}" if cycle_id else ""
    for_cycle_zh = f"（年度 {cycle_id}）" if cycle_id else ""
    return FailedPrecondition(
        f"no appropriation is open for fiscal year {fiscal_year}{for_cycle}: province finance must open "
        f"the programme's {fiscal_year} appropriation (OpenAppropriation, with its budget document number) first",
        f"{fiscal_year} 年度专项资金预算指标尚未下达{for_cycle_zh}：请省财政厅先录入该年度预算指标（含指标文号）",
        reason="NO_APPROPRIATION",
        metadata={"fiscal_year": str(fiscal_year)},
    )


def _not_found(fiscal_year: int) -> NotFound:
    return NotFound(
        f"no appropriation is open for fiscal year {fiscal_year}",
        f"未找到 {fiscal_year} 年度预算指标",
        reason="APPROPRIATION_NOT_FOUND",
        metadata={"fiscal_year": str(fiscal_year)},
    )


def _same(a: Appropriation, budget_document_no: str, amount_fen: int, performance_targets: str) -> bool:
    return (a.budget_document_no, a.amount_fen, a.performance_targets) == (
        budget_document_no,
        amount_fen,
        performance_targets,
    )


async def _open(
    repo: FundingRepository,
    *,
    principal: Principal,
    fiscal_year: int,
    budget_document_no: str,
    amount_fen: int,
    performance_targets: str,
    now: datetime,
) -> Appropriation:
    existing = await repo.appropriation(fiscal_year, for_update=True)
    if existing is not None:
        if _same(existing, budget_document_no, amount_fen, performance_targets):
            return existing  # the same request again
        raise AlreadyExists(
            f"the {fiscal_year} appropriation is open already ({existing.budget_document_no}, "
            f"{yuan(existing.amount_fen)}); a year has one appropriation",
            f"{fiscal_year} 年度预算指标已下达（{existing.budget_document_no}，{yuan_zh(existing.amount_fen)}），"
            "每年度只能下达一次",
            reason="APPROPRIATION_ALREADY_OPEN",
            metadata={"appropriation_id": existing.appropriation_id, "amount_fen": str(existing.amount_fen)},
        )
    a = Appropriation(
        appropriation_id=new_id("apr"),
        fiscal_year=fiscal_year,
        budget_document_no=budget_document_no,
        amount_fen=amount_fen,
        drawn_fen=0,
        available_fen=amount_fen,
        performance_targets=performance_targets,
        opened_by=principal.user_id,
        opened_by_name=principal.display_name or principal.username,
        opened_at=now,
        updated_at=now,
    )
    await repo.add_appropriation(a)
    memo = f"appropriation {fiscal_year} opened, budget document {budget_document_no}"
    await post_appropriation(repo, a, ledger.appropriate(fiscal_year, amount_fen, memo), now=now)
    await repo.save_appropriation(a)
    return a


async def open_appropriation(
    *,
    uow: FundingUnitOfWork,
    principal: Principal,
    fiscal_year: int,
    budget_document_no: str,
    amount_fen: int,
    performance_targets: str,
    now: datetime,
) -> Appropriation:
    """Province finance opens the year's appropriation; the same request again answers it as it
    is (a concurrent first opening that lost the insert answers as a repeat)."""
    opening = functools.partial(
        _open,
        principal=principal,
        fiscal_year=fiscal_year,
        budget_document_no=budget_document_no,
        amount_fen=amount_fen,
        performance_targets=performance_targets,
        now=now,
    )
    try:
        async with uow() as repo:
            return await opening(repo)
    except Aborted:
        pass
    async with uow() as repo:
        return await opening(repo)


async def get_appropriation(*, uow: FundingUnitOfWork, fiscal_year: int) -> Appropriation:
    async with uow() as repo:
        a = await repo.appropriation(fiscal_year)
    if a is None:
        raise _not_found(fiscal_year)
    return a


async def list_appropriations(*, uow: FundingUnitOfWork, page: PageRequest) -> Page[Appropriation]:
    async with uow() as repo:
        return await repo.appropriations(page)


async def appropriation_statement(
    *, uow: FundingUnitOfWork, fiscal_year: int, page: PageRequest
) -> Page[LedgerEntry]:
    """The postings of the year's appropriation account and its budget authority: the opening, each
    cycle's draw and return, in the order they were posted."""
    async with uow() as repo:
        if await repo.appropriation(fiscal_year) is None:
            raise _not_found(fiscal_year)
        accounts = [ledger.authority_account(fiscal_year), ledger.appropriation_account(fiscal_year)]
        return await repo.account_entries(accounts, page)
