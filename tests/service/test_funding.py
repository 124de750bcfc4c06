"""Funding over gRPC (identity + funding in process): appropriations, budgets drawn from them and
closed back into them, finance's concurrence, reservations of what finance concurred with,
disbursements reconciled with the treasury, the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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
# The fiscal year most tests draw from (opened once, large); tests that count an appropriation's
# money use a year of their own.
FY = 2026
# Generous caps for tests about something else; tests of the caps use the policy's (200 / 100 万元).
CAPS = {"excellent": 500 * WAN, "advanced": 500 * WAN}
TIER = {"app-1": "excellent", "app-2": "advanced"}
INT64_MAX = 2**63 - 1  # fen: 92,233,720,368,547,758.07 yuan — the 92-quadrillion-yuan payment


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
        ident = await suite.admin()
        org_a = await enterprise(ident, "370212", 1, "青岛智算科技有限公司")
        org_b = await enterprise(ident, "370102", 2, "济南工业智能有限公司")
        users = [
            ("app-a", ["applicant"], org_a, ""),
            ("app-b", ["applicant"], org_b, ""),
            ("qd-industry", ["city_industry"], "", QINGDAO),
            ("jn-finance", ["city_finance"], "", JINAN),
            ("prov-finance", ["province_finance"], "", ""),
            ("prov-industry", ["province_industry"], "", ""),
        ]
        await create_users(ident, PW, users)
        system = suite.stub("funding", await suite.worker_token())
        w = World(suite, system, org_a, org_b, {})
        await open_appropriation(w, FY, 1_000_000 * WAN)
        yield w


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


def caps_pb(caps: dict[str, int]) -> list[pb.TierCap]:
    return [pb.TierCap(tier=t, cap_fen=c) for t, c in caps.items()]


async def open_appropriation(w: World, year: int, amount: int, doc: str = "") -> pb.Appropriation:
    prov = await w.as_user("prov-finance")
    resp = await prov.OpenAppropriation(
        pb.OpenAppropriationRequest(
            fiscal_year=year,
            budget_document_no=doc or f"鲁财工指〔{year}〕15号",
            amount_fen=amount,
            performance_targets="培育省级工业领域AI能力中心约15家，服务企业不少于500家",
        )
    )
    return resp.appropriation


async def open_budget(
    w: World, total: int = 500 * WAN, *, cycle: str = "", year: int = FY, caps: dict[str, int] | None = None
) -> pb.Budget:
    req = pb.OpenBudgetRequest(
        cycle_id=cycle or w.cycle,
        total_fen=total,
        fiscal_year=year,
        caps=caps_pb(CAPS if caps is None else caps),
    )
    return (await w.system.OpenBudget(req)).budget


def lines(w: World, a: int = 200 * WAN, b: int = 100 * WAN) -> list[pb.ReservationLine]:
    out = []
    if a:
        out.append(
            pb.ReservationLine(
                application_id="app-1",
                organization_id=w.org_a,
                amount_fen=a,
                city_code=QINGDAO,
                tier="excellent",
            )
        )
    if b:
        out.append(
            pb.ReservationLine(
                application_id="app-2",
                organization_id=w.org_b,
                amount_fen=b,
                city_code=JINAN,
                tier="advanced",
            )
        )
    return out


async def concur(
    w: World, version: int, what: list[pb.ReservationLine], *, cycle: str = ""
) -> pb.FinanceConcurrence:
    """Province finance concurs with a proposal version (as intake does with the official's token)."""
    prov = await w.as_user("prov-finance")
    req = pb.RecordFinanceConcurrenceRequest(
        cycle_id=cycle or w.cycle, proposal_version=version, agree=True, opinion="同意", lines=what
    )
    return (await prov.RecordFinanceConcurrence(req)).concurrence


async def reserve(w: World, version: int, what: list[pb.ReservationLine], *, cycle: str = "") -> pb.Budget:
    """Finance concurs, then the workflow reserves exactly what it concurred with."""
    await concur(w, version, what, cycle=cycle)
    req = pb.ReserveFundsRequest(cycle_id=cycle or w.cycle, proposal_version=version, lines=what)
    return (await w.system.ReserveFunds(req)).budget


async def reserved_world(w: World, total: int = 500 * WAN) -> None:
    await open_budget(w, total)
    await reserve(w, 1, lines(w))


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
    """Every transaction balances and the budget is what its postings add up to: the envelope drawn
    from the appropriation, less what went back at the close, is available + reserved + paid."""
    by_txn: dict[str, int] = {}
    by_account: dict[str, int] = {}
    for e in entries:
        by_txn[e.transaction_id] = by_txn.get(e.transaction_id, 0) + e.amount_fen
        by_account[e.account] = by_account.get(e.account, 0) + e.amount_fen
    assert by_txn
    assert all(v == 0 for v in by_txn.values())
    source = f"appropriation:{budget.fiscal_year}"
    assert {a for a in by_account if a.startswith("appropriation")} == {source}
    drawn = -sum(e.amount_fen for e in entries if e.account == source and e.amount_fen < 0)
    returned = sum(e.amount_fen for e in entries if e.account == source and e.amount_fen > 0)
    assert drawn == budget.total_fen
    assert returned == budget.returned_fen
    assert -by_account[source] == budget.total_fen - budget.returned_fen
    assert by_account.get("budget:available", 0) == budget.available_fen
    assert sum(v for a, v in by_account.items() if a.startswith("budget:reserved:")) == budget.reserved_fen
    assert sum(v for a, v in by_account.items() if a.startswith("treasury:paid:")) == budget.disbursed_fen
    assert budget.total_fen == (
        budget.available_fen + budget.reserved_fen + budget.disbursed_fen + budget.returned_fen
    )


async def test_happy_path_open_reserve_disburse(world: World) -> None:
    w = world
    opened = await open_budget(w, 500 * WAN)
    assert (opened.total_fen, opened.available_fen, opened.reserved_fen, opened.reservation_version) == (
        500 * WAN,
        500 * WAN,
        0,
        0,
    )
    assert (opened.fiscal_year, opened.closed, opened.returned_fen) == (FY, False, 0)
    assert opened.appropriation_id
    assert {c.tier: c.cap_fen for c in opened.caps} == CAPS
    reserved = await reserve(w, 1, lines(w))
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
    assert {e.account: e.amount_fen for e in entries[:2]} == {
        "budget:available": 500 * WAN,
        f"appropriation:{FY}": -500 * WAN,
    }
    check_ledger(entries, budget)
    listed = (await prov.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))).disbursements
    assert [x.disbursement_id for x in listed] == [d.disbursement_id]


