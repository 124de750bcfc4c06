import datetime as dt
from decimal import Decimal as D

import pytest

from services.review.domain.scoring import (
    Candidate,
    ScoringError,
    aggregate,
    compute_proposal,
    proposal_to_json_rows,
    validate_sheet,
)

from ._scoring_helpers import POLICY, cand, panel, sheet, sheet_dims

BIG = 10**15  # budget that never binds


# ------------------------------------------------------------------------------ aggregation


def test_no_trimming_with_four_sheets():
    agg = aggregate(POLICY, panel(80, 82, 84, 90))
    assert agg.final_score == D("84.00")  # (80+82+84+90)/4
    assert agg.trimmed == ()
    assert agg.sheet_count == 4


def test_trimming_with_five_sheets():
    agg = aggregate(POLICY, panel(80, 82, 84, 90, 70))
    assert agg.final_score == D("82.00")  # (80+82+84)/3, dropped 70 and 90
    assert agg.trimmed == ("E5", "E4")
    assert agg.totals == {"E1": D(80), "E2": D(82), "E3": D(84), "E4": D(90), "E5": D(70)}


def test_trimming_drops_only_one_of_equal_extremes():
    agg = aggregate(POLICY, panel(90, 90, 80, 80, 85))
    assert agg.final_score == D("85.00")  # (90+80+85)/3
    assert agg.trimmed == ("E3", "E2")  # lowest id among lowest, highest id among highest


def test_half_up_rounding():
    assert aggregate(POLICY, panel("89.99", "90.00", "89.99", "90.00")).final_score == D("90.00")  # 89.995
    assert aggregate(POLICY, panel("89.99", "90.00")).final_score == D("90.00")
    assert aggregate(POLICY, panel("80", "80", "80.01")).final_score == D("80.00")  # 80.00333
    assert aggregate(POLICY, panel("80", "80.02", "80.02")).final_score == D("80.01")  # 80.01333
    assert aggregate(POLICY, panel("70.01", "70.02")).final_score == D("70.02")  # 70.015 -> up


def test_dimension_scores_trim_independently():
    sheets = {
        "E1": sheet_dims(d1=15, d2=10),
        "E2": sheet_dims(d1=1, d2=35),
        "E3": sheet_dims(d1=5, d2=20),
        "E4": sheet_dims(d1=10, d2=20),
        "E5": sheet_dims(d1=6, d2=30),
    }
    agg = aggregate(POLICY, sheets)
    assert agg.dimension_scores["1"] == D("7.00")  # drop 1 and 15 -> (5+10+6)/3
    assert agg.dimension_scores["2"] == D("23.33")  # drop 10 and 35 -> (20+20+30)/3
    assert agg.dimension_scores["4"] == D("0.00")
    # totals 25, 36, 25, 30, 36 -> drop 25 (E1) and 36 (E5) -> (36+25+30)/3 = 30.33
    assert agg.final_score == D("30.33")


def test_outlier_flag_uses_population_sd():
    # six experts at 80 and one at 60: mean 77.14, pop sd 6.999 -> 60 is 2.45 sd away
    assert aggregate(POLICY, panel(80, 80, 80, 80, 80, 80, 60)).flagged_experts == ("E7",)
    # 80,80,80,80,70: deviation 8 vs 2 * pop sd (4) = 8 -> not strictly greater
    assert aggregate(POLICY, panel(80, 80, 80, 80, 70)).flagged_experts == ()
    assert aggregate(POLICY, panel(80, 80, 80)).flagged_experts == ()


# ------------------------------------------------------------------------------ validate_sheet


def test_validate_sheet_accepts_a_normal_sheet():
    s = {i: POLICY.indicator(i).max_points * D("0.8") for i in POLICY.indicator_ids()}
    assert validate_sheet(POLICY, s, {}) == []


