"""How a failed call to another service reaches this request's caller (status.from_downstream)."""

from __future__ import annotations

import grpc
import pytest

from aicc.platform.errors import FieldViolation, InvalidArgument, NotFound, Unavailable, not_found
from aicc.platform.status import from_downstream, to_status


def _rpc_error(status: grpc.Status | None = None, code=None, details="") -> grpc.aio.AioRpcError:
    if status is not None:
        return grpc.aio.AioRpcError(
            status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
        )
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_an_unreachable_dependency_is_unavailable_here_too(code):
    err = from_downstream(_rpc_error(code=code, details="connect failed 10.0.0.7:50051"))
    assert isinstance(err, Unavailable)
    assert err.reason == "DEPENDENCY_UNAVAILABLE"
    assert "10.0.0.7" not in err.message  # nothing of the other side's internals


def test_a_domain_refusal_is_passed_on_with_its_bilingual_message():
    err = from_downstream(_rpc_error(to_status(not_found("organization", "org_x", "单位"))))
    assert isinstance(err, NotFound)
    assert err.message == "organization 'org_x' not found"
    assert err.message_zh == "未找到单位：org_x"
    assert err.reason == "ORGANIZATION_NOT_FOUND"
    bad = InvalidArgument(
        "bad", "坏", reason="INVALID_ARGUMENT", violations=[FieldViolation("uscc", "18 characters", "18位")]
    )
    passed = from_downstream(_rpc_error(to_status(bad)))
    assert isinstance(passed, InvalidArgument)
    assert passed.violations[0].field == "uscc"


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNIMPLEMENTED]
)
def test_anything_else_is_this_services_fault(code):
    assert from_downstream(_rpc_error(code=code, details="stack trace here")) is None
