"""Reference implementation of the ranking engine: the straightforward all-Decimal version of
``services/review/domain/scoring.py`` as it was before the integer fast path (issue #4), kept
verbatim so that tests can check the optimised engine gives byte-identical results."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from aicc.platform.policy import Policy

__all__ = [
    "Aggregate",
    "Candidate",
    "ProposalLine",
    "ScoringError",
    "aggregate",
    "compute_proposal",
    "format_yuan",
    "proposal_to_json_rows",
    "validate_sheet",
]

NONE_TIER = "none"
_CTX = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)


class ScoringError(ValueError):
    """Inputs to the engine are inconsistent (missing sheets, out-of-range points...)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{w}: {p}" for w, p in self.problems[:20]))


@dataclass(frozen=True)
class Candidate:
    application_id: str
    enterprise: str
    city: str
    submitted_at: _dt.datetime

    def __post_init__(self) -> None:
        if not isinstance(self.submitted_at, _dt.datetime):
            raise TypeError("submitted_at must be a datetime")
        if self.submitted_at.tzinfo is None or self.submitted_at.utcoffset() is None:
            raise ValueError(f"{self.application_id}: submitted_at must be timezone-aware")


@dataclass(frozen=True)
class Aggregate:
    final_score: Decimal
    dimension_scores: dict[str, Decimal]
    totals: dict[str, Decimal]  # expert id -> sheet total
    trimmed: tuple[str, ...]  # (lowest, highest) expert ids dropped, or ()
    flagged_experts: tuple[str, ...]
    sheet_count: int


@dataclass(frozen=True)
class ProposalLine:
    application_id: str
    enterprise: str
    city: str
    rank: int
    final_score: Decimal
    dimension_scores: dict[str, Decimal]
    tier: str
    amount_fen: int
    reserve: bool
    reason: str
    budget_left_fen: int
    tie_break: str | None
    flagged_experts: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------------------- helpers


