"""Intake's gRPC adapters to review, funding and identity against stand-in servers over real gRPC:
every page is read, answers map onto intake's entities, the caller's own token is what the other
service sees (province finance's for its concurrence), a refusal comes back as the same domain error
and an unreachable service as UNAVAILABLE. And what a Cycle shows of its workflow's state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import grpc
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.funding.v1 import funding_pb2_grpc
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.identity.v1 import identity_pb2_grpc
from aicc.platform import authz
from aicc.platform.auth import Principal, current_principal
from aicc.platform.clients import Clients
from aicc.platform.errors import NotFound, Unavailable
from aicc.review.v1 import review_pb2 as rpb
from aicc.review.v1 import review_pb2_grpc
from services.intake.adapters import FundingRecordsClient, IdentityRegistryClient, ReviewRecordsClient
from services.intake.api import cycle_pb
from services.intake.domain.model import Cycle, EligibilityRules, PaymentStatus, ProposalLine
from tests.support.suite import free_port, suite_settings
from workflows.cycle.models import Attention, Counts, CycleStatus, Phase

DECIDED = datetime(2026, 5, 1, 8, tzinfo=UTC)


def _stamp(at: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(at)
    return t


def _token(context: grpc.aio.ServicerContext) -> str:
    return dict(context.invocation_metadata() or ()).get("authorization", "")


class Review(review_pb2_grpc.ReviewServiceServicer):
    """1,201 compliance results in pages of at most 500; proposal version 2 of cycle c1."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []  # (rpc, token, page size)
        self.reviews = [
            rpb.ComplianceReview(
                application_id=f"app_{i:04d}",
                compliant=i % 3 != 0,
                reasons=[] if i % 3 else ["材料不全"],
                decided_by="u",
                decided_at=_stamp(DECIDED),
            )
            for i in range(1201)
        ]

    async def ListComplianceReviews(self, request, context):
        self.seen.append(("ListComplianceReviews", _token(context), request.page_size))
        start = int(request.page_token or 0)
        end = start + min(request.page_size or 50, 500)
        following = str(end) if end < len(self.reviews) else ""
        return rpb.ListComplianceReviewsResponse(reviews=self.reviews[start:end], next_page_token=following)

    async def GetProposal(self, request, context):
        self.seen.append(("GetProposal", _token(context), request.version))
        if request.cycle_id != "c1" or request.version not in (0, 2):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no proposal version {request.version}")
        return rpb.GetProposalResponse(
            proposal=rpb.Proposal(
                cycle_id="c1",
                version=2,
                lines=[
                    rpb.ProposalLine(
                        application_id="app_a",
                        organization_id="org_a",
                        city_code="370100",
                        rank=1,
                        tier=rpb.TIER_EXCELLENT,
                        amount_fen=200_000_000,
                    ),
                    rpb.ProposalLine(
                        application_id="app_b",
                        organization_id="org_b",
                        rank=2,
                        tier=rpb.TIER_NONE,
                        reserve=True,
                    ),
                ],
            )
        )


class Funding(funding_pb2_grpc.FundingServiceServicer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.concurrences: list[fpb.RecordFinanceConcurrenceRequest] = []

    async def ListDisbursements(self, request, context):
        self.seen.append(("ListDisbursements", _token(context)))
        pages = {
            "": (
                [
                    fpb.Disbursement(
                        application_id="app_a",
                        amount_fen=1,
                        status=fpb.DISBURSEMENT_STATUS_FAILED,
                        failure="x",
                    )
                ],
                "p2",
            ),
            "p2": (
                [
                    fpb.Disbursement(
                        application_id="app_a",
                        amount_fen=1,
                        status=fpb.DISBURSEMENT_STATUS_PAID,
                        treasury_reference="TR-1",
                    )
                ],
                "",
            ),
        }
        items, following = pages[request.page_token]
        return fpb.ListDisbursementsResponse(disbursements=items, next_page_token=following)

    async def RecordFinanceConcurrence(self, request, context):
        self.seen.append(("RecordFinanceConcurrence", _token(context)))
        self.concurrences.append(request)
        return fpb.RecordFinanceConcurrenceResponse(
            concurrence=fpb.FinanceConcurrence(
                cycle_id=request.cycle_id,
                proposal_version=request.proposal_version,
                agree=request.agree,
                opinion=request.opinion,
                lines=list(request.lines),
            )
        )


class Identity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self) -> None:
        self.requests: list[ipb.CheckEligibilityRequest] = []

    async def GetOrganization(self, request, context):
        if request.organization_id != "org_a":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such organisation")
        return ipb.GetOrganizationResponse(
            organization=ipb.Organization(
                organization_id="org_a",
                uscc="91370102MA3C000001",
                name="甲",
                kind=ipb.ORGANIZATION_KIND_ENTERPRISE,
                city_code="370100",
            )
        )

    async def CheckEligibility(self, request, context):
        self.requests.append(request)
        return ipb.CheckEligibilityResponse(eligible=True)


