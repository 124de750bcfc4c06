"""Money is integer fen; reports show yuan and 万元."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicc.platform.money import fen_to_wan_yuan, format_wan_yuan, format_yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0"),
        (150, "1.50"),
        (-150, "-1.50"),
        (-1, "-0.01"),
        (200_000_000, "2,000,000"),
        (-200_000_005, "-2,000,000.05"),
    ],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_yuan_reads_back_as_the_same_amount(fen):
    assert Decimal(format_yuan(fen).replace(",", "")) * 100 == fen


def test_wan_yuan_and_yuan():
    assert format_wan_yuan(2_000_000 * 100) == "200.00"
    assert fen_to_wan_yuan(123_456_789) == Decimal("123.46")
    assert yuan_to_fen(15) == 1500
    with pytest.raises(TypeError):
        yuan_to_fen(1.5)  # type: ignore[arg-type]
