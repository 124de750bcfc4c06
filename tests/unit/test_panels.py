"""Conflict-of-interest rules and the seeded panel draw (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.review.domain.panels import (
    MAX_LOAD_REACHED,
    ExpertProfile,
    NotEnoughExperts,
    Party,
    Period,
    conflicts,
    draw_panels,
    draw_replacement,
    years_before,
)

ON = date(2026, 9, 1)
APP = Party("app-1", "org-ent", "org-op")


def check(expert: ExpertProfile, party: Party = APP) -> list[str]:
    return conflicts(expert, party, on=ON, lookback_years=3)


def test_independent_expert_has_no_conflict():
    e = ExpertProfile(
        "u1", employer_organization_id="org-univ", employment=(Period("org-other", date(2010, 1, 1)),)
    )
    assert check(e) == []


def test_current_employer_is_a_conflict_for_applicant_and_operator():
    assert check(ExpertProfile("u1", employer_organization_id="org-ent")) == ["employer_is_applicant"]
    assert check(ExpertProfile("u1", employer_organization_id="org-op")) == ["employer_is_operator"]


def test_employment_within_lookback_is_a_conflict_and_older_is_not():
    recent = ExpertProfile("u1", employment=(Period("org-ent", date(2015, 1, 1), date(2024, 6, 30)),))
    assert check(recent) == ["employed_by_applicant_within_3y"]
    boundary = ExpertProfile("u1", employment=(Period("org-op", date(2015, 1, 1), date(2023, 9, 1)),))
    assert check(boundary) == ["employed_by_operator_within_3y"]
    old = ExpertProfile("u1", employment=(Period("org-ent", date(2010, 1, 1), date(2023, 8, 31)),))
    assert check(old) == []
    ongoing = ExpertProfile("u1", employment=(Period("org-ent", date(2020, 1, 1), None),))
    assert check(ongoing) == ["employed_by_applicant_within_3y"]
    future = ExpertProfile("u1", employment=(Period("org-ent", date(2027, 1, 1), None),))
    assert check(future) == []


def test_shareholding_has_no_lookback_and_consulting_has():
    assert check(ExpertProfile("u1", shareholdings=("org-op",))) == ["shareholder_of_operator"]
    c = ExpertProfile("u1", consulting=(Period("org-ent", date(2024, 1, 1), date(2024, 3, 1)),))
    assert check(c) == ["consultant_to_applicant_within_3y"]
    c_old = ExpertProfile("u1", consulting=(Period("org-ent", date(2019, 1, 1), date(2020, 3, 1)),))
    assert check(c_old) == []


def test_every_reason_is_reported():
    e = ExpertProfile("u1", employer_organization_id="org-ent", shareholdings=("org-ent", "org-op"))
    assert check(e) == ["employer_is_applicant", "shareholder_of_applicant", "shareholder_of_operator"]


def test_years_before_handles_29_february():
    assert years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)


def pool(n: int) -> list[ExpertProfile]:
    return [ExpertProfile(f"u{i:02d}") for i in range(n)]


def parties(n: int) -> list[Party]:
    return [Party(f"app-{i:02d}", f"org-{i}") for i in range(n)]


def draw(p, ps, seed=42, size=3, max_load=10):
    return draw_panels(p, ps, size=size, max_load=max_load, on=ON, lookback_years=3, seed=seed)


def test_same_seed_same_draw_regardless_of_input_order():
    a = draw(pool(12), parties(4))
    b = draw(list(reversed(pool(12))), list(reversed(parties(4))))
    assert a.assignments == b.assignments
    assert len(a.assignments) == 12
    c = draw(pool(12), parties(4), seed=43)
    assert c.assignments != a.assignments


def test_panels_have_distinct_experts_and_respect_the_load_cap():
    d = draw(pool(6), parties(4), size=3, max_load=2)
    by_app = Counter(app for app, _ in d.assignments)
    assert all(n == 3 for n in by_app.values())
    for app in by_app:
        experts = [e for a, e in d.assignments if a == app]
        assert len(set(experts)) == len(experts)
    load = Counter(e for _, e in d.assignments)
    assert max(load.values()) <= 2
    assert sum(load.values()) == 12


def test_work_is_spread_evenly():
    d = draw(pool(9), parties(6), size=3)
    assert set(Counter(e for _, e in d.assignments).values()) == {2}


def test_conflicted_experts_are_excluded_with_reason():
    p = pool(5) + [ExpertProfile("u99", shareholdings=("org-0",))]
    d = draw(p, parties(2), size=6)
    assert ("app-00", "u99") not in d.assignments
    assert any(
        x.application_id == "app-00" and x.expert_user_id == "u99" and x.reason == "shareholder_of_applicant"
        for x in d.exclusions
    )
    assert ("app-01", "u99") in d.assignments
    # fewer eligible than the panel size: all eligible are taken, and it is recorded
    assert d.short_panels == {"app-00": 5}


def test_inactive_experts_are_never_drawn():
    p = pool(3) + [ExpertProfile("u50", active=False)]
    d = draw(p, parties(1), size=4)
    assert "u50" not in {e for _, e in d.assignments}


def test_load_cap_exhausted_raises_naming_the_application():
    with pytest.raises(NotEnoughExperts) as e:
        draw(pool(2), parties(3), size=2, max_load=2)
    assert e.value.application_id == "app-02"


def test_load_cap_exclusions_are_recorded():
    # with cap 1 and 3 experts the second application has nobody left:
    with pytest.raises(NotEnoughExperts):
        draw(pool(3), parties(2), size=3, max_load=1)
    d = draw(pool(4), parties(2), size=3, max_load=1)
    assert sum(1 for x in d.exclusions if x.reason == MAX_LOAD_REACHED) == 3
    assert d.short_panels == {"app-01": 1}


def test_replacement_is_reproducible_and_skips_taken_conflicted_and_loaded():
    p = pool(6) + [ExpertProfile("u77", employer_organization_id="org-ent")]
    kwargs = dict(
        already_on_application=["u00", "u01"],
        load={"u02": 5},
        max_load=5,
        on=ON,
        lookback_years=3,
        seed=7,
        recusal_number=1,
    )
    r1 = draw_replacement(p, APP, **kwargs)
    assert r1 == draw_replacement(list(reversed(p)), APP, **kwargs)
    assert r1 in {"u03", "u04", "u05"}
    assert draw_replacement(p, APP, **{**kwargs, "load": {"u02": 5, "u03": 1, "u04": 1}}) == "u05"
    seen = {draw_replacement(p, APP, **{**kwargs, "recusal_number": k}) for k in range(1, 30)}
    assert seen == {"u03", "u04", "u05"}
    assert draw_replacement(pool(2), APP, **kwargs) is None
