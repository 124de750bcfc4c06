"""Schedule lengths in a policy file: an ISO-8601 duration ("P30D", "PT30S", "P1DT2H") or a
count of official PRC working days (``{working_days: N}``, see :mod:`aicc.platform.workdays`)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic_core import core_schema

__all__ = ["Duration"]

_ISO_DURATION = re.compile(
    r"P(?!$)(?:(?P<d>[0-9]+)D)?(?:T(?=[0-9])(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?"
)


@dataclass(frozen=True)
class Duration:
    """A schedule length: either a fixed ISO-8601 duration (``timedelta``) or a count of
    official working days (``working_days``, see :mod:`aicc.platform.workdays`). Exactly one
    of the two is set. ``str()`` gives the form written in the file."""

    timedelta: _dt.timedelta | None = None
    working_days: int | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if (self.timedelta is None) == (self.working_days is None):
            raise ValueError("exactly one of timedelta / working_days must be set")

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        if isinstance(value, str):
            return cls._parse_iso(value)
        if isinstance(value, dict):
            return cls._parse_working_days(value)
        raise ValueError(
            f"expected an ISO-8601 duration string or {{working_days: N}}, got {type(value).__name__}"
        )

    @classmethod
    def _parse_iso(cls, value: str) -> Duration:
        m = _ISO_DURATION.fullmatch(value.strip())
        if not m or value.strip().endswith("T"):
            raise ValueError(
                f"{value!r} is not an ISO-8601 duration with D/H/M/S parts only "
                "(e.g. 'P30D', 'PT30S', 'P1DT2H') / 不是合法的ISO-8601时长"
            )
        parts = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
        td = _dt.timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
        return cls(timedelta=td, text=value.strip())

    @classmethod
    def _parse_working_days(cls, value: dict[Any, Any]) -> Duration:
        if set(value) != {"working_days"}:
            raise ValueError(
                "a mapping duration must be exactly {working_days: N}; got keys "
                f"{sorted(map(str, value))} / 工作日时长只能写作 {{working_days: N}}"
            )
        n = value["working_days"]
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValueError(f"working_days must be an integer, got {n!r} / working_days 须为整数")
        if n < 0:
            raise ValueError("working_days must be >= 0 / working_days 不能为负")
        return cls(working_days=n, text=f"{{working_days: {n}}}")

    @property
    def is_zero(self) -> bool:
        return (self.timedelta is not None and self.timedelta == _dt.timedelta(0)) or self.working_days == 0

    def to_jsonable(self) -> str | dict[str, int]:
        if self.working_days is not None:
            return {"working_days": self.working_days}
        return self.text or _format_iso(self.timedelta)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.text or (
            _format_iso(self.timedelta)
            if self.timedelta is not None
            else f"{{working_days: {self.working_days}}}"
        )

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.to_jsonable()),
        )


def _format_iso(td: _dt.timedelta) -> str:
    secs = int(td.total_seconds())
    d, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    out = "P" + (f"{d}D" if d else "")
    t = (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
    if t:
        out += "T" + t
    return out if out != "P" else "P0D"
