"""Funding's use cases on the real store (SQLite file, migrated) with the fake treasury: who sees
which disbursements page by page, the ledger in pages, a lost race on the first opening of a budget,
the store's guards (unique key → ABORTED, append-only postings and decisions), budgets opened before
appropriations existed, and the fake treasury's memory across restarts."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aicc.cli.registry import migrate
from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.db import Database, unit_of_work
from aicc.platform.errors import Aborted, FailedPrecondition
from aicc.platform.pagination import PageRequest
from aicc.platform.settings import Settings
from services.funding.adapters import FakeTreasury, treasury_from_settings
from services.funding.domain import appropriations, concurrence, ledger, usecases
from services.funding.domain.model import Budget, Disbursement, LedgerEntry, Line, ReservationLine, Visibility
from services.funding.domain.ports import FundingRepository, TreasuryOrderState, TreasuryRejected
from services.funding.store import FinanceConcurrenceRow, FundingStore, LedgerEntryRow

QINGDAO, JINAN = "370200", "370100"
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
FY = 2026
FINANCE = Principal("u-fin", "fin", frozenset({authz.PROVINCE_FINANCE}), display_name="省财政厅经办人")
CAPS = {"advanced": 10_000_000}


async def _appropriation(uow: usecases.FundingUnitOfWork, amount: int = 100_000_000, year: int = FY) -> None:
    await appropriations.open_appropriation(
        uow=uow,
        principal=FINANCE,
        fiscal_year=year,
        budget_document_no=f"鲁财工指〔{year}〕1号",
        amount_fen=amount,
        performance_targets="targets",
        now=T0,
    )


async def _open(uow: usecases.FundingUnitOfWork, cycle: str = "c1", total: int = 10_000_000) -> Budget:
    return await usecases.open_budget(
        uow=uow, cycle_id=cycle, total_fen=total, fiscal_year=FY, caps=CAPS, now=T0
    )


async def _concur_and_reserve(
    uow: usecases.FundingUnitOfWork, cycle: str, version: int, lines: list[Line]
) -> None:
    await concurrence.record_finance_concurrence(
        uow=uow,
        principal=FINANCE,
        cycle_id=cycle,
        version=version,
        agree=True,
        opinion="同意",
        lines=lines,
        now=T0,
    )
    await usecases.reserve_funds(uow=uow, cycle_id=cycle, version=version, lines=lines, now=T0)


@pytest.fixture
async def uow(tmp_path) -> AsyncIterator[usecases.FundingUnitOfWork]:
    url = f"sqlite:///{tmp_path / 'funding.db'}"
    migrate("funding", url)
    db = Database(url)
    try:
        yield unit_of_work(db, FundingStore)
    finally:
        await db.dispose()


def who(*roles: str, org: str = "", city: str = "") -> Principal:
    return Principal("u-" + "-".join(roles), "user", frozenset(roles), organization_id=org, city_code=city)


# ------------------------------------------------------------------ visibility


def test_visibility_is_exactly_can_see_organization() -> None:
    roles = sorted(authz.ROLES)
    role_sets = [(), *((r,) for r in roles), *itertools.combinations(roles, 2)]
    places = ["", QINGDAO, JINAN]
    orgs = ["", "org-a", "org-b"]
    for rs, p_city, p_org in itertools.product(role_sets, places, orgs):
        p = who(*rs, org=p_org, city=p_city)
        v = Visibility.of(p)
        for org, city in itertools.product(orgs, places):
            assert v.admits(org, city) == authz.can_see_organization(p, org, city), (
                rs,
                p_city,
                p_org,
                org,
                city,
            )


# ------------------------------------------------------------------ disbursements in pages


async def _pay_everyone(uow: usecases.FundingUnitOfWork, n: int) -> list[Disbursement]:
    """n awards alternately to org-a (Qingdao) and org-b (Jinan), all paid at the same instant (so
    the order rests on the id, the unique last column of the keyset)."""
    awards = [
        Line(
            f"app-{i:03d}", "org-a" if i % 2 else "org-b", 1_000 + i, QINGDAO if i % 2 else JINAN, "advanced"
        )
        for i in range(n)
    ]
    await _appropriation(uow)
    await _open(uow)
    await _concur_and_reserve(uow, "c1", 1, awards)
    treasury = FakeTreasury()
    paid = []
    for x in awards:
        paid.append(
            await usecases.disburse_award(
                uow=uow,
                treasury=treasury,
                cycle_id="c1",
                application_id=x.application_id,
                organization_id=x.organization_id,
                amount_fen=x.amount_fen,
                idempotency_key=f"k-{x.application_id}",
                city_code="",
                clock=lambda: T0,
            )
        )
    assert len(treasury.orders) == n
    return paid


async def _all_pages(uow: usecases.FundingUnitOfWork, p: Principal, size: int) -> list[list[Disbursement]]:
    pages, after = [], None
    while True:
        page = await usecases.list_disbursements(
            uow=uow, principal=p, cycle_id="c1", page=PageRequest(size, after)
        )
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        after = page.next_cursor


async def test_each_reader_pages_through_exactly_what_it_may_see(uow) -> None:
    paid = await _pay_everyone(uow, 23)
    in_order = sorted(paid, key=lambda d: (d.requested_at, d.disbursement_id))
    readers = [
        who(authz.PROVINCE_FINANCE),
        who(authz.AUDITOR),
        who(authz.APPLICANT, org="org-a"),
        who(authz.APPLICANT, org="org-b"),
        who(authz.CITY_INDUSTRY, city=QINGDAO),
        who(authz.CITY_FINANCE, city=JINAN),
        who(authz.CITY_FINANCE, city="370300"),  # a city without awards
        who(authz.EXPERT),
    ]
    for p in readers:
        expected = [d for d in in_order if authz.can_see_organization(p, d.organization_id, d.city_code)]
        for size in (1, 4, 50):
            pages = await _all_pages(uow, p, size)
            assert [d for page in pages for d in page] == expected, (p.roles, size)
            assert all(len(page) == size for page in pages[:-1])  # filtered in the query: full pages
            assert len(pages[-1]) <= size
    assert len(await _all_pages(uow, who(authz.APPLICANT, org="org-a"), 4)) == 3  # 12 of 23: 4+4+4


async def test_ledger_in_pages_is_the_whole_ledger(uow) -> None:
    await _pay_everyone(uow, 9)
    pages, after = [], None
    while True:
        page = await usecases.list_ledger_entries(uow=uow, cycle_id="c1", page=PageRequest(5, after))
        pages.append(page.items)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    entries = [e for page in pages for e in page]
    # open (2) + reserve (9 + available) + 9 disbursements (2 each)
    assert len(entries) == 2 + 10 + 18
    assert len({e.entry_id for e in entries}) == len(entries)
    assert [e.kind for e in entries[:2]] == ["open", "open"]
    assert entries[-1].kind == "disburse"
    assert all(len(p) == 5 for p in pages[:-1])
    assert sum(e.amount_fen for e in entries) == 0
    budget = await usecases.get_budget(uow=uow, cycle_id="c1")
    assert budget.disbursed_fen == sum(
        e.amount_fen for e in entries if e.account.startswith("treasury:paid:")
    )


# ------------------------------------------------------------------ the first opening's race


def _losing(uow: usecases.FundingUnitOfWork) -> usecases.FundingUnitOfWork:
    """The first unit of work does not see the budget a concurrent transaction has just committed
    (as under PostgreSQL's READ COMMITTED, read before the other commit); later ones see it."""
    calls = 0

    class Blind:
        def __init__(self, repo: FundingRepository) -> None:
            self.repo = repo

        def __getattr__(self, name: str) -> object:
            return getattr(self.repo, name)

        async def budget(self, cycle_id: str, *, for_update: bool = False) -> Budget | None:
            return None

    @asynccontextmanager
    async def open_unit() -> AsyncIterator[FundingRepository]:
        nonlocal calls
        calls += 1
        async with uow() as repo:
            yield Blind(repo) if calls == 1 else repo

    return open_unit


async def test_a_lost_race_to_open_the_budget_answers_as_a_repeat(uow) -> None:
    await _appropriation(uow, 2_000)
    first = await _open(uow, total=500)
    again = await usecases.open_budget(
        uow=_losing(uow), cycle_id="c1", total_fen=500, fiscal_year=FY, now=T0 + timedelta(seconds=1)
    )
    assert again == first
    with pytest.raises(FailedPrecondition) as e:
        await usecases.open_budget(uow=_losing(uow), cycle_id="c1", total_fen=501, fiscal_year=FY, now=T0)
    assert e.value.reason == "BUDGET_ALREADY_OPEN"
    page = await usecases.list_ledger_entries(uow=uow, cycle_id="c1", page=PageRequest(50))
    assert len(page.items) == 2  # opened once; the losers' postings were rolled back
    left = await appropriations.get_appropriation(uow=uow, fiscal_year=FY)
    assert (left.drawn_fen, left.available_fen) == (500, 1_500)  # drawn once


async def test_a_duplicate_key_is_aborted_and_a_broken_check_is_not(uow) -> None:
    await _appropriation(uow, 1_000)
    await _open(uow, total=500)
    dup = Budget("c1", 500, 500, 0, 0, 0, T0, T0)
    with pytest.raises(Aborted) as e:
        async with uow() as repo:
            await repo.add_budget(dup)
    assert e.value.reason == "CONCURRENT_WRITE"
    assert e.value.message_zh
    with pytest.raises(IntegrityError):  # a defect, not a race: stays one
        async with uow() as repo:
            await repo.add_budget(Budget("c2", 0, 0, 0, 0, 0, T0, T0))


async def test_ledger_postings_are_append_only(uow) -> None:
    await _appropriation(uow, 1_000)
    await _open(uow, total=500)

    async def change_a_posting(change: str) -> None:
        async with uow() as repo:
            assert isinstance(repo, FundingStore)
            row = (await repo.s.execute(select(LedgerEntryRow))).scalars().first()
            assert row is not None
            if change == "update":
                row.memo = "rewritten"
            else:
                await repo.s.delete(row)
            await repo.s.flush()

    for change in ("update", "delete"):
        with pytest.raises(RuntimeError, match="append-only"):
            await change_a_posting(change)
    page = await usecases.list_ledger_entries(uow=uow, cycle_id="c1", page=PageRequest(50))
    assert len(page.items) == 2
    assert "rewritten" not in {e.memo for e in page.items}


async def test_a_lost_race_to_open_an_appropriation_answers_as_a_repeat(uow) -> None:
    await _appropriation(uow, 1_000)
    calls = 0

    @asynccontextmanager
    async def blind_first() -> AsyncIterator[FundingRepository]:
        nonlocal calls
        calls += 1
        async with uow() as repo:
            if calls > 1:
                yield repo
                return

            class Blind:
                def __getattr__(self, name: str) -> object:
                    return getattr(repo, name)

                async def appropriation(self, fiscal_year: int, *, for_update: bool = False) -> None:
                    return None

            yield Blind()  # type: ignore[misc]

    again = await appropriations.open_appropriation(
        uow=blind_first,
        principal=FINANCE,
        fiscal_year=FY,
        budget_document_no=f"鲁财工指〔{FY}〕1号",
        amount_fen=1_000,
        performance_targets="targets",
        now=T0 + timedelta(seconds=5),
    )
    assert calls == 2
    assert again == await appropriations.get_appropriation(uow=uow, fiscal_year=FY)
    assert again.opened_at == T0


# ------------------------------------------------------------------ budgets opened before appropriations


async def _legacy_budget(uow: usecases.FundingUnitOfWork, cycle: str, total: int) -> None:
    """A budget as the previous version opened it: fiscal year 0, drawn from the legacy source."""
    txn = ledger.open_budget(total, "budget opened")
    async with uow() as repo:
        await repo.add_budget(Budget(cycle, total, total, 0, 0, 0, T0, T0))
        await repo.add_ledger_entries(
            [
                LedgerEntry(
                    f"led-{cycle}-{i}", cycle, f"txn-{cycle}", txn.kind, p.account, p.amount_fen, txn.memo, T0
                )
                for i, p in enumerate(txn.postings)
            ]
        )


async def test_a_budget_opened_before_appropriations_runs_to_its_close(uow) -> None:
    await _legacy_budget(uow, "old", 500)
    # An older workflow's retry (fiscal year 0) answers it as it is; a new cycle without a year is refused.
    old = await usecases.open_budget(uow=uow, cycle_id="old", total_fen=500, now=T0)
    assert (old.fiscal_year, old.appropriation_id, old.caps) == (0, "", {})
    with pytest.raises(FailedPrecondition) as e:
        await usecases.open_budget(uow=uow, cycle_id="new", total_fen=500, now=T0)
    assert e.value.reason == "FISCAL_YEAR_REQUIRED"
    # A newer workflow's repeat names the cycle's year: the same budget, nothing drawn from that year.
    await _appropriation(uow, 1_000)
    named = await usecases.open_budget(uow=uow, cycle_id="old", total_fen=500, fiscal_year=FY, now=T0)
    assert (named.fiscal_year, named.total_fen) == (0, 500)
    assert (await appropriations.get_appropriation(uow=uow, fiscal_year=FY)).available_fen == 1_000
    # Its caps are recorded by the first repeat that names them; then it reserves and pays as any other.
    assert (
        await usecases.open_budget(uow=uow, cycle_id="old", total_fen=500, caps=CAPS, now=T0)
    ).caps == CAPS
    award = Line("app-1", "org-a", 200, QINGDAO, "advanced")
    await _concur_and_reserve(uow, "old", 1, [award, Line("app-2", "org-b", 100, JINAN, "advanced")])
    await usecases.disburse_award(
        uow=uow,
        treasury=FakeTreasury(),
        cycle_id="old",
        application_id="app-1",
        organization_id="org-a",
        amount_fen=200,
        idempotency_key="old:app-1",
        city_code="",
        clock=lambda: T0,
    )
    closed = await usecases.close_budget(uow=uow, cycle_id="old", now=T0)
    assert (closed.returned_fen, closed.disbursed_fen, closed.available_fen, closed.reserved_fen) == (
        300,
        200,
        0,
        0,
    )
    assert closed.closed
    # ... back to the legacy source it came from: no appropriation gains money it never gave.
    async with uow() as repo:
        totals = await repo.account_totals("old")
        assert totals[ledger.APPROPRIATION] == -200
        fy_account = ledger.appropriation_account(FY)
        assert await repo.account_balances([fy_account]) == {fy_account: 1_000}  # untouched


async def test_finance_decisions_are_append_only(uow) -> None:
    await _appropriation(uow)
    await _open(uow)
    await concurrence.record_finance_concurrence(
        uow=uow,
        principal=FINANCE,
        cycle_id="c1",
        version=1,
        agree=False,
        opinion="退回",
        lines=[],
        now=T0,
    )

    async def change_the_decision(change: str) -> None:
        async with uow() as repo:
            assert isinstance(repo, FundingStore)
            row = (await repo.s.execute(select(FinanceConcurrenceRow))).scalars().one()
            if change == "update":
                row.agree = True
            else:
                await repo.s.delete(row)
            await repo.s.flush()

    for change in ("update", "delete"):
        with pytest.raises(RuntimeError, match="append-only"):
            await change_the_decision(change)
    page = await concurrence.list_finance_concurrences(uow=uow, cycle_id="c1", page=PageRequest(50))
    assert [(c.agree, c.opinion, c.decided_by_name) for c in page.items] == [
        (False, "退回", "省财政厅经办人")
    ]


# ------------------------------------------------------------------ the fake treasury remembers


async def test_the_fake_treasury_remembers_every_key_across_restarts(tmp_path) -> None:
    path = tmp_path / "orders" / "treasury.sqlite3"
    first = FakeTreasury(path)
    receipt = await first.pay(idempotency_key="k1", payee_organization_id="org-a", amount_fen=100, memo="m")
    with pytest.raises(TreasuryRejected):
        await FakeTreasury(path, reject=True, reject_reason="账户冻结").pay(
            idempotency_key="k2", payee_organization_id="org-b", amount_fen=50, memo="m"
        )
    restarted = FakeTreasury(path)
    paid = await restarted.status(idempotency_key="k1")
    assert (paid.state, paid.receipt, paid.payee_organization_id, paid.amount_fen) == (
        TreasuryOrderState.PAID,
        receipt,
        "org-a",
        100,
    )
    refused = await restarted.status(idempotency_key="k2")
    assert (refused.state, refused.reason, refused.receipt) == (TreasuryOrderState.REFUSED, "账户冻结", None)
    assert (await restarted.status(idempotency_key="k3")).state == TreasuryOrderState.UNKNOWN
    # The same request number again: the first order's outcome, never a second payment.
    assert (
        await restarted.pay(idempotency_key="k1", payee_organization_id="org-a", amount_fen=100, memo="m")
        == receipt
    )
    with pytest.raises(TreasuryRejected, match="账户冻结"):
        await restarted.pay(idempotency_key="k2", payee_organization_id="org-b", amount_fen=50, memo="m")
    assert list(restarted.orders) == ["k1"]
    # In memory (no file): nothing is shared between instances.
    await FakeTreasury().pay(idempotency_key="k9", payee_organization_id="o", amount_fen=1, memo="m")
    assert (await FakeTreasury().status(idempotency_key="k9")).state == TreasuryOrderState.UNKNOWN


async def test_the_treasury_a_process_uses_keeps_its_orders_under_the_data_directory(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    treasury = treasury_from_settings(settings)
    assert isinstance(treasury, FakeTreasury)
    assert treasury.path == tmp_path / "treasury-fake.sqlite3"
    await treasury.pay(idempotency_key="k", payee_organization_id="o", amount_fen=1, memo="m")
    assert (
        await treasury_from_settings(settings).status(idempotency_key="k")
    ).state == TreasuryOrderState.PAID
    elsewhere = treasury_from_settings(
        Settings(data_dir=tmp_path, treasury_fake_file=tmp_path / "t" / "x.db")
    )
    assert isinstance(elsewhere, FakeTreasury)
    assert elsewhere.path == tmp_path / "t" / "x.db"
    assert (await elsewhere.status(idempotency_key="k")).state == TreasuryOrderState.UNKNOWN
    with pytest.raises(ValueError, match="treasury_adapter"):
        Settings(treasury_adapter="file-exchange")


async def test_a_reservation_made_before_tiers_is_repeated_by_a_request_with_tiers(uow) -> None:
    await _legacy_budget(uow, "old", 500)
    reserve = ledger.reserve(ledger.balances(ledger.open_budget(500).postings), {"app-1": 200}, "v1")
    assert reserve is not None
    async with uow() as repo:  # as the previous version reserved: lines without a tier
        budget = await repo.budget("old")
        assert budget is not None
        await repo.add_ledger_entries(
            [
                LedgerEntry(f"led-r-{i}", "old", "txn-r", reserve.kind, p.account, p.amount_fen, "v1", T0)
                for i, p in enumerate(reserve.postings)
            ]
        )
        await repo.add_reservation_lines([ReservationLine("old", 1, "app-1", "org-a", QINGDAO, 200, T0)])
        budget.reservation_version, budget.available_fen, budget.reserved_fen = 1, 300, 200
        await repo.save_budget(budget)
    again = await usecases.reserve_funds(
        uow=uow, cycle_id="old", version=1, lines=[Line("app-1", "org-a", 200, QINGDAO, "advanced")], now=T0
    )
    assert (again.reservation_version, again.reserved_fen) == (1, 200)
    with pytest.raises(FailedPrecondition) as e:
        await usecases.reserve_funds(
            uow=uow,
            cycle_id="old",
            version=1,
            lines=[Line("app-1", "org-a", 201, QINGDAO, "advanced")],
            now=T0,
        )
    assert e.value.reason == "RESERVATION_VERSION_CONFLICT"