async def test_open_budget_is_idempotent_and_cannot_change_total(world: World) -> None:
    w = world
    first = await open_budget(w, 300 * WAN)
    again = await open_budget(w, 300 * WAN)
    assert first == again
    # An older workflow's repeat (no fiscal year, no caps) answers the same budget too.
    legacy_repeat = pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=300 * WAN)
    assert (await w.system.OpenBudget(legacy_repeat)).budget == first
    for other in (
        pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=301 * WAN, fiscal_year=FY, caps=caps_pb(CAPS)),
        pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=300 * WAN, fiscal_year=FY + 1, caps=caps_pb(CAPS)),
        pb.OpenBudgetRequest(
            cycle_id=w.cycle, total_fen=300 * WAN, fiscal_year=FY, caps=caps_pb({"excellent": 200 * WAN})
        ),
    ):
        err = await error_of(w.system.OpenBudget(other))
        assert err.code == grpc.StatusCode.FAILED_PRECONDITION
        assert err.reason == "BUDGET_ALREADY_OPEN"
        assert "3,000,000 yuan" in err.message
        assert "300.00万元" in err.message_zh
    entries = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    assert len(entries) == 2  # opened (drawn) once


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
    assert failed.failure == w.treasury.reject_reason  # the treasury's own words
    assert "payee account refused" in failed.failure
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
    too_much = lines(w, 300 * WAN, 100 * WAN + 1)
    # Finance is told when it concurs: funding could not reserve it.
    err = await error_of(concur(w, 2, too_much))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "EXCEEDS_BUDGET"
    assert "exceeds available budget" in err.message
    assert "4,000,000.01 yuan" in err.message
    assert "4,000,000 yuan" in err.message
    assert "超出可用预算" in err.message_zh
    assert "4,000,000.01元" in err.message_zh
    assert "400.00万元" in err.message_zh
    assert err.metadata["requested_fen"] == str(400 * WAN + 1)
    # ... and the workflow cannot reserve it (finance did not concur with it).
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=too_much))
    )
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NOT_CONCURRED"
    assert (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget == before
    assert (
        await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))
    ).entries == entries_before
    # exactly the total fits
    ok = await reserve(w, 2, lines(w, 300 * WAN, 100 * WAN))
    assert (ok.available_fen, ok.reserved_fen, ok.reservation_version) == (0, 400 * WAN, 2)


