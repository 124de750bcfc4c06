"""How a proposal version is derived, as pure rules: a revision's changes (each at most its line's
cap, Art. 11; a reserve brought in only by promotion; every refusal naming its line) and the
version an upheld objection makes (ranks close up, reserves move up in rank order into what it
frees, officials' revisions stay)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aicc.platform.errors import InvalidArgument
from aicc.platform.policy import Policy, find_policy
from services.review.domain.model import Proposal, is_funded
from services.review.domain.proposals import ChangeIn, applied, line_cap, withdrawn

NOW = datetime(2026, 9, 1, tzinfo=UTC)
WAN = 1_000_000  # fen in 1 万元


def policy(quota: int = 15) -> Policy:
    data = find_policy("shandong-2026").to_jsonable()
    data["quota"] = quota
    return Policy.from_json(json.dumps(data, ensure_ascii=False))


def line(app: str, rank: int, tier: str, amount: int, reserve: bool = False) -> dict:
    cap = line_cap(policy(), tier)
    return {
        "application_id": app,
        "enterprise": f"企业{app}",
        "rank": rank,
        "tier": tier,
        "amount_fen": amount,
        "reserve": reserve,
        "cap_fen": cap,
        "reason": f"rank {rank}",
        "budget_left_fen": 0,
    }


def lines() -> list[dict]:
    return [
        line("a", 1, "excellent", 200 * WAN),
        line("b", 2, "advanced", 100 * WAN),
        line("c", 3, "advanced", 0, reserve=True),
        line("d", 4, "advanced", 0, reserve=True),
        line("e", 5, "none", 0),
    ]


def test_the_cap_is_the_tiers_amount_never_above_the_award_cap():
    assert line_cap(policy(), "excellent") == 200 * WAN
    assert line_cap(policy(), "advanced") == 100 * WAN
    assert line_cap(policy(), "none") == 0


def test_changes_apply_with_their_reasons_and_zero_removes_an_award():
    out = applied(
        lines(),
        [
            ChangeIn("b", 80 * WAN, "核减：设备尚未全部到位"),
            ChangeIn("a", 0, "撤销：材料存疑"),
            ChangeIn("c", 0, "递补", promote=True),
        ],
        1,
    )
    by = {x["application_id"]: x for x in out}
    assert (by["b"]["amount_fen"], by["b"]["revision_reason"]) == (80 * WAN, "核减：设备尚未全部到位")
    assert not is_funded(by["a"])
    assert by["a"]["revision_reason"] == "撤销：材料存疑"
    assert (by["c"]["amount_fen"], by["c"]["reserve"], by["c"]["promoted"]) == (100 * WAN, False, "revision")
    assert by["d"]["reserve"]  # untouched
    assert lines()[1]["amount_fen"] == 100 * WAN  # the input is not changed


def test_every_change_that_cannot_apply_is_refused_naming_its_line():
    with pytest.raises(InvalidArgument) as e:
        applied(
            lines(),
            [
                ChangeIn("b", 150 * WAN, "增加"),
                ChangeIn("zz", 1, "?"),
                ChangeIn("a", 0, "x", promote=True),
                ChangeIn("d", 50 * WAN, "x"),
                ChangeIn("e", 0, "x", promote=True),
            ],
            4,
        )
    v = {x.field: x for x in e.value.violations}
    assert set(v) == {
        "changes[0].amount_fen",
        "changes[1].application_id",
        "changes[2].promote",
        "changes[3].promote",
        "changes[4].promote",
    }
    cap = v["changes[0].amount_fen"]
    assert "b (企业b)" in cap.description
    assert "150.00 万元" in cap.description
    assert "100.00 万元" in cap.description
    assert "Art. 11" in cap.description
    assert "企业b" in cap.description_zh
    assert "最高不超过" in cap.description_zh
    assert "v4" in v["changes[1].application_id"].description
    assert "reserve" in v["changes[3].promote"].description
    assert "no tier" in v["changes[4].promote"].description


def _proposal(ls: list[dict], budget: int = 300 * WAN) -> Proposal:
    allocated = sum(x["amount_fen"] for x in ls if is_funded(x))
    return Proposal("c-1", 2, ls, budget, allocated, "r", [], NOW)


def test_an_upheld_objection_moves_the_reserves_up_until_one_does_not_fit():
    out, allocated = withdrawn(policy(), _proposal(lines()), "a", "obj_1")
    by = {x["application_id"]: x for x in out}
    assert "a" not in by
    assert [x["rank"] for x in out] == [1, 2, 3, 4]
    assert "rank 2 → 1" in by["b"]["reason"]
    # 200 万元 freed: c and d (100 each) move up, in rank order.
    assert (by["c"]["amount_fen"], by["c"]["reserve"], by["c"]["promoted"]) == (100 * WAN, False, "objection")
    assert "obj_1" in by["c"]["revision_reason"]
    assert is_funded(by["d"])
    assert not is_funded(by["e"])
    assert allocated == 300 * WAN
    assert [x["budget_left_fen"] for x in out] == [200 * WAN, 100 * WAN, 0, 0]


def test_the_quota_and_the_first_reserve_that_does_not_fit_stop_the_promotions():
    # Quota 2: only one slot frees.
    out, _ = withdrawn(policy(quota=2), _proposal(lines()), "a", "obj_1")
    assert [x["application_id"] for x in out if is_funded(x)] == ["b", "c"]
    # b removed frees 100 万元 of a 250 万元 budget (a holds 200): c does not fit, d is not tried.
    out, allocated = withdrawn(policy(), _proposal(lines(), budget=250 * WAN), "b", "obj_2")
    assert [x["application_id"] for x in out if is_funded(x)] == ["a"]
    assert all(x["reserve"] for x in out if x["application_id"] in ("c", "d"))
    assert allocated == 200 * WAN


def test_officials_revisions_stay_when_an_objection_is_upheld():
    revised = applied(lines(), [ChangeIn("b", 60 * WAN, "核减")], 1)
    out, allocated = withdrawn(policy(), _proposal(revised), "a", "obj_3")
    by = {x["application_id"]: x for x in out}
    assert (by["b"]["amount_fen"], by["b"]["revision_reason"]) == (60 * WAN, "核减")
    assert allocated == 260 * WAN  # b 60 + c 100 + d 100
