from decimal import Decimal
from fractions import Fraction

import pytest

from handlers.settlement.engine.money import allocate, ceil_to, quantum_for, round_money


def test_round_half_up_to_fen_and_yen():
    assert round_money(Decimal("0.125")) == Decimal("0.13")  # half-up, not banker's (would give 0.12)
    assert round_money(Decimal("-0.125")) == Decimal("-0.13")
    assert round_money(Decimal("1234.5"), quantum_for("JPY")) == Decimal("1235")
    assert quantum_for("jpy") == Decimal("1") and quantum_for("CNY") == Decimal("0.01")


def test_ceil_to_increment():
    assert ceil_to(Decimal("1.2"), Decimal("0.5")) == Decimal("1.5")
    assert ceil_to(Decimal("1.5"), Decimal("0.5")) == Decimal("1.5")


def test_allocate_three_way_100_sums_exactly():
    # 100.00 / 3 = 33.333…: floors 33.33 ×3 = 99.99, the one leftover fen goes to the first
    # (all remainders equal, ties by index) -> 33.34 + 33.33 + 33.33 = 100.00
    parts = allocate(Decimal("100.00"), [Fraction(1, 3)] * 3)
    assert parts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(parts) == Decimal("100.00")


def test_allocate_largest_remainder_picks_biggest_fraction():
    # 10.00 by 1:2:7 -> exact 1.00 / 2.00 / 7.00 ; 0.05 by 1:1:1 -> 0.0166… each: 1 fen + 2 fen leftover
    assert allocate(Decimal("10.00"), [1, 2, 7]) == [Decimal("1.00"), Decimal("2.00"), Decimal("7.00")]
    # 1.00 by 0.333 / 0.333 / 0.334 -> exact 33.3 / 33.3 / 33.4 fen -> floors 33/33/33, leftover 1 -> third
    assert allocate(Decimal("1.00"), [Decimal("0.333"), Decimal("0.333"), Decimal("0.334")]) == [
        Decimal("0.33"), Decimal("0.33"), Decimal("0.34")]


def test_allocate_negative_and_errors():
    assert allocate(Decimal("-1.00"), [1, 1, 1]) == [Decimal("-0.34"), Decimal("-0.33"), Decimal("-0.33")]
    with pytest.raises(ValueError):
        allocate(Decimal("1.005"), [1])
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [0, 0])
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [1, -1])
