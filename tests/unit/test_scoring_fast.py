"""The integer fast path of compute_proposal gives byte-identical results to the former
all-Decimal engine (kept verbatim in ``_scoring_reference``), on generated data sets with many
ties, trimmed and untrimmed panels, outliers, scores written with 0-2 decimals, a binding budget;
and reports exactly the same problems for bad input."""

import ast
import datetime as dt
import json
import random
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.review.domain import scoring

from . import _scoring_reference as reference
from ._scoring_helpers import POLICY

TZ = dt.timezone(dt.timedelta(hours=8))


def _point(rnd: random.Random, mx: D, quality: float) -> D:
    frac = min(1.0, max(0.0, rnd.gauss(quality, 0.1)))
    pts = (mx * D(str(round(frac, 2)))).quantize(D("0.01"))
    form = rnd.random()
    if form < 0.2 and pts == pts.to_integral_value():
        return pts.quantize(D(1))  # "8"
    if form < 0.4 and pts == pts.quantize(D("0.1")):
        return pts.quantize(D("0.1"))  # "8.5"
    return pts  # "8.50"


def generate(seed: int, n_apps: int, *, policy=POLICY):
    rnd = random.Random(seed)
    t0 = dt.datetime(2026, 3, 1, 9, tzinfo=TZ)
    refs = policy.indicator_refs()
    cands, sheets = [], {}
    for i in range(n_apps):
        app = f"APP-{rnd.randrange(10**6):06d}-{i}"
        # few distinct timestamps and coarse qualities: plenty of exact ties
        cands.append(scoring.Candidate(app, f"企业{i}", "济南市", t0 + dt.timedelta(hours=rnd.randrange(4))))
        quality = rnd.choice([0.55, 0.7, 0.8, 0.85, 0.9, 0.95, rnd.uniform(0.5, 1.0)])
        experts = rnd.choice([1, 2, 3, 4, 5, 7, 7, 7, 9])
        per_expert = {}
        for e in rnd.sample(range(40), experts):
            if rnd.random() < 0.3:  # a copy of an earlier sheet: equal totals
                per_expert[f"E{e:02d}"] = dict(next(iter(per_expert.values()), None) or {})
            if not per_expert.get(f"E{e:02d}"):
                q = quality if rnd.random() > 0.1 else rnd.uniform(0.0, 0.4)  # an outlier now and then
                per_expert[f"E{e:02d}"] = {r.id: _point(rnd, r.max_points, q) for r in refs}
        sheets[app] = per_expert
    return cands, sheets


