"""Domain errors: what a use case refuses, in words for people, with no transport attached.

Domain code raises these and nothing else decides an outcome. Each error carries an English message,
a Chinese message (zh-CN), a machine ``reason`` and, for bad input, field violations. The error's
:class:`Code` is one of the canonical status code names; how a code travels (a gRPC status with
``google.rpc`` details, a Temporal ``ApplicationError``) is decided in one place for each transport
(``aicc/platform/status.py``, ``workflows/cycle/refusals.py``). This module imports no transport,
so ``services/*/domain`` can use it (an import contract checks that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar


class Code(StrEnum):
    """The canonical status codes a domain error may carry (names as in ``google.rpc.Code``)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


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

    code: Code = Code.INTERNAL  # fixed by each subclass

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(DomainError):
    violations: list[FieldViolation] = field(default_factory=list)
    code: Code = Code.INVALID_ARGUMENT


@dataclass
class NotFound(DomainError):
    code: Code = Code.NOT_FOUND


@dataclass
class AlreadyExists(DomainError):
    code: Code = Code.ALREADY_EXISTS


@dataclass
class FailedPrecondition(DomainError):
    code: Code = Code.FAILED_PRECONDITION


@dataclass
class Aborted(DomainError):
    code: Code = Code.ABORTED


@dataclass
class PermissionDenied(DomainError):
    code: Code = Code.PERMISSION_DENIED


@dataclass
class Unauthenticated(DomainError):
    code: Code = Code.UNAUTHENTICATED


@dataclass
class ResourceExhausted(DomainError):
    code: Code = Code.RESOURCE_EXHAUSTED


@dataclass
class Unavailable(DomainError):
    code: Code = Code.UNAVAILABLE


@dataclass
class Internal(DomainError):
    code: Code = Code.INTERNAL


# The error class of each code: the one table both transports read an incoming refusal with.
_CLASSES: dict[Code, type[DomainError]] = {
    Code.INVALID_ARGUMENT: InvalidArgument,
    Code.NOT_FOUND: NotFound,
    Code.ALREADY_EXISTS: AlreadyExists,
    Code.FAILED_PRECONDITION: FailedPrecondition,
    Code.ABORTED: Aborted,
    Code.PERMISSION_DENIED: PermissionDenied,
    Code.UNAUTHENTICATED: Unauthenticated,
    Code.RESOURCE_EXHAUSTED: ResourceExhausted,
    Code.UNAVAILABLE: Unavailable,
    Code.INTERNAL: Internal,
}

# Refusals written for people by another component, passed on to this caller as they are. Transient
# codes are not among them (the caller retries), nor INTERNAL/UNAUTHENTICATED (this side's fault).
PASSED_ON: frozenset[Code] = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.ALREADY_EXISTS,
        Code.FAILED_PRECONDITION,
        Code.ABORTED,
        Code.PERMISSION_DENIED,
        Code.OUT_OF_RANGE,
    }
)
# Worth trying again as it is: the outcome may differ in a moment.
TRANSIENT: frozenset[Code] = frozenset({Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED})


def error_for(
    code: Code | str,
    message: str,
    message_zh: str = "",
    *,
    reason: str = "",
    metadata: Mapping[str, str] | None = None,
    violations: Iterable[FieldViolation] = (),
) -> DomainError:
    """The domain error of a code read from a transport (a status, a workflow refusal)."""
    try:
        c = Code(code)
    except ValueError:
        c = Code.INTERNAL
    cls = _CLASSES.get(c, DomainError)
    meta = dict(metadata or {})
    if cls is InvalidArgument:
        return InvalidArgument(message, message_zh, reason or c.value, meta, violations=list(violations))
    err = cls(message, message_zh, reason or c.value, meta)
    err.code = c  # OUT_OF_RANGE has no class of its own
    return err


def not_found(kind: str, ident: str, kind_zh: str = "") -> NotFound:
    return NotFound(
        f"{kind} {ident!r} not found",
        f"未找到{kind_zh or kind}：{ident}",
        reason=f"{kind.upper().replace(' ', '_')}_NOT_FOUND",
        metadata={"kind": kind, "id": ident},
    )


def wrong_phase(
    action: str, phase: str, allowed: str | Iterable[str], action_zh: str = ""
) -> FailedPrecondition:
    """The one wording of "not in this phase", for services and the cycle workflow alike."""
    allowed_s = allowed if isinstance(allowed, str) else " or ".join(str(a) for a in allowed)
    return FailedPrecondition(
        f"{action} is not allowed in phase {phase} (allowed in {allowed_s})",
        f"当前阶段 {phase} 不允许{action_zh or action}（仅限 {allowed_s}）",
        reason="WRONG_PHASE",
        metadata={"phase": str(phase), "allowed": allowed_s},
    )


def invalid(
    violations: list[FieldViolation], message: str = "request is invalid", message_zh: str = "请求参数不合法"
) -> InvalidArgument:
    """INVALID_ARGUMENT listing every violation in both languages."""
    return InvalidArgument(
        f"{message}: " + "; ".join(f"{v.field}: {v.description}" for v in violations),
        f"{message_zh}：" + "；".join(f"{v.field}：{v.description_zh or v.description}" for v in violations),
        reason="INVALID_ARGUMENT",
        violations=violations,
    )


T = TypeVar("T")


def present(value: T | None, what: str) -> T:
    """``value``, known by the code's own logic not to be None (checked above, or loaded just
    before): an Internal error, never a silent None, if that logic is ever broken. Unlike ``assert``
    it is not stripped by ``python -O``."""
    if value is None:
        raise Internal(
            f"internal invariant broken: {what} is missing",
            f"系统内部校验失败：缺少{what}",
            reason="INVARIANT",
        )
    return value
