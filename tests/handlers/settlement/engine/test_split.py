"""Revenue split: parts always sum exactly to the total."""

from decimal import Decimal
from fractions import Fraction

from handlers.settlement.engine.books import SplitPart, SplitRule
from handlers.settlement.engine.quote import quote
from handlers.settlement.engine.split import split_amount

from .conftest import make_book, make_ticket

D = Decimal
CENT = D("0.01")


def test_three_way_split_of_100_in_thirds():
    rule = SplitRule(tuple(SplitPart(p, share=Fraction(1, 3)) for p in ("platform", "provider", "technician")))
    # 100.00 / 3 = 33.333…: 33.33 × 3 = 99.99; leftover 0.01 to the first party -> 33.34 / 33.33 / 33.33
    assert split_amount(D("100.00"), rule, CENT) == (
        ("platform", D("33.34")), ("provider", D("33.33")), ("technician", D("33.33")))


def test_fixed_cap_and_remainder():
    rule = SplitRule((SplitPart("technician", share=Fraction(1, 2), cap=D("400.00")),
                      SplitPart("provider", fixed=D("30.00")),
                      SplitPart("platform", remainder=True)))
    # 500.00: provider fixed 30.00; technician 50% = 250.00 (< cap); platform = 500 − 30 − 250 = 220.00
    assert dict(split_amount(D("500.00"), rule, CENT)) == {
        "technician": D("250.00"), "provider": D("30.00"), "platform": D("220.00")}
    # 1000.00: technician 50% = 500 -> capped 400.00; platform 1000 − 30 − 400 = 570.00
    assert dict(split_amount(D("1000.00"), rule, CENT)) == {
        "technician": D("400.00"), "provider": D("30.00"), "platform": D("570.00")}
    # 20.00 < fixed 30: provider gets what there is, nobody goes negative
    assert dict(split_amount(D("20.00"), rule, CENT)) == {
        "technician": D("0.00"), "provider": D("20.00"), "platform": D("0.00")}


def test_split_in_statement_uses_net_and_sums_exactly():
    book = make_book("""
        tax: {rate: 0.06, inclusive: true}
        split:
          parts:
            - {party: technician, percent: 60}
            - {party: provider, percent: 25}
            - {party: platform, percent: 15}
        services: [{id: r, service: svc, region: CN, charges: [{id: x, model: fixed, amount: "533.75"}]}]
    """)
    st = quote(make_ticket(), book)
    # net = 533.75 / 1.06 = 503.5377 -> 503.54 ; 60% = 302.124, 25% = 125.885, 15% = 75.531
    # floors 302.12 + 125.88 + 75.53 = 503.53; the last fen goes to the largest remainder (0.5 fen: provider)
    assert dict(st.split) == {"technician": D("302.12"), "provider": D("125.89"), "platform": D("75.53")}
    assert sum(a for _, a in st.split) == st.net
