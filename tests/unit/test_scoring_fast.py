"""The integer fast path of compute_proposal gives byte-identical results to the former
all-Decimal engine (kept verbatim in ``_scoring_reference``), on generated data sets with many
ties, trimmed and untrimmed panels, outliers, scores written with 0-2 decimals, a binding budget;
and reports exactly the same problems for bad input."""

import datetime as dt
import json
import random
from decimal import Decimal as D

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
    assert any("dropped low" in ln.reason for ln in fast) and any("untrimmed" in ln.reason for ln in fast)


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
