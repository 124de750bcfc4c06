"""Request validation: collect every violation of a request, then refuse it once, naming each field
and its rule (INVALID_ARGUMENT with ``google.rpc.BadRequest``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sized
from datetime import date
from decimal import Decimal, InvalidOperation

from aicc.platform.errors import FieldViolation, invalid

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


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
        if not ID_RE.match(value):
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
        if len(value) != 6 or not value.isdigit():
            self.fail(field, "must be a 6-digit administrative division code", "须为6位行政区划代码")
            return False
        return True

    def one_of(self, field: str, value: str, allowed: Iterable[str]) -> bool:
        allowed = list(allowed)
        if value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)}", f"须为以下之一：{'、'.join(allowed)}")
            return False
        return True

    def enum_set(self, field: str, value: int, unspecified: int = 0) -> bool:
        if value == unspecified:
            self.fail(field, "must be specified", "须指定")
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
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, "must be a date YYYY-MM-DD", "须为日期 YYYY-MM-DD")
            return None

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
