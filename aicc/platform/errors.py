"""Domain errors and their one mapping to canonical gRPC status codes (Google AIP-193).

Domain code raises these; nothing else decides a status code. Each error carries an English message
(the status message), a Chinese message (``google.rpc.LocalizedMessage``, locale zh-CN), a machine
reason (``google.rpc.ErrorInfo``) and, for bad input, field violations (``google.rpc.BadRequest``).
Any other exception becomes INTERNAL with a trace id and no internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

DOMAIN = "aicc.shandong.gov.cn"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    description_zh: str = ""


@dataclass
class DomainError(Exception):
    message: str
    message_zh: str = ""
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN  # overridden by subclasses

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(DomainError):
    violations: list[FieldViolation] = field(default_factory=list)
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT


@dataclass
class NotFound(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.NOT_FOUND


@dataclass
class AlreadyExists(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.ALREADY_EXISTS


@dataclass
class FailedPrecondition(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION


@dataclass
class Aborted(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.ABORTED


@dataclass
class PermissionDenied(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED


@dataclass
class Unauthenticated(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.UNAUTHENTICATED


@dataclass
class Unavailable(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE


def not_found(kind: str, ident: str, kind_zh: str = "") -> NotFound:
    return NotFound(
        f"{kind} {ident!r} not found",
        f"未找到{kind_zh or kind}：{ident}",
        reason=f"{kind.upper().replace(' ', '_')}_NOT_FOUND",
        metadata={"kind": kind, "id": ident},
    )


def wrong_phase(action: str, phase: str, allowed: str | list[str], action_zh: str = "") -> FailedPrecondition:
    allowed_s = allowed if isinstance(allowed, str) else " or ".join(allowed)
    return FailedPrecondition(
        f"{action} is not allowed in phase {phase} (allowed in {allowed_s})",
        f"当前阶段 {phase} 不允许{action_zh or action}（仅限 {allowed_s}）",
        reason="WRONG_PHASE",
        metadata={"phase": phase, "allowed": allowed_s},
    )


_GRPC_TO_RPC_CODE = {c: getattr(code_pb2, c.name) for c in grpc.StatusCode if hasattr(code_pb2, c.name)}


def to_status(err: DomainError) -> grpc.Status:
    details: list[any_pb2.Any] = []

    def pack(msg) -> None:
        a = any_pb2.Any()
        a.Pack(msg)
        details.append(a)

    pack(
        error_details_pb2.ErrorInfo(reason=err.reason or err.code.name, domain=DOMAIN, metadata=err.metadata)
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
        status_pb2.Status(code=_GRPC_TO_RPC_CODE[err.code], message=err.message, details=details)
    )


def internal_status(trace_id: str) -> grpc.Status:
    msg = f"internal error; quote trace id {trace_id} to the operator"
    return to_status(
        DomainError(
            msg,
            f"系统内部错误，请向运维人员提供追踪号 {trace_id}",
            reason="INTERNAL",
            code=grpc.StatusCode.INTERNAL,
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
    status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
    code = exc.code()
    message = exc.details() or ""
    zh, reason, violations, metadata = "", "", [], {}
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


_PASSED_ON = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.ABORTED: Aborted,
}
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def from_downstream(exc: grpc.aio.AioRpcError) -> DomainError | None:
    """What a failed call to another service means for this request's caller.

    A dependency that cannot be reached is UNAVAILABLE here too (retry later); a domain refusal by
    the other service (not found, wrong state, not allowed...) is passed on with its own bilingual
    message — it was written for people. Anything else (INTERNAL, UNAUTHENTICATED between services,
    UNIMPLEMENTED) is this service's fault: None, so the caller gets INTERNAL with a trace id."""
    code = exc.code()
    if code in _TRANSIENT:
        return Unavailable(
            "a service this request depends on is unavailable; try again shortly",
            "本请求依赖的服务暂不可用，请稍后重试",
            reason="DEPENDENCY_UNAVAILABLE",
        )
    cls = _PASSED_ON.get(code)
    if cls is None:
        return None
    err = read_error(exc)
    kwargs = {"violations": list(err.violations)} if cls is InvalidArgument else {}
    return cls(
        err.message, err.message_zh, reason=err.reason or code.name, metadata=dict(err.metadata), **kwargs
    )
