"""Quoting: VAT, surcharges/discounts with conditions, charge models, ids, corrections, diffs."""

import json
from decimal import Decimal

import pytest

from handlers.settlement.engine.books import TaxRule
from handlers.settlement.engine.guard import FrozenPromotions
from handlers.settlement.engine.quote import correct, diff_statements, quote
from handlers.settlement.engine.tax import split_vat

from .conftest import amounts, make_book, make_ticket

D = Decimal


def test_vat_inclusive_1130_at_13_percent():
    # 价税合计 1130.00 / 1.13 = 1000.00 net, tax 130.00
    assert split_vat(D("1130.00"), TaxRule(D("0.13"), True), D("0.01")) == (D("1000.00"), D("130.00"), D("1130.00"))


def test_vat_rounding_cases_still_sum_exactly():
    # 100.00 incl. 6%: 100 / 1.06 = 94.3396… -> net 94.34, tax = 100.00 − 94.34 = 5.66
    assert split_vat(D("100.00"), TaxRule(D("0.06"), True), D("0.01")) == (D("94.34"), D("5.66"), D("100.00"))
    # 99.99 excl. 13%: tax 12.9987 -> 13.00, gross 112.99
    assert split_vat(D("99.99"), TaxRule(D("0.13"), False), D("0.01")) == (D("99.99"), D("13.00"), D("112.99"))
    # 3 × 33.33 incl. 13% taxed per line: 33.33/1.13 = 29.4956 -> 29.50, tax 3.83 each -> 11.49 in total;
    # taxed once on the 99.99 total: 99.99/1.13 = 88.4867 -> 88.49, tax 11.50.  The engine taxes the total.
    assert split_vat(D("99.99"), TaxRule(D("0.13"), True), D("0.01")) == (D("88.49"), D("11.50"), D("99.99"))


SH = """
tax: {rate: 0.06, inclusive: true}
services:
  - id: sh
    service: 空调安装
    region: "310000"
    charges:
      - {id: base, name: 基础安装费, model: fixed, amount: "220.00"}
      - {id: labor, model: per_unit, quantity: hours, unit: h, rate: "90.00", minimum: 1, increment: 0.5}
      - {id: parts, model: parts, markup_percent: 15}
      - id: urban
        name: 城区溢价
        model: percentage
        percent: 20
        base: [base]
        when: {region_in: ["310115"]}
      - id: night
        name: 夜间加急
        model: percentage
        percent: 25
        base: [base, labor]
        when: {time_window: ["22:00", "06:00"]}
      - id: height
        name: 高空作业
        model: percentage
        percent: 15
        base: [base]
        when: {floor_gte: 7}
      - id: loyal
        name: 老客户9折
        model: percentage
        percent: -10
        base: [base, labor]
        promotional: true
        when: {customer_tags_any: [老客户]}
"""


def test_urban_premium_applies_to_base_fee_only_not_parts():
    book = make_book(SH)
    t = make_ticket(service="空调安装", region="310115", quantities={"hours": "1"},
                    parts=[{"sku": "P1", "name": "支架", "cost": "100.00", "qty": 1}])
    a = amounts(quote(t, book))
    # base 220.00; labor 1 h × 90 = 90.00; part 100 × 1.15 = 115.00; 城区溢价 20% × 220 = 44.00 (not of 425)
    assert a == {"base": D("220.00"), "labor": D("90.00"), "parts:P1": D("115.00"), "urban": D("44.00")}
    # outside 浦东 (310104 徐汇) there is no premium
    assert "urban" not in amounts(quote(make_ticket(service="空调安装", region="310104"), book))


@pytest.mark.parametrize("hhmm,applies", [("21:59", False), ("22:00", True), ("23:30", True),
                                          ("00:10", True), ("05:59", True), ("06:00", False)])
def test_night_window_crossing_midnight(hhmm, applies):
    book = make_book(SH)
    t = make_ticket(service="空调安装", region="310104", quantities={"hours": 2},
                    completed_at=f"2026-11-10T{hhmm}:00+08:00")
    # night = 25% × (220 + 2 × 90) = 25% × 400 = 100.00
    assert amounts(quote(t, book)).get("night") == (D("100.00") if applies else None)


def test_time_window_uses_book_local_time():
    book = make_book(SH)
    # 15:30 UTC = 23:30 +08:00 -> night surcharge applies
    t = make_ticket(service="空调安装", region="310104", completed_at="2026-11-10T15:30:00Z")
    assert "night" in amounts(quote(t, book))


def test_floor_and_tag_conditions_and_labor_rounding():
    book = make_book(SH)
    t = make_ticket(service="空调安装", region="310104", floor=7, customer_tags=["老客户"], quantities={"hours": "1.2"})
    st = quote(t, book)
    a = amounts(st)
    # labor 1.2 h -> billed 1.5 h × 90 = 135.00; 高空 15% × 220 = 33.00; 老客户 −10% × (220+135) = −35.50
    assert a == {"base": D("220.00"), "labor": D("135.00"), "height": D("33.00"), "loyal": D("-35.50")}
    assert st.gross == D("352.50")
    # floor 6 -> no 高空作业
    assert "height" not in amounts(quote(make_ticket(service="空调安装", region="310104", floor=6), book))


