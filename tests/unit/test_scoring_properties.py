"""Property tests of the ranking and allocation engine (hypothesis)."""

import random
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.review.domain.scoring import compute_proposal

from ._scoring_helpers import POLICY, cand, sheet, sheet_dims

# few distinct values -> many ties, so the tie-breakers are exercised
TOTALS = st.sampled_from(["95", "92.5", "90", "89.99", "85", "80", "79.99", "60"])
SPLITS = st.sampled_from([(15, 35), (10, 35), (15, 30), (5, 20)])  # (d1, d2) caps for variety


@st.composite
def scenarios(draw):
    n = draw(st.integers(min_value=0, max_value=24))
    cands, sheets = [], {}
    for i in range(n):
        app = f"A{i:02d}"
        cands.append(cand(app, minutes=draw(st.integers(0, 3))))
        experts = draw(st.integers(1, 7))
        app_sheets = {}
        for e in range(experts):
            total = D(draw(TOTALS))
            if draw(st.booleans()):
                app_sheets[f"E{e}"] = sheet(total)
            else:  # same total, different dimension mix
                d1, d2 = draw(SPLITS)
                rest = total - d1 - d2
                if rest < 0 or rest > 50:
                    app_sheets[f"E{e}"] = sheet(total)
                else:
                    d3 = min(rest, D(25))
                    rest -= d3
                    d4 = min(rest, D(10))
                    app_sheets[f"E{e}"] = sheet_dims(d1=d1, d2=d2, d3=d3, d4=d4, d5=rest - d4)
        sheets[app] = app_sheets
    budget = draw(st.one_of(st.none(), st.integers(0, 25_000_000).map(lambda y: y * 100)))
    seed = draw(st.integers(0, 2**32 - 1))
    return cands, sheets, budget, seed


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_ranking_invariant_under_input_permutation(sc):
    cands, sheets, budget, seed = sc
    rnd = random.Random(seed)
    shuffled = cands[:]
    rnd.shuffle(shuffled)
    items = list(sheets.items())
    rnd.shuffle(items)
    shuffled_sheets = {}
    for app, per_expert in items:
        experts = list(per_expert.items())
        rnd.shuffle(experts)
        shuffled_sheets[app] = {e: dict(reversed(list(s.items()))) for e, s in experts}
    assert compute_proposal(POLICY, cands, sheets, budget_fen=budget) == compute_proposal(
        POLICY, shuffled, shuffled_sheets, budget_fen=budget
    )


@SETTINGS
@given(scenarios())
def test_allocation_respects_budget_cap_quota_and_rank_order(sc):
    cands, sheets, budget, _ = sc
    lines = compute_proposal(POLICY, cands, sheets, budget_fen=budget)
    budget_fen = POLICY.budget_fen if budget is None else budget
    assert [ln.rank for ln in lines] == list(range(1, len(lines) + 1))
    assert all(a.final_score >= b.final_score for a, b in zip(lines, lines[1:], strict=False))
    funded = [ln for ln in lines if ln.amount_fen > 0]
    assert sum(ln.amount_fen for ln in lines) <= budget_fen
    assert len(funded) <= POLICY.quota
    assert all(0 <= ln.amount_fen <= POLICY.award_cap_fen for ln in lines)
    assert sum(ln.tier == "excellent" for ln in lines) <= 5
    spent = 0
    for ln in lines:
        spent += ln.amount_fen
        assert ln.budget_left_fen == budget_fen - spent
        qualifies = ln.tier != "none"
        assert ln.reserve == (qualifies and ln.amount_fen == 0)
        if ln.amount_fen:
            assert ln.amount_fen == POLICY.tier(ln.tier).amount_fen
        if ln.tier == "none":
            assert ln.final_score < D(80)
    # no lower-ranked application is funded while a higher-ranked qualifying one is not
    first_unfunded = next((ln.rank for ln in lines if ln.reserve), None)
    if first_unfunded is not None:
        assert all(ln.amount_fen == 0 for ln in lines if ln.rank > first_unfunded)