def test_validate_sheet_problems():
    ok = {i: POLICY.indicator(i).max_points * D("0.8") for i in POLICY.indicator_ids()}
    s = dict(ok)
    del s["1.2"]
    s["9.9"] = D(1)
    s["2.1"] = D("8.5")  # > max 8
    s["2.2"] = D("-1")
    s["2.3"] = D("6.123")  # 3 decimals
    s["3.1"] = D("1")  # 12.5% of 8 -> needs justification
    s["3.2"] = D("6")  # 100% -> needs justification
    s["3.3"] = D("1")  # 20% but justified
    probs = dict(validate_sheet(POLICY, s, {"3.3": "no patents filed", "7.7": "x"}))
    assert set(probs) == {"1.2", "9.9", "2.1", "2.2", "2.3", "3.1", "3.2", "justifications.7.7"}
    assert "missing" in probs["1.2"]
    assert "unknown" in probs["9.9"]
    assert "0..8" in probs["2.1"]
    assert "decimal" in probs["2.3"]
    assert "justification" in probs["3.1"]
    assert "justification" in probs["3.2"]
    # exactly at 40% / 95% needs none
    edge = dict(ok, **{"4.1": D("4"), "2.1": D("7.6")})
    assert validate_sheet(POLICY, edge, {}) == []


# ------------------------------------------------------------------------------ ranking


def _rank(cands, sheets, budget_fen=BIG):
    return compute_proposal(POLICY, cands, sheets, budget_fen=budget_fen)


def test_tie_break_dimension_2():
    sheets = {
        "A": {"E1": sheet_dims(d1=15, d2=30, d3=25, d4=10, d5=10)},
        "B": {"E1": sheet_dims(d1=14, d2=31, d3=25, d4=10, d5=10)},
    }
    lines = _rank([cand("A"), cand("B")], sheets)
    assert [ln.application_id for ln in lines] == ["B", "A"]
    assert lines[0].final_score == lines[1].final_score == D("90.00")
    assert lines[0].tie_break == lines[1].tie_break == "dimension:2"
    assert "dimension 2" in lines[1].reason


def test_tie_break_dimension_3_then_submission_then_id():
    same2 = dict(d1=15, d2=30, d4=10, d5=10)
    sheets = {
        "A": {"E1": sheet_dims(d3=24, **same2)},  # 89
        "B": {"E1": sheet_dims(d3=23, d1=15, d2=30, d4=10, d5=11)},  # 89, lower dim 3
        "C": {"E1": sheet_dims(d3=24, **same2)},  # same as A, earlier submission
        "D": {"E1": sheet_dims(d3=24, **same2)},  # same as A and same submission -> id
    }
    cands = [cand("A", minutes=10), cand("B", minutes=0), cand("C", minutes=5), cand("D", minutes=10)]
    lines = _rank(cands, sheets)
    assert [ln.application_id for ln in lines] == ["C", "A", "D", "B"]
    assert lines[0].tie_break == "submitted_at"  # vs A below
    assert lines[2].tie_break == "application_id"  # D vs A above
    assert lines[3].tie_break == "dimension:3"  # B vs D above
    assert "dimension 3" in lines[3].reason
    assert "submitted" in lines[0].reason


def test_submission_compared_across_time_zones():
    utc = dt.UTC
    sheets = {"A": panel(85), "B": panel(85)}
    a = Candidate(
        "A", "a", "济南市", dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    )
    b = Candidate("B", "b", "济南市", dt.datetime(2026, 3, 1, 0, 30, tzinfo=utc))  # 08:30 +08
    assert [ln.application_id for ln in _rank([a, b], sheets)] == ["B", "A"]


def test_result_independent_of_input_order():
    cands = [cand(f"A{i}", minutes=i % 3) for i in range(12)]
    sheets = {c.application_id: panel(80 + i % 4, 85, 90 - i % 2) for i, c in enumerate(cands)}
    a = _rank(cands, sheets)
    b = _rank(list(reversed(cands)), dict(reversed(list(sheets.items()))))
    assert a == b


# ------------------------------------------------------------------------------ tiers & allocation


def test_sixth_excellent_qualifier_becomes_advanced():
    cands = [cand(f"A{i:02d}") for i in range(7)]
    sheets = {c.application_id: panel(99 - i) for i, c in enumerate(cands)}  # 99..93 all >= 90
    lines = _rank(cands, sheets)
    assert [ln.tier for ln in lines] == ["excellent"] * 5 + ["advanced"] * 2
    assert [ln.amount_fen for ln in lines] == [200_000_000] * 5 + [100_000_000] * 2
    assert "(5 of 5)" in lines[4].reason
    assert "full" in lines[5].reason


def test_tiers_by_threshold_and_none():
    cands = [cand("A"), cand("B"), cand("C")]
    sheets = {"A": panel("90.00"), "B": panel("89.99"), "C": panel("79.99")}
    lines = _rank(cands, sheets)
    assert [(ln.tier, ln.amount_fen, ln.reserve) for ln in lines] == [
        ("excellent", 200_000_000, False),
        ("advanced", 100_000_000, False),
        ("none", 0, False),
    ]


