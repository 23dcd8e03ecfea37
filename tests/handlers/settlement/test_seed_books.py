"""The seeds' pricing examples under the shipped example book (config/pricebooks/cn-home-2026b.yaml,
version 2, in force from 2026-11-15), each hand-checked, and the new book terms' validation.

Every price includes 6% VAT (the book's default), so gross = the sum of the lines.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from handlers.settlement.engine.books import BookError
from handlers.settlement.engine.ladder import rebate_amount
from handlers.settlement.engine.period import PeriodAccumulator
from handlers.settlement.engine.quote import quote_ticket
from handlers.settlement.engine.ticket import Ticket
from handlers.settlement.loader import load_books

from .engine.conftest import amounts, make_book

D = Decimal
ROOT = Path(__file__).resolve().parents[3]
BOOKS = load_books(ROOT / "config" / "pricebooks")
V2 = next(b for b in BOOKS if b.version == 2)


def price(**kw):
    data = {"id": "S1", "provider": "P", "technician": "T", "completed_at": "2026-11-29T14:00:00+08:00"}
    data.update(kw)
    return quote_ticket(Ticket.from_dict(data), BOOKS)


def test_a_12_floor_installation_with_6_m_of_pipe_bills_height_and_the_pipe_tier():
    # 上海黄浦 (rule ac-install-sh): base 240 + labour 2 h × 90 = 180 + pipe 3 m free, 3 m × 60 = 180
    # + 高空作业 15% × (240 + 180) = 63 (cap 100) = 663.00; net 663 / 1.06 = 625.47, tax 37.53
    st = price(service="空调安装", region="310101", floor=12, flags=["高空作业"],
               quantities={"hours": 2, "pipe_m": 6})
    assert amounts(st) == {"base": D("240.00"), "labor": D("180.00"), "pipe": D("180.00"),
                           "height": D("63.00")}
    assert (st.gross, st.net, st.tax) == (D("663.00"), D("625.47"), D("37.53"))
    # the floor alone (no flag said) or the flag alone (a 3rd floor facade) both bill it
    assert "height" in amounts(price(service="空调安装", region="310101", floor=12, quantities={"hours": 2}))
    assert "height" in amounts(price(service="空调安装", region="310101", floor=3, flags=["高空作业"],
                                     quantities={"hours": 2}))
    assert "height" not in amounts(price(service="空调安装", region="310101", floor=3, quantities={"hours": 2}))


def test_beijing_inside_the_5th_ring_adds_20_percent_to_the_base_fee_only():
    # 国贸 (116.46, 39.91) is inside 北京五环 (zone rule ac-install-bj5): base 220 + 20% × 220 = 44
    # + labour 1 h × 90 (not uplifted) = 354.00
    st = price(service="空调安装", region="110105", location=[116.46, 39.91], quantities={"hours": 1})
    assert st.service_rule == "ac-install-bj5"
    assert amounts(st) == {"base": D("220.00"), "urban": D("44.00"), "labor": D("90.00")}
    assert st.gross == D("354.00")
    outside = price(service="空调安装", region="110105", location=[116.70, 39.92], quantities={"hours": 1})
    assert outside.service_rule == "ac-install-cn" and "urban" not in amounts(outside)


def test_the_hood_cleaning_statement_reads_60_15_25():
    # 杭州, one 台 at 22:30 on the 12th floor: 180 + 45 + 75 = 300 → 60% / 15% / 25%
    st = price(service="油烟机清洗", region="330106", floor=12, quantities={"units": 1},
               completed_at="2026-11-29T22:30:00+08:00")
    assert [(ln.name, ln.amount, ln.share) for ln in st.lines] == [
        ("基础服务费", D("180.00"), D("0.6000")), ("高空作业补贴", D("45.00"), D("0.1500")),
        ("夜间加急费", D("75.00"), D("0.2500"))]
    assert st.gross == D("300.00")


def test_hangzhou_runs_second_item_half_price_while_suzhou_runs_200_minus_30():
    hz = price(service="油烟机清洗", region="330106", quantities={"units": 2})
    assert amounts(hz) == {"base": D("360.00"), "second": D("-90.00")} and hz.gross == D("270.00")
    hz3 = price(service="油烟机清洗", region="330106", quantities={"units": 3})  # one 2nd item in 3
    assert amounts(hz3)["second"] == D("-90.00") and hz3.gross == D("450.00")
    sz = price(service="油烟机清洗", region="320508", quantities={"units": 2})
    assert amounts(sz) == {"base": D("360.00"), "spend": D("-30.00")} and sz.gross == D("330.00")
    sz1 = price(service="油烟机清洗", region="320508", quantities={"units": 1})  # 180 < 200
    assert amounts(sz1) == {"base": D("180.00")} and sz1.gross == D("180.00")
    # elsewhere neither promotion runs (上海: the country-wide rule, 2 台 at 130)
    assert price(service="油烟机清洗", region="310101", quantities={"units": 2}).gross == D("260.00")


@pytest.mark.parametrize("day, uplift, gross", [
    ("2026-11-29", "launch1", "364.00"),  # month 1: (200 + 80) × 30% = 84
    ("2026-12-20", "launch2", "336.00"),  # month 2: × 20% = 56
    ("2027-01-20", "launch3", "308.00"),  # month 3: × 10% = 28
    ("2027-03-01", None, "280.00"),       # after three months: the plain price
])
def test_a_new_third_tier_city_runs_a_three_month_uplift(day, uplift, gross):
    st = price(service="空调安装", region="360702", quantities={"hours": 1},
               completed_at=f"{day}T14:00:00+08:00")
    ups = [k for k in amounts(st) if k.startswith("launch")]
    assert ups == ([uplift] if uplift else []) and st.gross == D(gross)


def test_an_annual_plan_is_billed_once_and_covers_its_work():
    assert price(service="空调年度服务包", region="310101").gross == D("699.00")
    per_visit = price(service="空调清洗", region="310101", quantities={"units": 1})
    assert per_visit.gross == D("120.00")
    covered = price(service="空调清洗", region="310101", quantities={"units": 1}, plans=["ac-care"],
                    parts=[{"sku": "f", "name": "过滤网", "cost": "20"}])
    # the cleaning is covered; the part is not (20 + 15% = 23.00)
    assert amounts(covered) == {"clean": D("120.00"), "covered": D("-120.00"), "parts:f": D("23.00")}
    assert covered.gross == D("23.00")
    assert V2.plan("ac-care").months == 12


def test_rebate_ladders_per_provider_segment():
    segs = dict(V2.period.segment_rebates)
    # 省级代理 走月销售额50万以上的高返点档: 52万 × 8% (whole) = 41,600
    assert rebate_amount(D("520000"), segs["省级代理"]) == (D("41600.00"), 1)
    # 社区团购 走20万以下的激励档: 15万 × 6% = 9,000
    assert rebate_amount(D("150000"), segs["社区团购"]) == (D("9000.00"), 0)
    assert V2.period.ladder_for("") is V2.period.rebate  # a provider without a segment

    def t(i: int, provider: str) -> dict:
        return {"id": f"R{i}", "service": "空调年度服务包", "region": "310101", "provider": provider,
                "technician": "T", "completed_at": "2026-11-29T14:00:00+08:00"}

    acc = PeriodAccumulator(BOOKS, "2026-11", segments={"申城": "省级代理", "浦江": "社区团购"})
    for i, p in enumerate(["申城", "浦江", "其他"]):
        acc.add(t(i, p))
    res = {p.provider: p for p in acc.result().providers}
    net = res["申城"].net  # 699 / 1.06 = 659.43
    assert net == D("659.43")
    assert (res["申城"].segment, res["申城"].rebate) == ("省级代理", D("13.19"))  # 2% below 50万
    assert (res["浦江"].segment, res["浦江"].rebate) == ("社区团购", D("39.57"))  # 6% 激励档
    assert (res["其他"].segment, res["其他"].rebate) == ("", D("0.00"))  # default ladder: 0%
    other = PeriodAccumulator(BOOKS, "2026-11")
    other.add(t(0, "申城"))
    assert other.result().id != acc.result().id


BASE = """
plans:
  - {id: care, name: 年度包, service: s, months: 12}
