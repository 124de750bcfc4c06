"""The policy as a whole: :class:`Policy` (the top level of a policy file, its cross-field
rules, queries and JSON form) and :func:`validate_policy_data`, which turns data read from a file
into a Policy or a :class:`PolicyError` listing every problem.

Money is integer yuan in the file; the model exposes fen (分) as ``*_fen`` properties.
Scores are :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator

from aicc.platform.policy.coercions import Code, FrozenModel, NonEmpty, PosInt, Yuan
from aicc.platform.policy.errors import PolicyError, collect_errors, with_line
from aicc.platform.policy.sections import (
    Dimension,
    Eligibility,
    FundUseCategory,
    Panel,
    PerformanceTarget,
    Publication,
    Schedule,
    Scoring,
    Tier,
)

__all__ = ["IndicatorRef", "Policy", "validate_policy_data"]


@dataclass(frozen=True)
class IndicatorRef:
    """An indicator flattened with its dimension (what scoring works with)."""

    id: str
    dimension: str
    name: str
    name_en: str
    max_points: Decimal


# ----------------------------------------------------------------------------------------- Policy

_DERIVED_TOP = ("award_cap_fen", "budget_fen")


class Policy(FrozenModel):
    """A programme policy. Field order matters: cross-field checks look at earlier fields."""

    policy_id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    title: NonEmpty
    title_en: NonEmpty
    scope: Literal["province", "city"]
    jurisdiction: Annotated[Code, Field(pattern=r"^\d{6}$")]
    legal_basis: Annotated[list[NonEmpty], Field(min_length=1)]
    valid_from: _dt.date
    valid_until: _dt.date
    schedule: Schedule
    eligibility: Eligibility
    indicators: Annotated[list[Dimension], Field(min_length=1)]
    scoring: Scoring
    panel: Panel
    award_cap_yuan: Yuan
    quota: PosInt
    # Art. 11 "about 15 a year": hard — no revision may fund more; soft — officials may fund more
    # with a written reason (the computed proposal never exceeds the quota either way).
    quota_mode: Literal["hard", "soft"] = "hard"
    budget_yuan: Yuan
    tiers: Annotated[list[Tier], Field(min_length=1)]
    fund_use_categories: Annotated[list[FundUseCategory], Field(min_length=1)]
    performance_targets: list[PerformanceTarget]
    publication: Publication = Publication()

    _refs: dict[str, IndicatorRef] = PrivateAttr(default_factory=dict)

    # -- cross-field validation (each raises PolicyError with paths relative to the field) --

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, v: str, info: ValidationInfo) -> str:
        scope = info.data.get("scope")
        if not v.startswith("37"):
            raise ValueError(f"{v} is not a Shandong (37xxxx) division code / 不是山东省行政区划代码")
        if scope == "province" and v != "370000":
            raise ValueError("a province policy must have jurisdiction 370000 / 省级政策的辖区须为370000")
        if scope == "city" and (v == "370000" or not v.endswith("00") or v.endswith("0000")):
            raise ValueError(
                f"a city policy needs a city code like 370100, not {v} / 市级政策须使用地市代码（如370100）"
            )
        return v

    @field_validator("valid_until")
    @classmethod
    def _until(cls, v: _dt.date, info: ValidationInfo) -> _dt.date:
        start = info.data.get("valid_from")
        if start is not None and v < start:
            raise ValueError(f"valid_until {v} is before valid_from {start} / 有效期止早于起")
        return v

    @field_validator("indicators")
    @classmethod
    def _indicators(cls, v: list[Dimension]) -> list[Dimension]:
        errs: list[tuple[str, str]] = []
        seen_dim: dict[str, int] = {}
        seen_ind: dict[str, str] = {}
        total = Decimal(0)
        for i, dim in enumerate(v):
            if dim.dimension in seen_dim:
                errs.append(
                    (
                        f"[{i}].dimension",
                        f"dimension {dim.dimension!r} repeated (first at [{seen_dim[dim.dimension]}])",
                    )
                )
            seen_dim.setdefault(dim.dimension, i)
            for j, ind in enumerate(dim.indicators):
                if ind.id in seen_ind:
                    errs.append(
                        (
                            f"[{i}].indicators[{j}].id",
                            f"indicator id {ind.id!r} repeated (first at {seen_ind[ind.id]})",
                        )
                    )
                seen_ind.setdefault(ind.id, f"[{i}].indicators[{j}]")
                total += ind.max_points
        if total != 100:
            errs.append(
                (
                    "",
                    f"indicator max_points must sum to exactly 100, they sum to {total} / 各指标满分之和须为100",
                )
            )
        if errs:
            raise PolicyError(errs)
        return v

    @field_validator("scoring")
    @classmethod
    def _scoring(cls, v: Scoring, info: ValidationInfo) -> Scoring:
        dims = info.data.get("indicators")
        if dims is None:
            return v
        known = {d.dimension for d in dims}
        errs = [
            (f"tie_breakers[{i}]", _unknown_dimension(t, known))
            for i, t in enumerate(v.tie_breakers)
            if t.startswith("dimension:") and t.split(":", 1)[1] not in known
        ]
        if errs:
            raise PolicyError(errs)
        return v

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, v: list[Tier], info: ValidationInfo) -> list[Tier]:
        errs: list[tuple[str, str]] = []
        cap = info.data.get("award_cap_yuan")
        keys: set[str] = set()
        for i, t in enumerate(v):
            if t.key in keys or t.key == "none":
                errs.append((f"[{i}].key", f"tier key {t.key!r} repeated or reserved"))
            keys.add(t.key)
            if not (0 <= t.min_score <= 100):
                errs.append((f"[{i}].min_score", "must be between 0 and 100"))
            if i and t.min_score >= v[i - 1].min_score:
                errs.append(
                    (
                        f"[{i}].min_score",
                        f"tiers must be ordered by strictly descending min_score ({t.min_score} >= {v[i - 1].min_score})",
                    )
                )
            if cap is not None and t.amount_yuan > cap:
                errs.append((f"[{i}].amount_yuan", _over_cap(t.amount_yuan, cap)))
        if errs:
            raise PolicyError(errs)
        return v

    @field_validator("fund_use_categories", "performance_targets")
    @classmethod
    def _unique_codes(cls, v: list[Any]) -> list[Any]:
        seen: set[str] = set()
        errs = []
        for i, x in enumerate(v):
            if x.code in seen:
                errs.append((f"[{i}].code", f"code {x.code!r} repeated"))
            seen.add(x.code)
        if errs:
            raise PolicyError(errs)
        return v

    def model_post_init(self, _ctx: Any) -> None:
        refs = {}
        for dim in self.indicators:
            for ind in dim.indicators:
                refs[ind.id] = IndicatorRef(ind.id, dim.dimension, ind.name, ind.name_en, ind.max_points)
        self._refs = refs

    # -- queries --

    @property
    def award_cap_fen(self) -> int:
        return self.award_cap_yuan * 100

    @property
    def budget_fen(self) -> int:
        return self.budget_yuan * 100

    def indicator_ids(self) -> list[str]:
        return list(self._refs)

    def indicator(self, indicator_id: str) -> IndicatorRef:
        try:
            return self._refs[indicator_id]
        except KeyError:
            raise KeyError(f"unknown indicator {indicator_id!r}") from None

    def indicator_refs(self) -> list[IndicatorRef]:
        return list(self._refs.values())

    def dimensions(self) -> list[str]:
        return [d.dimension for d in self.indicators]

    def dimension(self, dimension: str) -> Dimension:
        for d in self.indicators:
            if d.dimension == dimension:
                return d
        raise KeyError(f"unknown dimension {dimension!r}")

    def tier(self, key: str) -> Tier:
        for t in self.tiers:
            if t.key == key:
                return t
        raise KeyError(f"unknown tier {key!r}")

    def is_valid_on(self, d: _dt.date) -> bool:
        if isinstance(d, _dt.datetime):
            d = d.date()
        return self.valid_from <= d <= self.valid_until

    # -- serialisation --

    def to_jsonable(self) -> dict[str, Any]:
        """Plain JSON data: the file's keys, plus derived ``*_fen`` money and each indicator's
        ``dimension``; max_points as a JSON number, other decimals as strings."""
        data = self.model_dump(mode="json")
        for dim_data, dim in zip(data["indicators"], self.indicators, strict=True):
            for ind_data, ind in zip(dim_data["indicators"], dim.indicators, strict=True):
                ind_data["dimension"] = dim.dimension
                mp = ind.max_points
                ind_data["max_points"] = int(mp) if mp == mp.to_integral_value() else float(mp)
        for t_data, t in zip(data["tiers"], self.tiers, strict=True):
            t_data["amount_fen"] = t.amount_fen
        data["award_cap_fen"] = self.award_cap_fen
        data["budget_fen"] = self.budget_fen
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_jsonable(), sort_keys=True, ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Policy:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise PolicyError([("", "policy JSON must be an object")], source="<json>")
        for k in _DERIVED_TOP:
            data.pop(k, None)
        for dim in data.get("indicators") or []:
            for ind in (dim or {}).get("indicators") or []:
                if isinstance(ind, dict):
                    ind.pop("dimension", None)
                    if isinstance(ind.get("max_points"), float):
                        ind["max_points"] = repr(ind["max_points"])
        for t in data.get("tiers") or []:
            if isinstance(t, dict):
                t.pop("amount_fen", None)
        return validate_policy_data(data, source="<json>")


# ------------------------------------------------------------------------------- validation


def validate_policy_data(data: Any, *, source: str, lines: dict[str, int] | None = None) -> Policy:
    """``data`` (as read from YAML or JSON) as a :class:`Policy`, or :class:`PolicyError` with
    every problem, each prefixed with its line when ``lines`` maps paths to lines."""
    if not isinstance(data, dict):
        raise PolicyError([("", "a policy file must be a YAML mapping at the top level")], source=source)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        errs = collect_errors(exc)
        errs += [e for e in _raw_cross_checks(data) if e not in errs]
        if lines:
            errs = [(p, with_line(p, m, lines)) for p, m in errs]
        raise PolicyError(errs, source=source) from None


def _raw_cross_checks(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-field checks re-run on the raw data, so they are reported even when pydantic
    skipped them because the other field was itself invalid (same messages as the model)."""
    errs: list[tuple[str, str]] = []
    dims = data.get("indicators")
    scoring = data.get("scoring")
    if isinstance(dims, list) and isinstance(scoring, dict) and isinstance(scoring.get("tie_breakers"), list):
        known = {str(d.get("dimension")) for d in dims if isinstance(d, dict)}
        for i, tb in enumerate(scoring["tie_breakers"]):
            if isinstance(tb, str) and tb.startswith("dimension:") and tb.split(":", 1)[1] not in known:
                errs.append((f"scoring.tie_breakers[{i}]", _unknown_dimension(tb, known)))
    cap = data.get("award_cap_yuan")
    tiers = data.get("tiers")
    if isinstance(cap, int) and not isinstance(cap, bool) and isinstance(tiers, list):
        for i, tier in enumerate(tiers):
            amt = tier.get("amount_yuan") if isinstance(tier, dict) else None
            if isinstance(amt, int) and not isinstance(amt, bool) and amt > cap:
                errs.append((f"tiers[{i}].amount_yuan", _over_cap(amt, cap)))
    return errs


def _unknown_dimension(tie_breaker: str, known: set[str]) -> str:
    return f"{tie_breaker!r} names no dimension of this policy (known: {', '.join(sorted(known))})"


def _over_cap(amount_yuan: int, cap_yuan: int) -> str:
    return f"{amount_yuan} exceeds award_cap_yuan {cap_yuan} / 超过单项奖补上限"
