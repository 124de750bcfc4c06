import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from aicc.platform.policy import (
    Duration,
    Policy,
    PolicyError,
    default_policy_dir,
    find_policy,
    load_policy_file,
    load_policy_text,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SHANDONG = (POLICIES / "shandong-2026.yaml").read_text(encoding="utf-8")


def _mutate(fn) -> str:
    data = yaml.safe_load(SHANDONG)
    fn(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _errors(text: str) -> dict[str, str]:
    with pytest.raises(PolicyError) as ei:
        load_policy_text(text)
    return dict(ei.value.errors)


def test_shipped_policies_load():
    assert default_policy_dir() == POLICIES
    p = find_policy("shandong-2026")
    assert p.policy_id == "shandong-2026"
    assert p.scope == "province"
    assert p.jurisdiction == "370000"
    assert len(p.indicator_ids()) == 15
    assert p.dimensions() == ["1", "2", "3", "4", "5"]
    assert sum(p.indicator(i).max_points for i in p.indicator_ids()) == 100
    ind = p.indicator("2.3")
    assert (ind.id, ind.dimension, ind.max_points, ind.name) == ("2.3", "2", Decimal(8), "模型服务情况")
    assert p.budget_fen == 20_000_000 * 100
    assert p.award_cap_fen == 2_000_000 * 100
    assert [t.amount_fen for t in p.tiers] == [200_000_000, 100_000_000]
    assert p.tiers[0].min_score == Decimal("90")
    assert p.tiers[0].max_count == 5
    assert p.tiers[1].max_count is None
    assert p.schedule.publicity.working_days == 5
    assert p.schedule.publicity.timedelta is None
    assert p.schedule.application_window.timedelta == dt.timedelta(days=30)
    assert str(p.schedule.application_window) == "P30D"
    assert p.scoring.justification_below == Decimal("0.4")
    assert len(p.fund_use_categories) == 6
    assert p.is_valid_on(dt.date(2027, 12, 31))
    assert not p.is_valid_on(dt.date(2028, 1, 1))

    demo = find_policy("demo")
    assert demo.policy_id == "demo"
    assert demo.schedule.publicity.timedelta == dt.timedelta(seconds=4)
    assert demo.schedule.supervision.timedelta == dt.timedelta(seconds=6)
    # The demo's fixed waits are seconds; deadlines of phases that end as soon as the humans are done
    # (city review, compliance, expert review) may be longer so a loaded machine cannot miss them.
    ends_early = {"city_review", "compliance_review", "expert_review"}
    for name, d in demo.schedule.items():
        assert d.timedelta is not None, name
        assert d.timedelta <= dt.timedelta(seconds=30 if name in ends_early else 8), name
    # same rules apart from id, titles and schedule
    same = {
        "indicators",
        "scoring",
        "tiers",
        "quota",
        "budget_yuan",
        "award_cap_yuan",
        "eligibility",
        "panel",
    }
    assert {k: getattr(demo, k) for k in same} == {k: getattr(p, k) for k in same}


def test_json_round_trip_is_stable():
    p = find_policy("shandong-2026")
    text = p.to_json()
    q = Policy.from_json(text)
    assert q == p
    assert q.to_json() == text
    data = json.loads(text)
    assert data["budget_fen"] == 2_000_000_000
    assert data["tiers"][0]["amount_fen"] == 200_000_000
    assert data["valid_until"] == "2027-12-31"
    ind = data["indicators"][1]["indicators"][2]
    assert ind["id"] == "2.3"
    assert ind["dimension"] == "2"
    assert ind["max_points"] == 8
    assert data["schedule"]["publicity"] == {"working_days": 5}
    assert list(data) == sorted(data)


def test_malformed_file_reports_every_error_with_paths():
    def breakit(d):
        d["policy_id"] = "Not OK"
        d["tiers"][1]["min_score"] = "8o"
        d["schedule"]["publicity"] = "five days"
        d["scoring"]["tie_breakers"] = ["dimension:2", "dimension:9"]
        d["indicators"][3]["indicators"][0]["max_points"] = 12  # sum 102
        d["valid_until"] = dt.date(2025, 1, 1)
        d["panel"]["colour"] = "red"

    errs = _errors(_mutate(breakit))
    assert set(errs) >= {
        "policy_id",
        "tiers[1].min_score",
        "schedule.publicity",
        "scoring.tie_breakers[1]",
        "indicators",
        "valid_until",
        "panel.colour",
    }
    assert "100" in errs["indicators"]
    assert "102" in errs["indicators"]
    assert "line " in errs["tiers[1].min_score"]
    with pytest.raises(PolicyError) as ei:
        load_policy_text(_mutate(breakit))
    assert len(str(ei.value).splitlines()) == len(ei.value.errors) + 1


def test_unknown_keys_refused_everywhere():
    def add(d):
        d["extra"] = 1
        d["tiers"][0]["bonus"] = 1
        d["indicators"][0]["indicators"][0]["weight"] = 2

    errs = _errors(_mutate(add))
    assert {"extra", "tiers[0].bonus", "indicators[0].indicators[0].weight"} <= set(errs)
    assert all("unknown key" in m for m in errs.values())


def test_maxima_must_sum_to_100():
    errs = _errors(_mutate(lambda d: d["indicators"][0]["indicators"][0].update(max_points=4)))
    assert list(errs) == ["indicators"]
    assert "99" in errs["indicators"]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["indicators"][1]["indicators"][0].update(id="3.9"), "indicators[1].indicators[0].id"),
        (lambda d: d["tiers"].reverse(), "tiers[1].min_score"),
        (lambda d: d["tiers"][1].update(amount_yuan=3_000_000), "tiers[1].amount_yuan"),
        (lambda d: d.update(scope="city"), "jurisdiction"),
        (lambda d: d.update(legal_basis=[]), "legal_basis"),
        (lambda d: d.update(budget_yuan=1.5), "budget_yuan"),
        (lambda d: d["scoring"].update(tie_breakers=["fastest"]), "scoring.tie_breakers[0]"),
        (lambda d: d["schedule"].update(application_window="P1W"), "schedule.application_window"),
        (lambda d: d["schedule"].update(publicity={"working_days": 5, "x": 1}), "schedule.publicity"),
        (lambda d: d.pop("quota"), "quota"),
        # identity checks at most 10 years back, within Shandong and its current cities
        (
            lambda d: d["eligibility"].update(serious_dishonesty_lookback_years=11),
            "eligibility.serious_dishonesty_lookback_years",
        ),
        (lambda d: d["eligibility"].update(division_prefix="11"), "eligibility.division_prefix"),
        (lambda d: d["eligibility"].update(division_prefix="3712"), "eligibility.division_prefix"),
    ],
)
def test_single_rule_violations(mutate, path):
    assert path in _errors(_mutate(mutate))


