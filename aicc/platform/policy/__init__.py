"""A programme policy file (政策配置文件): the rules of one award programme, as data.

The measures (管理办法及实施细则) fix the process but leave weights, thresholds, quota, caps and
dates to configuration; Art. 18 lets each city adopt its own rules by reference. A policy file
is YAML with exactly the keys of :class:`Policy` (unknown keys are refused at every level).
:func:`load_policy_text` reports EVERY problem in a file at once as :class:`PolicyError`,
each with its path in the file ("tiers[1].min_score") and, where known, its line number.

Money is integer yuan in the file; the model exposes fen (分) as ``*_fen`` properties.
Scores are :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from aicc.platform.policy.coercions import Code, FrozenModel, NonEmpty, PosInt, Yuan
from aicc.platform.policy.durations import Duration
from aicc.platform.policy.errors import PolicyError, collect_errors, join_path, with_line
from aicc.platform.policy.sections import (
    Dimension,
    Eligibility,
    FundUseCategory,
    Indicator,
    Panel,
    PerformanceTarget,
    Schedule,
    Scoring,
    Tier,
)

__all__ = [
    "Dimension",
    "Duration",
    "Eligibility",
    "FundUseCategory",
    "Indicator",
    "IndicatorRef",
    "Panel",
    "PerformanceTarget",
    "Policy",
    "PolicyError",
    "Schedule",
    "Scoring",
    "Tier",
    "find_policy",
    "load_policy_file",
    "load_policy_text",
]


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
    budget_yuan: Yuan
    tiers: Annotated[list[Tier], Field(min_length=1)]
    fund_use_categories: Annotated[list[FundUseCategory], Field(min_length=1)]
    performance_targets: list[PerformanceTarget]

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
            (
                f"tie_breakers[{i}]",
                f"{t!r} names no dimension of this policy (known: {', '.join(sorted(known))})",
            )
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
                errs.append(
                    (f"[{i}].amount_yuan", f"{t.amount_yuan} exceeds award_cap_yuan {cap} / 超过单项奖补上限")
                )
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
        return _validate(data, source="<json>")


# ----------------------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _validate(data: Any, *, source: str, lines: dict[str, int] | None = None) -> Policy:
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
                errs.append(
                    (
                        f"scoring.tie_breakers[{i}]",
                        f"{tb!r} names no dimension of this policy (known: {', '.join(sorted(known))})",
                    )
                )
    cap = data.get("award_cap_yuan")
    tiers = data.get("tiers")
    if isinstance(cap, int) and not isinstance(cap, bool) and isinstance(tiers, list):
        for i, tier in enumerate(tiers):
            amt = tier.get("amount_yuan") if isinstance(tier, dict) else None
            if isinstance(amt, int) and not isinstance(amt, bool) and amt > cap:
                errs.append(
                    (f"tiers[{i}].amount_yuan", f"{amt} exceeds award_cap_yuan {cap} / 超过单项奖补上限")
                )
    return errs


def _line_index(node: yaml.Node | None, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Map every path in the YAML document to its (1-based) line number."""
    out = {} if out is None else out
    if node is None:
        return out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            p = join_path(path, str(k.value))
            out[p] = k.start_mark.line + 1
            _line_index(v, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            p = f"{path}[{i}]"
            out[p] = v.start_mark.line + 1
            _line_index(v, p, out)
    return out


def load_policy_text(text: str, *, source: str = "<text>") -> Policy:
    """Parse and validate policy YAML. Raises :class:`PolicyError` listing every problem."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
        lines = _line_index(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        msg = f"{where}YAML syntax error: {problem}" + (f" ({context})" if context else "")
        raise PolicyError([("", msg)], source=source) from None
    return _validate(data, source=source, lines=lines)


def load_policy_file(path: str | Path) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([("", f"cannot read policy file: {exc.strerror or exc}")], source=str(p)) from None
    except UnicodeDecodeError:
        raise PolicyError([("", "policy file is not valid UTF-8")], source=str(p)) from None
    return load_policy_text(text, source=str(p))


def default_policy_dir() -> Path:
    """The shipped policies: ``policies/`` of the repository when running from a checkout (or an
    editable install), else ``aicc/policies`` inside the installed package (the wheel carries a
    copy, see ``setup.py``)."""
    from importlib import resources

    import aicc

    checkout = Path(aicc.__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "policies").is_dir():
        return checkout / "policies"
    return Path(str(resources.files("aicc").joinpath("policies")))


class PolicyNotFound(PolicyError):
    """No policy file of that name; ``available`` lists the names that exist."""

    def __init__(self, name: str, available: list[str], directory: Path) -> None:
        super().__init__(
            [("", f"no policy named {name!r} in {directory} (available: {', '.join(available) or 'none'})")],
            source=name,
        )
        self.name = name
        self.available = available


def find_policy(name: str, policy_dir: Path | None = None) -> Policy:
    """Load ``<name>.yaml`` from ``policy_dir`` (default: the ``policies/`` directory shipped
    next to the ``aicc`` package)."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise PolicyError([("", f"{name!r} is not a policy name ([a-z0-9-]+)")], source=name)
    directory = Path(policy_dir) if policy_dir is not None else default_policy_dir()
    path = directory / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
        raise PolicyNotFound(name, available, directory)
    return load_policy_file(path)
