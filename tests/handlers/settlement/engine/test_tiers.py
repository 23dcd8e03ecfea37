"""Tiered pricing checked against Stripe's and Lago's public worked examples."""

from decimal import Decimal

import pytest

from handlers.settlement.engine.books import Tier
from handlers.settlement.engine.charges import tiered_amount
from handlers.settlement.engine.quote import quote

from .conftest import make_book, make_ticket

D = Decimal
INF = None

# Stripe docs, "Set up tiered pricing" (Typographic example): 1-5 fonts 7 USD, 6-10 6.5 USD, 11+ 6 USD.
STRIPE = (Tier(D(5), D("7")), Tier(D(10), D("6.5")), Tier(INF, D("6")))


@pytest.mark.parametrize("qty,total", [(1, "7"), (5, "35"), (6, "39"), (20, "120"), (25, "150")])
def test_stripe_volume_table(qty, total):
    """Stripe's volume-based table: the whole quantity at the tier it lands in.

    6 fonts -> 6 × 6.5 = 39; 20 -> 20 × 6 = 120; 25 -> 25 × 6 = 150 (as in Stripe's table).
    """
    assert tiered_amount(D(qty), STRIPE, "volume")[0] == D(total)


@pytest.mark.parametrize("qty,total", [(1, "7"), (5, "35"), (6, "41.5"), (20, "127.5"), (25, "157.5")])
def test_stripe_graduated_table(qty, total):
    """Graduated: each tier prices only its own units.

    6  = 5×7 + 1×6.5           = 35 + 6.5           = 41.50
    20 = 5×7 + 5×6.5 + 10×6    = 35 + 32.5 + 60     = 127.50
    25 = 5×7 + 5×6.5 + 15×6    = 35 + 32.5 + 90     = 157.50
    """
    assert tiered_amount(D(qty), STRIPE, "graduated")[0] == D(total)


def test_issue_example_5_4_3():
    """Tiers 1–5 @5, 6–10 @4, 11+ @3 at 12 units: graduated 5×5+5×4+2×3 = 51; volume 12×3 = 36."""
    tiers = (Tier(D(5), D(5)), Tier(D(10), D(4)), Tier(INF, D(3)))
    assert tiered_amount(D(12), tiers, "graduated")[0] == D(51)
    assert tiered_amount(D(12), tiers, "volume")[0] == D(36)


def test_lago_graduated_per_unit():
    """Lago "Graduated": $1/unit for the first 100, $0.50 for the next 100, $0.10 beyond.

    250 units = 100×1 + 100×0.50 + 50×0.10 = 100 + 50 + 5 = 155.
    """
    tiers = (Tier(D(100), D(1)), Tier(D(200), D("0.5")), Tier(INF, D("0.1")))
    assert tiered_amount(D(250), tiers, "graduated")[0] == D(155)


def test_lago_graduated_with_flat_fees_reproduces_three_transactions():
    """Lago "Graduated percentage" example: tier 0–1,000 at 1% + $200 flat, 1,001–10,000 at 2% + $300,
    10,001+ at 3% + $400; each unit is $1 of transaction volume, flat fee charged once when a tier is entered.

    Cumulative usage after each transaction: 500, 1,050, 5,050.
      f(500)   = 500×1% + 200                         = 205           -> 1st transaction $205.00
      f(1,050) = 1000×1% + 200 + 50×2% + 300          = 511           -> 2nd = 511 − 205 = $306.00
      f(5,050) = 1000×1% + 200 + 4050×2% + 300        = 591           -> 3rd = 591 − 511 = $80.00
    These are exactly Lago's published $205.00 / $306.00 / $80.00.
    """
    tiers = (Tier(D(1000), D("0.01"), D(200)), Tier(D(10000), D("0.02"), D(300)), Tier(INF, D("0.03"), D(400)))
    f = lambda q: tiered_amount(D(q), tiers, "graduated")[0]  # noqa: E731
    assert f(500) == D("205.00")
    assert f(1050) - f(500) == D("306.00")
    assert f(5050) - f(1050) == D("80.00")


def test_lago_volume_with_flat_fee():
    """Lago "Volume": 0–10,000 $0.0010, 10,001–50,000 $0.0008, 50,001–100,000 $0.0006, 100,001+ $0.0004,
    each tier + $10 flat.  65,000 calls -> 65,000 × 0.0006 + 10 = $49 (Lago's figure)."""
    tiers = (Tier(D(10000), D("0.0010"), D(10)), Tier(D(50000), D("0.0008"), D(10)),
             Tier(D(100000), D("0.0006"), D(10)), Tier(INF, D("0.0004"), D(10)))
    assert tiered_amount(D(65000), tiers, "volume")[0] == D(49)


def test_tiered_charge_in_a_book_rounds_once_at_the_line():
    # 3 units graduated 1.005 + 2×1.005 = 3.015 -> 3.02 (one rounding; per-unit rounding would give 3.03)
    book = make_book("""
        services:
          - id: r
            service: svc
            region: CN
            charges:
              - id: t
                model: tiered
                mode: graduated
                quantity: n
                tiers:
                  - {up_to: 1, unit_price: "1.005"}
                  - {up_to: null, unit_price: "1.005"}
    """)
    st = quote(make_ticket(quantities={"n": 3}), book)
    assert st.lines[0].amount == D("3.02")