def test_frozen_promotion_is_skipped_with_explanation():
    book = make_book(SH)
    t = make_ticket(service="空调安装", region="310104", customer_tags=["老客户"], address="上海市徐汇区X路1号")
    frozen = FrozenPromotions(addresses=frozenset({"上海市徐汇区X路1号"}),
                              reasons=(("address:上海市徐汇区X路1号", "4 cancels in 30 days"),))
    st = quote(t, book, frozen=frozen)
    loyal = next(ln for ln in st.lines if ln.key == "loyal")
    assert loyal.amount == 0 and "promotion frozen" in loyal.note and "4 cancels in 30 days" in loyal.note
    # base 220 + labor minimum 1 h 90 = 310.00, no discount
    assert st.gross == D("310.00")
    # freezing the region 310000 (上海) also covers a ticket in 310104
    st2 = quote(t, book, frozen=FrozenPromotions(regions=frozenset({"310000"})))
    assert st2.gross == D("310.00")
    assert quote(t, book).gross == D("279.00")  # unfrozen: 310 − 31.00


MODELS = """
tax: {rate: 0.13, inclusive: false}
services:
  - id: m
    service: svc
    region: CN
    charges:
      - {id: diag, model: fixed, amount: "80.00"}
      - {id: labor, model: per_unit, quantity: hours, rate: "120.00", minimum: 0.5, increment: 0.5, min_amount: "90.00"}
      - {id: travel, model: per_unit, quantity: km, rate: "2.50", max_amount: "150.00"}
      - {id: filters, model: package, quantity: filters, unit: 片, size: 5, price: "30.00", free_units: 2}
      - {id: parts, model: parts, markup_percent: 20}
"""


def test_charge_models_min_max_package_parts():
    book = make_book(MODELS)
    t = make_ticket(quantities={"hours": "0.2", "km": "75", "filters": "8"},
                    parts=[{"sku": "G", "name": "密封圈", "cost": "12.34", "qty": 3}])
    st = quote(t, book)
    a = amounts(st)
    # labor: 0.2 h -> minimum 0.5 h × 120 = 60.00 -> raised to min_amount 90.00
    # travel: 75 km × 2.50 = 187.50 -> capped at 150.00
    # filters: 8 − 2 free = 6 -> ceil(6/5) = 2 packs × 30 = 60.00
    # parts: 12.34 × 3 × 1.20 = 44.424 -> 44.42
    assert a == {"diag": D("80.00"), "labor": D("90.00"), "travel": D("150.00"), "filters": D("60.00"),
                 "parts:G": D("44.42")}
    # net 424.42, VAT 13% exclusive = 55.1746 -> 55.17, gross 479.59
    assert (st.net, st.tax, st.gross) == (D("424.42"), D("55.17"), D("479.59"))
    assert st.net + st.tax == st.gross


def test_statement_dict_and_idempotent_id():
    book = make_book(SH)
    t = make_ticket(service="空调安装", region="310115", quantities={"hours": 1})
    s1, s2 = quote(t, book), quote(make_ticket(service="空调安装", region="310115", quantities={"hours": 1}), book)
    assert s1 == s2 and s1.id == s2.id  # same inputs + same book version -> same record
    d = json.loads(json.dumps(s1.to_dict()))
    assert d["totals"] == {"subtotal": "354.00", "net": "333.96", "tax": "20.04", "gross": "354.00",
                           "tax_rate": "0.06", "tax_inclusive": True}
    line = d["lines"][0]
    assert line["rule_id"] == "sh/base" and line["book_id"] == "t" and line["book_version"] == 1
    assert line["amount"] == "220.00" and line["share"] == "0.6215"  # 220 / 354
    with pytest.raises(AttributeError):
        s1.gross = D("1")  # type: ignore[misc]


def test_correction_references_old_record():
    book = make_book(SH)
    old = quote(make_ticket(service="空调安装", region="310115", quantities={"hours": 1}), book)
    fixed = make_ticket(service="空调安装", region="310115", quantities={"hours": 2})
    new = correct(old, fixed, book)
    assert new.corrects == old.id and new.id != old.id and old.corrects is None
    assert correct(old, fixed, book).id == new.id  # correction re-run is idempotent too
    rows = {r.key: r for r in diff_statements(old, new)}
    assert rows["labor"].delta == D("90.00") and rows["gross"].delta == D("90.00")


def test_jpy_book_rounds_to_whole_yen():
    book = make_book("""
        tax: {rate: 0.10, inclusive: false}
        services: [{id: r, service: svc, region: CN, charges: [{id: w, model: per_unit, quantity: h, rate: "1234.5"}]}]
    """, head="book_id: jp\nversion: 1\ncurrency: JPY\neffective_from: 2026-01-01\n")
    st = quote(make_ticket(quantities={"h": 1}), book)
    # 1 × 1234.5 -> 1235 (half-up to 1 yen); tax 10% = 123.5 -> 124; gross 1359
    assert (st.lines[0].amount, st.tax, st.gross) == (D("1235"), D("124"), D("1359"))
    assert st.to_dict()["totals"]["gross"] == "1359"
