"""Request validation: collect every violation of a request, then refuse it once, naming each field
and its rule (INVALID_ARGUMENT with ``google.rpc.BadRequest``).

Two layers check every request:

1. The platform's request guard (``aicc/platform/request_guard.py``, run by the server interceptor
   before any handler) walks every field of the request by its descriptor, nested and repeated
   ones too, and refuses what no RPC may accept: a request that cannot be decoded (truncated,
   invalid UTF-8), a string longer than its ceiling (:func:`string_limit`) or holding a NUL
   character, an enum number its enum does not define, a ``google.protobuf.Timestamp`` outside
   0001-01-01..9999-12-31 or with nanos outside 0..999,999,999, more than
   :data:`MAX_REPEATED` entries in one repeated field, or nesting deeper than :data:`MAX_DEPTH`.
2. Each handler then checks its own rules with :class:`Check` (required fields, formats, tighter
   lengths, ranges) before calling its use case.

String ceilings (characters), by field name — a handler may check tighter, never looser:

=========================================  =========  ==========================================
field                                      ceiling    why
=========================================  =========  ==========================================
``*_id``, ``idempotency_key``, ``username``  128      identifiers (:data:`ID_RE`)
``name``, ``*_name``, ``title``              200      names of people, bodies and documents
opinions, reasons, notes (free text)       2,000      what an official writes in one decision
long reports (:data:`LONG_TEXT_FIELDS`)    20,000     findings, narratives, objections, comments
``policy_yaml``                            256 KiB    the policy loader's own limit
``policy_json``                            1 MiB      a policy snapshot (JSON is wordier than YAML)
``csv_text``                               2 MiB      a registry import (half gRPC's 4 MB message)
anything else                              4,096      codes, dates, references, page tokens
=========================================  =========  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sized
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol

from aicc.platform.errors import FieldViolation, invalid


class _Timestamp(Protocol):
    """What a ``google.protobuf.Timestamp`` has (no protobuf import here: the domain may read this
    module's constants)."""

    seconds: int
    nanos: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z

# Whole-string patterns: always ``fullmatch`` (``$`` would accept a trailing newline: "ops\n" is
# not "ops"); ASCII digits only (``\d`` and ``str.isdigit`` accept other scripts' digits).
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CITY_CODE_RE = re.compile(r"[0-9]{6}")

# The dates a request may name: wide enough for any founding date, employment or deadline, narrow
# enough that date arithmetic on them (look-backs, deadlines, working days) never leaves the
# calendar Python can represent.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)

# The request guard's limits (see the module's docstring).
DEFAULT_STRING_LIMIT = 4096
IDENTIFIER_LIMIT = 128
NAME_LIMIT = 200
FREE_TEXT_LIMIT = 2000
LONG_TEXT_LIMIT = 20_000
POLICY_YAML_LIMIT = 256 * 1024
MAX_REPEATED = 10_000
MAX_DEPTH = 16
FREE_TEXT_FIELDS = frozenset(
    {"opinion", "reason", "note", "statement", "justification", "correction_reason", "summary", "description"}
)
LONG_TEXT_FIELDS = frozenset(
    {"findings", "narrative", "comments", "content", "reply_to_objector", "reply_to_applicant"}
)
FIELD_LIMITS: dict[str, int] = {
    "policy_yaml": POLICY_YAML_LIMIT,
    "policy_json": 1024 * 1024,
    "csv_text": 2 * 1024 * 1024,
    "username": IDENTIFIER_LIMIT,
    "idempotency_key": IDENTIFIER_LIMIT,
    "title": NAME_LIMIT,
}


def string_limit(field_name: str) -> int:
    """The most characters any request may put in a string field of this name."""
    if field_name in FIELD_LIMITS:
        return FIELD_LIMITS[field_name]
    if field_name.endswith("_id"):
        return IDENTIFIER_LIMIT
    if field_name == "name" or field_name.endswith("_name"):
        return NAME_LIMIT
    if field_name in LONG_TEXT_FIELDS:
        return LONG_TEXT_LIMIT
    if field_name in FREE_TEXT_FIELDS or field_name.endswith("_reason"):
        return FREE_TEXT_LIMIT
    return DEFAULT_STRING_LIMIT


class Check:
    """``v = Check(); v.required("cycle_id", req.cycle_id); ...; v.done()``"""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, rule: str, rule_zh: str) -> None:
        self.violations.append(FieldViolation(field, rule, rule_zh))

    def required(self, field: str, value: object) -> bool:
        empty = (
            value is None or value == 0 or (isinstance(value, (str, list, tuple, dict, set)) and not value)
        )
        if empty or (isinstance(value, str) and not value.strip()):
            self.fail(field, "is required", "必填")
            return False
        return True

    def identifier(self, field: str, value: str) -> bool:
        if not self.required(field, value):
            return False
        if not ID_RE.fullmatch(value):
            self.fail(
                field,
                "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
                "须为1至128位字母、数字或 . _ : -",
            )
            return False
        return True

    def max_length(self, field: str, value: str, limit: int) -> bool:
        if value and len(value) > limit:
            self.fail(field, f"must be at most {limit} characters", f"不得超过{limit}个字符")
            return False
        return True

    def city_code(self, field: str, value: str, *, required: bool = True) -> bool:
        """A 6-digit administrative division code (GB/T 2260), e.g. 370200 for Qingdao."""
        if not value:
            if required:
                self.fail(field, "is required", "必填")
            return not required
        if not _CITY_CODE_RE.fullmatch(value):
            self.fail(field, "must be a 6-digit administrative division code", "须为6位行政区划代码")
            return False
        return True

    def one_of(self, field: str, value: str, allowed: Iterable[str]) -> bool:
        allowed = list(allowed)
        if value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)}", f"须为以下之一：{'、'.join(allowed)}")
            return False
        return True

    def enum_set(self, field: str, value: int, known: Iterable[int], unspecified: int = 0) -> bool:
        """Set, and one of the ``known`` numbers (proto3 keeps a number its enum does not define)."""
        if value == unspecified:
            self.fail(field, "must be specified", "须指定")
            return False
        if value not in set(known):
            self.fail(field, f"unknown value {value}", f"未知取值 {value}")
            return False
        return True

    def non_negative(self, field: str, value: int) -> bool:
        if value < 0:
            self.fail(field, "must not be negative", "不得为负数")
            return False
        return True

    def positive(self, field: str, value: int) -> bool:
        if value <= 0:
            self.fail(field, "must be greater than zero", "须大于零")
            return False
        return True

    def iso_date(self, field: str, value: str, required: bool = True) -> date | None:
        if not value:
            if required:
                self.fail(field, "is required (YYYY-MM-DD)", "必填（格式 YYYY-MM-DD）")
            return None
        try:
            if not _ISO_DATE_RE.fullmatch(value):
                raise ValueError(value)
            d = date.fromisoformat(value)
        except ValueError:
            self.fail(field, "must be a date YYYY-MM-DD", "须为日期 YYYY-MM-DD")
            return None
        if not MIN_DATE <= d <= MAX_DATE:
            self.fail(
                field,
                f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}",
                f"须在 {MIN_DATE.isoformat()} 至 {MAX_DATE.isoformat()} 之间",
            )
            return None
        return d

    def timestamp(self, field: str, value: _Timestamp | None, *, required: bool = False) -> datetime | None:
        """A ``google.protobuf.Timestamp`` as an aware UTC datetime; None when unset (all zero) —
        then a violation if ``required``. Out of range (before 0001-01-01, after 9999-12-31, nanos
        outside 0..999,999,999) is a violation naming the field, never an exception."""
        if value is None or (value.seconds == 0 and value.nanos == 0):
            if required:
                self.fail(field, "is required", "必填")
            return None
        if not (_MIN_SECONDS <= value.seconds <= _MAX_SECONDS and 0 <= value.nanos <= 999_999_999):
            self.fail(
                field,
                "must be a time between 0001-01-01 and 9999-12-31 (nanos 0..999999999)",
                "须为 0001-01-01 至 9999-12-31 之间的时间（纳秒 0..999999999）",
            )
            return None
        return _EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)

    def decimal(self, field: str, value: str, places: int = 2) -> Decimal | None:
        try:
            d = Decimal(value)
        except (InvalidOperation, TypeError):
            self.fail(field, "must be a decimal number", "须为数字")
            return None
        if not d.is_finite() or d.as_tuple().exponent < -places:  # type: ignore[operator]
            self.fail(field, f"must have at most {places} decimal places", f"最多{places}位小数")
            return None
        return d

    def max_items(self, field: str, values: Sized, limit: int) -> bool:
        """At most ``limit`` entries: a request's size is bounded whatever the year's size (a
        workflow update carries it, and Temporal refuses payloads over 2 MB)."""
        if len(values) > limit:
            self.fail(
                field,
                f"at most {limit} entries per request ({len(values)} given); send the rest in further requests",
                f"每次最多提交 {limit} 条（本次 {len(values)} 条），其余请分批提交",
            )
            return False
        return True

    def unique(self, field: str, values: Iterable[str]) -> bool:
        seen: set[str] = set()
        for i, v in enumerate(values):
            if v in seen:
                self.fail(f"{field}[{i}]", f"duplicate value {v!r}", f"重复值 {v}")
                return False
            seen.add(v)
        return True

    def done(self, message: str = "request is invalid", message_zh: str = "请求参数不合法") -> None:
        if self.violations:
            raise invalid(self.violations, message, message_zh)
