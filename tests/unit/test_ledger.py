"""The pure double-entry ledger of a cycle's budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.funding.domain import ledger
from services.funding.domain.ledger import Balances, Posting, Transaction

WAN = 1_000_000  # fen in 10,000 yuan


def _balanced(txn: Transaction) -> bool:
    return sum(p.amount_fen for p in txn.postings) == 0 and len(txn.postings) >= 2


def test_open_budget_moves_appropriation_to_available() -> None:
    txn = ledger.open_budget(300 * WAN)
    assert _balanced(txn)
    b = ledger.balances(txn.postings)
    assert (b.total_fen, b.available_fen, b.reserved_fen, b.disbursed_fen) == (300 * WAN, 300 * WAN, 0, 0)


def test_zero_or_negative_budget_refused() -> None:
    with pytest.raises(ledger.LedgerError):
        ledger.open_budget(0)
    with pytest.raises(ledger.LedgerError):
        ledger.open_budget(-5)


def test_unbalanced_or_degenerate_transactions_refused() -> None:
    with pytest.raises(ledger.UnbalancedTransaction, match="sum to 1"):
        Transaction("x", "", (Posting("a", 10), Posting("b", -9)))
    with pytest.raises(ledger.UnbalancedTransaction, match="at least two"):
        Transaction("x", "", (Posting("a", 0),))
    with pytest.raises(ledger.UnbalancedTransaction, match="zero"):
        Transaction("x", "", (Posting("a", 0), Posting("b", 0)))
    with pytest.raises(ledger.UnbalancedTransaction, match="integer"):
        Transaction("x", "", (Posting("a", 1.5), Posting("b", -1.5)))  # type: ignore[arg-type]


def test_reserve_then_replace_posts_only_the_difference() -> None:
    totals = ledger.account_totals(ledger.open_budget(500 * WAN).postings)
    first = ledger.reserve(Balances.from_accounts(totals), {"A": 200 * WAN, "B": 100 * WAN}, "v1")
    assert first is not None
    assert _balanced(first)
    totals = ledger.apply(totals, first)
    b = Balances.from_accounts(totals)
    assert (b.available_fen, b.reserved_fen) == (200 * WAN, 300 * WAN)
    assert b.reserved_by_application == {"A": 200 * WAN, "B": 100 * WAN}

    # v2: A unchanged, B dropped, C added
    second = ledger.reserve(b, {"A": 200 * WAN, "C": 150 * WAN}, "v2")
    assert second is not None
    assert _balanced(second)
    assert {p.account: p.amount_fen for p in second.postings} == {
        "budget:reserved:B": -100 * WAN,
        "budget:reserved:C": 150 * WAN,
        "budget:available": -50 * WAN,
    }
    b = Balances.from_accounts(ledger.apply(totals, second))
    assert b.reserved_by_application == {"A": 200 * WAN, "C": 150 * WAN}
    assert (b.available_fen, b.reserved_fen, b.total_fen) == (150 * WAN, 350 * WAN, 500 * WAN)


def test_same_reservation_again_posts_nothing() -> None:
    totals = ledger.account_totals(ledger.open_budget(100).postings)
    totals = ledger.apply(totals, ledger.reserve(Balances.from_accounts(totals), {"A": 60}, "v1"))
    assert ledger.reserve(Balances.from_accounts(totals), {"A": 60}, "v2") is None


def test_reserve_beyond_budget_refused() -> None:
    totals = ledger.account_totals(ledger.open_budget(300 * WAN).postings)
    b = Balances.from_accounts(
        ledger.apply(totals, ledger.reserve(Balances.from_accounts(totals), {"A": 200 * WAN}, "v1"))
    )
    # Replacing counts what is reserved now as available to the new version: 300 万 fits, 300 万 + 1 fen does not.
    assert ledger.reserve(b, {"A": 100 * WAN, "B": 200 * WAN}, "v2") is not None
    with pytest.raises(ledger.ExceedsAvailable) as e:
        ledger.reserve(b, {"A": 100 * WAN, "B": 200 * WAN + 1}, "v2")
    assert (e.value.requested_fen, e.value.available_fen) == (300 * WAN + 1, 300 * WAN)


def test_reserve_refuses_non_positive_lines() -> None:
    b = ledger.balances(ledger.open_budget(100).postings)
    with pytest.raises(ledger.LedgerError):
        ledger.reserve(b, {"A": 0}, "v1")
    with pytest.raises(ledger.LedgerError):
        ledger.reserve(b, {"A": -1}, "v1")


def test_disburse_moves_the_whole_reservation_to_paid() -> None:
    totals = ledger.account_totals(ledger.open_budget(300).postings)
    totals = ledger.apply(totals, ledger.reserve(Balances.from_accounts(totals), {"A": 200, "B": 50}, "v1"))
    b = Balances.from_accounts(totals)
    with pytest.raises(ledger.ReservationMismatch):
        ledger.disburse(b, "A", 199, "pay")
    with pytest.raises(ledger.ReservationMismatch):
        ledger.disburse(b, "Z", 10, "pay")  # nothing reserved
    txn = ledger.disburse(b, "A", 200, "pay")
    assert _balanced(txn)
    b = Balances.from_accounts(ledger.apply(totals, txn))
    assert (b.total_fen, b.available_fen, b.reserved_fen, b.disbursed_fen) == (300, 50, 50, 200)
    assert b.paid_by_application == {"A": 200}
    assert b.reserved_by_application == {"B": 50}
    # paid once: the reservation is gone, so a second payment is refused
    with pytest.raises(ledger.ReservationMismatch):
        ledger.disburse(b, "A", 200, "pay again")
    # and a paid application's reservation cannot be changed any more
    with pytest.raises(ledger.LedgerError, match="already paid"):
        ledger.reserve(b, {"A": 100, "B": 50}, "v2")


def test_apply_refuses_a_negative_available() -> None:
    totals = ledger.account_totals(ledger.open_budget(100).postings)
    rogue = Transaction("reserve", "", (Posting("budget:reserved:A", 101), Posting("budget:available", -101)))
    with pytest.raises(ledger.LedgerError, match="negative"):
        ledger.apply(totals, rogue)


# ------------------------------------------------------------------ property

app_ids = st.sampled_from(["A", "B", "C", "D", "E"])
reservation = st.dictionaries(app_ids, st.integers(min_value=1, max_value=400), max_size=5)
step = st.one_of(
    st.tuples(st.just("reserve"), reservation),
    st.tuples(st.just("disburse"), app_ids, st.integers(min_value=-5, max_value=5)),
)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=1, max_value=1000), steps=st.lists(step, max_size=25))
def test_no_sequence_of_movements_breaks_the_ledger(total: int, steps: list) -> None:
    postings = list(ledger.open_budget(total).postings)
    for s in steps:
        b = ledger.balances(postings)
        try:
            if s[0] == "reserve":
                txn = ledger.reserve(b, s[1], "r")
            else:
                _, app, skew = s
                # mostly the right amount, sometimes a wrong one
                txn = ledger.disburse(
                    b, app, b.reserved_by_application.get(app, 0) + (skew if skew in (-1, 1) else 0), "d"
                )
        except ledger.LedgerError:
            assert ledger.balances(postings) == b  # a refused movement changes nothing
            continue
        if txn is None:
            continue
        assert sum(p.amount_fen for p in txn.postings) == 0
        ledger.apply(ledger.account_totals(postings), txn)  # raises if an invariant would break
        postings.extend(txn.postings)
        after = ledger.balances(postings)
        assert sum(p.amount_fen for p in postings) == 0
        assert after.available_fen >= 0
        assert after.reserved_fen >= 0
        assert after.disbursed_fen >= 0
        assert all(v >= 0 for v in after.reserved_by_application.values())
        assert after.total_fen == total == after.available_fen + after.reserved_fen + after.disbursed_fen
