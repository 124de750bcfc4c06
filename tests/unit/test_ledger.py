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


# ------------------------------------------------------------------ appropriations: draws and returns


def test_appropriate_draw_and_return() -> None:
    opening = ledger.appropriate(2026, 1_000, "opened")
    assert _balanced(opening)
    fy = ledger.AppropriationBalance(2026)
    fy = ledger.apply_to_appropriation(fy, opening)
    assert (fy.amount_fen, fy.available_fen, fy.drawn_fen) == (1_000, 1_000, 0)

    draw = ledger.draw(fy, 600, "cycle A")
    assert {p.account: p.amount_fen for p in draw.postings} == {
        "budget:available": 600,
        "appropriation:2026": -600,
    }
    fy = ledger.apply_to_appropriation(fy, draw)
    assert (fy.available_fen, fy.drawn_fen) == (400, 600)
    with pytest.raises(ledger.ExceedsAppropriation) as e:
        ledger.draw(fy, 401, "cycle B")
    assert (e.value.requested_fen, e.value.left_fen) == (401, 400)

    totals = ledger.account_totals(draw.postings)  # cycle A's book
    totals = ledger.apply(totals, ledger.reserve(Balances.from_accounts(totals), {"A": 250, "B": 100}, "v1"))
    totals = ledger.apply(totals, ledger.disburse(Balances.from_accounts(totals), "A", 250, "pay"))
    back = ledger.return_unspent(Balances.from_accounts(totals), ledger.source_account(2026), "close")
    assert back is not None
    assert _balanced(back)
    assert {p.account: p.amount_fen for p in back.postings} == {
        "appropriation:2026": 350,
        "budget:available": -250,
        "budget:reserved:B": -100,
    }
    b = Balances.from_accounts(ledger.apply(totals, back))
    assert (b.total_fen, b.available_fen, b.reserved_fen, b.disbursed_fen) == (250, 0, 0, 250)
    fy = ledger.apply_to_appropriation(fy, back)
    assert (fy.available_fen, fy.drawn_fen) == (750, 250)
    assert ledger.return_unspent(b, ledger.source_account(2026), "again") is None  # nothing left to return


def test_an_appropriation_is_never_overdrawn_nor_overfilled() -> None:
    fy = ledger.apply_to_appropriation(ledger.AppropriationBalance(2027), ledger.appropriate(2027, 100, "o"))
    rogue = Transaction("open", "", (Posting("budget:available", 101), Posting("appropriation:2027", -101)))
    with pytest.raises(ledger.LedgerError, match="overdrawn"):
        ledger.apply_to_appropriation(fy, rogue)
    gift = Transaction("return", "", (Posting("appropriation:2027", 1), Posting("budget:available", -1)))
    with pytest.raises(ledger.LedgerError, match="more returned"):
        ledger.apply_to_appropriation(fy, gift)
    with pytest.raises(ledger.LedgerError):
        ledger.appropriate(2027, 0, "o")
    # A year nobody opened has nothing to draw.
    with pytest.raises(ledger.ExceedsAppropriation):
        ledger.draw(ledger.AppropriationBalance(2030), 1, "x")


YEARS = (2026, 2027)
CYCLES = ("c1", "c2", "c3")
small_reservation = st.dictionaries(app_ids, st.integers(min_value=1, max_value=200), min_size=1, max_size=4)
appropriate_step = st.tuples(
    st.just("appropriate"), st.sampled_from(YEARS), st.integers(min_value=1, max_value=2_000)
)
draw_step = st.tuples(
    st.just("draw"),
    st.sampled_from(CYCLES),
    st.sampled_from(YEARS),
    st.integers(min_value=1, max_value=1_200),
)
reserve_step = st.tuples(st.just("reserve"), st.sampled_from(CYCLES), small_reservation)
# which of the cycle's reserved applications (by index), and mostly the right amount
disburse_step = st.tuples(
    st.just("disburse"),
    st.sampled_from(CYCLES),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=-5, max_value=5),
)
close_step = st.tuples(st.just("close"), st.sampled_from(CYCLES))
# Both years opened and the three cycles drawn first (two from 2026: they compete for it; a draw
# beyond what is left is refused); then reservations and payments (and stray openings and draws) in
# any order; then cycles closed, and anything after that.
any_step = st.one_of(appropriate_step, draw_step, reserve_step, disburse_step, close_step)
money_steps = st.tuples(
    st.tuples(st.integers(min_value=1, max_value=3_000), st.integers(min_value=500, max_value=3_000)),
    st.tuples(*(st.integers(min_value=1, max_value=1_200) for _ in CYCLES)),
    st.lists(st.one_of(reserve_step, disburse_step, disburse_step, appropriate_step, draw_step), max_size=30),
    st.lists(close_step, max_size=3),
    st.lists(any_step, max_size=5),
).map(
    lambda t: [
        *(("appropriate", fy, amount) for fy, amount in zip(YEARS, t[0], strict=True)),
        *(("draw", c, fy, amount) for c, fy, amount in zip(CYCLES, (2026, 2026, 2027), t[1], strict=True)),
        *t[2],
        *t[3],
        *t[4],
    ]
)