def _places(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def _pct(frac: Decimal) -> str:
    v = frac * 100
    return f"{int(v)}%" if v == v.to_integral_value() else f"{v.normalize():f}%"


def format_yuan(fen: int) -> str:
    """2000000_00 -> '2,000,000'; 150 -> '1.50'."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan:,}" + (f".{cents:02d}" if cents else "")


def _trimmed_mean(
    values: Sequence[tuple[Decimal, str]], trim: bool, q: Decimal
) -> tuple[Decimal, tuple[str, ...]]:
    ordered = sorted(values)
    dropped: tuple[str, ...] = ()
    if trim:
        dropped = (ordered[0][1], ordered[-1][1])
        ordered = ordered[1:-1]
    total = _ZERO
    for v, _ in ordered:
        total += v
    mean = _CTX.divide(total, Decimal(len(ordered)))
    return mean.quantize(q, rounding=ROUND_HALF_UP, context=_CTX), dropped


def _flag_outliers(totals: Mapping[str, Decimal], k: Decimal) -> tuple[str, ...]:
    """|t - mean| > k * pop_sd, evaluated exactly: (n t - S)^2 > k^2 (n Q - S^2)."""
    n = len(totals)
    if n < 2:
        return ()
    s = sum(totals.values(), _ZERO)
    qsum = sum((t * t for t in totals.values()), _ZERO)
    nn = Decimal(n)
    var_n2 = _CTX.subtract(_CTX.multiply(nn, qsum), _CTX.multiply(s, s))
    if var_n2 <= 0:
        return ()
    bound = _CTX.multiply(_CTX.multiply(k, k), var_n2)
    out = []
    for expert, t in totals.items():
        dev = _CTX.subtract(_CTX.multiply(nn, t), s)
        if _CTX.multiply(dev, dev) > bound:
            out.append(expert)
    return tuple(sorted(out))


# --------------------------------------------------------------------------------- public API


def validate_sheet(
    policy: Policy, scores: Mapping[str, Decimal], justifications: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Problems with one expert's sheet as ``(indicator id or field, problem)``; [] if valid."""
    problems: list[tuple[str, str]] = []
    decimals = policy.scoring.decimals
    below = policy.scoring.justification_below
    above = policy.scoring.justification_above
    ids = policy.indicator_ids()
    known = set(ids)
    for key in scores:
        if key not in known:
            problems.append((str(key), "unknown indicator / 未知指标"))
    for key in justifications:
        if key not in known:
            problems.append(
                (f"justifications.{key}", "justification for an unknown indicator / 未知指标的说明")
            )
    for iid in ids:
        if iid not in scores:
            problems.append((iid, "score missing / 缺少评分"))
            continue
        pts = scores[iid]
        if isinstance(pts, bool) or not isinstance(pts, Decimal | int):
            problems.append((iid, f"points must be a Decimal, got {type(pts).__name__}"))
            continue
        pts = Decimal(pts)
        if not pts.is_finite():
            problems.append((iid, "points must be a finite number"))
            continue
        mx = policy.indicator(iid).max_points
        if pts < 0 or pts > mx:
            problems.append((iid, f"{pts} is outside 0..{mx} / 超出分值范围"))
            continue
        if _places(pts) > decimals:
            problems.append((iid, f"{pts} has more than {decimals} decimal places / 小数位数过多"))
        frac = _CTX.divide(pts, mx)
        if (frac < below or frac > above) and not (justifications.get(iid) or "").strip():
            problems.append(
                (
                    iid,
                    f"{pts} of {mx} is below {_pct(below)} or above {_pct(above)} of the maximum: "
                    "a justification is required / 分值低于或高于阈值，须填写评分理由",
                )
            )
    return problems


def _sheet_problems(policy: Policy, expert: str, sheet: Mapping[str, Decimal]) -> list[str]:
    out = []
    refs = policy._refs  # noqa: SLF001 - hot path
    decimals = policy.scoring.decimals
    for iid, ref in refs.items():
        pts = sheet.get(iid)
        if pts is None:
            out.append(f"expert {expert}: indicator {iid} missing")
        elif not isinstance(pts, Decimal) or not pts.is_finite():
            out.append(f"expert {expert}: indicator {iid} is not a finite Decimal")
        elif pts < 0 or pts > ref.max_points:
            out.append(f"expert {expert}: indicator {iid} = {pts} outside 0..{ref.max_points}")
        elif _places(pts) > decimals:
            out.append(f"expert {expert}: indicator {iid} = {pts} has more than {decimals} decimals")
    if len(sheet) != len(refs):
        out += [f"expert {expert}: unknown indicator {k}" for k in sheet if k not in refs]
    return out


def aggregate(policy: Policy, sheets_for_app: Mapping[str, Mapping[str, Decimal]]) -> Aggregate:
    """Aggregate one application's sheets (expert id -> indicator id -> points)."""
    if not sheets_for_app:
        raise ScoringError([("sheets", "no score sheets / 无专家评分表")])
    q = policy.scoring.quantum
    dims = policy.dimensions()
    dim_of = {r.id: r.dimension for r in policy.indicator_refs()}
    totals: dict[str, Decimal] = {}
    dim_values: dict[str, list[tuple[Decimal, str]]] = {d: [] for d in dims}
    for expert, sheet in sheets_for_app.items():
        subtotal = dict.fromkeys(dims, _ZERO)
        for iid, pts in sheet.items():
            subtotal[dim_of[iid]] += pts
        total = _ZERO
        for d in dims:
            total += subtotal[d]
            dim_values[d].append((subtotal[d], expert))
        totals[expert] = total
    n = len(totals)
    trim = n >= policy.scoring.trim_from_sheets
    final, dropped = _trimmed_mean([(t, e) for e, t in totals.items()], trim, q)
    dim_scores = {d: _trimmed_mean(dim_values[d], trim, q)[0] for d in dims}
    return Aggregate(
        final_score=final,
        dimension_scores=dim_scores,
        totals=totals,
        trimmed=dropped,
        flagged_experts=_flag_outliers(totals, policy.scoring.outlier_sd),
        sheet_count=n,
    )


def _sort_key(policy: Policy, cand: Candidate, agg: Aggregate) -> tuple[Any, ...]:
    key: list[Any] = [-agg.final_score]
    for tb in policy.scoring.tie_breakers:
        if tb == "submitted_at":
            key.append(cand.submitted_at.astimezone(_dt.UTC))
        else:
            key.append(-agg.dimension_scores[tb.split(":", 1)[1]])
    key.append(cand.application_id)
    return tuple(key)


def _decider(
    policy: Policy, a: tuple[Candidate, Aggregate], b: tuple[Candidate, Aggregate]
) -> tuple[str, str]:
    """Which tie-breaker separated two equal-score applications, and a human explanation."""
    (ca, aa), (cb, ab) = a, b
    for tb in policy.scoring.tie_breakers:
        if tb == "submitted_at":
            if ca.submitted_at != cb.submitted_at:
                return tb, (
                    f"submitted {ca.submitted_at.isoformat()} vs {cb.submitted_at.isoformat()} (earlier first) / 按提交时间"
                )
        else:
            d = tb.split(":", 1)[1]
            if aa.dimension_scores[d] != ab.dimension_scores[d]:
                return tb, (
                    f"dimension {d} {aa.dimension_scores[d]} vs {ab.dimension_scores[d]} (higher first) / 按维度{d}得分"
                )
    return "application_id", f"application id {ca.application_id} vs {cb.application_id} / 按申报编号"


def compute_proposal(
    policy: Policy,
    candidates: Sequence[Candidate],
    sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
    *,
    budget_fen: int | None = None,
) -> list[ProposalLine]:
    """Rank ``candidates`` by their aggregated expert scores and allocate awards (Art. 10-11)."""
    budget = policy.budget_fen if budget_fen is None else budget_fen
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise ValueError("budget_fen must be a non-negative integer")

    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for c in candidates:
        if c.application_id in seen:
            problems.append((c.application_id, "duplicate candidate / 重复的申报"))
        seen.add(c.application_id)
    for app_id in sheets:
        if app_id not in seen:
            problems.append((str(app_id), "score sheets for an application that is not a candidate"))
    for c in candidates:
        app_sheets = sheets.get(c.application_id)
        if not app_sheets:
            problems.append((c.application_id, "no score sheets / 无专家评分表"))
            continue
        for expert, sheet in app_sheets.items():
            problems += [(c.application_id, p) for p in _sheet_problems(policy, expert, sheet)]
    if problems:
        raise ScoringError(problems)

    scored = [(c, aggregate(policy, sheets[c.application_id])) for c in candidates]
    scored.sort(key=lambda ca: _sort_key(policy, ca[0], ca[1]))

    # tie-break explanations against the neighbours with the same final score
    above: list[tuple[str, str] | None] = [None] * len(scored)
    below: list[tuple[str, str] | None] = [None] * len(scored)
    for i in range(1, len(scored)):
        if scored[i][1].final_score == scored[i - 1][1].final_score:
            decided = _decider(policy, scored[i - 1], scored[i])
            above[i] = decided
            below[i - 1] = decided

    tiers = policy.tiers
    tier_used = {t.key: 0 for t in tiers}
    cap = policy.award_cap_fen
    remaining = budget
    awards = 0
    stopped_by: str | None = None  # set once allocation stops
    lines: list[ProposalLine] = []
    q = policy.scoring.quantum
    for idx, (cand, agg) in enumerate(scored):
        rank = idx + 1
        parts = [f"第{rank}名 rank {rank}"]
        breakdown = " ".join(f"{d}:{v}" for d, v in agg.dimension_scores.items())
        if agg.trimmed:
            how = f"mean of {agg.sheet_count - 2} of {agg.sheet_count} sheets, dropped low {agg.trimmed[0]} / high {agg.trimmed[1]}"
        else:
            how = f"mean of {agg.sheet_count} sheet(s), untrimmed"
        parts.append(f"score 得分 {agg.final_score} ({how}; dimensions {breakdown})")
        tie_break = None
        if above[idx]:
            tie_break = above[idx][0]
            parts.append(f"tie with rank {rank - 1} broken by {above[idx][1]}")
        if below[idx]:
            tie_break = tie_break or below[idx][0]
            parts.append(f"tie with rank {rank + 1} broken by {below[idx][1]}")
        if agg.flagged_experts:
            parts.append(f"outlier experts flagged 离群专家: {', '.join(agg.flagged_experts)}")

        tier_key = NONE_TIER
        for t in tiers:
            if agg.final_score < t.min_score:
                continue
            if t.max_count is not None and tier_used[t.key] >= t.max_count:
                parts.append(f"{t.name} {t.key} full ({t.max_count} of {t.max_count})")
                continue
            tier_key = t.key
            tier_used[t.key] += 1
            count = f" ({tier_used[t.key]} of {t.max_count})" if t.max_count is not None else ""
            parts.append(f"{agg.final_score} >= {t.min_score.quantize(q)} {t.name} {t.key}{count}")
            break
        amount = 0
        reserve = False
        if tier_key == NONE_TIER:
            lowest = tiers[-1].min_score.quantize(q)
            parts.append(f"{agg.final_score} < {lowest}: no tier 未达等级")
        else:
            tier = policy.tier(tier_key)
            wanted = min(tier.amount_fen, cap)
            if stopped_by is None and awards >= policy.quota:
                stopped_by = f"quota of {policy.quota} awards reached 名额已满"
            if stopped_by is None and wanted > remaining:
                stopped_by = (
                    f"{format_yuan(wanted)} yuan would exceed the remaining budget "
                    f"{format_yuan(remaining)} yuan at rank {rank}: allocation stopped 预算不足，停止分配"
                )
            if stopped_by is None:
                amount = wanted
                remaining -= wanted
                awards += 1
                capped = " (capped at award cap)" if wanted < tier.amount_fen else ""
                parts.append(
                    f"award 奖补 {format_yuan(amount)} yuan{capped} (award {awards} of max {policy.quota})"
                )
            else:
                reserve = True
                parts.append(f"reserve 候补: {stopped_by}")
        parts.append(f"budget left 剩余预算 {format_yuan(remaining)} yuan")
        lines.append(
            ProposalLine(
                application_id=cand.application_id,
                enterprise=cand.enterprise,
                city=cand.city,
                rank=rank,
                final_score=agg.final_score,
                dimension_scores=dict(agg.dimension_scores),
                tier=tier_key,
                amount_fen=amount,
                reserve=reserve,
                reason="; ".join(parts),
                budget_left_fen=remaining,
                tie_break=tie_break,
                flagged_experts=agg.flagged_experts,
            )
        )
    return lines


def proposal_to_json_rows(lines: Sequence[ProposalLine]) -> list[dict[str, Any]]:
    """JSON-ready rows: scores as strings (exact), money as integer fen."""
    return [
        {
            "application_id": ln.application_id,
            "rank": ln.rank,
            "enterprise": ln.enterprise,
            "city": ln.city,
            "final_score": str(ln.final_score),
            "dimension_scores": {d: str(v) for d, v in ln.dimension_scores.items()},
            "tier": ln.tier,
            "amount_fen": ln.amount_fen,
            "reserve": ln.reserve,
            "reason": ln.reason,
            "budget_left_fen": ln.budget_left_fen,
            "tie_break": ln.tie_break,
            "flagged_experts": list(ln.flagged_experts),
        }
        for ln in lines
    ]
