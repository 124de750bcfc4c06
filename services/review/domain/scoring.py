"""Expert scoring, ranking and award allocation (Art. 9-11) — pure functions, no I/O.

Rules (all parameters come from the :class:`~aicc.platform.policy.Policy`):

* **Final score** — each expert's sheet total is the sum of the indicator points; the final
  score is the mean of the totals after dropping ONE highest and ONE lowest total when the
  application has at least ``scoring.trim_from_sheets`` sheets (no trimming below that), rounded
  ROUND_HALF_UP to ``scoring.decimals`` places. Dimension scores are aggregated the same way,
  trimming each dimension's subtotals independently. Which expert is "the highest" among equal
  totals is decided by expert id (lowest id dropped as lowest, highest id as highest), so the
  result never depends on input order. Arithmetic is exact :class:`~decimal.Decimal`.
* **Outlier flag** — an expert whose total differs from the panel mean (all sheets, before
  trimming) by more than ``scoring.outlier_sd`` POPULATION standard deviations is flagged.
  Population, not sample, sd: the panel is the whole population being examined, not a sample
  of a larger one; and with the usual 7 experts a single deviant total can be at most
  (n-1)/sqrt(n) = 2.27 population sd from the mean but only (n-1)^1.5/n = 2.10 sample sd, so a
  2-sd rule on sample sd would almost never fire. Flags inform the reviewers; they change nothing.
* **Ranking** — final score descending; ties broken by ``scoring.tie_breakers`` in order
  ("dimension:N": higher aggregated dimension score first; "submitted_at": earlier first), then
  by application id, so the order is a total order independent of input order.
* **Tiers** — in rank order, the first tier (policy order, descending min_score) whose min_score
  the score reaches and whose max_count is not yet used up; otherwise "none".
* **Allocation** — strictly in rank order, at most ``quota`` awards; amount = tier amount, never
  above ``award_cap``. The FIRST award that would exceed the remaining budget stops allocation:
  no later (even cheaper) award is funded. Qualifying applications left unfunded are reserve
  (候补), in rank order, amount 0.

:func:`compute_proposal` is the two steps in turn: :func:`rank` (sheets checked, aggregated, ordered,
ties explained) then :func:`allocate` (tiers, quota, cap, budget), each usable on its own.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from aicc.platform.policy import Policy

__all__ = [
    "Aggregate",
    "Candidate",
    "ProposalLine",
    "RankedApplication",
    "ScoringError",
    "aggregate",
    "allocate",
    "compute_proposal",
    "format_yuan",
    "proposal_to_json_rows",
    "rank",
    "validate_sheet",
]

NONE_TIER = "none"
_CTX = decimal.Context(prec=60, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)
_DEC_STR = Decimal.__str__


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


def _indicator_problems(
    policy: Policy, iid: str, scores: Mapping[str, Decimal], justifications: Mapping[str, str]
) -> list[str]:
    """The problems with one indicator's score on a sheet."""
    if iid not in scores:
        return ["score missing / 缺少评分"]
    pts = scores[iid]
    if isinstance(pts, bool) or not isinstance(pts, Decimal | int):
        return [f"points must be a Decimal, got {type(pts).__name__}"]
    pts = Decimal(pts)
    if not pts.is_finite():
        return ["points must be a finite number"]
    mx = policy.indicator(iid).max_points
    if pts < 0 or pts > mx:
        return [f"{pts} is outside 0..{mx} / 超出分值范围"]
    out = []
    if _places(pts) > policy.scoring.decimals:
        out.append(f"{pts} has more than {policy.scoring.decimals} decimal places / 小数位数过多")
    below, above = policy.scoring.justification_below, policy.scoring.justification_above
    frac = _CTX.divide(pts, mx)
    if (frac < below or frac > above) and not (justifications.get(iid) or "").strip():
        out.append(
            f"{pts} of {mx} is below {_pct(below)} or above {_pct(above)} of the maximum: "
            "a justification is required / 分值低于或高于阈值，须填写评分理由"
        )
    return out