def test_sixteenth_qualifier_is_reserve():
    cands = [cand(f"A{i:02d}") for i in range(18)]
    sheets = {c.application_id: panel(D("99") - i) for i, c in enumerate(cands)}  # 99 .. 82
    lines = _rank(cands, sheets)
    funded = [ln for ln in lines if ln.amount_fen > 0]
    assert len(funded) == 15
    assert [ln.rank for ln in funded] == list(range(1, 16))
    assert [ln.reserve for ln in lines[15:]] == [True, True, True]
    assert all(ln.amount_fen == 0 and "quota" in ln.reason for ln in lines[15:])
    assert lines[15].tier == "advanced"


def test_budget_stop_does_not_fund_later_cheaper_award():
    # ranks 1-3 excellent (2,000,000 each), rank 4-5 advanced (1,000,000), rank 6 none
    cands = [cand(f"A{i}") for i in range(6)]
    sheets = {c.application_id: panel(t) for c, t in zip(cands, (98, 96, 94, 85, 84, 50), strict=True)}
    lines = _rank(cands, sheets, budget_fen=5_000_000 * 100)
    assert [ln.amount_fen for ln in lines] == [200_000_000, 200_000_000, 0, 0, 0, 0]
    assert [ln.reserve for ln in lines] == [False, False, True, True, True, False]
    assert [ln.budget_left_fen for ln in lines] == [300_000_000] + [100_000_000] * 5
    assert "exceed the remaining budget" in lines[2].reason
    assert "1,000,000" in lines[2].reason
    assert "reserve" in lines[3].reason


def test_default_budget_is_policy_budget():
    cands = [cand(f"A{i:02d}") for i in range(3)]
    lines = compute_proposal(POLICY, cands, {c.application_id: panel(95) for c in cands})
    assert lines[-1].budget_left_fen == POLICY.budget_fen - 3 * 200_000_000


def test_reason_states_rank_score_tier_amount_budget():
    lines = _rank([cand("A")], {"A": panel(91, 92, 93, 90, 89)}, budget_fen=2_000_000_000)
    r = lines[0].reason
    for part in (
        "rank 1",
        "91.00",
        "dropped",
        ">= 90.00",
        "excellent (1 of 5)",
        "2,000,000 yuan",
        "18,000,000 yuan",
    ):
        assert part in r, part


def test_json_rows():
    rows = proposal_to_json_rows(_rank([cand("A"), cand("B")], {"A": panel("90.5"), "B": panel(70)}))
    assert rows[0]["application_id"] == "A"
    assert rows[0]["rank"] == 1
    assert rows[0]["final_score"] == "90.50"
    assert rows[1]["final_score"] == "70.00"
    assert rows[0]["tier"] == "excellent"
    assert rows[0]["amount_fen"] == 200_000_000
    assert rows[0]["reserve"] is False
    assert isinstance(rows[0]["reason"], str)
    assert rows[0]["dimension_scores"]["1"] == "15.00"
    assert rows[0]["enterprise"] == "企业A"
    assert rows[0]["city"] == "济南市"
    assert isinstance(rows[0]["budget_left_fen"], int)


# ------------------------------------------------------------------------------ input errors


def test_inconsistent_inputs_refused():
    with pytest.raises(ScoringError, match="no score sheets"):
        compute_proposal(POLICY, [cand("A")], {})
    bad = sheet(80)
    del bad["4.1"]
    with pytest.raises(ScoringError, match="4.1 missing"):
        compute_proposal(POLICY, [cand("A")], {"A": {"E1": bad}})
    with pytest.raises(ScoringError, match="not a candidate"):
        compute_proposal(POLICY, [cand("A")], {"A": panel(80), "Z": panel(80)})
    with pytest.raises(ScoringError, match="outside"):
        compute_proposal(POLICY, [cand("A")], {"A": {"E1": dict(sheet(80), **{"4.1": D(11)})}})
    with pytest.raises(ValueError, match="timezone"):
        Candidate("A", "a", "c", dt.datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="budget_fen must be a non-negative integer"):
        compute_proposal(POLICY, [cand("A")], {"A": panel(80)}, budget_fen=-1)
