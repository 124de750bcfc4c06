"""Review's use cases that reach another service — the panel draw from identity's expert pool — with
the fake registry on the real store (a migrated SQLite file); the gRPC adapter of that pool paging
through identity; and the applicant organisation on every proposal line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import grpc
import pytest

from aicc.cli.registry import migrate
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.db import Database, unit_of_work
from aicc.platform.errors import FailedPrecondition, NotFound, Unavailable
from aicc.platform.pagination import PageRequest
from aicc.platform.policy import find_policy
from services.review import adapters
from services.review.adapters import IdentityExpertRegistry
from services.review.domain import assignments, compliance, proposals, publicity, sheets
from services.review.domain.model import Candidate, Material, Phase
from services.review.domain.panels import Period
from services.review.store import ReviewStore
from tests.support.fakes_review import FakeExpertRegistry, FakeIntakeApplications

NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
CYCLE = "c-2026"
SYSTEM = Principal("u_sys", "worker", frozenset({authz.SYSTEM}))


def expert(user_id: str) -> Principal:
    return Principal(user_id, user_id, frozenset({authz.EXPERT}))


def policy_json(size: int = 2) -> str:
    data = find_policy("shandong-2026").to_jsonable()
    data["panel"] = {"size": size, "max_load_per_expert": 10, "conflict_lookback_years": 3}
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture
async def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    migrate("review", url)
    db = Database(url)
    yield unit_of_work(db, ReviewStore)
    await db.dispose()


@pytest.fixture
def registry() -> FakeExpertRegistry:
    reg = FakeExpertRegistry()
    for i in range(1, 5):
        reg.expert(f"e{i}")
    reg.expert("x_emp", employed_by=(Period("org_a", date(2015, 1, 1), date(2025, 6, 30)),))
    reg.expert("x_share", shares_in=("org_a_op",))
    reg.expert("x_gone", active=False)
    return reg


async def open_and_decide(uow, *, decide: bool = True) -> None:
    candidates = [
        Candidate(
            cycle_id=CYCLE,
            application_id=f"app-{k}",
            organization_id=f"org_{k}",
            operator_organization_id="org_a_op" if k == "a" else "",
            enterprise_name=f"企业{k.upper()}",
            city_code="370200",
            submitted_at=NOW - timedelta(days=90, hours=i),
            title=f"项目{k}",
            materials=[Material(f"m-{k}", "application_form", f"{k}.pdf", "ab" * 32, 10)],
        )
        for i, k in enumerate("abc")
    ]
    await compliance.open_review(
        uow,
        FakeIntakeApplications(),
        cycle_id=CYCLE,
        policy_json=policy_json(),
        candidates=candidates,
        now=NOW,
    )
    if decide:
        await compliance.record_compliance(
            uow,
            cycle_id=CYCLE,
            decisions=[compliance.DecisionIn(c.application_id, True, [], "u_prov", NOW) for c in candidates],
            now=NOW,
        )


# ------------------------------------------------------------------------------------ the draw


async def test_the_draw_takes_identitys_pool_and_records_it_with_every_exclusion(uow, registry):
    await open_and_decide(uow)
    view = await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    assert registry.calls == 1
    assert view.seed == 7
    assert {a.assignment.application_id for a in view.assignments} == {"app-a", "app-b", "app-c"}
    on_a = {a.assignment.expert_user_id for a in view.assignments if a.assignment.application_id == "app-a"}
    assert len(on_a) == 2
    assert not on_a & {"x_emp", "x_share", "x_gone"}
    reasons = {(x.application_id, x.expert_user_id): x.reason for x in view.exclusions}
    assert reasons[("app-a", "x_emp")] == "employed_by_applicant_within_3y"
    assert reasons[("app-a", "x_share")] == "shareholder_of_operator"
    assert all(a.enterprise_name for a in view.assignments)
    async with uow() as repo:
        cycle = await repo.cycle(CYCLE)
    assert cycle is not None
    assert cycle.phase == Phase.EXPERT_REVIEW
    assert cycle.draw_date == "2026-09-01"
    assert cycle.drawn_at == NOW
    assert {e["user_id"] for e in cycle.pool_json or []} == {e.user_id for e in registry.pool}

    # Repeated (the workflow retries): the recorded draw, identity not asked again.
    again = await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=99, now=NOW)
    assert registry.calls == 1
    assert again.seed == 7
    assert [a.assignment.assignment_id for a in again.assignments] == [
        a.assignment.assignment_id for a in view.assignments
    ]


async def test_identity_unreachable_draws_nothing_and_a_retry_draws(uow, registry):
    await open_and_decide(uow)
    registry.unavailable_times = 1
    with pytest.raises(Unavailable):
        await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    with pytest.raises(FailedPrecondition) as e:  # nothing was recorded
        await assignments.get_draw(uow, cycle_id=CYCLE)
    assert e.value.reason == "WRONG_PHASE"
    view = await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    assert registry.calls == 2
    assert len(view.assignments) == 6


async def test_identity_is_not_asked_before_the_draw_may_happen(uow, registry):
    with pytest.raises(NotFound):
        await assignments.draw_panels(uow, registry, cycle_id="c-none", seed=7, now=NOW)
    await open_and_decide(uow, decide=False)
    with pytest.raises(FailedPrecondition) as e:
        await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    assert e.value.reason == "COMPLIANCE_REVIEW_UNFINISHED"
    assert "app-a" in e.value.message
    assert registry.calls == 0


async def test_a_recusal_is_replaced_from_the_recorded_pool_not_from_identity(uow, registry):
    await open_and_decide(uow)
    view = await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    registry.pool.clear()  # identity's pool changes after the draw: the recorded one counts
    first = view.assignments[0].assignment
    recused, replacement = await assignments.declare_conflict(
        uow,
        expert(first.expert_user_id),
        assignment_id=first.assignment_id,
        has_conflict=True,
        statement="曾任顾问",
        now=NOW,
    )
    assert recused.assignment.status == "RECUSED"
    assert replacement is not None
    assert replacement.assignment.replaces_assignment_id == first.assignment_id
    assert replacement.assignment.expert_user_id.startswith("e")
    assert registry.calls == 1
    draw = await assignments.get_draw(uow, cycle_id=CYCLE)
    assert (first.application_id, first.expert_user_id) in {
        (x.application_id, x.expert_user_id) for x in draw.exclusions if x.reason == "self_declared"
    }
    # The replacement reads the materials once they declare no conflict; another expert's assignment
    # looks missing.
    r = replacement.assignment
    with pytest.raises(FailedPrecondition):
        await assignments.assignment_materials(uow, expert(r.expert_user_id), assignment_id=r.assignment_id)
    await assignments.declare_conflict(
        uow,
        expert(r.expert_user_id),
        assignment_id=r.assignment_id,
        has_conflict=False,
        statement="",
        now=NOW,
    )
    seen = await assignments.assignment_materials(
        uow, expert(r.expert_user_id), assignment_id=r.assignment_id
    )
    assert [m.material_id for m in seen.materials] == [f"m-{r.application_id[-1]}"]
    with pytest.raises(NotFound):
        await assignments.assignment_materials(uow, expert("e-other"), assignment_id=first.assignment_id)


# ------------------------------------------------------------------- organisations on the proposal


async def _score_all(uow) -> None:
    policy = find_policy("shandong-2026")
    page = await assignments.list_assignments(
        uow, SYSTEM, cycle_id=CYCLE, expert_user_id="", page=PageRequest(500)
    )
    level = {"app-a": Decimal("0.9"), "app-b": Decimal("0.8"), "app-c": Decimal("0.7")}
    for v in page.items:
        a = v.assignment
        await assignments.declare_conflict(
            uow,
            expert(a.expert_user_id),
            assignment_id=a.assignment_id,
            has_conflict=False,
            statement="",
            now=NOW,
        )
        scores = [
            sheets.ScoreIn(
                i,
                (policy.indicator(i).max_points * level[a.application_id]).quantize(Decimal("0.01")),
                "依据",
            )
            for i in policy.indicator_ids()
        ]
        await sheets.submit_score_sheet(
            uow,
            expert(a.expert_user_id),
            assignment_id=a.assignment_id,
            scores=scores,
            correction_reason="",
            now=NOW,
        )


async def test_every_proposal_answer_names_the_applicant_organisation(uow, registry):
    await open_and_decide(uow)
    await assignments.draw_panels(uow, registry, cycle_id=CYCLE, seed=7, now=NOW)
    await _score_all(uow)
    computed = await proposals.compute_proposal(uow, registry, cycle_id=CYCLE, budget_fen=0, now=NOW)
    expected = {"app-a": "org_a", "app-b": "org_b", "app-c": "org_c"}
    assert {x["application_id"]: x["organization_id"] for x in computed.lines} == expected
    again = await proposals.compute_proposal(uow, registry, cycle_id=CYCLE, budget_fen=0, now=NOW)
    assert again == computed

    # A version stored before lines named their organisation is answered with it.
    async with uow() as repo:
        legacy = [{k: v for k, v in x.items() if k != "organization_id"} for x in computed.lines]
        await repo.add_proposal(replace(computed, version=2, lines=legacy))
    read = await proposals.get_proposal(uow, cycle_id=CYCLE, version=2)
    assert {x["application_id"]: x["organization_id"] for x in read.lines} == expected
    assert [{k: v for k, v in x.items() if k != "organization_id"} for x in read.lines] == legacy

    await publicity.open_publicity(
        uow, cycle_id=CYCLE, proposal_version=0, ends_at=NOW + timedelta(days=7), published_where="", now=NOW
    )
    closed = await publicity.close_publicity(uow, cycle_id=CYCLE, now=NOW)
    final = closed.proposal
    assert final.version == 2
    assert not closed.changed
    assert {x["application_id"]: x["organization_id"] for x in final.lines} == expected


# ------------------------------------------------------------------------- the identity adapter


class _PagedIdentity:
    """identity's ListExperts serving ``experts`` two a page (AIP-158 tokens)."""

    def __init__(self, n: int) -> None:
        self.experts = [
            ipb.Expert(user_id=f"e{i:02d}", employer_organization_id="org_univ", active=True)
            for i in range(n)
        ]
        self.requests: list[str] = []

    async def ListExperts(self, request, **call_options):
        self.requests.append(request.page_token)
        start = int(request.page_token or 0)
        nxt = start + 2
        return SimpleNamespace(
            experts=self.experts[start:nxt], next_page_token=str(nxt) if nxt < len(self.experts) else ""
        )


