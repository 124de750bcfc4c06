"""Art. 5 hard eligibility rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.identity.domain.eligibility import (
    CreditRecord,
    Failure,
    GreenThresholdStatus,
    OrgFacts,
    evaluate_eligibility,
    lookback_start,
)
from services.identity.domain.uscc import make_uscc

AS_OF = date(2026, 6, 30)
ORG = OrgFacts("org-1", "enterprise", True, make_uscc("370211", 1))
GREEN = GreenThresholdStatus("org-1", True, date(2026, 3, 1), "省发展改革委")


def record(
    start: date, end: date | None, *, severity: str = "serious_dishonesty", org: str = "org-1"
) -> CreditRecord:
    return CreditRecord(org, severity, start, end, "信用中国", "XY-2024-001")


def evaluate(org: OrgFacts = ORG, *, as_of: date = AS_OF, records=(), green=GREEN, **kw) -> list[Failure]:
    return evaluate_eligibility(org, as_of=as_of, credit_records=list(records), green=green, **kw)


def rules(failures: list[Failure]) -> list[str]:
    return [f.rule for f in failures]


def test_eligible() -> None:
    assert evaluate() == []


def test_not_an_enterprise() -> None:
    (f,) = evaluate(OrgFacts("org-1", "institution", True, ORG.uscc))
    assert f.rule == "enterprise"
    assert f.article == "Art. 5(1)"
    assert "institution" in f.message
    assert "第五条" in f.message_zh


def test_not_a_legal_person() -> None:
    (f,) = evaluate(OrgFacts("org-1", "enterprise", False, ORG.uscc))
    assert f.rule == "legal_person"
    assert f.article == "Art. 5(1)"
    assert "法人" in f.message_zh


def test_registered_outside_shandong() -> None:
    (f,) = evaluate(OrgFacts("org-1", "enterprise", True, "91110108551385082Q"))
    assert f.rule == "registered_in_region"
    assert f.article == "Art. 18"
    assert "110108" in f.message
    assert "Shandong" in f.message
    assert "山东省" in f.message_zh


def test_city_deployment_prefix() -> None:
    assert evaluate(division_prefix="3702") == []
    (f,) = evaluate(OrgFacts("org-1", "enterprise", True, make_uscc("370102", 2)), division_prefix="3702")
    assert f.rule == "registered_in_region"
    assert "Qingdao" in f.message
    assert "青岛市" in f.message_zh


def test_invalid_uscc_fails_region_rule_with_position() -> None:
    bad = ORG.uscc[:17] + ("0" if ORG.uscc[17] != "0" else "1")
    (f,) = evaluate(OrgFacts("org-1", "enterprise", True, bad))
    assert f.rule == "registered_in_region"
    assert "character 18" in f.message
    assert "第18位" in f.message_zh


def test_window_start_and_feb_29() -> None:
    assert lookback_start(date(2026, 6, 30), 3) == date(2023, 6, 30)
    assert lookback_start(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert lookback_start(date(2027, 2, 28), 3) == date(2024, 2, 28)
    assert lookback_start(date(2028, 2, 29), 4) == date(2024, 2, 29)


def test_record_ending_three_years_and_a_day_before_passes() -> None:
    end = date(2023, 6, 29)  # AS_OF - 3 years - 1 day
    assert end == lookback_start(AS_OF, 3) - timedelta(days=1)
    assert evaluate(records=[record(date(2020, 1, 1), end)]) == []


def test_record_ending_on_window_start_fails() -> None:
    (f,) = evaluate(records=[record(date(2020, 1, 1), date(2023, 6, 30))])
    assert f.rule == "no_serious_dishonesty"
    assert f.article == "Art. 5(1)"
    for text in ("XY-2024-001", "信用中国", "2020-01-01", "2023-06-30", "2026-06-30"):
        assert text in f.message
        assert text in f.message_zh


def test_record_ending_within_window_fails() -> None:
    assert rules(evaluate(records=[record(date(2024, 1, 1), date(2025, 1, 1))])) == ["no_serious_dishonesty"]


def test_open_ended_record_fails() -> None:
    (f,) = evaluate(records=[record(date(2010, 1, 1), None)])
    assert "open-ended" in f.message
    assert "至今" in f.message_zh


def test_record_starting_on_as_of_fails_after_does_not() -> None:
    assert rules(evaluate(records=[record(AS_OF, None)])) == ["no_serious_dishonesty"]
    assert evaluate(records=[record(AS_OF + timedelta(days=1), None)]) == []


def test_feb_29_reference_date() -> None:
    as_of = date(2028, 2, 29)
    green = GreenThresholdStatus("org-1", True, date(2028, 1, 1), "x")
    assert evaluate(as_of=as_of, green=green, records=[record(date(2020, 1, 1), date(2025, 2, 27))]) == []
    assert rules(
        evaluate(as_of=as_of, green=green, records=[record(date(2020, 1, 1), date(2025, 2, 28))])
    ) == ["no_serious_dishonesty"]


def test_other_severities_and_other_orgs_ignored() -> None:
    recs = [
        record(date(2025, 1, 1), None, severity="general_dishonesty"),
        record(date(2025, 1, 1), None, org="org-2"),
    ]
    assert evaluate(records=recs) == []


def test_one_failure_per_record() -> None:
    recs = [record(date(2025, 1, 1), None), record(date(2024, 1, 1), date(2024, 2, 1))]
    assert rules(evaluate(records=recs)) == ["no_serious_dishonesty"] * 2


def test_inconsistent_record_rejected() -> None:
    with pytest.raises(ValueError, match="ends .* before it starts"):
        evaluate(records=[record(date(2025, 1, 2), date(2025, 1, 1))])


def test_green_missing_not_met_or_future() -> None:
    (f,) = evaluate(green=None)
    assert f.rule == "green_threshold"
    assert "no green-threshold status" in f.message
    (f,) = evaluate(green=GreenThresholdStatus("org-1", False, date(2026, 1, 1), "省发展改革委"))
    assert "not met" in f.message
    assert "省发展改革委" in f.message_zh
    assert "2026-01-01" in f.message
    (f,) = evaluate(green=GreenThresholdStatus("org-1", True, date(2026, 7, 1), "省发展改革委"))
    assert "after the reference date" in f.message
    assert evaluate(green=None, require_green=False) == []


def test_green_of_other_org_is_an_error() -> None:
    with pytest.raises(ValueError, match="green-threshold status is for 'org-2'"):
        evaluate(green=GreenThresholdStatus("org-2", True, AS_OF, "x"))


def test_all_failures_reported_together() -> None:
    org = OrgFacts("org-1", "social_organisation", False, "91110108551385082Q")
    got = rules(evaluate(org, records=[record(date(2025, 1, 1), None)], green=None))
    assert got == [
        "enterprise",
        "legal_person",
        "registered_in_region",
        "no_serious_dishonesty",
        "green_threshold",
    ]
