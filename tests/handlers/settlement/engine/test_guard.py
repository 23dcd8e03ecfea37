from datetime import datetime, timedelta, timezone

from handlers.settlement.engine.guard import CancelEvent, evaluate_guard
from handlers.settlement.engine.quote import quote

from .conftest import make_book, make_ticket

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 1, 10, tzinfo=CST)


def ev(addr, region, day, kind="cancel"):
    return CancelEvent(addr, region, T0 + timedelta(days=day), kind)


def test_address_frozen_when_more_than_n_in_m_days():
    events = [ev("A", "310115", d) for d in (0, 3, 6)]  # 3 events in 7 days: not more than 3
    events += [ev("B", "310115", d, "refund") for d in (0, 10, 20, 29)]  # 4 in 29 days -> frozen
    events += [ev("C", "310115", d) for d in (0, 20, 40, 60)]  # 4 events but never more than 2 per 30 days
    d = evaluate_guard(events, max_events=3, window_days=30, region_threshold=2)
    assert [a for a, _ in d.addresses] == ["B"]
    assert "4 cancels/refunds" in d.addresses[0][1]
    assert d.regions == ()


def test_region_frozen_past_threshold_and_quote_skips_promotion():
    events = [ev(addr, "310115", d) for addr in ("X", "Y") for d in (0, 1, 2, 3)]
    d = evaluate_guard(events, max_events=3, window_days=30, region_threshold=2)
    assert [a for a, _ in d.addresses] == ["X", "Y"]
    assert [r for r, _ in d.regions] == ["310115"]
    book = make_book("""
        services:
          - id: r
            service: s
            region: CN
            charges:
              - {id: base, model: fixed, amount: "100.00"}
              - {id: promo, name: 新客立减, model: percentage, percent: -20, base: [base], promotional: true}
              - {id: night, model: percentage, percent: 25, base: [base]}
    """)
    other_address = make_ticket(service="s", region="310115", address="Z")  # not frozen itself, but its region is
    st = quote(other_address, book, frozen=d.frozen)
    promo = next(ln for ln in st.lines if ln.key == "promo")
    assert promo.amount == 0 and "region 310115" in promo.note
    assert st.gross == 125  # 100 + 25% surcharge (non-promotional) still applies, −20% skipped
    assert quote(make_ticket(service="s", region="440305", address="Z"), book, frozen=d.frozen).gross == 105
