"""Intake's adapter to the identity service (gRPC): the identity registry port of its domain.

Calls forward the caller's token (``aicc.platform.clients``), so identity decides what the caller
may see: an organisation that is unknown or not visible answers None. Any other failure propagates
as it is, and the server reads it once (``aicc.platform.status.from_downstream``): another
service's refusal is passed on with its own message, an unreachable identity is UNAVAILABLE."""

from __future__ import annotations

from datetime import date

import grpc

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.clients import Clients
from services.intake.domain.model import Eligibility, EligibilityFailure, Organization, OrganizationKind

TIMEOUT = 10  # seconds per call

_KINDS = {
    ipb.ORGANIZATION_KIND_ENTERPRISE: OrganizationKind.ENTERPRISE,
    ipb.ORGANIZATION_KIND_OPERATOR_ORG: OrganizationKind.OPERATOR_ORG,
    ipb.ORGANIZATION_KIND_CITY_BUREAU: OrganizationKind.CITY_BUREAU,
    ipb.ORGANIZATION_KIND_PROVINCIAL_DEPARTMENT: OrganizationKind.PROVINCIAL_DEPARTMENT,
    ipb.ORGANIZATION_KIND_EXPERT_EMPLOYER: OrganizationKind.EXPERT_EMPLOYER,
}


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
        )

    async def eligibility(self, organization_id: str, as_of: date) -> Eligibility:
        resp = await self.clients.identity.CheckEligibility(
            ipb.CheckEligibilityRequest(organization_id=organization_id, as_of_date=as_of.isoformat()),
            timeout=TIMEOUT,
        )
        return Eligibility(
            eligible=resp.eligible,
            failures=[
                EligibilityFailure(rule=f.rule, article=f.article, message=f.message, message_zh=f.message_zh)
                for f in resp.failures
            ],
        )
