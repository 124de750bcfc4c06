"""Identity over gRPC: organisations, users, login, tokens, errors."""

from __future__ import annotations

import grpc
import pytest

from aicc.identity.v1 import identity_pb2 as pb
from aicc.platform.status import read_error
from services.identity.domain.uscc import make_uscc
from tests.support.suite import InProcessSuite, suite_settings


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity"]) as s:
        yield s


async def test_health_is_serving_without_a_token(suite):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from aicc.platform.clients import open_channel

    ch = open_channel(suite.settings.address("identity"))
    resp = await health_pb2_grpc.HealthStub(ch).Check(
        health_pb2.HealthCheckRequest(service="aicc.identity.v1.IdentityService")
    )
    assert resp.status == health_pb2.HealthCheckResponse.SERVING
    await ch.close()


async def test_rpc_without_token_is_unauthenticated(suite):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await suite.stub("identity").ListJurisdictions(pb.ListJurisdictionsRequest())
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_operator_registers_enterprise_mapped_to_city_by_uscc(suite):
    ident = suite.stub("identity", await suite.operator_token())
    code = make_uscc("370212", 1)  # a Qingdao district
    org = (
        await ident.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc=code,
                name="青岛智算科技有限公司",
                kind=pb.ORGANIZATION_KIND_ENTERPRISE,
                legal_person=True,
            )
        )
    ).organization
    assert org.city_code == "370200"
    assert org.uscc == code
    got = (
        await ident.GetOrganization(pb.GetOrganizationRequest(organization_id=org.organization_id))
    ).organization
    assert got.name == "青岛智算科技有限公司"


async def test_invalid_uscc_is_refused_naming_the_field_and_rule(suite):
    ident = suite.stub("identity", await suite.operator_token())
    bad = make_uscc("370212", 2)[:-1] + ("0" if make_uscc("370212", 2)[-1] != "0" else "1")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc=bad, name="X", kind=pb.ORGANIZATION_KIND_ENTERPRISE, legal_person=True
            )
        )
    err = read_error(e.value)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violations and err.violations[0].field == "uscc"
    assert "18" in err.violations[0].description and err.message_zh


async def test_bad_input_lists_every_field(suite):
    ident = suite.stub("identity", await suite.operator_token())
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.CreateUser(pb.CreateUserRequest(username="", password="short", roles=["wizard"]))
    err = read_error(e.value)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"username", "display_name", "password", "roles[0]"}


async def test_unknown_organization_is_not_found(suite):
    ident = suite.stub("identity", await suite.operator_token())
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.GetOrganization(pb.GetOrganizationRequest(organization_id="org_nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_login_issues_token_with_roles_and_city(suite):
    ident = suite.stub("identity", await suite.operator_token())
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            username="jn-industry",
            display_name="济南工信",
            password="a-long-password-1",
            roles=["city_industry"],
            city_code="370100",
        )
    )
    import jwt
    import pyotp

    code = pyotp.TOTP(created.totp_secret).now()  # officials log in with a second factor
    resp = await suite.stub("identity").Login(
        pb.LoginRequest(username="jn-industry", password="a-long-password-1", totp_code=code)
    )

    claims = jwt.decode(resp.access_token, options={"verify_signature": False})
    assert claims["roles"] == ["city_industry"] and claims["city"] == "370100"
    assert jwt.get_unverified_header(resp.access_token)["kid"]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await suite.stub("identity").Login(
            pb.LoginRequest(username="jn-industry", password="wrong-password-xx")
        )
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_role_is_permission_denied(suite):
    ident = suite.stub("identity", await suite.operator_token())
    await ident.CreateUser(
        pb.CreateUserRequest(
            username="auditor1", display_name="审计", password="a-long-password-2", roles=["auditor"]
        )
    )
    auditor = suite.stub("identity", await suite.login("auditor1", "a-long-password-2"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await auditor.CreateUser(
            pb.CreateUserRequest(
                username="x", display_name="x", password="a-long-password-3", roles=["auditor"]
            )
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_probe_port_serves_health_only(tmp_path):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from aicc.platform.clients import open_channel
    from tests.support.suite import free_port

    port = free_port()
    async with InProcessSuite(suite_settings(tmp_path, health_port=port), services=["identity"]):
        ch = open_channel(f"127.0.0.1:{port}")
        resp = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as e:  # business RPCs are not on the probe port
            from aicc.identity.v1 import identity_pb2_grpc

            await identity_pb2_grpc.IdentityServiceStub(ch).ListJurisdictions(pb.ListJurisdictionsRequest())
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        await ch.close()


async def test_health_is_not_serving_until_the_database_answers(tmp_path):
    """A service whose database cannot be reached stays NOT_SERVING (and keeps retrying)."""
    import asyncio

    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from aicc.cli.registry import spec
    from aicc.platform.clients import open_channel
    from aicc.platform.server import ServiceHost

    settings = suite_settings(tmp_path, db_urls={"identity": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    host = ServiceHost(spec("identity"), settings)
    task = asyncio.create_task(host.start())
    try:
        await asyncio.sleep(1.0)
        assert not task.done()
        ch = open_channel(settings.address("identity"))
        resp = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest())
        assert resp.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await ch.close()
    finally:
        task.cancel()
        await host.server.stop(0)


async def test_reflection_lists_the_service(suite):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    from aicc.platform.clients import open_channel

    ch = open_channel(suite.settings.address("identity"))
    stub = reflection_pb2_grpc.ServerReflectionStub(ch)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names = []
    async for resp in stub.ServerReflectionInfo(requests()):
        names = [s.name for s in resp.list_services_response.service]
    await ch.close()
    assert "aicc.identity.v1.IdentityService" in names and "grpc.health.v1.Health" in names
