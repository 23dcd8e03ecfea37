"""What the parties read of a statement (views.py), and the pure pieces of asking for a
missing part price: the customer sees lines with quantity × rate, subtotal, VAT and total —
never the price book, its rule or the shares — and a card whose rows add up to its total."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from handlers.settlement import texts
from handlers.settlement.config import SettlementConfigError, load_settlement
from handlers.settlement.engine.quote import quote_ticket
from handlers.settlement.engine.ticket import Ticket as EngineTicket
from handlers.settlement.mapping import Unpriceable, match_prices, ticket_input
from handlers.settlement.views import (correction_text, customer_card_rows, customer_text,
                                       finance_options,
                                       noted_prices, price_example, quoted, reported_parts,
                                       statement_card, technician_text)
from nlp.staff_commands import PartUsed
from tests.handlers.settlement.test_units import CFG, report, ticket

SETUP = load_settlement()


def statement(parts=(), hours="1.5", km="6.2", service="咖啡机维修", region="310115", **q):
    t = EngineTicket.from_dict({
        "id": "GD20261125-0001", "service": service, "region": region,
        "completed_at": "2026-11-25T10:00:00+08:00",
        "quantities": {"hours": hours, **({"km": km} if km else {}), **q},
        "parts": [{"sku": n, "name": n, "cost": c, "qty": "1"} for n, c in parts],
        "provider": "P001", "technician": "lishifu"})
    return quote_ticket(t, SETUP.books).to_dict()


def amount(value: str) -> Decimal:
    return Decimal(value.split("（")[0].lstrip("¥").replace(",", ""))


def test_the_customer_reads_lines_subtotal_vat_and_total_but_no_book_and_no_shares():
    st = statement(parts=[("压缩机电容", "35.00")])
    text = customer_text("GD20261125-0001", st, by_card=False)
    assert text.split("\n")[:8] == [
        "工单 GD20261125-0001 结算单（咖啡机维修）",
        "1. 检测费：¥80.00",
        "2. 维修工时 1.5小时 × ¥120.00：¥180.00",
        "3. 路程费 6.2公里 × ¥2.50：¥15.50",
        "4. 配件（压缩机电容） 1件 × ¥42.00：¥42.00",
        "小计：¥317.50", "税额（13%）：¥41.28", "合计：¥358.78"]
    for internal in ("cn-home", "coffee-repair-cn", "价目表", "规则", "占", "分成"):
        assert internal not in text
    # the technician keeps them
    tech = technician_text("GD20261125-0001", st)
    assert "计价依据：价目表 cn-home 第2版，规则 coffee-repair-cn" in tech
    # the part at the book's markup over the price they reported (the customer is not told)
    assert "4. 配件（压缩机电容） 1件 × ¥42.00（成本价¥35.00，加价20%）：¥42.00（占13.23%）" \
        in tech
    assert "您的分成：¥158.75（占50.00%）" in tech


@pytest.mark.parametrize("parts, hours, km, names", [
    # 2 lines: room for the subtotal
    ((), "1.5", None, ["检测费", "维修工时", "小计", "增值税", "合计"]),
    # 3 lines: still room for it (6 rows)
    ((), "1.5", "6.2", ["检测费", "维修工时", "路程费", "小计", "增值税", "合计"]),
    # 4 lines: no room for the subtotal; VAT and total stay
    ((("压缩机电容", "35"),), "1.5", "6.2",
     ["检测费", "维修工时", "路程费", "压缩机电容", "增值税", "合计"]),
    # 6 lines: the last ones are combined
    ((("电容", "35"), ("水泵", "180"), ("密封圈", "5")), "1.5", "6.2",
     ["检测费", "维修工时", "路程费", "其他3项", "增值税", "合计"]),
])
def test_the_customers_card_rows_add_up_to_its_total(parts, hours, km, names):
    st = statement(parts=parts, hours=hours, km=km)
    rows = customer_card_rows(st)
    assert [k for k, _ in rows] == names and len(rows) <= 6
    money_rows = [amount(v) for k, v in rows if k != "小计"]
    assert sum(money_rows[:-1]) == money_rows[-1] == Decimal(st["totals"]["gross"])
    if "小计" in names:
        assert amount(dict(rows)["小计"]) == Decimal(st["totals"]["subtotal"])
    assert dict(rows)["增值税"] == f"¥{Decimal(st['totals']['tax']):,.2f}（13%）"


def test_with_vat_included_the_lines_add_up_and_the_total_says_so():
    st = statement(service="空调安装", region="330106", hours="1", km=None)
    rows = customer_card_rows(st)
    assert rows[-1] == ("合计", "¥300.00（含税¥16.98）")
    assert sum(amount(v) for _, v in rows[:-1]) == Decimal("300.00")
    assert "其中税额（6%，已含在价格内）：¥16.98" in customer_text("X", st, by_card=True)


def test_the_customers_card_names_the_service_and_the_total():
    card = statement_card("customer", 7, statement(), "GD20261125-0001")
    assert card["main_title"] == {"title": "工单 GD20261125-0001 结算单",
                                  "desc": "咖啡机维修，合计 ¥311.32，请确认"}
    tech = statement_card("technician", 8, statement(), "GD20261125-0001")
    assert [r["keyname"] for r in tech["horizontal_content_list"]] == ["服务", "净额", "您的分成"]



def deltas(text: str) -> Decimal:
    return sum((Decimal(d.replace("¥", "").replace(",", ""))
                for d in re.findall(r"（([-+]¥[\d,.]+)）", text)), Decimal(0))


def test_a_correction_shows_changes_that_make_the_change_of_the_total():
    # VAT on top: the changed line and the changed VAT (35.815 → 35.82; 28.015 → 28.02).
    text = correction_text("GD20261125-0001", statement(), statement(hours="1"), revision=1,
                           party="customer")
    assert text.split("\n") == ["工单 GD20261125-0001 的结算单已更正（第1次更正），变化如下：",
                                "维修工时：¥180.00 → ¥120.00（-¥60.00）",
                                "税额（13%）：¥35.82 → ¥28.02（-¥7.80）",
                                "合计：¥311.32 → ¥243.52"]
    assert deltas(text) == Decimal("243.52") - Decimal("311.32")
    # VAT included in the prices: the lines alone make the change; no VAT row.
    old = statement(service="空调安装", region="330106", hours="1", km=None)
    new = statement(service="空调安装", region="330106", hours="2", km=None)
    text = correction_text("X", old, new, revision=1, party="customer")
    assert "税额" not in text
    assert deltas(text) == Decimal(new["totals"]["gross"]) - Decimal(old["totals"]["gross"]) != 0


# -- parts without a price ---------------------------------------------------------------------


def test_every_part_without_a_price_is_named_at_once():
    with pytest.raises(Unpriceable) as err:
        ticket_input(ticket(), cfg=CFG, site=None, provider="", report=report(90, [
            {"name": "密封圈", "qty": "2", "unit_cost": None},
            {"name": "电容", "qty": "1", "unit_cost": "35"},
            {"name": "水泵", "qty": "1", "unit_cost": ""},
            {"name": "密封圈", "qty": "1", "unit_cost": None}]))
    assert (err.value.code, err.value.missing, err.value.detail) == (
        "no_cost", ("密封圈", "水泵"), "密封圈、水泵")
    # a part counted as a quantity (油烟机滤网 → filters) needs no price
    data = ticket_input(ticket(device="油烟机"), cfg=CFG, site=None, provider="", report=report(
        60, [{"name": "油烟机滤网", "qty": "6", "unit_cost": None}]))
    assert data["quantities"]["filters"] == "6"


def part(name, cost=None, qty=1, total=None, said=False):
    return PartUsed(name, Decimal(qty), None if cost is None else Decimal(cost),
                    total=None if total is None else Decimal(total), qty_said=said)


@pytest.mark.parametrize("given, missing, expected", [
    ([part("水泵", 180)], ["水泵"], {"水泵": 180}),
    ([part("", 180)], ["水泵"], {"水泵": 180}),  # nameless: the one part missing
    ([part("", 180)], ["水泵", "密封圈"], {}),  # nameless with two missing: which one?
    ([part("泵", 180)], ["水泵", "密封圈"], {"水泵": 180}),  # a shorter name
    ([part("新水泵", 180)], ["水泵"], {"水泵": 180}),  # a longer one
    ([part("电机", 50)], ["水泵"], {}),  # not asked for
    ([part("水泵")], ["水泵"], {}),  # no price
    ([part("水泵", 180), part("密封圈", 5)], ["密封圈", "水泵"], {"水泵": 180, "密封圈": 5}),
    ([part("", 180), part("", 5)], ["水泵"], {"水泵": 180}),
])
def test_an_answer_is_matched_to_the_parts_asked_for(given, missing, expected):
    got = match_prices(given, missing)
    assert {k: v.unit_cost for k, v in got.items()} == {k: Decimal(v) for k, v in expected.items()}


def test_the_pieces_of_asking_for_prices():
    assert quoted(["水泵", "密封圈"]) == "“水泵”、“密封圈”"
    assert price_example(["水泵"]) == "水泵 180元"
    assert price_example(["水泵", "密封圈"]) == "水泵 180元，密封圈 35元"
    assert reported_parts([{"name": "密封圈", "qty": "2", "unit_cost": "5"},
                           {"name": "水泵", "qty": "1", "unit_cost": None}]) == \
        "密封圈×2（单价5元）、水泵×1（未报单价）"
    assert noted_prices({"水泵": Decimal("180.00"), "密封圈": Decimal("3.3333")}) == \
        "水泵 单价180元、密封圈 单价3.3333元"
    assert finance_options(["水泵", "密封圈"]) == "--price 水泵=单价 --price 密封圈=单价"


def test_every_part_price_text_has_its_fields():
    kw = dict(number="GD1", parts="“水泵”", example="水泵 180元", minutes=30, noted="n",
              amount="¥1.00", review=1, category="报修", device="咖啡机", tech="李师傅",
              reported="r", options="o", why="w", who="李师傅", name="水泵", price="180",
              cost="180", qty="1")
    for name in dir(texts):
        value = getattr(texts, name)
        if name.startswith("SETTLE_PRICE") and isinstance(value, str):
            assert "{" not in value.format(**kw), name


def test_the_price_wait_is_configured_and_checked(tmp_path):
    assert SETUP.config.price_wait_minutes == 30
    p = tmp_path / "settlement.yaml"
    p.write_text("services: []\nprice_wait_minutes: 0\n", encoding="utf-8")
    with pytest.raises(SettlementConfigError) as err:
        load_settlement(p)
    assert f"{p}:2: price_wait_minutes" in str(err.value)
