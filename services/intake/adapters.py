"""Intake's adapters to the other services (gRPC): the identity registry, review's records and
funding's records, the outbound ports of its domain (``services/intake/domain/ports.py``).

Calls forward the caller's token (``aicc.platform.clients``), so the other service decides what the
caller may see or record: the workflow's service account for the activities, province finance for
its own concurrence. An organisation that is unknown or not visible answers None. Any other failure
is read once (``aicc.platform.status.from_downstream``): another service's refusal is passed on with
its own message, an unreachable one is UNAVAILABLE, anything else is INTERNAL here. Lists are read
every page (the largest page each service serves)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

import grpc

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.clients import Clients
from aicc.platform.convert import from_ts
from aicc.platform.pagination import MAX_PAGE_SIZE
from aicc.platform.status import from_downstream
from aicc.review.v1 import review_pb2 as rpb
from services.intake.domain.model import (
    ComplianceOutcome,
    Disbursement,
    Eligibility,
    EligibilityFailure,
    EligibilityRules,
    FinanceConcurrence,
    Organization,
    OrganizationKind,
    PaymentStatus,
    Proposal,
    ProposalLine,
)

TIMEOUT = 10  # seconds per call
T = TypeVar("T")

_KINDS = {
    ipb.ORGANIZATION_KIND_ENTERPRISE: OrganizationKind.ENTERPRISE,
    ipb.ORGANIZATION_KIND_OPERATOR_ORG: OrganizationKind.OPERATOR_ORG,
    ipb.ORGANIZATION_KIND_CITY_BUREAU: OrganizationKind.CITY_BUREAU,
    ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT: OrganizationKind.PROVINCIAL_DEPARTMENT,
    ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER: OrganizationKind.EXPERT_EMPLOYER,
}
TIERS = {rpb.TIER_EXCELLENT: "excellent", rpb.TIER_ADVANCED: "advanced", rpb.TIER_NONE: "none"}
PAYMENTS = {
    fpb.DISBURSEMENT_STATUS_REQUESTED: PaymentStatus.REQUESTED,
    fpb.DISBURSEMENT_STATUS_PAID: PaymentStatus.PAID,
    fpb.DISBURSEMENT_STATUS_FAILED: PaymentStatus.FAILED,
}


async def _read(call: Awaitable[T]) -> T:
    """The answer, or the other service's failure as this service's domain error."""
    try:
        return await call
    except grpc.aio.AioRpcError as e:
        err = from_downstream(e)
        if err is None:
            raise
        raise err from None


async def _every_page(fetch: Callable[[str], Awaitable[tuple[list[T], str]]]) -> list[T]:
    """Follows next_page_token to the end (a token that does not move ends the listing)."""
    out: list[T] = []
    token = ""
    while True:
        items, following = await fetch(token)
        out.extend(items)
        if not following or following == token:
            return out
        token = following


def rules_pb(rules: EligibilityRules) -> ipb.EligibilityRules:
    return ipb.EligibilityRules(
        require_legal_person=rules.require_legal_person,
        require_green_threshold=rules.require_green_threshold,
        serious_dishonesty_lookback_years=rules.serious_dishonesty_lookback_years,
        division_prefix=rules.division_prefix,
    )


class IdentityRegistryClient:
    """Implements ``services.intake.domain.ports.IdentityRegistry`` with identity's gRPC API."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients  # channels open on first use

    async def organization(self, organization_id: str) -> Organization | None:
        try:
            resp = await self.clients.identity.GetOrganization(
                ipb.GetOrganizationRequest(organization_id=organization_id), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None
        org = resp.organization
        return Organization(
            organization_id=org.organization_id,
            name=org.name,
            kind=_KINDS.get(org.kind, OrganizationKind.UNSPECIFIED),
            city_code=org.city_code,
            parent_organization_id=org.parent_organization_id,
            uscc=org.uscc,
        )

    async def eligibility(
        self, organization_id: str, as_of: date, rules: EligibilityRules | None = None
    ) -> Eligibility:
        request = ipb.CheckEligibilityRequest(organization_id=organization_id, as_of_date=as_of.isoformat())
        if rules is not None:
            request.rules.CopyFrom(rules_pb(rules))
        resp = await self.clients.identity.CheckEligibility(request, timeout=TIMEOUT)
        return Eligibility(
            eligible=resp.eligible,
            failures=[
                EligibilityFailure(rule=f.rule, article=f.article, message=f.message, message_zh=f.message_zh)
                for f in resp.failures
            ],
        )


def compliance_outcome(r: rpb.ComplianceReview) -> ComplianceOutcome:
    return ComplianceOutcome(r.application_id, r.compliant, tuple(r.reasons), from_ts(r.decided_at))


def proposal_of(p: rpb.Proposal) -> Proposal:
    return Proposal(
        cycle_id=p.cycle_id,
        version=p.version,
        lines=[
            ProposalLine(
                application_id=line.application_id,
                organization_id=line.organization_id,
                city_code=line.city_code,
                tier=TIERS.get(line.tier, "none"),
                amount_fen=line.amount_fen,
                reserve=line.reserve,
                rank=line.rank,
            )
            for line in p.lines
        ],
    )


class ReviewRecordsClient:
    """Implements ``services.intake.domain.ports.ReviewRecords`` with review's gRPC API."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    async def compliance_reviews(self, cycle_id: str) -> list[ComplianceOutcome]:
        async def page(token: str) -> tuple[list[ComplianceOutcome], str]:
            resp = await _read(
                self.clients.review.ListComplianceReviews(
                    rpb.ListComplianceReviewsRequest(
                        cycle_id=cycle_id, page_size=MAX_PAGE_SIZE, page_token=token
                    ),
                    timeout=TIMEOUT,
                )
            )
            return [compliance_outcome(r) for r in resp.reviews], resp.next_page_token

        return await _every_page(page)

    async def proposal(self, cycle_id: str, version: int) -> Proposal:
        resp = await _read(
            self.clients.review.GetProposal(
                rpb.GetProposalRequest(cycle_id=cycle_id, version=version), timeout=TIMEOUT
            )
        )
        return proposal_of(resp.proposal)


def disbursement_of(d: fpb.Disbursement) -> Disbursement:
    return Disbursement(
        application_id=d.application_id,
        amount_fen=d.amount_fen,
        status=PAYMENTS.get(d.status, PaymentStatus.REQUESTED),
        treasury_reference=d.treasury_reference,
        failure=d.failure,
    )


class FundingRecordsClient:
    """Implements ``services.intake.domain.ports.FundingRecords`` with funding's gRPC API."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    async def disbursements(self, cycle_id: str) -> list[Disbursement]:
        async def page(token: str) -> tuple[list[Disbursement], str]:
            resp = await _read(
                self.clients.funding.ListDisbursements(
                    fpb.ListDisbursementsRequest(
                        cycle_id=cycle_id, page_size=MAX_PAGE_SIZE, page_token=token
                    ),
                    timeout=TIMEOUT,
                )
            )
            return [disbursement_of(d) for d in resp.disbursements], resp.next_page_token

        return await _every_page(page)

    async def record_finance_concurrence(
        self, cycle_id: str, proposal_version: int, agree: bool, opinion: str, lines: list[ProposalLine]
    ) -> FinanceConcurrence:
        resp = await _read(
            self.clients.funding.RecordFinanceConcurrence(
                fpb.RecordFinanceConcurrenceRequest(
                    cycle_id=cycle_id,
                    proposal_version=proposal_version,
                    agree=agree,
                    opinion=opinion,
                    lines=[
                        fpb.ReservationLine(
                            application_id=line.application_id,
                            organization_id=line.organization_id,
                            amount_fen=line.amount_fen,
                            city_code=line.city_code,
                            tier=line.tier,
                        )
                        for line in lines
                    ],
                ),
                timeout=TIMEOUT,
            )
        )
        c = resp.concurrence
        return FinanceConcurrence(c.cycle_id, c.proposal_version, c.agree, c.opinion, len(c.lines))
