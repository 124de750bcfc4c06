"""Domain refusals across Temporal: the one encoding both ways.

A refusal travels as a non-retryable ``ApplicationError`` whose ``type`` is the canonical code
name and whose first detail is ``{"zh": …, "reason": …, "field": …, **metadata}``. The workflow and
its activities raise it with :func:`to_application_error`; intake's gateway reads it back with
:func:`from_application_error`, so a caller sees the same domain error wherever it arose."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

from aicc.platform.errors import (
    Code,
    DomainError,
    FieldViolation,
    InvalidArgument,
    Unavailable,
    error_for,
)


def to_application_error(err: DomainError) -> ApplicationError:
    detail: dict[str, Any] = {"zh": err.message_zh, "reason": err.reason, **err.metadata}
    if isinstance(err, InvalidArgument) and err.violations:
        detail["field"] = err.violations[0].field
        detail["violations"] = [[v.field, v.description, v.description_zh] for v in err.violations]
    return ApplicationError(err.message, detail, type=err.code.value, non_retryable=True)


def from_application_error(cause: BaseException | None) -> DomainError:
    """The domain error a workflow refusal stands for; anything else is a passing failure."""
    if (
        isinstance(cause, ApplicationError)
        and cause.type is not None
        and cause.type in Code.__members__
        and cause.type != Code.INTERNAL
    ):
        code: str = cause.type
        info = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        zh = str(info.get("zh", ""))
        reason = str(info.get("reason", "")) or code
        raw = info.get("violations") or []
        violations = [FieldViolation(*map(str, v)) for v in raw if isinstance(v, list) and len(v) == 3]
        if code == Code.INVALID_ARGUMENT and not violations:
            violations = [FieldViolation(str(info.get("field", "request")), cause.message, zh)]
        meta = {k: str(v) for k, v in info.items() if k not in ("zh", "reason", "violations")}
        return error_for(code, cause.message, zh, reason=reason, metadata=meta, violations=violations)
    return Unavailable(
        "the cycle workflow could not complete the decision; try again",
        "流程暂时无法处理该决定，请稍后重试",
        reason="WORKFLOW_ERROR",
    )