def _json(module, lines) -> str:
    return json.dumps(module.proposal_to_json_rows(lines), ensure_ascii=False, indent=2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("budget", [None, 0, 7_000_000_00, 25_000_000_00])
def test_fast_path_is_byte_identical_to_the_reference(seed, budget):
    cands, sheets = generate(seed, 400)
    fast = scoring.compute_proposal(POLICY, cands, sheets, budget_fen=budget)
    ref = reference.compute_proposal(POLICY, cands, sheets, budget_fen=budget)
    assert _json(scoring, fast) == _json(reference, ref)
    # the data set exercised what it should
    assert any(ln.tie_break for ln in fast)
    assert any(ln.flagged_experts for ln in fast)
    assert any("dropped low" in ln.reason for ln in fast)
    assert any("untrimmed" in ln.reason for ln in fast)


def test_fast_path_is_identical_on_the_property_scenarios_policy_variants():
    """Other policies: 1 and 3 decimals, another trimming threshold and outlier bound."""
    data = POLICY.to_jsonable()
    for decimals, trim, sd in ((1, 3, "1.5"), (3, 7, "2.25")):
        data["scoring"] = {
            **data["scoring"],
            "decimals": decimals,
            "trim_from_sheets": trim,
            "outlier_sd": sd,
        }
        policy = type(POLICY).from_json(json.dumps(data, ensure_ascii=False))
        cands, sheets = generate(11, 200, policy=policy)
        q = policy.scoring.quantum
        sheets = {
            a: {
                e: {i: p.quantize(q) if -p.as_tuple().exponent > decimals else p for i, p in s.items()}
                for e, s in per.items()
            }
            for a, per in sheets.items()
        }
        fast = scoring.compute_proposal(policy, cands, sheets)
        ref = reference.compute_proposal(policy, cands, sheets)
        assert _json(scoring, fast) == _json(reference, ref)


class SubDecimal(D):
    pass


def _problems(module, cands, sheets):
    with pytest.raises(module.ScoringError) as e:
        module.compute_proposal(POLICY, cands, sheets)
    return e.value.problems


@pytest.mark.parametrize(
    "bad",
    [
        D("3.500"),  # too many places though equal to a valid value
        D("-0.01"),
        D("1000"),
        D("NaN"),
        D("sNaN"),
        D("Infinity"),
        3,  # an int equal to a valid value
        3.5,  # a float equal to a valid value
        "3.5",
        None,
        [1],
    ],
    ids=repr,
)
def test_bad_points_give_the_same_problems(bad):
    cands, sheets = generate(7, 5)
    app = cands[2].application_id
    expert = next(iter(sheets[app]))
    sheets[app][expert] = {**sheets[app][expert], "1.1": bad}
    assert _problems(scoring, cands, sheets) == _problems(reference, cands, sheets)


def test_missing_and_unknown_indicators_and_odd_sheets_give_the_same_problems():
    cands, sheets = generate(8, 6)
    a0, a1, a2 = (c.application_id for c in cands[:3])
    e0 = next(iter(sheets[a0]))
    del sheets[a0][e0]["2.1"]
    e1 = next(iter(sheets[a1]))
    sheets[a1][e1]["9.9"] = D(1)
    sheets[a2] = {}
    sheets["stray"] = sheets[cands[3].application_id]
    assert _problems(scoring, cands, sheets) == _problems(reference, cands, sheets)


def test_decimal_subclass_points_are_accepted_as_before():
    cands, sheets = generate(9, 30)
    app = cands[0].application_id
    for e in sheets[app]:
        sheets[app][e] = {i: SubDecimal(p) for i, p in sheets[app][e].items()}
    fast = scoring.compute_proposal(POLICY, cands, sheets)
    ref = reference.compute_proposal(POLICY, cands, sheets)
    assert _json(scoring, fast) == _json(reference, ref)


def test_compute_proposal_is_rank_then_allocate():
    """The two steps compose to the whole engine, and the ranking alone already fixes the order,
    scores, ties and outlier flags that the reference gives (money aside)."""
    cands, sheets = generate(12, 300)
    ranking = scoring.rank(POLICY, cands, sheets)
    for budget in (None, 0, 7_000_000_00):
        assert _json(scoring, scoring.allocate(POLICY, ranking, budget_fen=budget)) == _json(
            scoring, scoring.compute_proposal(POLICY, cands, sheets, budget_fen=budget)
        )
    ref = reference.compute_proposal(POLICY, cands, sheets)
    assert [(r.candidate.application_id, r.rank, r.final_score, r.dimension_scores) for r in ranking] == [
        (ln.application_id, ln.rank, ln.final_score, ln.dimension_scores) for ln in ref
    ]
    assert [(r.tie_break, r.flagged_experts) for r in ranking] == [
        (ln.tie_break, ln.flagged_experts) for ln in ref
    ]
    assert all(ln.reason.startswith("; ".join(r.explanation)) for r, ln in zip(ranking, ref, strict=True))


def test_allocate_refuses_a_bad_budget_and_compute_proposal_checks_it_before_ranking():
    cands, sheets = generate(13, 5)
    ranking = scoring.rank(POLICY, cands, sheets)
    with pytest.raises(ValueError, match="budget_fen"):
        scoring.allocate(POLICY, ranking, budget_fen=-1)
    sheets["stray"] = {}  # a ScoringError, were the sheets looked at first
    with pytest.raises(ValueError, match="budget_fen"):
        scoring.compute_proposal(POLICY, cands, sheets, budget_fen=-1)


def test_the_reference_imports_no_ranking_or_allocation_code_of_production():
    """The oracle shares the types, the sheet checks and the per-application aggregation with
    production, never its ranking or allocation: otherwise it would agree with any bug there."""
    tree = ast.parse((Path(__file__).parent / "_scoring_reference.py").read_text(encoding="utf-8"))
    shared = {"NONE_TIER", "Aggregate", "Candidate", "ProposalLine", "ScoringError", "_sheet_problems"}
    shared |= {"aggregate", "format_yuan", "proposal_to_json_rows"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("services."):
            assert node.module == "services.review.domain.scoring", node.module
            assert {a.name for a in node.names} <= shared, {a.name for a in node.names} - shared
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("services") for a in node.names)
