"""Funding over gRPC (identity + funding in process): budget, reservations, disbursements, ledger."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio

from aicc.funding.v1 import funding_pb2 as pb
from services.funding.adapters import FakeTreasury
from services.funding.service import FundingApp
from tests.support.seed import create_users, enterprise, error_of
from tests.support.suite import InProcessSuite, suite_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAN = 1_000_000  # fen in 10,000 yuan
PW = "a-long-password-for-tests"
QINGDAO, JINAN = "370200", "370100"


@dataclass
class World:
    suite: InProcessSuite
    system: object  # FundingService stub as the workflow worker
    org_a: str  # Qingdao enterprise
    org_b: str  # Jinan enterprise
    tokens: dict[str, str]
    treasury: FakeTreasury = None  # type: ignore[assignment]
    cycle: str = ""

    async def as_user(self, username: str):
        if username not in self.tokens:
            self.tokens[username] = await self.suite.login(username, PW)
        return self.suite.stub("funding", self.tokens[username])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory):
    """One suite and one set of users per module (password hashing is slow by design);
    each test works in a cycle of its own with a fresh fake treasury."""
    settings = suite_settings(tmp_path_factory.mktemp("funding"))
    async with InProcessSuite(settings, services=["identity", "funding"]) as suite:
        ident = suite.stub("identity", await suite.operator_token())
        org_a = await enterprise(ident, "370212", 1, "青岛智算科技有限公司")
        org_b = await enterprise(ident, "370102", 2, "济南工业智能有限公司")
        users = [
            ("app-a", ["applicant"], org_a, ""),
            ("app-b", ["applicant"], org_b, ""),
            ("qd-industry", ["city_industry"], "", QINGDAO),
            ("jn-finance", ["city_finance"], "", JINAN),
            ("prov-finance", ["province_finance"], "", ""),
        ]
        await create_users(ident, PW, users)
        system = suite.stub("funding", await suite.worker_token())
        yield World(suite, system, org_a, org_b, {})


def funding_app(suite: InProcessSuite) -> FundingApp:
    app = suite.hosts["funding"].app
    assert isinstance(app, FundingApp)
    return app


@pytest.fixture
def world(shared: World, request) -> World:
    shared.treasury = FakeTreasury()
    funding_app(shared.suite).treasury = shared.treasury
    shared.cycle = "cyc-" + request.node.name.removeprefix("test_")[:100]
    return shared


def lines(w: World, a: int = 200 * WAN, b: int = 100 * WAN) -> list[pb.ReservationLine]:
    out = []
    if a:
        out.append(
            pb.ReservationLine(
                application_id="app-1", organization_id=w.org_a, amount_fen=a, city_code=QINGDAO
            )
        )
    if b:
        out.append(
            pb.ReservationLine(application_id="app-2", organization_id=w.org_b, amount_fen=b, city_code=JINAN)
        )
    return out


async def reserved_world(w: World, total: int = 500 * WAN) -> None:
    await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=total))
    await w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=lines(w)))


async def paid_world(w: World) -> None:
    """Both reserved awards paid: app-1 to org_a (Qingdao), app-2 to org_b (Jinan)."""
    await reserved_world(w)
    await w.system.DisburseAward(disburse_req(w))
    await w.system.DisburseAward(
        pb.DisburseAwardRequest(
            cycle_id=w.cycle,
            application_id="app-2",
            organization_id=w.org_b,
            amount_fen=100 * WAN,
            idempotency_key=f"{w.cycle}:pay-app-2",
        )
    )


def disburse_req(w: World, key: str = "pay-app-1", amount: int = 200 * WAN) -> pb.DisburseAwardRequest:
    return pb.DisburseAwardRequest(
        cycle_id=w.cycle,
        application_id="app-1",
        organization_id=w.org_a,
        amount_fen=amount,
        idempotency_key=f"{w.cycle}:{key}",
        city_code=QINGDAO,
    )


def check_ledger(entries, budget: pb.Budget) -> None:
    """Every transaction balances and the budget is what its postings add up to."""
    by_txn: dict[str, int] = {}
    by_account: dict[str, int] = {}
    for e in entries:
        by_txn[e.transaction_id] = by_txn.get(e.transaction_id, 0) + e.amount_fen
        by_account[e.account] = by_account.get(e.account, 0) + e.amount_fen
    assert by_txn
    assert all(v == 0 for v in by_txn.values())
    assert -by_account["appropriation"] == budget.total_fen
    assert by_account["budget:available"] == budget.available_fen
    assert sum(v for a, v in by_account.items() if a.startswith("budget:reserved:")) == budget.reserved_fen
    assert sum(v for a, v in by_account.items() if a.startswith("treasury:paid:")) == budget.disbursed_fen


async def test_happy_path_open_reserve_disburse(world: World) -> None:
    w = world
    opened = (await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=500 * WAN))).budget
    assert (opened.total_fen, opened.available_fen, opened.reserved_fen, opened.reservation_version) == (
        500 * WAN,
        500 * WAN,
        0,
        0,
    )
    reserved = (
        await w.system.ReserveFunds(
            pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=lines(w))
        )
    ).budget
    assert (reserved.available_fen, reserved.reserved_fen, reserved.reservation_version) == (
        200 * WAN,
        300 * WAN,
        1,
    )

    d = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert d.status == pb.DISBURSEMENT_STATUS_PAID
    assert d.treasury_reference == FakeTreasury.reference_for(f"{w.cycle}:pay-app-1")
    assert (d.amount_fen, d.organization_id, d.city_code) == (200 * WAN, w.org_a, QINGDAO)
    assert w.treasury.orders[f"{w.cycle}:pay-app-1"][:2] == (w.org_a, 200 * WAN)

    prov = await w.as_user("prov-finance")
    budget = (await prov.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert (budget.total_fen, budget.available_fen, budget.reserved_fen, budget.disbursed_fen) == (
        500 * WAN,
        200 * WAN,
        100 * WAN,
        200 * WAN,
    )
    entries = (await prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    assert len({e.transaction_id for e in entries}) == 3  # open, reserve, disburse
    check_ledger(entries, budget)
    listed = (await prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))).disbursements
    assert [x.disbursement_id for x in listed] == [d.disbursement_id]


async def test_open_budget_is_idempotent_and_cannot_change_total(world: World) -> None:
    w = world
    first = (await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=300 * WAN))).budget
    again = (await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=300 * WAN))).budget
    assert first == again
    err = await error_of(w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=301 * WAN)))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "BUDGET_ALREADY_OPEN"
    entries = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    assert len(entries) == 2  # opened once


async def test_same_idempotency_key_pays_once(world: World) -> None:
    w = world
    await reserved_world(w)
    first = (await w.system.DisburseAward(disburse_req(w))).disbursement
    entries_after_first = (
        await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))
    ).entries
    second = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert second == first
    assert w.treasury.calls == 1
    assert len(w.treasury.orders) == 1
    entries = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    assert entries == entries_after_first
    assert sum(1 for e in entries if e.account.startswith("treasury:paid:")) == 1

    # A different key for the paid application is refused, without calling the treasury.
    err = await error_of(w.system.DisburseAward(disburse_req(w, key="pay-app-1-again")))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "ALREADY_DISBURSED"
    assert w.treasury.calls == 1
    # The same key for a different payment is refused too.
    other = pb.DisburseAwardRequest(
        cycle_id=w.cycle,
        application_id="app-2",
        organization_id=w.org_b,
        amount_fen=100 * WAN,
        idempotency_key=f"{w.cycle}:pay-app-1",
    )
    err = await error_of(w.system.DisburseAward(other))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_treasury_outage_leaves_requested_and_same_key_resumes(world: World) -> None:
    w = world
    await reserved_world(w)
    w.treasury.unavailable_times = 1
    err = await error_of(w.system.DisburseAward(disburse_req(w)))
    assert err.code == grpc.StatusCode.UNAVAILABLE
    assert err.reason == "TREASURY_UNAVAILABLE"
    pending = (await w.system.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))).disbursements
    assert [x.status for x in pending] == [pb.DISBURSEMENT_STATUS_REQUESTED]
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert budget.disbursed_fen == 0
    assert budget.reserved_fen == 300 * WAN

    # Another key while one is in flight is refused: the caller must resume the first.
    err = await error_of(w.system.DisburseAward(disburse_req(w, key="other-key")))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "DISBURSEMENT_IN_PROGRESS"

    done = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert done.status == pb.DISBURSEMENT_STATUS_PAID
    assert done.disbursement_id == pending[0].disbursement_id
    assert len(w.treasury.orders) == 1
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert budget.disbursed_fen == 200 * WAN
    assert budget.reserved_fen == 100 * WAN


async def test_treasury_refusal_marks_failed_and_a_new_key_may_retry(world: World) -> None:
    w = world
    await reserved_world(w)
    w.treasury.reject = True
    failed = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert failed.status == pb.DISBURSEMENT_STATUS_FAILED
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert budget.disbursed_fen == 0
    assert budget.reserved_fen == 300 * WAN
    w.treasury.reject = False
    assert (
        await w.system.DisburseAward(disburse_req(w))
    ).disbursement.status == pb.DISBURSEMENT_STATUS_FAILED
    paid = (await w.system.DisburseAward(disburse_req(w, key="pay-app-1-retry"))).disbursement
    assert paid.status == pb.DISBURSEMENT_STATUS_PAID


async def test_over_budget_reservation_refused_and_nothing_changes(world: World) -> None:
    w = world
    await reserved_world(w, total=400 * WAN)
    before = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    entries_before = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    err = await error_of(
        w.system.ReserveFunds(
            pb.ReserveFundsRequest(
                cycle_id=w.cycle, proposal_version=2, lines=lines(w, 300 * WAN, 100 * WAN + 1)
            )
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "EXCEEDS_BUDGET"
    assert "exceeds available budget" in err.message
    assert "4,000,000.01 yuan" in err.message
    assert "4,000,000 yuan" in err.message
    assert "超出可用预算" in err.message_zh
    assert (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget == before
    assert (
        await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))
    ).entries == entries_before
    # exactly the total fits
    ok = (
        await w.system.ReserveFunds(
            pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=lines(w, 300 * WAN, 100 * WAN))
        )
    ).budget
    assert (ok.available_fen, ok.reserved_fen, ok.reservation_version) == (0, 400 * WAN, 2)


async def test_new_version_replaces_reservation_same_is_noop_older_refused(world: World) -> None:
    w = world
    await reserved_world(w)
    v2 = (
        await w.system.ReserveFunds(
            pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=lines(w, 250 * WAN, 0))
        )
    ).budget
    assert (v2.available_fen, v2.reserved_fen, v2.reservation_version) == (250 * WAN, 250 * WAN, 2)
    entries = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    last = [e for e in entries if e.transaction_id == entries[-1].transaction_id]
    assert {e.account: e.amount_fen for e in last} == {
        "budget:reserved:app-1": 50 * WAN,
        "budget:reserved:app-2": -100 * WAN,
        "budget:available": 50 * WAN,
    }
    again = (
        await w.system.ReserveFunds(
            pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=lines(w, 250 * WAN, 0))
        )
    ).budget
    assert again == v2
    assert len(
        (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    ) == len(entries)
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=lines(w)))
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "STALE_PROPOSAL_VERSION"
    # app-2 was released: disbursing it is refused
    err = await error_of(
        w.system.DisburseAward(
            pb.DisburseAwardRequest(
                cycle_id=w.cycle,
                application_id="app-2",
                organization_id=w.org_b,
                amount_fen=100 * WAN,
                idempotency_key=f"{w.cycle}:k2",
            )
        )
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NO_RESERVATION"


async def test_invalid_arguments_name_each_field(world: World) -> None:
    w = world
    err = await error_of(w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id="", total_fen=0)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"cycle_id", "total_fen"}

    bad = lines(w)
    bad[0].amount_fen = -5
    bad[1].amount_fen = 0
    bad.append(
        pb.ReservationLine(application_id="app-1", organization_id=w.org_a, amount_fen=1, city_code="37")
    )
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=bad))
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {
        "lines[0].amount_fen",
        "lines[1].amount_fen",
        "lines[2].application_id",
        "lines[2].city_code",
    }
    assert all(v.description_zh for v in err.violations)

    req = disburse_req(w)
    req.idempotency_key = ""
    req.amount_fen = -1
    err = await error_of(w.system.DisburseAward(req))
    assert {v.field for v in err.violations} == {"idempotency_key", "amount_fen"}


async def test_unknown_cycle_is_not_found(world: World) -> None:
    w = world
    for call in (
        w.system.GetBudget(pb.GetBudgetRequest(cycle_id="nope")),
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id="nope", proposal_version=1, lines=lines(w))),
        w.system.DisburseAward(
            pb.DisburseAwardRequest(
                cycle_id="nope",
                application_id="app-1",
                organization_id=w.org_a,
                amount_fen=1,
                idempotency_key="k",
            )
        ),
        w.system.ListDisbursements(pb.ListDisbursementsRequest(cycle_id="nope")),
        w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id="nope")),
    ):
        err = await error_of(call)
        assert err.code == grpc.StatusCode.NOT_FOUND
        assert err.reason == "BUDGET_NOT_FOUND"


async def test_disbursement_preconditions(world: World) -> None:
    w = world
    await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=500 * WAN))
    err = await error_of(w.system.DisburseAward(disburse_req(w)))  # nothing reserved yet
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NO_RESERVATION"
    await w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=lines(w)))
    err = await error_of(w.system.DisburseAward(disburse_req(w, amount=150 * WAN)))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "AMOUNT_MISMATCH"
    assert "2,000,000 yuan" in err.message
    wrong_payee = disburse_req(w)
    wrong_payee.organization_id = w.org_b
    err = await error_of(w.system.DisburseAward(wrong_payee))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "PAYEE_MISMATCH"
    assert w.treasury.calls == 0
    await w.system.DisburseAward(disburse_req(w))
    # once paying has begun the reservation is frozen
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=lines(w)))
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "DISBURSEMENT_STARTED"


async def test_who_sees_which_disbursements(world: World) -> None:
    w = world
    await paid_world(w)

    async def seen(username: str) -> set[str]:
        stub = await w.as_user(username)
        resp = await stub.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))
        return {d.application_id for d in resp.disbursements}

    assert await seen("app-a") == {"app-1"}
    assert await seen("app-b") == {"app-2"}
    assert await seen("qd-industry") == {"app-1"}
    assert await seen("jn-finance") == {"app-2"}
    assert await seen("prov-finance") == {"app-1", "app-2"}

    applicant = await w.as_user("app-a")
    for call in (
        applicant.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle)),
        applicant.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle)),
        applicant.DisburseAward(disburse_req(w, key="sneaky")),
    ):
        assert (await error_of(call)).code == grpc.StatusCode.PERMISSION_DENIED
    prov = await w.as_user("prov-finance")  # only the workflow moves money
    err = await error_of(
        prov.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=9, lines=lines(w)))
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


async def _pages(call, request, field: str, size: int) -> list[list]:
    """Every page of a list RPC with ``size``; each token fed back as it came."""
    pages, token = [], ""
    while True:
        request.page_size, request.page_token = size, token
        resp = await call(request)
        pages.append(list(getattr(resp, field)))
        token = resp.next_page_token
        if not token:
            return pages


async def test_ledger_pages_default_maximum_and_all(world: World) -> None:
    w = world
    await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=10_000 * WAN))

    def version(n: int, prefix: str) -> pb.ReserveFundsRequest:
        many = [
            pb.ReservationLine(
                application_id=f"{prefix}-{i:03d}", organization_id=w.org_a, amount_fen=WAN, city_code=QINGDAO
            )
            for i in range(300)
        ]
        return pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=n, lines=many)

    await w.system.ReserveFunds(version(1, "a"))  # 300 lines + available
    await w.system.ReserveFunds(version(2, "b"))  # 300 released, 300 reserved, available unchanged
    total = 2 + 301 + 600
    req = pb.ListLedgerEntriesRequest(cycle_id=w.cycle)

    first = await w.system.ListLedgerEntries(req)
    assert len(first.entries) == 50
    assert first.next_page_token
    biggest = await w.system.ListLedgerEntries(
        pb.ListLedgerEntriesRequest(cycle_id=w.cycle, page_size=10_000)
    )
    assert len(biggest.entries) == 500
    assert biggest.next_page_token
    assert list(biggest.entries[:50]) == list(first.entries)

    for size in (500, 173):
        pages = await _pages(w.system.ListLedgerEntries, req, "entries", size)
        entries = [e for page in pages for e in page]
        assert len(entries) == total
        assert len({e.entry_id for e in entries}) == total
        assert all(len(page) == size for page in pages[:-1])
        assert 0 < len(pages[-1]) <= size
        assert entries[:500] == list(biggest.entries)
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    check_ledger(entries, budget)


async def test_disbursement_pages_keep_each_readers_view(world: World) -> None:
    w = world
    n = 53  # odd: org_a (Qingdao), even: org_b (Jinan)
    await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=1_000 * WAN))
    awards = [
        pb.ReservationLine(
            application_id=f"app-{i:02d}",
            organization_id=w.org_a if i % 2 else w.org_b,
            amount_fen=WAN + i,
            city_code=QINGDAO if i % 2 else JINAN,
        )
        for i in range(n)
    ]
    await w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=awards))
    for x in awards:
        await w.system.DisburseAward(
            pb.DisburseAwardRequest(
                cycle_id=w.cycle,
                application_id=x.application_id,
                organization_id=x.organization_id,
                amount_fen=x.amount_fen,
                idempotency_key=f"{w.cycle}:{x.application_id}",
            )
        )
    req = pb.ListDisbursementsRequest(cycle_id=w.cycle)
    prov = await w.as_user("prov-finance")
    first = await prov.ListDisbursements(req)
    assert len(first.disbursements) == 50
    assert first.next_page_token
    everything = (
        await prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_size=10_000))
    ).disbursements
    assert len(everything) == n  # a page size above the maximum is capped, not refused
    assert [(d.requested_at.ToDatetime(), d.disbursement_id) for d in everything] == sorted(
        (d.requested_at.ToDatetime(), d.disbursement_id) for d in everything
    )
    assert list(everything[:50]) == list(first.disbursements)

    views = {
        "prov-finance": list(everything),
        "app-a": [d for d in everything if d.organization_id == w.org_a],
        "app-b": [d for d in everything if d.organization_id == w.org_b],
        "qd-industry": [d for d in everything if d.city_code == QINGDAO],
        "jn-finance": [d for d in everything if d.city_code == JINAN],
    }
    assert len(views["app-a"]) == 26
    assert len(views["jn-finance"]) == 27
    for username, expected in views.items():
        stub = await w.as_user(username)
        pages = await _pages(stub.ListDisbursements, req, "disbursements", 5)
        assert [d for page in pages for d in page] == expected, username
        assert all(len(page) == 5 for page in pages[:-1])  # filtered in the query: every page full


async def test_page_tokens_are_bound_to_caller_list_and_filter(world: World) -> None:
    w = world
    await paid_world(w)
    other_cycle = w.cycle + "-other"
    await w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=other_cycle, total_fen=WAN))
    prov = await w.as_user("prov-finance")
    first = await prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_size=1))
    token = first.next_page_token
    assert len(first.disbursements) == 1
    assert token
    # the token works for its owner (with another page size too) ...
    rest = await prov.ListDisbursements(
        pb.ListDisbursementsRequest(cycle_id=w.cycle, page_size=7, page_token=token)
    )
    assert len(rest.disbursements) == 1
    assert not rest.next_page_token
    assert rest.disbursements[0].disbursement_id != first.disbursements[0].disbursement_id
    # ... and for nobody else, no other cycle, no other list, not altered
    jn = await w.as_user("jn-finance")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for call in (
        jn.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_token=token)),
        w.system.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_token=token)),
        prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=other_cycle, page_token=token)),
        prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle, page_token=token)),
        prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_token=tampered)),
        prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_token="not-a-token")),
    ):
        err = await error_of(call)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in err.violations] == ["page_token"]
    for call in (
        prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle, page_size=-1)),
        prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle, page_size=-1)),
    ):
        err = await error_of(call)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in err.violations] == ["page_size"]


@pytest.mark.postgres
async def test_concurrent_requests_on_postgresql_pay_once_and_never_overspend(tmp_path) -> None:
    """Row locks (SELECT ... FOR UPDATE on the budget) under real concurrency."""
    import asyncio

    from tests.support.pg import Databases, server_url

    dbs = Databases(server_url(), ["identity", "funding"])  # PostgreSQL is required: no skip
    try:
        settings = suite_settings(tmp_path, db_urls=dbs.urls)
        async with InProcessSuite(settings, services=["identity", "funding"]) as suite:
            treasury = FakeTreasury()
            funding_app(suite).treasury = treasury
            system = suite.stub("funding", await suite.worker_token())
            cycle = "cyc-pg"
            await system.OpenBudget(pb.OpenBudgetRequest(cycle_id=cycle, total_fen=300 * WAN))

            # Competing proposal versions, each alone within budget: the final state is one of them.
            def version(n: int) -> pb.ReserveFundsRequest:
                line = pb.ReservationLine(
                    application_id=f"app-{n}",
                    organization_id="org-x",
                    amount_fen=(100 + n) * WAN,
                    city_code=QINGDAO,
                )
                return pb.ReserveFundsRequest(cycle_id=cycle, proposal_version=n, lines=[line])

            results = await asyncio.gather(
                *(system.ReserveFunds(version(n)) for n in range(1, 9)), return_exceptions=True
            )
            for r in results:
                if isinstance(r, grpc.aio.AioRpcError):
                    assert r.code() == grpc.StatusCode.FAILED_PRECONDITION  # an older version arriving late
            budget = (await system.GetBudget(pb.GetBudgetRequest(cycle_id=cycle))).budget
            n = budget.reservation_version
            assert budget.reserved_fen == (100 + n) * WAN
            assert budget.available_fen == 300 * WAN - budget.reserved_fen

            req = pb.DisburseAwardRequest(
                cycle_id=cycle,
                application_id=f"app-{n}",
                organization_id="org-x",
                amount_fen=(100 + n) * WAN,
                idempotency_key="pg-key",
            )
            paid = await asyncio.gather(
                *(system.DisburseAward(req) for _ in range(6)), return_exceptions=True
            )
            ok = [p.disbursement for p in paid if not isinstance(p, BaseException)]
            assert len(ok) == 6
            assert {d.disbursement_id for d in ok} == {ok[0].disbursement_id}
            assert len(treasury.orders) == 1
            entries = (await system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=cycle))).entries
            assert sum(1 for e in entries if e.account.startswith("treasury:paid:")) == 1
            budget = (await system.GetBudget(pb.GetBudgetRequest(cycle_id=cycle))).budget
            assert budget.disbursed_fen == (100 + n) * WAN
            assert budget.reserved_fen == 0
            check_ledger(entries, budget)

            # Concurrent first openings of one budget: the losers of the insert answer as repeats.
            opened = await asyncio.gather(
                *(
                    system.OpenBudget(pb.OpenBudgetRequest(cycle_id="cyc-pg-2", total_fen=50 * WAN))
                    for _ in range(6)
                )
            )
            assert all(o.budget == opened[0].budget for o in opened)
            # Keyset pages on PostgreSQL: disbursements paid concurrently, ledger and list in pages.
            awards = [
                pb.ReservationLine(
                    application_id=f"pg-{i}", organization_id="org-x", amount_fen=WAN + i, city_code=QINGDAO
                )
                for i in range(7)
            ]
            await system.ReserveFunds(
                pb.ReserveFundsRequest(cycle_id="cyc-pg-2", proposal_version=1, lines=awards)
            )
            await asyncio.gather(
                *(
                    system.DisburseAward(
                        pb.DisburseAwardRequest(
                            cycle_id="cyc-pg-2",
                            application_id=x.application_id,
                            organization_id="org-x",
                            amount_fen=x.amount_fen,
                            idempotency_key=f"pg-2:{x.application_id}",
                        )
                    )
                    for x in awards
                )
            )
            listed = await _pages(
                system.ListDisbursements, pb.ListDisbursementsRequest(cycle_id="cyc-pg-2"), "disbursements", 3
            )
            assert [len(p) for p in listed] == [3, 3, 1]
            keys = [(d.requested_at.ToDatetime(), d.disbursement_id) for p in listed for d in p]
            assert keys == sorted(keys)
            assert {d.application_id for p in listed for d in p} == {x.application_id for x in awards}
            posted = await _pages(
                system.ListLedgerEntries, pb.ListLedgerEntriesRequest(cycle_id="cyc-pg-2"), "entries", 4
            )
            all_entries = (
                await system.ListLedgerEntries(
                    pb.ListLedgerEntriesRequest(cycle_id="cyc-pg-2", page_size=500)
                )
            ).entries
            assert [e for p in posted for e in p] == list(all_entries)
            assert len(all_entries) == 2 + 8 + 14
            check_ledger(
                all_entries, (await system.GetBudget(pb.GetBudgetRequest(cycle_id="cyc-pg-2"))).budget
            )
    finally:
        dbs.close()
