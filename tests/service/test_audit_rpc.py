"""The audit administrator reads each service's audit trail over gRPC (``aicc.audit.v1.AuditService``
on every service's port): filtered by actor, object, action and time, in AIP-158 pages bound to the
caller and the filter; nobody but ``audit_admin`` may (not the auditor, not the other administrators); and the
reading is itself audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from aicc.audit.v1 import audit_pb2 as apb
from aicc.audit.v1 import audit_pb2_grpc
from aicc.funding.v1 import funding_pb2 as fpb
from aicc.identity.v1 import identity_pb2 as ipb
from aicc.platform import authz
from aicc.platform.auth import Principal
from aicc.platform.clients import open_channel, static_token
from tests.support.suite import InProcessSuite, suite_settings

LIST = "/aicc.audit.v1.AuditService/ListAuditRecords"


def _stub(s: InProcessSuite, service: str, token: str | None):
    ch = open_channel(s.settings.address(service), static_token(token))
    s._channels.append(ch)
    return audit_pb2_grpc.AuditServiceStub(ch)


def _mint(s: InProcessSuite, user_id: str, *roles: str) -> str:
    signer = s.hosts["identity"].app.signer
    return signer.issue(Principal(user_id, user_id, frozenset(roles)))[0]


def _ts(t: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(t)
    return out


async def test_audit_admin_reads_each_services_trail_filtered_and_paged(tmp_path):
    settings = suite_settings(tmp_path)
    async with InProcessSuite(settings, services=["identity", "funding"]) as s:
        op = await s.admin_token(authz.SYSTEM_ADMIN)
        for _ in range(3):
            await s.stub("identity", op).ListJurisdictions(ipb.ListJurisdictionsRequest())
        with pytest.raises(grpc.aio.AioRpcError):
            await s.stub("funding", op).GetBudget(fpb.GetBudgetRequest(cycle_id="cyc_x"))
        admin = _mint(s, "usr_auditadmin", authz.AUDIT_ADMIN)
        ident = _stub(s, "identity", admin)

        everything = await ident.ListAuditRecords(apb.ListAuditRecordsRequest())
        assert [r.seq for r in everything.records] == list(range(1, len(everything.records) + 1))
        assert everything.next_page_token == ""
        listed = [r for r in everything.records if r.action.endswith("/ListJurisdictions")]
        assert len(listed) == 3
        operator_id = listed[0].actor
        assert operator_id.startswith("usr_")
        assert list(listed[0].roles) == ["system_admin"]

        # By action (method name or full path), by actor, by object.
        by_name = await ident.ListAuditRecords(apb.ListAuditRecordsRequest(action="ListJurisdictions"))
        assert len(by_name.records) == 3
        full = await ident.ListAuditRecords(
            apb.ListAuditRecordsRequest(action="/aicc.identity.v1.IdentityService/Login")
        )
        # The trail records the bootstrap administrators' logins (the suite's own set-up included).
        assert settings.bootstrap_system_admin_username in [r.actor for r in full.records]
        assert {
            r.actor
            for r in (await ident.ListAuditRecords(apb.ListAuditRecordsRequest(actor=operator_id))).records
        } == {operator_id}
        fu = _stub(s, "funding", admin)
        budget = await fu.ListAuditRecords(apb.ListAuditRecordsRequest(object_id="cyc_x"))
        assert [(r.action, r.outcome) for r in budget.records] == [
            ("/aicc.funding.v1.FundingService/GetBudget", "PERMISSION_DENIED")
        ]  # funding's own trail, on funding's port

        # By time: nothing in the future, everything since an hour ago.
        now = datetime.now(UTC)
        future = await ident.ListAuditRecords(
            apb.ListAuditRecordsRequest(start_time=_ts(now + timedelta(hours=1)))
        )
        assert list(future.records) == []
        past = await ident.ListAuditRecords(
            apb.ListAuditRecordsRequest(
                start_time=_ts(now - timedelta(hours=1)), end_time=_ts(now + timedelta(hours=1))
            )
        )
        assert len(past.records) >= len(everything.records)

        # Pages of two, the token bound to the filter and the caller.
        page1 = await ident.ListAuditRecords(apb.ListAuditRecordsRequest(page_size=2))
        assert [r.seq for r in page1.records] == [1, 2]
        page2 = await ident.ListAuditRecords(
            apb.ListAuditRecordsRequest(page_size=2, page_token=page1.next_page_token)
        )
        assert [r.seq for r in page2.records] == [3, 4]
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await ident.ListAuditRecords(
                apb.ListAuditRecordsRequest(page_size=2, actor="x", page_token=page1.next_page_token)
            )
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _stub(s, "identity", _mint(s, "usr_other_admin", authz.AUDIT_ADMIN)).ListAuditRecords(
                apb.ListAuditRecordsRequest(page_size=2, page_token=page1.next_page_token)
            )
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await ident.ListAuditRecords(
                apb.ListAuditRecordsRequest(start_time=_ts(now), end_time=_ts(now - timedelta(seconds=1)))
            )
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "end_time" in (e.value.details() or "")

        # The reading is itself audited, with the reader and the filter's object.
        reads = await ident.ListAuditRecords(apb.ListAuditRecordsRequest(action=LIST))
        assert len(reads.records) >= 9
        assert {r.actor for r in reads.records} >= {"usr_auditadmin"}
        assert {
            r.object_id for r in (await fu.ListAuditRecords(apb.ListAuditRecordsRequest(action=LIST))).records
        } >= {"cyc_x"}


@pytest.mark.parametrize(
    "roles",
    [
        (authz.AUDITOR,),
        (authz.SYSTEM_ADMIN,),
        (authz.SECURITY_ADMIN,),
        (authz.PROVINCE_INDUSTRY, authz.SYSTEM),
    ],
)
async def test_nobody_else_reads_the_trail(tmp_path, roles):
    settings = suite_settings(tmp_path)
    async with InProcessSuite(settings, services=["identity"]) as s:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _stub(s, "identity", _mint(s, "usr_x", *roles)).ListAuditRecords(
                apb.ListAuditRecordsRequest()
            )
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await _stub(s, "identity", None).ListAuditRecords(apb.ListAuditRecordsRequest())
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