services:
  - id: r
    service: s
    region: CN
    charges:
      - {id: base, model: fixed, amount: 100}
"""


@pytest.mark.parametrize("extra, line, path", [
    ("      - {id: c, model: percentage, percent: -100, base: [base], when: {plans_any: [nope]}}\n", 14,
     "services[0].charges[1].when.plans_any[0]"),
    ("      - {id: c, model: nth_item, base: [base], quantity: units, nth: 2, percent: 50}\n", 14,
     "services[0].charges[1].percent"),
    ("      - {id: c, model: nth_item, base: [base], quantity: units, nth: 1, percent: -50}\n", 14,
     "services[0].charges[1].nth"),
    ("      - {id: c, model: spend_threshold, base: [base], spend: 20, discount: 30}\n", 14,
     "services[0].charges[1].discount"),
    ("      - {id: c, model: spend_threshold, base: [nope], spend: 200, discount: 30}\n", 14,
     "services[0].charges[1].base[0]"),
    ("      - {id: c, model: fixed, amount: 1, when: {dates: ['2026-12-01', '2026-11-01']}}\n", 14,
     "services[0].charges[1].when.dates[1]"),
    ("      - {id: c, model: fixed, amount: 1, when: {any_of: [{floor_gte: 7}]}}\n", 14,
     "services[0].charges[1].when.any_of"),
    ("      - {id: c, model: fixed, amount: 1, when: {any_of: [{any_of: [{floor_gte: 1}, {floor_gte: 2}]}, "
     "{floor_gte: 7}]}}\n", 14, "services[0].charges[1].when.any_of[0].any_of"),
])
def test_new_terms_are_checked_with_file_line_and_field(extra, line, path):
    with pytest.raises(BookError) as err:
        make_book(BASE + extra, source="config/pricebooks/x.yaml")
    assert str(err.value).startswith(f"config/pricebooks/x.yaml:{line}: {path}: "), str(err.value)


def test_a_plan_sold_as_an_unknown_service_and_a_segment_without_a_ladder():
    with pytest.raises(BookError, match=r"x.yaml:\d+: plans\[0\]\.service: 'nope' is not a service"):
        make_book(BASE.replace("service: s, months", "service: nope, months"), source="x.yaml")
    with pytest.raises(BookError, match=r"x.yaml:\d+: period.segments.省级代理: missing required field 'rebate'"):
        make_book(BASE + "period:\n  segments:\n    省级代理: {description: x}\n", source="x.yaml")
