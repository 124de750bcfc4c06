"""Funding's use cases on the real store (SQLite file, migrated) with the fake treasury: who sees
which disbursements page by page, the ledger in pages, a lost race on the first opening of a budget,
and the store's guards (unique key → ABORTED, append-only postings)."""

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
from services.funding.adapters import FakeTreasury
from services.funding.domain import usecases
from services.funding.domain.model import Budget, Disbursement, Line, Visibility
from services.funding.domain.ports import FundingRepository
from services.funding.store import FundingStore, LedgerEntryRow

QINGDAO, JINAN = "370200", "370100"
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


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
        Line(f"app-{i:03d}", "org-a" if i % 2 else "org-b", 1_000 + i, QINGDAO if i % 2 else JINAN)
        for i in range(n)
    ]
    await usecases.open_budget(uow=uow, cycle_id="c1", total_fen=10_000_000, now=T0)
    await usecases.reserve_funds(uow=uow, cycle_id="c1", version=1, lines=awards, now=T0)
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
    first = await usecases.open_budget(uow=uow, cycle_id="c1", total_fen=500, now=T0)
    again = await usecases.open_budget(
        uow=_losing(uow), cycle_id="c1", total_fen=500, now=T0 + timedelta(seconds=1)
    )
    assert again == first
    with pytest.raises(FailedPrecondition) as e:
        await usecases.open_budget(uow=_losing(uow), cycle_id="c1", total_fen=501, now=T0)
    assert e.value.reason == "BUDGET_ALREADY_OPEN"
    page = await usecases.list_ledger_entries(uow=uow, cycle_id="c1", page=PageRequest(50))
    assert len(page.items) == 2  # opened once; the losers' postings were rolled back


async def test_a_duplicate_key_is_aborted_and_a_broken_check_is_not(uow) -> None:
    await usecases.open_budget(uow=uow, cycle_id="c1", total_fen=500, now=T0)
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
    await usecases.open_budget(uow=uow, cycle_id="c1", total_fen=500, now=T0)

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