async def test_new_version_replaces_reservation_same_is_noop_older_refused(world: World) -> None:
    w = world
    await reserved_world(w)
    v2 = await reserve(w, 2, lines(w, 250 * WAN, 0))
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
    err = await error_of(
        w.system.OpenBudget(
            pb.OpenBudgetRequest(
                cycle_id=w.cycle,
                total_fen=WAN,
                fiscal_year=1999,
                caps=[
                    pb.TierCap(tier="excellent", cap_fen=0),
                    pb.TierCap(tier="Excellent!", cap_fen=1),
                    pb.TierCap(tier="excellent", cap_fen=2),
                ],
            )
        )
    )
    assert {v.field for v in err.violations} == {
        "fiscal_year",
        "caps[0].cap_fen",
        "caps[1].tier",
        "caps[2].tier",
    }

    bad = lines(w)
    bad[0].amount_fen = -5
    bad[1].amount_fen = 0
    bad[1].tier = ""
    bad.append(
        pb.ReservationLine(
            application_id="app-1", organization_id=w.org_a, amount_fen=1, city_code="37", tier="excellent"
        )
    )
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=bad))
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {
        "lines[0].amount_fen",
        "lines[1].amount_fen",
        "lines[1].tier",
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
    prov = await w.as_user("prov-finance")
    for call in (
        w.system.CloseBudget(pb.CloseBudgetRequest(cycle_id="nope")),
        prov.RecordFinanceConcurrence(
            pb.RecordFinanceConcurrenceRequest(
                cycle_id="nope", proposal_version=1, agree=True, lines=lines(w)
            )
        ),
        prov.ListFinanceConcurrences(pb.ListFinanceConcurrencesRequest(cycle_id="nope")),
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
    await open_budget(w, 500 * WAN)
    err = await error_of(w.system.DisburseAward(disburse_req(w)))  # nothing reserved yet
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "NO_RESERVATION"
    await reserve(w, 1, lines(w))
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
    # once paying has begun the reservation is frozen (even for a version finance concurred with)
    await concur(w, 2, lines(w))
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
    await open_budget(w, 10_000 * WAN)

    def version(prefix: str) -> list[pb.ReservationLine]:
        return [
            pb.ReservationLine(
                application_id=f"{prefix}-{i:03d}",
                organization_id=w.org_a,
                amount_fen=WAN,
                city_code=QINGDAO,
                tier="advanced",
            )
            for i in range(300)
        ]

    await reserve(w, 1, version("a"))  # 300 lines + available
    await reserve(w, 2, version("b"))  # 300 released, 300 reserved, available unchanged
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
    await open_budget(w, 1_000 * WAN)
    awards = [
        pb.ReservationLine(
            application_id=f"app-{i:02d}",
            organization_id=w.org_a if i % 2 else w.org_b,
            amount_fen=WAN + i,
            city_code=QINGDAO if i % 2 else JINAN,
            tier="advanced",
        )
        for i in range(n)
    ]
    await reserve(w, 1, awards)
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
    await open_budget(w, WAN, cycle=other_cycle)
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
async def test_concurrent_requests_on_postgresql_pay_once_and_never_overspend(tmp_path) -> None:  # noqa: C901
    """Row locks (SELECT ... FOR UPDATE on the budget and the appropriation) under real concurrency."""
    import asyncio

    from tests.support.pg import Databases, server_url

    dbs = Databases(server_url(), ["identity", "funding"])  # PostgreSQL is required: no skip
    try:
        settings = suite_settings(tmp_path, db_urls=dbs.urls)
        async with InProcessSuite(settings, services=["identity", "funding"]) as suite:
            treasury = FakeTreasury()
            funding_app(suite).treasury = treasury
            ident = await suite.admin()
            await create_users(ident, PW, [("pg-finance", ["province_finance"], "", "")])
            prov = suite.stub("funding", await suite.login("pg-finance", PW))
            system = suite.stub("funding", await suite.worker_token())
            caps = caps_pb({"advanced": 200 * WAN})
            await prov.OpenAppropriation(
                pb.OpenAppropriationRequest(
                    fiscal_year=2027,
                    budget_document_no="鲁财工指〔2027〕1号",
                    amount_fen=1_000 * WAN,
                    performance_targets="t",
                )
            )

            # Eight cycles draw 300 万元 each at once from an appropriation of 1,000 万元: three fit.
            drawn = await asyncio.gather(
                *(
                    system.OpenBudget(
                        pb.OpenBudgetRequest(
                            cycle_id=f"cyc-pg-draw-{i}", total_fen=300 * WAN, fiscal_year=2027, caps=caps
                        )
                    )
                    for i in range(8)
                ),
                return_exceptions=True,
            )
            refused = [r for r in drawn if isinstance(r, grpc.aio.AioRpcError)]
            assert len(refused) == 5
            assert all(r.code() == grpc.StatusCode.FAILED_PRECONDITION for r in refused)
            left = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=2027))).appropriation
            assert (left.drawn_fen, left.available_fen) == (900 * WAN, 100 * WAN)

            # exactly what is left still fits; then nothing is left
            await system.OpenBudget(
                pb.OpenBudgetRequest(cycle_id="cyc-pg-rest", total_fen=100 * WAN, fiscal_year=2027, caps=caps)
            )
            left = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=2027))).appropriation
            assert (left.drawn_fen, left.available_fen) == (1_000 * WAN, 0)
            await prov.OpenAppropriation(
                pb.OpenAppropriationRequest(
                    fiscal_year=2028,
                    budget_document_no="鲁财工指〔2028〕1号",
                    amount_fen=1_000 * WAN,
                    performance_targets="t",
                )
            )
            cycle = "cyc-pg-reserve"
            await system.OpenBudget(
                pb.OpenBudgetRequest(cycle_id=cycle, total_fen=300 * WAN, fiscal_year=2028, caps=caps)
            )

            # Competing proposal versions, each alone within budget: the final state is one of them.
            def version(n: int) -> pb.ReserveFundsRequest:
                line = pb.ReservationLine(
                    application_id=f"app-{n}",
                    organization_id="org-x",
                    amount_fen=(100 + n) * WAN,
                    city_code=QINGDAO,
                    tier="advanced",
                )
                return pb.ReserveFundsRequest(cycle_id=cycle, proposal_version=n, lines=[line])

            for n in range(1, 9):
                v = version(n)
                await prov.RecordFinanceConcurrence(
                    pb.RecordFinanceConcurrenceRequest(
                        cycle_id=cycle, proposal_version=n, agree=True, lines=v.lines
                    )
                )
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
                    system.OpenBudget(
                        pb.OpenBudgetRequest(
                            cycle_id="cyc-pg-2", total_fen=50 * WAN, fiscal_year=2028, caps=caps
                        )
                    )
                    for _ in range(6)
                )
            )
            assert all(o.budget == opened[0].budget for o in opened)
            left = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=2028))).appropriation
            assert left.available_fen == 1_000 * WAN - 300 * WAN - 50 * WAN  # drawn once
            # Keyset pages on PostgreSQL: disbursements paid concurrently, ledger and list in pages.
            awards = [
                pb.ReservationLine(
                    application_id=f"pg-{i}",
                    organization_id="org-x",
                    amount_fen=WAN + i,
                    city_code=QINGDAO,
                    tier="advanced",
                )
                for i in range(7)
            ]
            await prov.RecordFinanceConcurrence(
                pb.RecordFinanceConcurrenceRequest(
                    cycle_id="cyc-pg-2", proposal_version=1, agree=True, lines=awards
                )
            )
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


