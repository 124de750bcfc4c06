"""The checks every request passes before its handler (run by ``aicc/platform/server.py``): what no
RPC may accept, found by walking the request's fields by their descriptors — nested messages,
repeated fields and maps included — so that no handler can forget a field. The limits and why are
in ``aicc/platform/validation.py``; a handler's own ``Check`` rules come after.

A request that could not be decoded at all (truncated, a string field that is not UTF-8, garbage)
reaches the handler as :data:`UNDECODABLE` (see :func:`tolerant`) and is refused here, naming
``request``: grpc would otherwise answer UNKNOWN naming a Python exception class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from aicc.platform import validation
from aicc.platform.errors import FieldViolation, InvalidArgument, invalid

TIMESTAMP = "google.protobuf.Timestamp"


class _Undecodable:
    """Stands for a request whose bytes are not a message of the RPC's request type."""

    def __repr__(self) -> str:
        return "<undecodable request>"


UNDECODABLE: Final = _Undecodable()


def tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A request deserializer that never raises: bytes it cannot decode become :data:`UNDECODABLE`."""
    if deserialize is None:
        return None

    def read(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception:  # DecodeError, and whatever a parser raises on garbage
            return UNDECODABLE

    return read


def undecodable() -> InvalidArgument:
    return invalid(
        [
            FieldViolation(
                "request",
                "is not a valid message of this RPC's request type (truncated, malformed, or a "
                "string that is not UTF-8)",
                "不是本接口请求类型的有效消息（被截断、格式错误或字符串不是 UTF-8）",
            )
        ],
        "request could not be decoded",
        "请求无法解码",
    )


def check_request(request: object) -> None:
    """Raises INVALID_ARGUMENT naming every field that breaks a platform-wide limit."""
    if request is UNDECODABLE:
        raise undecodable()
    if not isinstance(request, Message):
        return
    violations: list[FieldViolation] = []
    _walk(request, "", 0, violations)
    if violations:
        raise invalid(violations[:20])


def _walk(msg: Message, prefix: str, depth: int, out: list[FieldViolation]) -> None:
    if depth > validation.MAX_DEPTH:
        out.append(
            FieldViolation(
                prefix or "request",
                f"nests deeper than {validation.MAX_DEPTH} levels",
                f"嵌套超过 {validation.MAX_DEPTH} 层",
            )
        )
        return
    desc = msg.DESCRIPTOR
    if desc.full_name == TIMESTAMP:
        v = validation.Check()
        v.timestamp(prefix, msg)  # type: ignore[arg-type]  # a Timestamp has seconds and nanos
        out.extend(v.violations)
        return
    for fd, value in msg.ListFields():
        path = f"{prefix}.{fd.name}" if prefix else fd.name
        if fd.is_repeated:
            if len(value) > validation.MAX_REPEATED:
                out.append(
                    FieldViolation(
                        path,
                        f"at most {validation.MAX_REPEATED} entries",
                        f"最多 {validation.MAX_REPEATED} 项",
                    )
                )
                continue
            if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
                key_fd = fd.message_type.fields_by_name["key"]
                value_fd = fd.message_type.fields_by_name["value"]
                for k, item in value.items():
                    _field(key_fd, k, f"{path}.key", depth, out)
                    _field(value_fd, item, f"{path}[{k!s:.40}]", depth, out)
                continue
            for i, item in enumerate(value):
                _field(fd, item, f"{path}[{i}]", depth, out)
        else:
            _field(fd, value, path, depth, out)


def _field(fd: FieldDescriptor, value: Any, path: str, depth: int, out: list[FieldViolation]) -> None:
    if fd.type == fd.TYPE_MESSAGE:
        _walk(value, path, depth + 1, out)
    elif fd.type == fd.TYPE_STRING:
        limit = validation.string_limit(fd.name)
        if len(value) > limit:
            out.append(FieldViolation(path, f"must be at most {limit} characters", f"不得超过{limit}个字符"))
        elif "\x00" in value:
            out.append(FieldViolation(path, "must not contain NUL characters", "不得包含 NUL 字符"))
    elif fd.type == fd.TYPE_ENUM and fd.enum_type is not None:
        if fd.enum_type.values_by_number.get(value) is None:
            name = fd.enum_type.name
            out.append(FieldViolation(path, f"unknown value {value} of {name}", f"未知取值 {value}"))