def test_city_policy_and_duplicates():
    city = load_policy_text(
        _mutate(lambda d: d.update(scope="city", jurisdiction="370100", policy_id="jinan-2026"))
    )
    assert city.scope == "city"
    assert city.jurisdiction == "370100"
    assert "jurisdiction" in _errors(_mutate(lambda d: d.update(scope="city", jurisdiction="370102")))
    errs = _errors(SHANDONG + "\nquota: 3\n")
    assert "duplicate key" in next(iter(errs.values()))


def test_yaml_syntax_error_has_line_number():
    errs = _errors("policy_id: x\ntiers: [1\nquota: 2\n")
    assert any("line 3" in m for m in errs.values())


def test_duration_forms():
    assert Duration.parse("PT30S").timedelta == dt.timedelta(seconds=30)
    assert Duration.parse("P1DT2H").timedelta == dt.timedelta(days=1, hours=2)
    assert str(Duration.parse("P1DT2H")) == "P1DT2H"
    assert Duration.parse({"working_days": 5}).working_days == 5
    for bad in ("P", "PT", "P1Y", "30D", "P-1D", {"days": 3}, {"working_days": "5"}, 5):
        with pytest.raises(ValueError, match="duration|working_days"):
            Duration.parse(bad)


def test_load_policy_file_missing_and_find_unknown(tmp_path):
    with pytest.raises(PolicyError):
        load_policy_file(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="available"):
        find_policy("nope", tmp_path)
    (tmp_path / "mine.yaml").write_text(SHANDONG.replace("policy_id: shandong-2026", "policy_id: mine"))
    assert find_policy("mine", tmp_path).policy_id == "mine"
