"""Reference implementation of the ranking engine: the straightforward ranking over
``aggregate()`` — all Decimal — as ``compute_proposal`` was before the integer fast path (issue #4),
so that tests can check the optimised engine gives byte-identical results.

Only the ranking and allocation are kept here; the types, sheet validation and the per-application
aggregation are the production ones (``services/review/domain/scoring.py`` still computes them the
plain way), so the oracle is the rules as ``aggregate()`` states them, not a second copy of them."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from services.review.domain.scoring import (
    NONE_TIER,
    Aggregate,
    Candidate,
    ProposalLine,
    ScoringError,
    _sheet_problems,
    aggregate,
    format_yuan,
    proposal_to_json_rows,
)

if TYPE_CHECKING:  # pragma: no cover
    from aicc.platform.policy import Policy

__all__ = ["Candidate", "ProposalLine", "ScoringError", "compute_proposal", "proposal_to_json_rows"]


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


def compute_proposal(  # noqa: C901 - the oracle stays one straightforward reading of the rules
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
        tie_above, tie_below = above[idx], below[idx]
        if tie_above:
            tie_break = tie_above[0]
            parts.append(f"tie with rank {rank - 1} broken by {tie_above[1]}")
        if tie_below:
            tie_break = tie_break or tie_below[0]
            parts.append(f"tie with rank {rank + 1} broken by {tie_below[1]}")
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
