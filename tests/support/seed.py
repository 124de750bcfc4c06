"""Small builders the service tests share: enterprises, users, and reading a refusal."""

from __future__ import annotations

import grpc
import pytest

from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform.status import ErrorReport, read_error
from services.identity.domain.uscc import make_uscc


async def enterprise(ident, division: str, serial: int, name: str) -> str:
    """Registers an enterprise with a valid USCC in that division; returns its organization id."""
    resp = await ident.CreateOrganization(
        ipb.CreateOrganizationRequest(
            uscc=make_uscc(division, serial),
            name=name,
            kind=ipb.ORGANIZATION_KIND_ENTERPRISE,
            legal_person=True,
        )
    )
    return resp.organization.organization_id


async def create_users(ident, password: str, specs) -> None:
    """specs: (username, roles, organization_id, city_code) tuples; display name = username."""
    for username, roles, org_id, city in specs:
        await ident.CreateUser(
            ipb.CreateUserRequest(
                username=username,
                display_name=username,
                password=password,
                roles=roles,
                organization_id=org_id,
                city_code=city,
            )
        )


async def error_of(call) -> ErrorReport:
    """Awaits a call that must fail; returns the error as a caller reads it."""
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return read_error(e.value)
