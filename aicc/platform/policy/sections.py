"""The sections of a policy file below the top level: the schedule, the eligibility rules, the
indicators by dimension, scoring, the expert panel, award tiers, fund-use categories and
performance targets. A validator that finds several problems raises :class:`PolicyError` with
paths relative to its field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from aicc.platform import jurisdictions
from aicc.platform.policy.coercions import (
    Code,
    Dec,
    FrozenModel,
    NonEmpty,
    NonNegInt,
    PosInt,
    StrictBool,
    StrictInt,
    Yuan,
)
from aicc.platform.policy.durations import Duration
from aicc.platform.policy.errors import PolicyError

__all__ = [
    "Dimension",
    "Eligibility",
    "FundUseCategory",
    "Indicator",
    "Panel",
    "PerformanceTarget",
    "Schedule",
    "Scoring",
    "Tier",
]


class Schedule(FrozenModel):
    """Phase lengths of a cycle (Art. 7-10, 14). Each is an ISO-8601 duration or {working_days: N}."""

    applications_open_after: Duration
    application_window: Duration
    city_review: Duration
    compliance_review: Duration
    expert_review: Duration
    publicity: Duration
    supervision: Duration

    @field_validator(
        "application_window", "city_review", "compliance_review", "expert_review", "publicity", "supervision"
    )
    @classmethod
    def _positive(cls, v: Duration) -> Duration:
        if v.is_zero:
            raise ValueError("must be longer than zero / 时长须大于零")
        return v

    def items(self) -> list[tuple[str, Duration]]:
        return [(k, getattr(self, k)) for k in type(self).model_fields]


class Eligibility(FrozenModel):
    """Hard eligibility rules of Art. 5(1)."""

    require_legal_person: StrictBool
    require_green_threshold: StrictBool
    # identity checks 0 to 10 years (services/identity/domain/eligibility.py MAX_LOOKBACK_YEARS)
    serious_dishonesty_lookback_years: Annotated[NonNegInt, Field(le=10)]
    division_prefix: Annotated[Code, Field(pattern=r"^\d{2}(\d{2}){0,2}$")]

    @field_validator("division_prefix")
    @classmethod
    def _in_the_province(cls, v: str) -> str:
        if jurisdictions.of_prefix(v) is None:
            raise ValueError(
                "must name Shandong or one of its cities (GB/T 2260), e.g. 37 or 3702 / 须为山东省或其下辖市的行政区划代码前缀"
            )
        return v

    # Art. 11 "一次性奖补": an enterprise already awarded under the programme is refused
    # (INELIGIBLE, citing Art. 11) or only flagged to the reviewers.
    earlier_award: Literal["refuse", "flag"] = "refuse"


class Publication(FrozenModel):
    """Who issues the programme's documents and where notices are published (Art. 10)."""

    issuing_body: NonEmpty = "山东省工业和信息化厅"
    co_issuer: str = "山东省财政厅"
    published_where: NonEmpty = "山东省工业和信息化厅门户网站"


class Indicator(FrozenModel):
    id: Annotated[str, Field(pattern=r"^\d+\.\d+$")]
    name: NonEmpty
    name_en: NonEmpty
    max_points: Dec

    @field_validator("max_points")
    @classmethod
    def _pos(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("must be > 0")
        if -v.as_tuple().exponent > 2:  # type: ignore[operator]
            raise ValueError("at most 2 decimal places")
        return v


class Dimension(FrozenModel):
    dimension: Annotated[Code, Field(pattern=r"^\d+$")]
    name: NonEmpty
    name_en: NonEmpty
    indicators: Annotated[list[Indicator], Field(min_length=1)]

    @field_validator("indicators")
    @classmethod
    def _prefixed(cls, v: list[Indicator], info: ValidationInfo) -> list[Indicator]:
        dim = info.data.get("dimension")
        if dim is None:
            return v
        errs = [
            (
                f"[{i}].id",
                f"indicator id {ind.id!r} must start with its dimension '{dim}.' / 指标编号须以维度编号开头",
            )
            for i, ind in enumerate(v)
            if not ind.id.startswith(f"{dim}.")
        ]
        if errs:
            raise PolicyError(errs)
        return v


class Scoring(FrozenModel):
    decimals: Annotated[StrictInt, Field(ge=0, le=4)]
    trim_from_sheets: Annotated[StrictInt, Field(ge=3)]
    justification_below: Dec
    justification_above: Dec
    outlier_sd: Dec
    tie_breakers: list[str]

    @field_validator("justification_below", "justification_above")
    @classmethod
    def _fraction(cls, v: Decimal) -> Decimal:
        if not (0 <= v <= 1):
            raise ValueError("must be a fraction between 0 and 1 / 须在0到1之间")
        return v

    @field_validator("justification_above")
    @classmethod
    def _order(cls, v: Decimal, info: ValidationInfo) -> Decimal:
        lo = info.data.get("justification_below")
        if lo is not None and v < lo:
            raise ValueError("justification_above must be >= justification_below")
        return v

    @field_validator("outlier_sd")
    @classmethod
    def _sd(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("must be > 0")
        return v

    @field_validator("tie_breakers")
    @classmethod
    def _tb(cls, v: list[str]) -> list[str]:
        errs = []
        for i, t in enumerate(v):
            if not (t == "submitted_at" or re.fullmatch(r"dimension:\d+", t)):
                errs.append(
                    (f"[{i}]", f"{t!r}: tie breaker must be 'dimension:<dimension>' or 'submitted_at'")
                )
        if len(set(v)) != len(v):
            errs.append(("", "tie breakers must not repeat"))
        if errs:
            raise PolicyError(errs)
        return v

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


class Panel(FrozenModel):
    size: PosInt
    max_load_per_expert: PosInt
    conflict_lookback_years: NonNegInt


class Tier(FrozenModel):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: NonEmpty
    min_score: Dec
    max_count: PosInt | None = None
    amount_yuan: Yuan

    @property
    def amount_fen(self) -> int:
        return self.amount_yuan * 100


class FundUseCategory(FrozenModel):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: NonEmpty
    name_en: NonEmpty


class PerformanceTarget(FrozenModel):
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: NonEmpty
    unit: NonEmpty
    target_value: Dec