# ------------------------------------------------------------------ appropriations (Art. 3-4)


async def test_appropriation_open_get_list_and_its_refusals(world: World) -> None:
    w = world
    prov = await w.as_user("prov-finance")
    year = 2041
    opened = await open_appropriation(w, year, 1_200 * WAN, doc="鲁财工指〔2041〕7号")
    assert (opened.fiscal_year, opened.amount_fen, opened.drawn_fen, opened.available_fen) == (
        year,
        1_200 * WAN,
        0,
        1_200 * WAN,
    )
    assert opened.budget_document_no == "鲁财工指〔2041〕7号"
    assert opened.performance_targets.startswith("培育")
    assert opened.opened_by
    assert opened.opened_at.seconds > 0
    # The same request again: the same appropriation (idempotent), opened once in the ledger.
    assert await open_appropriation(w, year, 1_200 * WAN, doc="鲁财工指〔2041〕7号") == opened
    statement = (await prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(fiscal_year=year))).entries
    assert [(e.account, e.amount_fen, e.cycle_id) for e in statement] == [
        (f"appropriation:{year}", 1_200 * WAN, ""),
        (f"budget_authority:{year}", -1_200 * WAN, ""),
    ]
    # Another amount or document for the same year: one appropriation a year.
    for amount, doc in ((1_300 * WAN, "鲁财工指〔2041〕7号"), (1_200 * WAN, "鲁财工指〔2041〕8号")):
        err = await error_of(open_appropriation(w, year, amount, doc=doc))
        assert err.code == grpc.StatusCode.ALREADY_EXISTS
        assert err.reason == "APPROPRIATION_ALREADY_OPEN"
        assert "12,000,000 yuan" in err.message
        assert "1,200.00万元" in err.message_zh
    assert (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=year))).appropriation == opened

    err = await error_of(prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=2099)))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "APPROPRIATION_NOT_FOUND")
    assert "2099" in err.message_zh
    err = await error_of(prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(fiscal_year=2099)))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "APPROPRIATION_NOT_FOUND")

    # Invalid requests name each field.
    err = await error_of(
        prov.OpenAppropriation(
            pb.OpenAppropriationRequest(
                fiscal_year=1999, budget_document_no="", amount_fen=0, performance_targets=""
            )
        )
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {
        "fiscal_year",
        "budget_document_no",
        "amount_fen",
        "performance_targets",
    }
    err = await error_of(
        prov.OpenAppropriation(
            pb.OpenAppropriationRequest(
                fiscal_year=2042, budget_document_no="x" * 101, amount_fen=INT64_MAX, performance_targets="t"
            )
        )
    )
    assert {v.field for v in err.violations} == {"budget_document_no", "amount_fen"}
    err = await error_of(prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id="c", fiscal_year=year)))
    assert [v.field for v in err.violations] == ["cycle_id"]
    # Only province finance opens one: not the workflow's service account, not province industry.
    for stub in (w.system, await w.as_user("prov-industry")):
        err = await error_of(
            stub.OpenAppropriation(
                pb.OpenAppropriationRequest(
                    fiscal_year=2043, budget_document_no="伪造", amount_fen=WAN, performance_targets="t"
                )
            )
        )
        assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await error_of(prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=2043)))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def test_appropriations_are_listed_newest_first_in_pages(world: World) -> None:
    w = world
    for year in (2051, 2053, 2052):
        await open_appropriation(w, year, WAN)
    prov = await w.as_user("prov-finance")
    pages = await _pages(prov.ListAppropriations, pb.ListAppropriationsRequest(), "appropriations", 2)
    years = [a.fiscal_year for page in pages for a in page]
    assert years == sorted(years, reverse=True)
    assert {2051, 2052, 2053, FY} <= set(years)
    assert all(len(p) == 2 for p in pages[:-1])
    token = (await prov.ListAppropriations(pb.ListAppropriationsRequest(page_size=1))).next_page_token
    err = await error_of(w.system.ListAppropriations(pb.ListAppropriationsRequest(page_token=token)))
    assert [v.field for v in err.violations] == ["page_token"]  # bound to its caller