async def test_the_identity_adapter_reads_every_page(monkeypatch):
    if not adapters.LIST_EXPERTS_PAGED:  # identity's request has no page_token yet: stand one in
        monkeypatch.setattr(adapters, "list_experts_request", lambda token: SimpleNamespace(page_token=token))
    identity = _PagedIdentity(5)
    pool = await IdentityExpertRegistry(SimpleNamespace(identity=identity)).experts()
    assert [e.user_id for e in pool] == ["e00", "e01", "e02", "e03", "e04"]
    assert identity.requests == ["", "2", "4"]


async def test_the_identity_adapter_asks_for_the_largest_page():
    request = adapters.list_experts_request("tok")
    if adapters.LIST_EXPERTS_PAGED:
        assert (request.page_size, request.page_token) == (500, "tok")
    else:
        assert request == ipb.ListExpertsRequest()


async def test_the_identity_adapter_reports_identity_unreachable_as_unavailable():
    class Down:
        async def ListExperts(self, request, **call_options):
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="connection refused",
            )

    with pytest.raises(Unavailable) as e:
        await IdentityExpertRegistry(SimpleNamespace(identity=Down())).experts()
    assert e.value.reason == "DEPENDENCY_UNAVAILABLE"


# ------------------------------------------------------------------- candidates from intake


