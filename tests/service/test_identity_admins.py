"""三员分立 over gRPC (issue 10, point 1): the three administrators replace the operator; only the
security administrator creates accounts and grants roles; roles that may not meet on one account
are refused together, naming both; no administrator reads business records."""

from __future__ import annotations

import grpc
import pytest

from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as pb
from aicc.platform.status import read_error
from aicc.review.v1 import review_pb2 as rpb
from tests.support.suite import InProcessSuite, suite_settings

PW = "a-long-password-for-tests"


@pytest.fixture
async def suite(tmp_path):
    async with InProcessSuite(suite_settings(tmp_path), services=["identity", "review", "funding"]) as s:
        yield s


async def _refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    return read_error(e.value)


def _user(username: str, *roles: str) -> pb.CreateUserRequest:
    return pb.CreateUserRequest(username=username, display_name=username, password=PW, roles=list(roles))


async def test_the_three_administrators_are_bootstrapped_and_no_operator(suite):
    for role in ("system_admin", "security_admin", "audit_admin"):
        assert await suite.admin_token(role)
    err = await _refused(suite.stub("identity").Login(pb.LoginRequest(username="operator", password=PW)))
    assert err.reason == "BAD_CREDENTIALS"


@pytest.mark.parametrize(
    ("roles", "pair"),
    [
        (["province_industry", "province_finance"], ("province_finance", "province_industry")),
        (["party_group", "expert"], ("expert", "party_group")),
        (["auditor", "province_finance"], ("auditor", "province_finance")),
        (["security_admin", "auditor"], ("auditor", "security_admin")),
        (["audit_admin", "system_admin"], ("audit_admin", "system_admin")),
        (["system_admin", "applicant"], ("applicant", "system_admin")),
    ],
)
async def test_create_user_refuses_roles_that_may_not_meet(suite, roles, pair):
    sec = suite.stub("identity", await suite.admin_token("security_admin"))
    err = await _refused(sec.CreateUser(_user("both", *roles)))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLE_CONFLICT")
    for role in pair:
        assert role in err.message
        assert role in err.message_zh
    assert (err.metadata["role"], err.metadata["conflicting_role"]) == pair


async def test_granting_a_conflicting_role_is_refused_and_a_grant_is_recorded(suite):
    sec = suite.stub("identity", await suite.admin_token("security_admin"))
    u = (await sec.CreateUser(_user("sd.finance", "province_finance"))).user
    err = await _refused(
        sec.GrantRole(pb.GrantRoleRequest(user_id=u.user_id, role="province_industry", reason="任命"))
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ROLE_CONFLICT")
    assert "province_finance" in err.message
    assert "province_industry" in err.message
    # Revoke, then grant: one role at a time, each with its reason.
    got = await sec.RevokeRole(
        pb.RevokeRoleRequest(user_id=u.user_id, role="province_finance", reason="调岗")
    )
    assert list(got.user.roles) == []
    got = await sec.GrantRole(pb.GrantRoleRequest(user_id=u.user_id, role="province_industry", reason="任命"))
    assert list(got.user.roles) == ["province_industry"]
    missing = await _refused(sec.GrantRole(pb.GrantRoleRequest(user_id=u.user_id, role="auditor")))
    assert missing.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in missing.violations} == {"reason"}


@pytest.mark.parametrize("role", ["system_admin", "audit_admin"])
async def test_only_the_security_administrator_creates_accounts_and_grants_roles(suite, role):
    other = suite.stub("identity", await suite.admin_token(role))
    sec = suite.stub("identity", await suite.admin_token("security_admin"))
    u = (await sec.CreateUser(_user("aud", "auditor"))).user
    for call in (
        other.CreateUser(_user("x", "province_industry")),
        other.GrantRole(pb.GrantRoleRequest(user_id=u.user_id, role="expert", reason="r")),
        other.ResetSecondFactor(pb.ResetSecondFactorRequest(user_id=u.user_id, reason="r")),
    ):
        assert (await _refused(call)).code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin"])
async def test_no_administrator_reads_or_decides_business_records(suite, role):
    token = await suite.admin_token(role)
    for call in (
        suite.stub("review", token).ListPublicityNotices(rpb.ListPublicityNoticesRequest(cycle_id="c")),
        suite.stub("funding", token).ListAppropriations(fpb.ListAppropriationsRequest()),
        suite.stub("identity", token).RegisterExpert(
            pb.RegisterExpertRequest(user_id="usr_x", fields=["ai"])
        ),
    ):
        assert (await _refused(call)).code == grpc.StatusCode.PERMISSION_DENIED


async def test_the_security_administrator_cannot_register_organisations(suite):
    sec = suite.stub("identity", await suite.admin_token("security_admin"))
    err = await _refused(
        sec.CreateOrganization(
            pb.CreateOrganizationRequest(
                uscc="91370212000000001X", name="x", kind=pb.ORGANIZATION_KIND_ENTERPRISE, legal_person=True
            )
        )
    )
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
