"""Review's adapters to other services: identity's expert pool
(:class:`services.review.domain.ports.ExpertRegistry`) and intake's recommended applications
(:class:`services.review.domain.ports.IntakeApplications`), over gRPC with the caller's token
forwarded. The fakes are in ``tests/support/fakes_review.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import grpc

from aicc.identity.v1 import identity_pb2
from aicc.intake.v1 import intake_pb2
from aicc.platform.clients import Clients
from aicc.platform.convert import from_ts
from aicc.platform.errors import FailedPrecondition
from aicc.platform.pagination import MAX_PAGE_SIZE
from aicc.platform.status import from_downstream
from services.review.domain import panels
from services.review.domain.model import Candidate, Material

Req = TypeVar("Req")
Resp = TypeVar("Resp")


async def _ask(rpc: Callable[..., Awaitable[Resp]], request: Req, seconds: float) -> Resp:
    """One call to another service: unreachable → Unavailable, its refusal → its own domain error
    (:func:`aicc.platform.status.from_downstream`), anything else raised as it came (INTERNAL)."""
    try:
        return await rpc(request, timeout=seconds)
    except grpc.aio.AioRpcError as e:
        err = from_downstream(e)
        if err is None:
            raise
        raise err from None


# identity's ListExperts pages the AIP-158 way once its request has a page_token; until then one
# answer holds every expert. The adapter works with either.
LIST_EXPERTS_PAGED = "page_token" in identity_pb2.ListExpertsRequest.DESCRIPTOR.fields_by_name


def list_experts_request(page_token: str) -> identity_pb2.ListExpertsRequest:
    """One page's request: the largest page identity serves, from ``page_token``."""
    if not LIST_EXPERTS_PAGED:
        return identity_pb2.ListExpertsRequest()
    paging: dict[str, Any] = {"page_size": MAX_PAGE_SIZE, "page_token": page_token}
    return identity_pb2.ListExpertsRequest(**paging)


def _iso(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def expert_profile(e: identity_pb2.Expert) -> panels.ExpertProfile:
    return panels.ExpertProfile(
        user_id=e.user_id,
        employer_organization_id=e.employer_organization_id,
        employment=tuple(
            panels.Period(r.organization_id, _iso(r.start_date), _iso(r.end_date)) for r in e.employment
        ),
        shareholdings=tuple(s.organization_id for s in e.shareholdings),
        consulting=tuple(
            panels.Period(r.organization_id, _iso(r.start_date), _iso(r.end_date)) for r in e.consulting
        ),
        active=e.active,
        display_name=e.display_name,
    )


class IdentityExpertRegistry:
    """Identity's expert pool over gRPC, every page, with the caller's token forwarded (the
    workflow's service account when it draws the panels). Identity unreachable → Unavailable; a
    refusal by identity → its own domain error (:func:`aicc.platform.status.from_downstream`)."""

    def __init__(self, clients: Clients, *, timeout: float = 10) -> None:
        self._clients = clients
        self._timeout = timeout

    async def experts(self) -> list[panels.ExpertProfile]:
        out: list[panels.ExpertProfile] = []
        token = ""
        while True:
            resp = await _ask(self._clients.identity.ListExperts, list_experts_request(token), self._timeout)
            out.extend(expert_profile(x) for x in resp.experts)
            following = str(getattr(resp, "next_page_token", ""))
            if not following or following == token:
                return out
            token = following


def candidate_of(cycle_id: str, a: intake_pb2.Application) -> Candidate:
    """A recommended application as review's candidate (with its USCC and materials)."""
    submitted = from_ts(a.submitted_at) if a.HasField("submitted_at") else None
    if submitted is None:
        raise FailedPrecondition(
            f"intake's application {a.application_id} is recommended but has no submission time",
            f"受理服务中的申报 {a.application_id} 已推荐但无提交时间",
            reason="APPLICATION_NOT_SUBMITTED",
            metadata={"application_id": a.application_id},
        )
    return Candidate(
        cycle_id=cycle_id,
        application_id=a.application_id,
        organization_id=a.organization_id,
        operator_organization_id=a.operator_organization_id,
        enterprise_name=a.enterprise_name,
        city_code=a.city_code,
        submitted_at=submitted,
        title=a.title,
        materials=[Material(m.material_id, m.kind, m.filename, m.sha256, m.size_bytes) for m in a.materials],
        uscc=getattr(a, "uscc", ""),
    )


class IntakeRecommendedApplications:
    """Intake's recommended applications of a cycle over gRPC: ``ListApplications`` (status
    RECOMMENDED) page after page with the caller's token forwarded (the workflow's service account
    when it opens the review). An application listed without its materials is read once more with
    ``GetApplication`` (which always carries them). Intake unreachable → Unavailable; a refusal by
    intake → its own domain error."""

    def __init__(self, clients: Clients, *, timeout: float = 10) -> None:
        self._clients = clients
        self._timeout = timeout

    async def _with_materials(self, a: intake_pb2.Application) -> intake_pb2.Application:
        if a.materials:
            return a
        resp = await _ask(
            self._clients.intake.GetApplication,
            intake_pb2.GetApplicationRequest(application_id=a.application_id),
            self._timeout,
        )
        return resp.application

    async def recommended(self, cycle_id: str) -> list[Candidate]:
        out: list[Candidate] = []
        token = ""
        while True:
            resp = await _ask(
                self._clients.intake.ListApplications,
                intake_pb2.ListApplicationsRequest(
                    cycle_id=cycle_id,
                    status=intake_pb2.APPLICATION_STATUS_RECOMMENDED,
                    page_size=MAX_PAGE_SIZE,
                    page_token=token,
                ),
                self._timeout,
            )
            for a in resp.applications:
                out.append(candidate_of(cycle_id, await self._with_materials(a)))
            following = resp.next_page_token
            if not following or following == token:
                return out
            token = following