def _recommended(k: str, cycle: str = CYCLE) -> Candidate:
    return Candidate(
        cycle_id=cycle,
        application_id=f"app-{k}",
        organization_id=f"org_{k}",
        operator_organization_id="",
        enterprise_name=f"企业{k.upper()}",
        city_code="370200",
        submitted_at=NOW - timedelta(days=90),
        materials=[Material(f"m-{k}", "application_form", f"{k}.pdf", "ab" * 32, 10)],
        uscc=f"91370200MA3C000{k.upper()}XY",
    )


async def test_without_candidates_the_review_opens_with_intakes_recommended_applications(uow):
    intake = FakeIntakeApplications({CYCLE: [_recommended("a"), _recommended("b"), _recommended("a")]})
    intake.unavailable_times = 1
    with pytest.raises(Unavailable):
        await compliance.open_review(
            uow, intake, cycle_id=CYCLE, policy_json=policy_json(), candidates=[], now=NOW
        )
    async with uow() as repo:
        assert await repo.cycle(CYCLE) is None  # nothing opened
    n = await compliance.open_review(
        uow, intake, cycle_id=CYCLE, policy_json=policy_json(), candidates=[], now=NOW
    )
    assert n == 2  # each application once, even when intake lists one twice
    async with uow() as repo:
        stored = await repo.candidates(CYCLE)
    assert [(c.application_id, c.uscc, [m.material_id for m in c.materials]) for c in stored] == [
        ("app-a", "91370200MA3C000AXY", ["m-a"]),
        ("app-b", "91370200MA3C000BXY", ["m-b"]),
    ]
    # Repeated by the workflow: the same count, intake not asked again.
    again = await compliance.open_review(
        uow, intake, cycle_id=CYCLE, policy_json=policy_json(), candidates=[], now=NOW
    )
    assert (again, intake.calls) == (2, [CYCLE, CYCLE])
    # Candidates given in the request (recorded histories) are still taken as they are.
    given = await compliance.open_review(
        uow,
        intake,
        cycle_id="c-given",
        policy_json=policy_json(),
        candidates=[_recommended("z", "c-given")],
        now=NOW,
    )
    assert (given, intake.calls) == (1, [CYCLE, CYCLE])