async def test_two_cycles_never_draw_more_than_the_appropriation(world: World) -> None:
    w = world
    year = 2031
    await open_appropriation(w, year, 500 * WAN)
    a = await open_budget(w, 300 * WAN, cycle=f"{w.cycle}-a", year=year)
    assert (a.fiscal_year, a.total_fen, a.available_fen) == (year, 300 * WAN, 300 * WAN)

    err = await error_of(open_budget(w, 300 * WAN, cycle=f"{w.cycle}-b", year=year))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXCEEDS_APPROPRIATION")
    assert "3,000,000 yuan" in err.message
    assert "2,000,000 yuan" in err.message  # what is left
    assert "province finance must raise the appropriation" in err.message
    assert "200.00万元" in err.message_zh
    assert "省财政厅" in err.message_zh
    assert err.metadata == {"requested_fen": str(300 * WAN), "available_fen": str(200 * WAN)}
    err = await error_of(w.system.GetBudget(pb.GetBudgetRequest(cycle_id=f"{w.cycle}-b")))
    assert err.code == grpc.StatusCode.NOT_FOUND  # nothing was opened

    b = await open_budget(w, 200 * WAN, cycle=f"{w.cycle}-b", year=year)  # exactly what is left
    assert b.total_fen == 200 * WAN
    err = await error_of(open_budget(w, 1, cycle=f"{w.cycle}-c", year=year))
    assert err.reason == "EXCEEDS_APPROPRIATION"
    prov = await w.as_user("prov-finance")
    left = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=year))).appropriation
    assert (left.amount_fen, left.drawn_fen, left.available_fen) == (500 * WAN, 500 * WAN, 0)
    # The appropriation's statement: opened, then drawn twice; each draw's other side is a cycle's.
    statement = (await prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(fiscal_year=year))).entries
    draws = [e for e in statement if e.cycle_id]
    assert [(e.cycle_id, e.amount_fen) for e in draws] == [
        (f"{w.cycle}-a", -300 * WAN),
        (f"{w.cycle}-b", -200 * WAN),
    ]
    assert sum(e.amount_fen for e in statement if e.account == f"appropriation:{year}") == 0


async def test_a_budget_needs_an_open_appropriation_and_a_fiscal_year(world: World) -> None:
    w = world
    err = await error_of(open_budget(w, WAN, year=2044))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_APPROPRIATION")
    assert "OpenAppropriation" in err.message
    assert "省财政厅" in err.message_zh
    assert err.metadata["fiscal_year"] == "2044"
    # An older workflow's request names no fiscal year: no envelope comes from nowhere.
    err = await error_of(w.system.OpenBudget(pb.OpenBudgetRequest(cycle_id=w.cycle, total_fen=WAN)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "FISCAL_YEAR_REQUIRED")
    assert "fiscal year" in err.message
    assert "预算年度" in err.message_zh
    err = await error_of(w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle)))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def test_a_service_account_cannot_make_the_92_quadrillion_yuan_payment(world: World) -> None:
    """With the workflow's own (system) token and nothing else: no envelope beyond the appropriation,
    no reservation finance did not concur with, no payment of what is not reserved."""
    w = world
    year = 2032
    await open_appropriation(w, year, 500 * WAN)
    err = await error_of(open_budget(w, INT64_MAX, year=year))
    assert err.reason == "EXCEEDS_APPROPRIATION"
    assert "92,233,720,368,547,758.07 yuan" in err.message
    await open_budget(w, 500 * WAN, year=year)
    huge = [
        pb.ReservationLine(
            application_id="app-1",
            organization_id=w.org_a,
            amount_fen=INT64_MAX,
            city_code=QINGDAO,
            tier="excellent",
        )
    ]
    err = await error_of(
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=1, lines=huge))
    )
    assert err.reason == "NOT_CONCURRED"
    err = await error_of(w.system.DisburseAward(disburse_req(w, amount=INT64_MAX)))
    assert err.reason == "NO_RESERVATION"
    # Nor may the service account concur for finance.
    err = await error_of(
        w.system.RecordFinanceConcurrence(
            pb.RecordFinanceConcurrenceRequest(cycle_id=w.cycle, proposal_version=1, agree=True, lines=huge)
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    # Not even finance can concur with it (beyond the tier's cap and the budget) ...
    err = await error_of(concur(w, 1, huge))
    assert err.reason == "EXCEEDS_CAP"
    # ... and once a real award is reserved, the huge payment is still refused.
    await reserve(w, 1, lines(w))
    err = await error_of(w.system.DisburseAward(disburse_req(w, amount=INT64_MAX)))
    assert err.reason == "AMOUNT_MISMATCH"
    assert w.treasury.calls == 0
    assert w.treasury.orders == {}
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert (budget.total_fen, budget.reserved_fen, budget.disbursed_fen) == (500 * WAN, 300 * WAN, 0)
    prov = await w.as_user("prov-finance")
    left = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=year))).appropriation
    assert (left.drawn_fen, left.available_fen) == (500 * WAN, 0)


# ------------------------------------------------------------------ closing: unspent money returns


