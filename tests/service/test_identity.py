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
    ident = await suite.admin()
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
    ident = await suite.admin()
    bad = make_uscc("370212", 2)[:-1] + ("0" if make_uscc("370212", 2)[-1] != "0" else "1")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc=bad, name="X", kind=pb.ORGANIZATION_KIND_ENTERPRISE, legal_person=True
            )
        )
    err = read_error(e.value)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violations
    assert err.violations[0].field == "uscc"
    assert "18" in err.violations[0].description
    assert err.message_zh


async def test_bad_input_lists_every_field(suite):
    ident = await suite.admin()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.CreateUser(pb.CreateUserRequest(username="", password="short", roles=["wizard"]))
    err = read_error(e.value)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"username", "display_name", "password", "roles[0]"}


async def test_unknown_organization_is_not_found(suite):
    ident = await suite.admin()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await ident.GetOrganization(pb.GetOrganizationRequest(organization_id="org_nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_login_issues_token_with_roles_and_city(suite):
    ident = await suite.admin()
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
    assert claims["roles"] == ["city_industry"]
    assert claims["city"] == "370100"
    assert jwt.get_unverified_header(resp.access_token)["kid"]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await suite.stub("identity").Login(
            pb.LoginRequest(username="jn-industry", password="wrong-password-xx")
        )
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_role_is_permission_denied(suite):
    ident = await suite.admin()
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
        from aicc.identity.v1 import identity_pb2_grpc

        with pytest.raises(grpc.aio.AioRpcError) as e:  # business RPCs are not on the probe port
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
    assert "aicc.identity.v1.IdentityService" in names
    assert "grpc.health.v1.Health" in names


# ---------------------------------------------------------------- pages (AIP-158)


async def _seed_organizations(suite, n: int) -> list[str]:
    """n enterprises written straight into identity's store (faster than n RPCs); Jinan and Qingdao
    alternate. Returns their ids in the list's order (by name)."""
    from datetime import UTC, datetime

    from services.identity.domain.model import Organization, OrganizationKind
    from services.identity.store import IdentityStore

    now = datetime.now(UTC)
    async with suite.hosts["identity"].runtime.db.transaction() as s:
        store = IdentityStore(s)
        for i in range(n):
            await store.add_organization(
                Organization(
                    organization_id=f"org_page_{i:04d}",
                    uscc=make_uscc("370102" if i % 2 else "370212", i + 1),
                    name=f"分页企业{n - i:04d}",  # names sort opposite to ids: the order is by name
                    kind=OrganizationKind.ENTERPRISE,
                    city_code="370100" if i % 2 else "370200",
                    legal_person=True,
                    parent_organization_id=None,
                    created_at=now,
                )
            )
    return [f"org_page_{i:04d}" for i in reversed(range(n))]


async def _all_pages(call, request, items: str, page_size: int) -> tuple[list, int]:
    """Every item of a list, page after page; and how many pages it took."""
    out, pages = [], 0
    request.page_size = page_size
    while True:
        resp = await call(request)
        pages += 1
        got = list(getattr(resp, items))
        assert len(got) <= page_size
        out += got
        if not resp.next_page_token:
            return out, pages
        request.page_token = resp.next_page_token


async def test_organizations_are_listed_page_by_page_with_default_and_maximum_sizes(suite):
    ident = await suite.admin()
    ids = await _seed_organizations(suite, 520)

    first = await ident.ListOrganizations(pb.ListOrganizationsRequest())
    assert [o.organization_id for o in first.organizations] == ids[:50]
    assert first.next_page_token
    biggest = await ident.ListOrganizations(pb.ListOrganizationsRequest(page_size=100_000))
    assert len(biggest.organizations) == 500
    assert biggest.next_page_token
    rest = await ident.ListOrganizations(pb.ListOrganizationsRequest(page_token=biggest.next_page_token))
    assert [o.organization_id for o in rest.organizations] == ids[500:]
    assert not rest.next_page_token

    listed, pages = await _all_pages(
        ident.ListOrganizations, pb.ListOrganizationsRequest(), "organizations", 37
    )
    assert [o.organization_id for o in listed] == ids
    assert pages == 15
    jinan, _ = await _all_pages(
        ident.ListOrganizations, pb.ListOrganizationsRequest(city_code="370100"), "organizations", 40
    )
    assert [o.organization_id for o in jinan] == [i for i in ids if int(i[-4:]) % 2]  # the filter is kept

    err = read_error(await _raises(ident.ListOrganizations(pb.ListOrganizationsRequest(page_size=-1))))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in err.violations] == ["page_size"]


async def _raises(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return e.value


async def test_a_page_token_serves_only_its_caller_its_list_and_its_filter(suite):
    ident = await suite.admin()
    await _seed_organizations(suite, 6)
    await ident.CreateUser(
        pb.CreateUserRequest(
            username="prov1", display_name="省工信", password=PW2, roles=["province_industry"]
        )
    )
    other = suite.stub("identity", await suite.login("prov1", PW2))
    asked = pb.ListOrganizationsRequest(city_code="370100", page_size=2)
    token = (await ident.ListOrganizations(asked)).next_page_token
    assert token

    refusals = [
        other.ListOrganizations(
            pb.ListOrganizationsRequest(city_code="370100", page_size=2, page_token=token)
        ),
        ident.ListOrganizations(
            pb.ListOrganizationsRequest(city_code="370200", page_size=2, page_token=token)
        ),
        ident.ListOrganizations(
            pb.ListOrganizationsRequest(city_code="370100", page_token=token[:-2] + "xx")
        ),
        ident.ListJurisdictions(pb.ListJurisdictionsRequest(page_size=2, page_token=token)),
    ]
    for call in refusals:
        err = read_error(await _raises(call))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in err.violations] == ["page_token"]
    # The token still serves its own caller and filter (a smaller page size is fine).
    again = await ident.ListOrganizations(pb.ListOrganizationsRequest(city_code="370100", page_token=token))
    assert len(again.organizations) == 1
    assert not again.next_page_token


async def test_jurisdictions_and_experts_are_paged_too(suite):
    ident = await suite.admin()
    everything = await ident.ListJurisdictions(pb.ListJurisdictionsRequest())
    assert len(everything.jurisdictions) == 17
    assert not everything.next_page_token
    paged, pages = await _all_pages(
        ident.ListJurisdictions, pb.ListJurisdictionsRequest(), "jurisdictions", 5
    )
    assert list(paged) == list(everything.jurisdictions)
    assert pages == 4

    org = (
        await ident.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc=make_uscc("370102", 1),
                name="专家单位",
                kind=pb.ORGANIZATION_KIND_ENTERPRISE,
                legal_person=True,
            )
        )
    ).organization
    for i in range(5):
        user = (
            await ident.CreateUser(
                pb.CreateUserRequest(
                    username=f"expert{i}", display_name=f"专家{i}", password=PW2, roles=["expert"]
                )
            )
        ).user
        await ident.RegisterExpert(
            pb.RegisterExpertRequest(
                user_id=user.user_id,
                fields=["ai", "law"] if i % 2 else ["ai"],
                employment=[
                    pb.EmploymentRecord(organization_id=org.organization_id, start_date="2020-01-01")
                ],
                shareholdings=[pb.Shareholding(organization_id=org.organization_id)] if i == 3 else [],
            )
        )
    await ident.CreateUser(
        pb.CreateUserRequest(
            username="prov1", display_name="省工信", password=PW2, roles=["province_industry"]
        )
    )
    prov = suite.stub("identity", await suite.login("prov1", PW2))
    whole = (await prov.ListExperts(pb.ListExpertsRequest())).experts
    assert len(whole) == 5
    assert [e.user_id for e in whole] == sorted(e.user_id for e in whole)
    paged_experts, pages = await _all_pages(prov.ListExperts, pb.ListExpertsRequest(), "experts", 2)
    assert list(paged_experts) == list(whole)
    assert pages == 3
    assert [len(e.shareholdings) for e in paged_experts] == [
        1 if e.display_name == "专家3" else 0 for e in whole
    ]
    law, _ = await _all_pages(prov.ListExperts, pb.ListExpertsRequest(field="law"), "experts", 1)
    assert sorted(e.display_name for e in law) == ["专家1", "专家3"]


PW2 = "a-long-password-for-paging"
