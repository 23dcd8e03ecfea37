"""Period settlement: rebate ladders, SLA, satisfaction, FX, idempotence."""

from decimal import Decimal

import pytest

from handlers.settlement.engine.period import FxTable, SettlementError, settle_period

from .conftest import make_book

D = Decimal


def ladder_book(mode: str, sla: str = "") -> object:
    # Every ticket is a fixed ¥10,000.00 ex-VAT job (6% on top), split 100% to the provider.
    return make_book(f"""
        tax: {{rate: 0.06, inclusive: false}}
        split:
          - {{party: provider, percent: 90}}
          - {{party: platform, percent: 10}}
        services: [{{id: r, service: big, region: CN, charges: [{{id: x, model: fixed, amount: "10000.00"}}]}}]
        period:
          rebate:
            basis: revenue
            mode: {mode}
            ladder:
              - {{from: 0, percent: 0}}
              - {{from: 200000, percent: 5}}
              - {{from: 500000, percent: 8}}
          {sla}
    """)


def month_tickets(n: int = 60, breaches: int = 0):
    # two tickets a day from 2026-11-01: the 50th (net 500,000 reached) completes on 2026-11-25
    for i in range(n):
        yield {"id": f"T{i:03d}", "service": "big", "region": "310115", "provider": "P1", "technician": "E1",
               "completed_at": f"2026-11-{i // 2 + 1:02d}T{10 + i % 2}:00:00+08:00", "sla_breached": i < breaches}


def test_rebate_ladder_graduated_vs_whole_crossing_threshold_mid_month():
    # month net = 60 × 10,000 = 600,000 (crossed 200k on Nov 10, 500k on Nov 25)
    # graduated: 200,000 × 0% + 300,000 × 5% + 100,000 × 8% = 0 + 15,000 + 8,000 = 23,000.00
    # whole:     600,000 × 8%                                                    = 48,000.00
    g = settle_period(month_tickets(), [ladder_book("graduated")], "2026-11")
    w = settle_period(month_tickets(), [ladder_book("whole")], "2026-11")
    (pg,), (pw,) = g.providers, w.providers
    assert pg.net == pw.net == D("600000.00") and pg.tax == D("36000.00") and pg.gross == D("636000.00")
    assert pg.rebate == D("23000.00") and pg.rebate_tier == 2
    assert pw.rebate == D("48000.00")
    # provider payable = 90% of net 540,000 + rebate
    assert pg.payable == D("563000.00") and pw.payable == D("588000.00")


def test_sla_breach_drops_a_tier_and_carries_penalty():
    sla = "sla: {drop_tiers_per_breach: 1, penalty_per_breach: '50.00'}"
    g = settle_period(month_tickets(breaches=1), [ladder_book("graduated", sla)], "2026-11").providers[0]
    w = settle_period(month_tickets(breaches=1), [ladder_book("whole", sla)], "2026-11").providers[0]
    # one breach: highest tier allowed = 5%.
    # graduated: 200k × 0 + 300k × 5% + 100k × 5% = 20,000.00 ; whole: 600k × 5% = 30,000.00 ; penalty 50.00
    assert (g.rebate, g.rebate_tier, g.sla_penalty) == (D("20000.00"), 1, D("50.00"))
    assert w.rebate == D("30000.00")
    assert g.payable == D("540000.00") + D("20000.00") - D("50.00")


def test_satisfaction_weighted_technician_fee_and_platform_total():
    book = make_book("""
        tax: {rate: 0, inclusive: true}
        split:
          - {party: technician, percent: 50}
          - {party: provider, percent: 30}
          - {party: platform, percent: 20}
        services: [{id: r, service: s, region: CN, charges: [{id: x, model: fixed, amount: "100.00"}]}]
        period:
          satisfaction_weights: {5: "1.00", 3: "0.90", 1: "0.50"}
    """)
    tickets = [
        {"id": f"T{i}", "service": "s", "region": "110105", "provider": "P1", "technician": "E1",
         "completed_at": "2026-11-03T10:00:00+08:00", "satisfaction": s}
        for i, s in enumerate([5, 3, 1, None])
    ]
    r = settle_period(tickets, [book], "2026-11")
    (tech,) = r.technicians
    # share 4 × 50.00 = 200.00; withheld 50×0 + 50×0.10 + 50×0.50 + 0 = 30.00 -> payout 170.00
    assert (tech.share, tech.satisfaction_adjustment, tech.payout) == (D("200.00"), D("-30.00"), D("170.00"))
    # platform: its 20% share (80.00) + withheld 30.00
    assert r.platform == D("110.00")


def test_currency_conversion_with_dated_rates():
    jpy = make_book("""
        tax: {rate: 0.10, inclusive: true}
        split: [{party: provider, percent: 70}, {party: platform, percent: 30}]
        services: [{id: r, service: s, region: CN, charges: [{id: x, model: fixed, amount: 11000}]}]
    """, head="book_id: jp\nversion: 1\ncurrency: JPY\neffective_from: 2026-01-01\n")
    cny = make_book("services: [{id: r, service: other, region: CN, charges: [{id: x, model: fixed, amount: 1}]}]\n",
                    head="book_id: cn\nversion: 1\neffective_from: 2025-01-01\n")
    fx = FxTable.from_records([{"base": "JPY", "quote": "CNY", "date": "2026-11-01", "rate": "0.0470"},
                               {"base": "JPY", "quote": "CNY", "date": "2026-11-16", "rate": "0.0480"}])
    tickets = [
        {"id": "J1", "book_id": "jp", "service": "s", "region": "310115", "provider": "JP1", "technician": "",
         "completed_at": "2026-11-10T10:00:00+08:00"},
        {"id": "J2", "book_id": "jp", "service": "s", "region": "310115", "provider": "JP1", "technician": "",
         "completed_at": "2026-11-20T10:00:00+08:00"},
    ]
    r = settle_period(tickets, [cny, jpy], "2026-11", currency="CNY", fx=fx)
    (p,) = r.providers
    # JPY: gross 11000, net 11000/1.1 = 10000, tax 1000 (yen quantum 1)
    # J1 at 0.0470: gross 517.00, tax 47.00, net 470.00 ; J2 at 0.0480: gross 528.00, tax 48.00, net 480.00
    assert (p.gross, p.tax, p.net) == (D("1045.00"), D("95.00"), D("950.00"))
    # provider 70% of net in JPY = 7000 -> allocated on converted net: 329.00 + 336.00
    assert dict(p.shares) == {"platform": D("285.00"), "provider": D("665.00")}
    with pytest.raises(SettlementError, match="no JPY->CNY rate"):
        settle_period(tickets, [cny, jpy], "2026-11", currency="CNY", fx=FxTable())


def test_rerun_is_idempotent_and_duplicates_are_counted_once():
    book = ladder_book("graduated")
    r1 = settle_period(month_tickets(), [book], "2026-11")
    r2 = settle_period(list(month_tickets()) + list(month_tickets(5)), [book], "2026-11")
    assert r1.id == r2.id and r1 == r2 and r2.tickets == 60
    changed = list(month_tickets())
    changed.append({**changed[0], "sla_breached": True})
    with pytest.raises(SettlementError, match="appears twice with different inputs"):
        settle_period(changed, [book], "2026-11")


def test_tickets_outside_month_are_skipped():
    r = settle_period(month_tickets(), [ladder_book("whole")], "2026-10")
    assert r.tickets == 0 and r.skipped == 60 and r.providers == ()
