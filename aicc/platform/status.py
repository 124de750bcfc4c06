"""Domain errors ⇄ gRPC status: the one mapping (Google AIP-193), both ways.

Outgoing (a service answers): :func:`to_status` turns a :class:`DomainError` into the canonical
status code with ``google.rpc.ErrorInfo`` (reason, domain, metadata), a zh-CN
``google.rpc.LocalizedMessage`` and, for bad input, ``google.rpc.BadRequest`` field violations.
Anything that is not a domain error becomes INTERNAL with a trace id and nothing internal.

Incoming (a client reads a refusal): :func:`read_error` gives an :class:`ErrorReport` (what a CLI or a
test shows); :func:`from_downstream` decides what another service's refusal means for this
request's own caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from aicc.platform.errors import (
    PASSED_ON,
    TRANSIENT,
    Code,
    DomainError,
    FieldViolation,
    InvalidArgument,
    Unavailable,
    error_for,
)

DOMAIN = "aicc.shandong.gov.cn"

GRPC_CODE: dict[Code, grpc.StatusCode] = {c: grpc.StatusCode[c.value] for c in Code}
_RPC_CODE: dict[Code, int] = {c: getattr(code_pb2, c.value) for c in Code}
_BY_VALUE: dict[int, grpc.StatusCode] = {s.value[0]: s for s in grpc.StatusCode}


def code_name(code: grpc.StatusCode | int | None) -> str | None:
    """The name of a status code as a servicer context reports it (an enum or its integer)."""
    if code is None:
        return None
    if isinstance(code, grpc.StatusCode):
        return code.name
    found = _BY_VALUE.get(code)
    return found.name if found else "UNKNOWN"


def domain_code(code: grpc.StatusCode) -> Code | None:
    """The domain code of a gRPC status code (None for OK, CANCELLED, UNKNOWN, …)."""
    try:
        return Code(code.name)
    except ValueError:
        return None


def is_transient(code: grpc.StatusCode) -> bool:
    """Worth retrying as it is: the service may answer differently in a moment."""
    c = domain_code(code)
    return code is grpc.StatusCode.DEADLINE_EXCEEDED or (c is not None and c in TRANSIENT)


def to_status(err: DomainError) -> grpc.Status:
    details: list[any_pb2.Any] = []

    def pack(msg: Message) -> None:
        a = any_pb2.Any()
        a.Pack(msg)
        details.append(a)

    pack(
        error_details_pb2.ErrorInfo(reason=err.reason or err.code.value, domain=DOMAIN, metadata=err.metadata)
    )
    if err.message_zh:
        pack(error_details_pb2.LocalizedMessage(locale="zh-CN", message=err.message_zh))
    if isinstance(err, InvalidArgument) and err.violations:
        pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field,
                        description=v.description,
                        localized_message=error_details_pb2.LocalizedMessage(
                            locale="zh-CN", message=v.description_zh
                        )
                        if v.description_zh
                        else None,
                    )
                    for v in err.violations
                ]
            )
        )
    return rpc_status.to_status(
        status_pb2.Status(code=_RPC_CODE[err.code], message=err.message, details=details)
    )


def internal_status(trace_id: str) -> grpc.Status:
    return to_status(
        error_for(
            Code.INTERNAL,
            f"internal error; quote trace id {trace_id} to the operator",
            f"系统内部错误，请向运维人员提供追踪号 {trace_id}",
            reason="INTERNAL",
        )
    )


@dataclass(frozen=True)
class ErrorReport:
    """A client-side reading of an error status: what a CLI or a test shows."""

    code: grpc.StatusCode
    message: str
    message_zh: str = ""
    reason: str = ""
    violations: tuple[FieldViolation, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.code.name}: {self.message}"]
        if self.message_zh:
            lines.append(f"  {self.message_zh}")
        for v in self.violations:
            lines.append(
                f"  - {v.field}: {v.description}" + (f"（{v.description_zh}）" if v.description_zh else "")
            )
        return "\n".join(lines)


def read_error(exc: grpc.RpcError) -> ErrorReport:
    # grpc.aio.AioRpcError is not a grpc.Call, but carries the same trailing metadata.
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None  # type: ignore[arg-type]
    code: grpc.StatusCode = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    message = (exc.details() if hasattr(exc, "details") else "") or ""
    zh, reason = "", ""
    violations: list[FieldViolation] = []
    metadata: dict[str, str] = {}
    if status is not None:
        for d in status.details:
            if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                d.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif d.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
                lm = error_details_pb2.LocalizedMessage()
                d.Unpack(lm)
                zh = lm.message
            elif d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                br = error_details_pb2.BadRequest()
                d.Unpack(br)
                violations = [
                    FieldViolation(fv.field, fv.description, fv.localized_message.message)
                    for fv in br.field_violations
                ]
    return ErrorReport(code, message, zh, reason, tuple(violations), metadata)


def from_downstream(exc: grpc.aio.AioRpcError) -> DomainError | None:
    """What a failed call to another service means for this request's caller.

    A dependency that cannot be reached is UNAVAILABLE here too (retry later); a domain refusal by
    the other service (not found, wrong state, not allowed...) is passed on with its own bilingual
    message — it was written for people. Anything else (INTERNAL, UNAUTHENTICATED between services,
    UNIMPLEMENTED) is this service's fault: None, so the caller gets INTERNAL with a trace id."""
    if is_transient(exc.code()):
        return Unavailable(
            "a service this request depends on is unavailable; try again shortly",
            "本请求依赖的服务暂不可用，请稍后重试",
            reason="DEPENDENCY_UNAVAILABLE",
        )
    c = domain_code(exc.code())
    if c is None or c not in PASSED_ON:
        return None
    err = read_error(exc)
    return error_for(
        c,
        err.message,
        err.message_zh,
        reason=err.reason or c.value,
        metadata=err.metadata,
        violations=err.violations,
    )
