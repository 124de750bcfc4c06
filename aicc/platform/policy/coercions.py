"""Value coercions of a policy file, as annotated field types, and the base of its models.

YAML reads ``yes`` as a boolean, ``0.4`` as a float and ``370000`` as an integer; these types
take each value only in the form the policy means (no bool for a number, no float for money)
and give decimals as :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "Code",
    "Dec",
    "FrozenModel",
    "NonEmpty",
    "NonNegInt",
    "PosInt",
    "StrictBool",
    "StrictInt",
    "Yuan",
]


def _to_decimal(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(v, Decimal):
        d = v
    elif isinstance(v, int):
        d = Decimal(v)
    elif isinstance(v, float):
        d = Decimal(repr(v))  # 0.4 -> Decimal("0.4"), not the binary expansion
    elif isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"{v!r} is not a decimal number / 不是合法的数值") from None
    else:
        raise ValueError(f"expected a decimal number, got {type(v).__name__}")
    if not d.is_finite():
        raise ValueError(f"{v!r} is not a finite number")
    return d


def _to_yuan(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"money must be an integer number of yuan, got {v!r} / 金额须为整数元")
    return v


def _strict_int(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _strict_bool(v: Any) -> Any:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _code_str(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected a string")
    if isinstance(v, int):
        return str(v)
    return v


StrictInt = Annotated[int, BeforeValidator(_strict_int)]
PosInt = Annotated[StrictInt, Field(gt=0)]
NonNegInt = Annotated[StrictInt, Field(ge=0)]
StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]
Dec = Annotated[Decimal, BeforeValidator(_to_decimal)]
Yuan = Annotated[int, BeforeValidator(_to_yuan), Field(ge=0)]
NonEmpty = Annotated[str, Field(min_length=1)]
Code = Annotated[str, BeforeValidator(_code_str)]
"""A code written as digits ("37", 370000): YAML may read it as an integer; it is kept as text."""


class FrozenModel(BaseModel):
    """Base of every part of a policy: unknown keys are refused, values cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
