"""Quoting many similar tickets with one book gives each ticket its own statement: a quote
never depends on which tickets the same book priced before (quantities as written, parts,
frozen promotions, conditions)."""

from decimal import Decimal

from handlers.settlement.engine.guard import FrozenPromotions
from handlers.settlement.engine.quote import quote

from .conftest import make_book, make_ticket

BOOK = """
tax: {rate: 0.06, inclusive: true}
split:
  parts:
    - {party: technician, percent: 60}
    - {party: provider, percent: 25}
    - {party: platform, remainder: true}
services:
  - id: svc-cn
    service: svc
    region: CN
    charges:
      - {id: base, name: 基础费, model: fixed, amount: "200.00"}
      - {id: km, name: 路程费, model: per_unit, quantity: km, unit: km, rate: "2.50"}
      - {id: parts, name: 配件, model: parts, markup_percent: 15}
      - {id: night, name: 夜间, model: percentage, percent: 25, base: [base], when: {time_window: ["22:00", "06:00"]}}
      - {id: loyal, name: 老客户9折, model: percentage, percent: -10, base: [base, km], promotional: true,
         when: {customer_tags_any: [老客户]}}
"""


def _fresh(**kw):
    """The statement from a book that has priced nothing before."""
    return quote(make_ticket(**kw), make_book(BOOK))


def test_a_shared_book_prices_every_ticket_like_a_fresh_one():
    book = make_book(BOOK)
    variants = [
        {"quantities": {"km": 10}},
        {"quantities": {"km": 10.0}},  # written 10.0: the line says 10.0
        {"quantities": {"km": "10.00"}},
        {"quantities": {"km": 10}, "parts": [{"sku": "S1", "name": "铜管", "cost": "35.50", "qty": 2}]},
        {"quantities": {"km": 10}, "parts": [{"sku": "S2", "name": "支架", "cost": "35.5"}]},
        {"quantities": {"km": 10}},
        {"quantities": {"km": 10}, "customer_tags": ["老客户"]},
        {"quantities": {"km": 10}, "completed_at": "2026-11-10T23:30:00+08:00"},
        {"quantities": {"km": 10}, "customer_tags": ["老客户"], "completed_at": "2026-11-10T23:30:00+08:00",
         "parts": [{"sku": "S1", "name": "铜管", "cost": "35.50", "qty": 2}]},
        {},
    ]
    for kw in variants * 2:
        assert quote(make_ticket(**kw), book).to_dict() == _fresh(**kw).to_dict()
    lines = {ln["rule_id"]: ln for ln in quote(make_ticket(quantities={"km": 10.0}), book).to_dict()["lines"]}
    assert lines["svc-cn/km"]["quantity"] == "10.0" and lines["svc-cn/km"]["amount"] == "25.00"
    with_parts = quote(make_ticket(quantities={"km": 10}, parts=[{"sku": "S1", "name": "铜管", "cost": "35.50",
                                                                  "qty": 2}]), book)
    without = quote(make_ticket(quantities={"km": 10}), book)
    assert with_parts.subtotal - without.subtotal == Decimal("81.65")  # 35.50 × 2 × 1.15
    assert [ln.key for ln in without.lines] == ["base", "km"]


def test_a_frozen_promotion_applies_only_to_the_ticket_it_covers():
    book = make_book(BOOK)
    kw = {"quantities": {"km": 10}, "customer_tags": ["老客户"], "address": "a-1"}
    frozen = FrozenPromotions(frozenset({"a-1"}), frozenset(), (("address:a-1", "3 cancels in 7 days"),))
    plain = quote(make_ticket(**kw), book)
    held = quote(make_ticket(**kw), book, frozen=frozen)
    again = quote(make_ticket(**kw), book)
    assert plain.to_dict() == again.to_dict() and plain.gross == Decimal("202.50")  # 225.00 − 22.50
    loyal = next(ln for ln in held.lines if ln.key == "loyal")
    assert loyal.amount == 0 and "3 cancels in 7 days" in loyal.note and held.gross == Decimal("225.00")
    assert held.id != plain.id