@pytest_asyncio.fixture
async def world(tmp_path):
    port = free_port()
    server = grpc.aio.server()
    review, funding, identity = Review(), Funding(), Identity()
    review_pb2_grpc.add_ReviewServiceServicer_to_server(review, server)
    funding_pb2_grpc.add_FundingServiceServicer_to_server(funding, server)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(identity, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    address = f"127.0.0.1:{port}"
    settings = suite_settings(
        tmp_path, review_address=address, funding_address=address, identity_address=address
    )
    clients = Clients(settings)  # forwards the caller's token, as in the service
    yield {
        "review": review,
        "funding": funding,
        "identity": identity,
        "clients": clients,
        "settings": settings,
    }
    await clients.close()
    await server.stop(0)


def _as(role: str, token: str):
    return current_principal.set(Principal("u", "u", frozenset({role}), token=token))


async def test_every_page_of_compliance_results_is_read_with_the_callers_token(world):
    reset = _as(authz.SYSTEM, "tok-system")
    try:
        got = await ReviewRecordsClient(world["clients"]).compliance_reviews("c1")
    finally:
        current_principal.reset(reset)
    assert [r.application_id for r in got] == [f"app_{i:04d}" for i in range(1201)]
    assert got[0].reasons == ("材料不全",)
    assert not got[0].compliant
    assert got[1].compliant
    assert got[1].decided_at == DECIDED
    assert world["review"].seen == [("ListComplianceReviews", "Bearer tok-system", 500)] * 3


async def test_a_proposal_version_maps_its_lines_and_a_missing_one_is_not_found(world):
    client = ReviewRecordsClient(world["clients"])
    p = await client.proposal("c1", 2)
    assert (
        p.version,
        [(ln.application_id, ln.tier, ln.amount_fen, ln.reserve, ln.funded) for ln in p.lines],
    ) == (
        2,
        [("app_a", "excellent", 200_000_000, False, True), ("app_b", "none", 0, True, False)],
    )
    with pytest.raises(NotFound) as e:
        await client.proposal("c1", 7)
    assert "version 7" in e.value.message


async def test_finance_concurrence_reaches_funding_with_finances_own_token(world):
    line = ProposalLine("app_a", "org_a", "370100", "excellent", 200_000_000, False, 1)
    reset = _as(authz.PROVINCE_FINANCE, "tok-finance")
    try:
        c = await FundingRecordsClient(world["clients"]).record_finance_concurrence(
            "c1", 2, True, "同意", [line]
        )
    finally:
        current_principal.reset(reset)
    assert (c.cycle_id, c.proposal_version, c.agree, c.opinion, c.lines) == ("c1", 2, True, "同意", 1)
    assert world["funding"].seen == [("RecordFinanceConcurrence", "Bearer tok-finance")]
    (sent,) = world["funding"].concurrences
    assert [(x.application_id, x.organization_id, x.amount_fen, x.city_code, x.tier) for x in sent.lines] == [
        ("app_a", "org_a", 200_000_000, "370100", "excellent")
    ]


async def test_every_page_of_disbursements_is_read(world):
    got = await FundingRecordsClient(world["clients"]).disbursements("c1")
    assert [(d.status, d.treasury_reference, d.failure) for d in got] == [
        (PaymentStatus.FAILED, "", "x"),
        (PaymentStatus.PAID, "TR-1", ""),
    ]
    assert len(world["funding"].seen) == 2


async def test_identity_gets_the_policys_rules_and_answers_the_uscc(world):
    client = IdentityRegistryClient(world["clients"])
    org = await client.organization("org_a")
    assert org is not None
    assert org.uscc == "91370102MA3C000001"
    assert await client.organization("org_x") is None
    rules = EligibilityRules(True, False, 1, "3701", "flag")
    await client.eligibility("org_a", date(2026, 3, 2), rules)
    await client.eligibility("org_a", date(2026, 3, 2))
    with_rules, without = world["identity"].requests
    assert with_rules.HasField("rules")
    assert (
        with_rules.rules.require_legal_person,
        with_rules.rules.require_green_threshold,
        with_rules.rules.serious_dishonesty_lookback_years,
        with_rules.rules.division_prefix,
    ) == (True, False, 1, "3701")
    assert not without.HasField("rules")


async def test_an_unreachable_service_is_unavailable(tmp_path):
    nowhere = f"127.0.0.1:{free_port()}"
    clients = Clients(suite_settings(tmp_path, review_address=nowhere))
    try:
        with pytest.raises(Unavailable):
            await ReviewRecordsClient(clients).compliance_reviews("c1")
    finally:
        await clients.close()


def test_a_cycle_shows_needs_attention_and_the_current_deadline_from_the_workflow():
    cycle = Cycle(
        "c1",
        "t",
        "demo",
        "{}",
        "province",
        "370000",
        [],
        Phase.PUBLISHED,
        "",
        0,
        0,
        DECIDED,
        DECIDED,
        DECIDED,
        "cycle-c1",
        "u",
        DECIDED,
        policy_version="demo/v2",
        policy_sha256="ab" * 32,
    )
    status = CycleStatus(
        "c1",
        Phase.APPLYING,
        Counts(),
        [],
        0,
        "",
        attention=Attention(
            "open_budget",
            "no appropriation open for 2027",
            "2027 年度预算指标未下达",
            "2026-05-01T08:00:00+00:00",
        ),
        deadline="2026-05-03T08:00:00+00:00",
    )
    msg = cycle_pb(cycle, status)
    assert (msg.policy_version, msg.policy_sha256) == ("demo/v2", "ab" * 32)
    assert msg.needs_attention
    assert msg.attention_reason == "open_budget: no appropriation open for 2027"
    assert msg.attention_reason_zh == "2027 年度预算指标未下达"
    assert msg.attention_since.ToDatetime(tzinfo=UTC) == DECIDED
    assert msg.current_deadline.ToDatetime(tzinfo=UTC) == datetime(2026, 5, 3, 8, tzinfo=UTC)
    calm = cycle_pb(cycle, CycleStatus("c1", Phase.APPLYING, Counts(), [], 0, ""))
    assert not calm.needs_attention
    assert not calm.HasField("attention_since")
    assert not calm.HasField("current_deadline")