async def test_close_returns_what_was_not_spent_and_nothing_paid(world: World) -> None:
    w = world
    year = 2033
    await open_appropriation(w, year, 1_000 * WAN)
    await open_budget(w, 500 * WAN, year=year)
    await reserve(w, 1, lines(w))  # 200 + 100 reserved, 200 available
    await w.system.DisburseAward(disburse_req(w))  # app-1: 200 paid
    closed = (await w.system.CloseBudget(pb.CloseBudgetRequest(cycle_id=w.cycle))).budget
    assert closed.closed
    assert (closed.total_fen, closed.available_fen, closed.reserved_fen, closed.disbursed_fen) == (
        500 * WAN,
        0,
        0,
        200 * WAN,
    )
    assert closed.returned_fen == 300 * WAN  # 200 available + 100 reserved but unpaid
    prov = await w.as_user("prov-finance")
    a = (await prov.GetAppropriation(pb.GetAppropriationRequest(fiscal_year=year))).appropriation
    assert (a.drawn_fen, a.available_fen) == (200 * WAN, 800 * WAN)
    entries = (await prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    back = [e for e in entries if e.transaction_id == entries[-1].transaction_id]
    assert {e.account: e.amount_fen for e in back} == {
        f"appropriation:{year}": 300 * WAN,
        "budget:available": -200 * WAN,
        "budget:reserved:app-2": -100 * WAN,
    }
    check_ledger(entries, closed)

    # Idempotent: closing again changes nothing; a repeat of the opening answers the closed budget.
    assert (await w.system.CloseBudget(pb.CloseBudgetRequest(cycle_id=w.cycle))).budget == closed
    assert await open_budget(w, 500 * WAN, year=year) == closed
    assert len((await prov.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries) == len(
        entries
    )
    # A closed budget moves no more money.
    app2 = pb.DisburseAwardRequest(
        cycle_id=w.cycle,
        application_id="app-2",
        organization_id=w.org_b,
        amount_fen=100 * WAN,
        idempotency_key="k2",
    )
    for call in (
        w.system.ReserveFunds(pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=2, lines=lines(w))),
        w.system.DisburseAward(app2),
        concur(w, 2, lines(w)),
    ):
        err = await error_of(call)
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "BUDGET_CLOSED")
        assert "3,000,000 yuan" in err.message
        assert "300.00万元" in err.message_zh
    # The repeat of a paid key still answers its payment.
    assert (await w.system.DisburseAward(disburse_req(w))).disbursement.status == pb.DISBURSEMENT_STATUS_PAID
    # What went back can be drawn by the next cycle.
    nxt = await open_budget(w, 800 * WAN, cycle=f"{w.cycle}-next", year=year)
    assert nxt.available_fen == 800 * WAN