def validate_sheet(
    policy: Policy, scores: Mapping[str, Decimal], justifications: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Problems with one expert's sheet as ``(indicator id or field, problem)``; [] if valid."""
    problems: list[tuple[str, str]] = []
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
        problems += [(iid, p) for p in _indicator_problems(policy, iid, scores, justifications)]
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


# ------------------------------------------------------------------------- integer fast path
#
# The ranking step (:func:`rank`) works in integer units of the policy's last decimal place (hundredths for
# ``decimals: 2``): every valid point is an exact integer there, so sums, trimmed means,
# ROUND_HALF_UP and the outlier test are exact integer arithmetic, and Decimals are made only for
# the results. It gives exactly what :func:`aggregate` (the plain Decimal statement of the rules)
# gives; tests/unit/test_scoring_fast.py checks that byte for byte against the former all-Decimal
# engine. Whenever a sheet is not plainly valid, the engine falls back to the Decimal checks, so
# error reports are unchanged too.


class _Engine:
    """What the ranking step needs from the policy, precomputed once per call.

    A valid point is remembered, per indicator, by its exact text (``Decimal.__str__``, which
    also refuses anything that is not a Decimal: equal text means equal value AND exponent, and
    hashing text is far cheaper than hashing Decimals) as its integer units placed in its
    dimension's FIELD_BITS-wide field of one integer. Summing a sheet's 15 remembered values then
    gives all its dimension subtotals at once; a subtotal never exceeds 100 points
    = 10**(2 + decimals) <= 10**6 units < 2**FIELD_BITS, so fields never overflow into each other.
    """

    FIELD_BITS = 32

    def __init__(self, policy: Policy) -> None:
        refs = policy.indicator_refs()
        self.policy = policy
        self.decimals = policy.scoring.decimals
        if 10 ** (2 + self.decimals) >= 2**self.FIELD_BITS:
            raise ValueError(f"{self.decimals} decimals do not fit the packed score fields")
        self.dims = policy.dimensions()
        dim_index = {d: i for i, d in enumerate(self.dims)}
        self.ids = [r.id for r in refs]
        self.n_ind = len(refs)
        self.maxima = [r.max_points for r in refs]
        self.field_shift = [self.FIELD_BITS * dim_index[r.dimension] for r in refs]
        self.shifts = [self.FIELD_BITS * i for i in range(len(self.dims))]
        self.mask = (1 << self.FIELD_BITS) - 1
        ids = self.ids
        self.getter = itemgetter(*ids) if len(ids) > 1 else (lambda s: (s[ids[0]],))
        self.memos: list[dict[str, int]] = [{} for _ in refs]
        self.trim_from = policy.scoring.trim_from_sheets
        kn, kd = policy.scoring.outlier_sd.as_integer_ratio()
        self.k2 = (kn * kn, kd * kd)  # k**2 as a fraction
        self._dec: dict[int, Decimal] = {}

    def dec(self, units: int) -> Decimal:
        """Integer units -> the Decimal that ``quantize(quantum, ROUND_HALF_UP)`` would give."""
        d = self._dec.get(units)
        if d is None:
            d = self._dec[units] = Decimal(units).scaleb(-self.decimals, _CTX)
        return d

    def _learn(self, i: int, pts: Any) -> int | None:
        """Checks one point as _sheet_problems does; a valid one is remembered."""
        if not isinstance(pts, Decimal) or not pts.is_finite():
            return None
        if pts < 0 or pts > self.maxima[i] or _places(pts) > self.decimals:
            return None
        units = int(pts.scaleb(self.decimals, _CTX))
        v = self.memos[i][_DEC_STR(pts)] = units << self.field_shift[i]
        return v

    def packed(self, sheet: Mapping[str, Decimal]) -> int | None:
        """The sheet's dimension subtotals packed in one integer; None unless plainly valid
        (then :func:`_sheet_problems` decides)."""
        try:
            if len(sheet) != self.n_ind:
                return None
            vals = self.getter(sheet)
            hs: list[Any] = list(map(dict.get, self.memos, map(_DEC_STR, vals)))
        except Exception:  # noqa: BLE001 - a missing indicator, not a Decimal...
            return None
        if None in hs:
            for i, h in enumerate(hs):
                if h is None:
                    h = self._learn(i, vals[i])
                    if h is None:
                        return None
                    hs[i] = h
        return sum(hs)

    def packed_checked(self, sheet: Mapping[str, Decimal]) -> int:
        """Packed subtotals of a sheet that _sheet_problems found valid (odd types allowed)."""
        return sum(
            int(sheet[iid].scaleb(self.decimals, _CTX)) << sh
            for iid, sh in zip(self.ids, self.field_shift, strict=True)
        )


def _round_mean(total: int, count: int) -> int:
    """ROUND_HALF_UP(total / count) for integers (half away from zero, as Decimal does)."""
    if total >= 0:
        return (2 * total + count) // (2 * count)
    return -((-2 * total + count) // (2 * count))


@dataclass(frozen=True, slots=True)
class _Scored:
    cand: Candidate
    final: int  # integer units
    dims: tuple[int, ...]  # integer units, policy dimension order
    trimmed: tuple[str, ...]
    flagged: tuple[str, ...]
    sheet_count: int


def _aggregate_units(eng: _Engine, cand: Candidate, experts: list[str], packed: list[int]) -> _Scored:
    """The integer twin of :func:`aggregate` (same trimming, tie order, rounding and flags)."""
    n = len(packed)
    mask = eng.mask
    cols = [[(p >> sh) & mask for p in packed] for sh in eng.shifts]  # per dimension
    sheet_totals = list(map(sum, zip(*cols, strict=True)))
    total = sum(sheet_totals)
    if n >= eng.trim_from:
        totals = list(zip(sheet_totals, experts, strict=True))
        lo, hi = min(totals), max(totals)  # lowest id among the lowest, highest among the highest
        m = n - 2
        final = _round_mean(total - lo[0] - hi[0], m)
        dims = tuple(_round_mean(sum(c) - min(c) - max(c), m) for c in cols)
        trimmed: tuple[str, ...] = (lo[1], hi[1])
    else:
        final = _round_mean(total, n)
        dims = tuple(_round_mean(sum(c), n) for c in cols)
        trimmed = ()
    flagged: tuple[str, ...] = ()
    if n >= 2:
        # |t - mean| > k * pop_sd  <=>  (n t - S)**2 > k**2 (n Q - S**2), here with k**2 = kn / kd
        var_n2 = n * sum(t * t for t in sheet_totals) - total * total
        if var_n2 > 0:
            kn, kd = eng.k2
            bound = kn * var_n2
            flagged = tuple(
                sorted(
                    e for t, e in zip(sheet_totals, experts, strict=True) if (n * t - total) ** 2 * kd > bound
                )
            )
    return _Scored(cand, final, dims, trimmed, flagged, n)


def _decider(eng: _Engine, a: _Scored, b: _Scored) -> tuple[str, str]:
    """Which tie-breaker separated two equal-score applications, and a human explanation."""
    ca, cb = a.cand, b.cand
    for tb in eng.policy.scoring.tie_breakers:
        if tb == "submitted_at":
            if ca.submitted_at != cb.submitted_at:
                return tb, (
                    f"submitted {ca.submitted_at.isoformat()} vs {cb.submitted_at.isoformat()} (earlier first) / 按提交时间"
                )
        else:
            d = tb.split(":", 1)[1]
            i = eng.dims.index(d)
            if a.dims[i] != b.dims[i]:
                return tb, (
                    f"dimension {d} {eng.dec(a.dims[i])} vs {eng.dec(b.dims[i])} (higher first) / 按维度{d}得分"
                )
    return "application_id", f"application id {ca.application_id} vs {cb.application_id} / 按申报编号"


@dataclass(frozen=True, slots=True)
class RankedApplication:
    """One application in rank order: what the ranking step decides, before tiers and money."""

    candidate: Candidate
    rank: int
    final_score: Decimal
    dimension_scores: dict[str, Decimal]
    # The tie-breaker that separated it from an equal-score neighbour, None when not tied.
    tie_break: str | None
    flagged_experts: tuple[str, ...]
    # The ranking part of the line's reason: rank, score and how it was aggregated, ties, outliers.
    explanation: tuple[str, ...]


def _budget(policy: Policy, budget_fen: int | None) -> int:
    budget = policy.budget_fen if budget_fen is None else budget_fen
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise ValueError("budget_fen must be a non-negative integer")
    return budget


def _candidate_problems(
    candidates: Sequence[Candidate], sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for c in candidates:
        if c.application_id in seen:
            problems.append((c.application_id, "duplicate candidate / 重复的申报"))
        seen.add(c.application_id)
    for app_id in sheets:
        if app_id not in seen:
            problems.append((str(app_id), "score sheets for an application that is not a candidate"))
    return problems


def _packed_sheets(
    eng: _Engine, app_sheets: Mapping[str, Mapping[str, Decimal]]
) -> tuple[list[str], list[int], list[str]]:
    """One application's sheets packed for aggregation: (experts, packed sheets, problems)."""
    experts: list[str] = []
    packed: list[int] = []
    problems: list[str] = []
    for expert, sheet in app_sheets.items():
        p = eng.packed(sheet)
        if p is None:
            found = _sheet_problems(eng.policy, expert, sheet)
            if found:
                problems += found
                continue
            p = eng.packed_checked(sheet)
        experts.append(expert)
        packed.append(p)
    return experts, packed, problems


def _scored(
    eng: _Engine,
    candidates: Sequence[Candidate],
    sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
) -> list[_Scored]:
    """Every candidate's aggregate; raises :class:`ScoringError` listing every problem found."""
    problems = _candidate_problems(candidates, sheets)
    scored: list[_Scored] = []
    for c in candidates:
        app_sheets = sheets.get(c.application_id)
        if not app_sheets:
            problems.append((c.application_id, "no score sheets / 无专家评分表"))
            continue
        experts, packed, found = _packed_sheets(eng, app_sheets)
        problems += [(c.application_id, x) for x in found]
        if not problems:
            scored.append(_aggregate_units(eng, c, experts, packed))
    if problems:
        raise ScoringError(problems)
    return scored


def rank(
    policy: Policy,
    candidates: Sequence[Candidate],
    sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
) -> list[RankedApplication]:
    """The ranking step: checks every sheet, aggregates each application's sheets and orders the
    applications by final score, then the tie-breakers, then application id (a total order)."""
    eng = _Engine(policy)
    scored = _scored(eng, candidates, sheets)

    tie_keys: list[int | None] = [
        None if tb == "submitted_at" else eng.dims.index(tb.split(":", 1)[1])
        for tb in policy.scoring.tie_breakers
    ]

    def sort_key(s: _Scored) -> tuple[Any, ...]:
        key: list[Any] = [-s.final]
        for i in tie_keys:
            key.append(s.cand.submitted_at.astimezone(_dt.UTC) if i is None else -s.dims[i])
        key.append(s.cand.application_id)
        return tuple(key)

    scored.sort(key=sort_key)

    # tie-break explanations against the neighbours with the same final score
    above: list[tuple[str, str] | None] = [None] * len(scored)
    below: list[tuple[str, str] | None] = [None] * len(scored)
    for i in range(1, len(scored)):
        if scored[i].final == scored[i - 1].final:
            decided = _decider(eng, scored[i - 1], scored[i])
            above[i] = decided
            below[i - 1] = decided

    ranking: list[RankedApplication] = []
    dims = eng.dims
    dec = eng.dec
    for idx, s in enumerate(scored):
        final_score = dec(s.final)
        dimension_scores = {d: dec(v) for d, v in zip(dims, s.dims, strict=True)}
        place = idx + 1
        parts = [f"第{place}名 rank {place}"]
        breakdown = " ".join(f"{d}:{v}" for d, v in dimension_scores.items())
        if s.trimmed:
            how = f"mean of {s.sheet_count - 2} of {s.sheet_count} sheets, dropped low {s.trimmed[0]} / high {s.trimmed[1]}"
        else:
            how = f"mean of {s.sheet_count} sheet(s), untrimmed"
        parts.append(f"score 得分 {final_score} ({how}; dimensions {breakdown})")
        tie_break = None
        tie_above, tie_below = above[idx], below[idx]
        if tie_above:
            tie_break = tie_above[0]
            parts.append(f"tie with rank {place - 1} broken by {tie_above[1]}")
        if tie_below:
            tie_break = tie_break or tie_below[0]
            parts.append(f"tie with rank {place + 1} broken by {tie_below[1]}")
        if s.flagged:
            parts.append(f"outlier experts flagged 离群专家: {', '.join(s.flagged)}")
        ranking.append(
            RankedApplication(
                candidate=s.cand,
                rank=place,
                final_score=final_score,
                dimension_scores=dimension_scores,
                tie_break=tie_break,
                flagged_experts=s.flagged,
                explanation=tuple(parts),
            )
        )
    return ranking


def allocate(
    policy: Policy, ranking: Sequence[RankedApplication], *, budget_fen: int | None = None
) -> list[ProposalLine]:
    """The allocation step, strictly in rank order: each application's tier, then its award under
    the quota, the award cap and the budget (the first award that does not fit stops allocation;
    qualifying applications left unfunded are reserve)."""
    budget = _budget(policy, budget_fen)
    tiers = policy.tiers
    tier_used = {t.key: 0 for t in tiers}
    q = policy.scoring.quantum
    tier_min = {t.key: t.min_score.quantize(q) for t in tiers}
    lowest = tiers[-1].min_score.quantize(q)
    cap = policy.award_cap_fen
    remaining = budget
    awards = 0
    stopped_by: str | None = None  # set once allocation stops
    lines: list[ProposalLine] = []
    for r in ranking:
        cand = r.candidate
        final_score = r.final_score
        parts = list(r.explanation)

        tier_key = NONE_TIER
        tier = None
        for t in tiers:
            if final_score < t.min_score:
                continue
            if t.max_count is not None and tier_used[t.key] >= t.max_count:
                parts.append(f"{t.name} {t.key} full ({t.max_count} of {t.max_count})")
                continue
            tier_key = t.key
            tier = t
            tier_used[t.key] += 1
            count = f" ({tier_used[t.key]} of {t.max_count})" if t.max_count is not None else ""
            parts.append(f"{final_score} >= {tier_min[t.key]} {t.name} {t.key}{count}")
            break
        amount = 0
        reserve = False
        if tier is None:
            parts.append(f"{final_score} < {lowest}: no tier 未达等级")
        else:
            wanted = min(tier.amount_fen, cap)
            if stopped_by is None and awards >= policy.quota:
                stopped_by = f"quota of {policy.quota} awards reached 名额已满"
            if stopped_by is None and wanted > remaining:
                stopped_by = (
                    f"{format_yuan(wanted)} yuan would exceed the remaining budget "
                    f"{format_yuan(remaining)} yuan at rank {r.rank}: allocation stopped 预算不足，停止分配"
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
                rank=r.rank,
                final_score=final_score,
                dimension_scores=r.dimension_scores,
                tier=tier_key,
                amount_fen=amount,
                reserve=reserve,
                reason="; ".join(parts),
                budget_left_fen=remaining,
                tie_break=r.tie_break,
                flagged_experts=r.flagged_experts,
            )
        )
    return lines


def compute_proposal(
    policy: Policy,
    candidates: Sequence[Candidate],
    sheets: Mapping[str, Mapping[str, Mapping[str, Decimal]]],
    *,
    budget_fen: int | None = None,
) -> list[ProposalLine]:
    """Rank ``candidates`` by their aggregated expert scores and allocate awards (Art. 10-11):
    :func:`rank`, then :func:`allocate`. The budget is checked before anything is ranked."""
    budget = _budget(policy, budget_fen)
    return allocate(policy, rank(policy, candidates, sheets), budget_fen=budget)


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