class _Books:
    """The whole ledger as funding's use cases drive it: postings tagged with their book (a cycle,
    or "" for an appropriation's opening), each cycle's year, which cycles are closed."""

    def __init__(self) -> None:
        self.postings: list[tuple[str, Posting]] = []
        self.year_of: dict[str, int] = {}
        self.closed: set[str] = set()
        self.given: dict[int, int] = {}  # year -> amount appropriated
        self.envelope: dict[str, int] = {}  # cycle -> amount drawn

    def totals(self, book: str | None = None) -> dict[str, int]:
        return ledger.account_totals(p for b, p in self.postings if book is None or b == book)

    def cycle(self, c: str) -> Balances:
        return Balances.from_accounts(self.totals(c))

    def year(self, fy: int) -> ledger.AppropriationBalance:
        return ledger.AppropriationBalance.from_accounts(fy, self.totals())

    def post(self, book: str, txn: Transaction, fy: int | None = None) -> None:
        if book:
            ledger.apply(self.totals(book), txn)  # raises if the cycle's invariants would break
        if fy is not None:
            ledger.apply_to_appropriation(self.year(fy), txn)  # raises if the year's would
        self.postings.extend((book, p) for p in txn.postings)

    def step(self, s: tuple) -> None:
        """One movement, or a LedgerError when the ledger (or the use case's rule) refuses it."""
        kind, *args = s
        if kind == "appropriate":
            fy, amount = args
            if fy in self.given:
                raise ledger.LedgerError("one appropriation a year")
            self.post("", ledger.appropriate(fy, amount, "opened"), fy)
            self.given[fy] = amount
            return
        c = args[0]
        if kind == "draw":
            fy, amount = args[1:]
            if c in self.year_of:
                raise ledger.LedgerError("drawn already")
            self.post(c, ledger.draw(self.year(fy), amount, "draw"), fy)
            self.year_of[c], self.envelope[c] = fy, amount
            return
        if c not in self.year_of or c in self.closed:
            raise ledger.LedgerError("no open budget")
        if kind == "reserve":
            txn = ledger.reserve(self.cycle(c), args[1], "r")
        elif kind == "disburse":
            i, skew = args[1:]
            bal = self.cycle(c)
            reserved = sorted(bal.reserved_by_application) or ["nobody"]
            app = reserved[i % len(reserved)]
            txn = ledger.disburse(
                bal, app, bal.reserved_by_application.get(app, 0) + (skew if skew in (-1, 1) else 0), "d"
            )
        else:
            fy = self.year_of[c]
            txn = ledger.return_unspent(self.cycle(c), ledger.source_account(fy), "close")
            self.closed.add(c)
            if txn is not None:
                self.post(c, txn, fy)
            return
        if txn is not None:
            self.post(c, txn)


@settings(max_examples=300, deadline=None)
@given(steps=money_steps)
def test_draws_and_returns_create_or_lose_no_money(steps: list) -> None:
    books = _Books()
    paid_before: dict[tuple[str, str], int] = {}
    for s in steps:
        before = list(books.postings)
        try:
            books.step(s)
        except ledger.LedgerError:
            assert books.postings == before  # a refused movement changes nothing
            continue
        assert sum(p.amount_fen for _, p in books.postings) == 0
        held_by_year: dict[int, int] = {}
        for c, fy in books.year_of.items():
            bal = books.cycle(c)
            bal.check()
            held_by_year[fy] = held_by_year.get(fy, 0) + bal.total_fen
            returned = books.envelope[c] - bal.total_fen
            assert returned >= 0
            assert returned == 0 or c in books.closed  # money goes back only at the close
            for app, v in bal.paid_by_application.items():
                assert v >= paid_before.get((c, app), 0)  # paid money never moves back
                paid_before[(c, app)] = v
            if c in books.closed:
                assert (bal.available_fen, bal.reserved_fen) == (0, 0)
                assert bal.total_fen == bal.disbursed_fen
        for fy in YEARS:
            year = books.year(fy)
            year.check()
            assert year.amount_fen == books.given.get(fy, 0)
            # what the year was given = what is left of it + what its cycles hold (available, reserved, paid)
            assert year.amount_fen == year.available_fen + held_by_year.get(fy, 0)