async def test_close_waits_for_a_payment_in_flight(world: World) -> None:
    w = world
    await reserved_world(w)
    w.treasury.unavailable_times = 1
    err = await error_of(w.system.DisburseAward(disburse_req(w)))
    assert err.code == grpc.StatusCode.UNAVAILABLE
    err = await error_of(w.system.CloseBudget(pb.CloseBudgetRequest(cycle_id=w.cycle)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DISBURSEMENT_IN_PROGRESS")
    assert f"{w.cycle}:pay-app-1" in err.message
    assert not (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget.closed
    await w.system.DisburseAward(disburse_req(w))
    closed = (await w.system.CloseBudget(pb.CloseBudgetRequest(cycle_id=w.cycle))).budget
    assert (closed.disbursed_fen, closed.returned_fen, closed.closed) == (200 * WAN, 300 * WAN, True)


# ------------------------------------------------------------------ finance's concurrence (point 4)


async def test_finance_concurrence_is_recorded_final_and_listed(world: World) -> None:
    w = world
    await open_budget(w)
    prov = await w.as_user("prov-finance")
    first = await concur(w, 1, lines(w))
    assert (first.cycle_id, first.proposal_version, first.agree, first.opinion) == (w.cycle, 1, True, "同意")
    assert first.decided_by
    assert first.decided_by_name == "prov-finance"
    assert [(x.application_id, x.tier, x.amount_fen) for x in first.lines] == [
        ("app-1", "excellent", 200 * WAN),
        ("app-2", "advanced", 100 * WAN),
    ]
    assert await concur(w, 1, lines(w)) == first  # a repeat answers the record
    # A concurrence is final: no return of it, no other lines under it.
    for req in (
        pb.RecordFinanceConcurrenceRequest(cycle_id=w.cycle, proposal_version=1, agree=False, opinion="退回"),
        pb.RecordFinanceConcurrenceRequest(
            cycle_id=w.cycle, proposal_version=1, agree=True, opinion="同意", lines=lines(w, 150 * WAN)
        ),
    ):
        err = await error_of(prov.RecordFinanceConcurrence(req))
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONCURRENCE_FINAL")
        assert "new proposal version" in err.message
        assert "北京时间" in err.message_zh

    # A return says why; a proposal resubmitted unchanged may be returned again or concurred with.
    ret = pb.RecordFinanceConcurrenceRequest(
        cycle_id=w.cycle, proposal_version=2, agree=False, opinion="请核减先进级金额", lines=lines(w)
    )
    returned = (await prov.RecordFinanceConcurrence(ret)).concurrence
    assert (await prov.RecordFinanceConcurrence(ret)).concurrence == returned
    ret.opinion = "仍请核减"
    again = (await prov.RecordFinanceConcurrence(ret)).concurrence
    assert again.opinion == "仍请核减"
    second = await concur(w, 2, lines(w))
    assert second.agree
    pages = await _pages(
        prov.ListFinanceConcurrences, pb.ListFinanceConcurrencesRequest(cycle_id=w.cycle), "concurrences", 2
    )
    assert [(c.proposal_version, c.agree, c.opinion) for p in pages for c in p] == [
        (1, True, "同意"),
        (2, False, "请核减先进级金额"),
        (2, False, "仍请核减"),
        (2, True, "同意"),
    ]
    assert [len(p) for p in pages] == [2, 2]
    # Only finance's own token records it; readers of the province read it.
    for stub in (w.system, await w.as_user("prov-industry"), await w.as_user("jn-finance")):
        err = await error_of(stub.RecordFinanceConcurrence(ret))
        assert err.code == grpc.StatusCode.PERMISSION_DENIED
    for user in ("app-a", "qd-industry"):
        stub = await w.as_user(user)
        err = await error_of(
            stub.ListFinanceConcurrences(pb.ListFinanceConcurrencesRequest(cycle_id=w.cycle))
        )
        assert err.code == grpc.StatusCode.PERMISSION_DENIED
    listed = await w.system.ListFinanceConcurrences(pb.ListFinanceConcurrencesRequest(cycle_id=w.cycle))
    assert len(listed.concurrences) == 4


async def test_finance_concurrence_refusals(world: World) -> None:
    w = world
    await open_budget(w, 500 * WAN, caps={"excellent": 200 * WAN, "advanced": 100 * WAN})
    prov = await w.as_user("prov-finance")
    err = await error_of(
        prov.RecordFinanceConcurrence(
            pb.RecordFinanceConcurrenceRequest(cycle_id=w.cycle, proposal_version=0, agree=True)
        )
    )
    assert {v.field for v in err.violations} == {"proposal_version", "lines"}
    err = await error_of(
        prov.RecordFinanceConcurrence(
            pb.RecordFinanceConcurrenceRequest(cycle_id=w.cycle, proposal_version=1, agree=False, opinion=" ")
        )
    )
    assert [v.field for v in err.violations] == ["opinion"]
    # Each line at most its tier's cap (Art. 11 "at most"): 100 万元 for advanced.
    err = await error_of(concur(w, 1, lines(w, 200 * WAN, 100 * WAN + 1)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXCEEDS_CAP")
    assert "app-2" in err.message
    assert "1,000,000.01 yuan" in err.message
    assert "第十一条" in err.message_zh
    assert "100.00万元" in err.message_zh
    assert "先进级" in err.message_zh  # the tier as officials name it
    assert err.metadata["application_ids"] == "app-2"
    odd = lines(w)
    odd[0].tier = "legendary"
    err = await error_of(concur(w, 1, odd))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NO_TIER_CAP")
    assert "legendary" in err.message
    assert err.metadata["tiers"] == "legendary"
    assert (
        await prov.ListFinanceConcurrences(pb.ListFinanceConcurrencesRequest(cycle_id=w.cycle))
    ).concurrences == []
    # Older than what is reserved: stale.
    await reserve(w, 2, lines(w))
    err = await error_of(concur(w, 1, lines(w)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "STALE_PROPOSAL_VERSION")


# ------------------------------------------------------------------ reserving only what finance concurred with


async def test_reserve_only_exactly_what_finance_concurred_with(world: World) -> None:
    w = world
    await open_budget(w)
    prov = await w.as_user("prov-finance")

    def req(what: list[pb.ReservationLine], version: int = 1) -> pb.ReserveFundsRequest:
        return pb.ReserveFundsRequest(cycle_id=w.cycle, proposal_version=version, lines=what)

    err = await error_of(w.system.ReserveFunds(req(lines(w))))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_CONCURRED")
    assert "has not concurred with proposal version 1" in err.message
    assert "省财政厅未会签同意" in err.message_zh
    await prov.RecordFinanceConcurrence(
        pb.RecordFinanceConcurrenceRequest(
            cycle_id=w.cycle, proposal_version=1, agree=False, opinion="请补充绩效目标", lines=lines(w)
        )
    )
    err = await error_of(w.system.ReserveFunds(req(lines(w))))
    assert err.reason == "NOT_CONCURRED"
    assert "请补充绩效目标" in err.message
    assert "请补充绩效目标" in err.message_zh

    await concur(w, 1, lines(w))
    other_org, other_amount, other_tier, other_city = lines(w), lines(w), lines(w), lines(w)
    other_org[0].organization_id = w.org_b
    other_amount[1].amount_fen += 1
    other_tier[1].tier = "excellent"
    other_city[0].city_code = JINAN
    extra = [
        *lines(w),
        pb.ReservationLine(
            application_id="app-3", organization_id=w.org_b, amount_fen=WAN, city_code=JINAN, tier="advanced"
        ),
    ]
    for what in (other_org, other_amount, other_tier, other_city, extra, lines(w, b=0)):
        err = await error_of(w.system.ReserveFunds(req(what)))
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "LINES_NOT_CONCURRED"), what
        assert "会签" in err.message_zh
    err = await error_of(w.system.ReserveFunds(req(extra)))
    assert err.metadata["not_concurred"] == "app-3"
    assert "app-3" in err.message
    err = await error_of(w.system.ReserveFunds(req(lines(w, b=0))))
    assert err.metadata["missing"] == "app-2"
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert (budget.reserved_fen, budget.reservation_version) == (0, 0)
    reserved = (await w.system.ReserveFunds(req(list(reversed(lines(w)))))).budget  # order does not matter
    assert (reserved.reserved_fen, reserved.reservation_version) == (300 * WAN, 1)


async def test_caps_recorded_once_and_checked_at_reservation(world: World) -> None:
    w = world
    # A budget an older workflow opened without caps: nothing can be reserved until caps are known.
    await open_budget(w, 500 * WAN, caps={})
    err = await error_of(concur(w, 1, lines(w)))
    assert err.reason == "NO_TIER_CAP"
    assert "tiers with a cap: none" in err.message
    policy = {"excellent": 200 * WAN, "advanced": 100 * WAN}
    recorded = await open_budget(w, 500 * WAN, caps=policy)  # the first repeat naming caps records them
    assert {c.tier: c.cap_fen for c in recorded.caps} == policy
    assert await open_budget(w, 500 * WAN, caps={}) == recorded
    err = await error_of(open_budget(w, 500 * WAN, caps={"excellent": 300 * WAN, "advanced": 100 * WAN}))
    assert err.reason == "BUDGET_ALREADY_OPEN"
    await reserve(w, 1, lines(w, 200 * WAN, 100 * WAN))  # exactly the caps
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert budget.reserved_fen == 300 * WAN


# ------------------------------------------------------------------ treasury faults (point 12)


class _PaidButAnswerLost:
    """The treasury pays (or refuses), then the answer never reaches funding — as when funding
    crashes right after the treasury acted."""

    def __init__(self, inner: FakeTreasury) -> None:
        self.inner = inner

    async def pay(self, **kw):
        from services.funding.domain.ports import TreasuryRejected, TreasuryUnavailable

        try:
            await self.inner.pay(**kw)
        except TreasuryRejected:
            pass
        raise TreasuryUnavailable("connection reset after the order was accepted")

    async def status(self, **kw):
        return await self.inner.status(**kw)


async def test_a_payment_made_before_a_crash_is_recorded_not_repaid(world: World, tmp_path) -> None:
    w = world
    await reserved_world(w)
    orders = tmp_path / "treasury.sqlite3"
    app = funding_app(w.suite)
    app.treasury = _PaidButAnswerLost(FakeTreasury(orders))  # type: ignore[assignment]
    err = await error_of(w.system.DisburseAward(disburse_req(w)))
    assert err.code == grpc.StatusCode.UNAVAILABLE
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert budget.disbursed_fen == 0  # funding does not know yet; the treasury has paid

    restarted = FakeTreasury(orders)  # a new process: the treasury remembers the key
    assert list(restarted.orders) == [f"{w.cycle}:pay-app-1"]
    app.treasury = restarted
    d = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert d.status == pb.DISBURSEMENT_STATUS_PAID
    assert d.treasury_reference == FakeTreasury.reference_for(f"{w.cycle}:pay-app-1")
    assert (restarted.status_calls, restarted.calls) == (1, 0)  # reconciled by key, not asked again
    assert len(restarted.orders) == 1
    budget = (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget
    assert (budget.disbursed_fen, budget.reserved_fen) == (200 * WAN, 100 * WAN)
    entries = (await w.system.ListLedgerEntries(pb.ListLedgerEntriesRequest(cycle_id=w.cycle))).entries
    assert sum(e.amount_fen for e in entries if e.account == "treasury:paid:app-1") == 200 * WAN
    check_ledger(entries, budget)


async def test_a_refusal_before_a_crash_is_recorded_failed_with_the_treasurys_reason(
    world: World, tmp_path
) -> None:
    w = world
    await reserved_world(w)
    orders = tmp_path / "treasury.sqlite3"
    app = funding_app(w.suite)
    app.treasury = _PaidButAnswerLost(
        FakeTreasury(orders, reject=True, reject_reason="账户已销户 / account closed")
    )  # type: ignore[assignment]
    assert (await error_of(w.system.DisburseAward(disburse_req(w)))).code == grpc.StatusCode.UNAVAILABLE
    app.treasury = restarted = FakeTreasury(orders)
    d = (await w.system.DisburseAward(disburse_req(w))).disbursement
    assert d.status == pb.DISBURSEMENT_STATUS_FAILED
    assert d.failure == "账户已销户 / account closed"
    assert restarted.calls == 0
    # A refused line is issued again under a new key.
    paid = (await w.system.DisburseAward(disburse_req(w, key="pay-app-1-new-account"))).disbursement
    assert paid.status == pb.DISBURSEMENT_STATUS_PAID
    listed = (await w.system.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))).disbursements
    assert [(x.status, x.failure) for x in listed] == [
        (pb.DISBURSEMENT_STATUS_FAILED, "账户已销户 / account closed"),
        (pb.DISBURSEMENT_STATUS_PAID, ""),
    ]


async def test_a_treasury_order_that_differs_is_never_recorded(world: World) -> None:
    from services.funding.domain.ports import TreasuryOrder, TreasuryOrderState, TreasuryReceipt

    w = world
    await reserved_world(w)
    w.treasury.unavailable_times = 1
    await error_of(w.system.DisburseAward(disburse_req(w)))

    class Disagreeing(FakeTreasury):
        async def status(self, *, idempotency_key: str) -> TreasuryOrder:
            receipt = TreasuryReceipt("GK-OTHER", datetime.now(UTC))
            return TreasuryOrder(TreasuryOrderState.PAID, receipt, w.org_b, 1)

    funding_app(w.suite).treasury = wrong = Disagreeing()
    err = await error_of(w.system.DisburseAward(disburse_req(w)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TREASURY_ORDER_MISMATCH")
    assert "reconcile" in err.message
    assert "核对" in err.message_zh
    assert wrong.calls == 0
    pending = (await w.system.ListDisbursements(pb.ListDisbursementsRequest(cycle_id=w.cycle))).disbursements
    assert [x.status for x in pending] == [pb.DISBURSEMENT_STATUS_REQUESTED]
    assert (await w.system.GetBudget(pb.GetBudgetRequest(cycle_id=w.cycle))).budget.disbursed_fen == 0
