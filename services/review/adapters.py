"""Review's adapters to other services: identity's expert pool over gRPC
(:class:`services.review.domain.ports.ExpertRegistry`). The fake is ``tests/support/fakes_review.py``."""

from __future__ import annotations

from datetime import date
from typing import Any

import grpc

from aicc.identity.v1 import identity_pb2
from aicc.platform.clients import Clients
from aicc.platform.pagination import MAX_PAGE_SIZE
from aicc.platform.status import from_downstream
from services.review.domain import panels

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
            try:
                resp = await self._clients.identity.ListExperts(
                    list_experts_request(token), timeout=self._timeout
                )
            except grpc.aio.AioRpcError as e:
                err = from_downstream(e)
                if err is None:
                    raise
                raise err from None
            out.extend(expert_profile(x) for x in resp.experts)
            following = str(getattr(resp, "next_page_token", ""))
            if not following or following == token:
                return out
            token = following
